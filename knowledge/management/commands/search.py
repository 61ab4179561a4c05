import html
import json
import re

from django.core.management.base import BaseCommand, CommandError

from knowledge.search import MAX_TOP_K, search

_MARK = re.compile(r"<(/?)mark>")


class Command(BaseCommand):
    help = "Search the manuals the way the assistant does and show the passages found."

    def add_arguments(self, parser):
        parser.add_argument("query", help="the question, in quotes")
        parser.add_argument(
            "--top-k", type=int, default=5, help=f"how many passages, 1-{MAX_TOP_K} (default 5)"
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print a JSON list of passages"
        )

    def handle(self, query, top_k, as_json, **options):
        if not 1 <= top_k <= MAX_TOP_K:
            raise CommandError(f"--top-k must be between 1 and {MAX_TOP_K}, not {top_k}")
        passages = search(query, top_k=top_k)
        if as_json:
            self.stdout.write(json.dumps([p.as_json() for p in passages], indent=2))
        elif not passages:
            self.stdout.write("No passages found.")
        for rank, passage in enumerate([] if as_json else passages, 1):
            first, last = passage.pages[0], passage.pages[-1]
            pages = f"p. {first}" if first == last else f"pp. {first}-{last}"
            self.stdout.write(f"{rank}. {passage.title} ({passage.filename}, {pages})")
            if passage.heading:
                self.stdout.write(f"   {' › '.join(passage.heading)}")
            self.stdout.write(f"   {plain(passage.snippet)}")
            self.stdout.write(f"   score {passage.score:.4f} · chunk {passage.chunk_id}")


def plain(snippet: str) -> str:
    """A snippet for a terminal: matches in [brackets], entities decoded."""
    return html.unescape(_MARK.sub(lambda m: "]" if m.group(1) else "[", snippet))
