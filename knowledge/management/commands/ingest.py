import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge import services, vectors
from knowledge.ingest.detect import NAME_KINDS, Rejected


class Command(BaseCommand):
    help = "Ingest files or folders into the knowledge base (in this process, or --queue)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--title", help="title of the document (one file only)")
        parser.add_argument("--queue", action="store_true", help="hand the work to Celery")
        parser.add_argument("--json", action="store_true", help="one JSON object per document")

    def handle(self, paths, title, queue, json: bool, **options):
        files = _expand(paths)
        if title and len(files) != 1:
            raise CommandError("--title needs exactly one file")
        failures = 0
        for path in files:
            outcome = self._one(path, title, queue)
            failures += outcome["status"] in ("failed", "rejected")
            self.stdout.write(_json_line(outcome) if json else _text_line(outcome))
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) could not be ingested")

    def _one(self, path: Path, title: str | None, queue: bool) -> dict:
        base = {
            "id": None,
            "title": title or path.stem,
            "filename": path.name,
            "pages": 0,
            "chunks": 0,
        }
        try:
            document, _ = services.add_document(
                filename=path.name, data=path.read_bytes(), title=title or ""
            )
        except (Rejected, OSError) as exc:
            return {**base, "status": "rejected", "error": f"{path.name}: {exc}"}
        if queue:
            services.ingest_later(document)
        else:
            if document.status != document.Status.READY:
                document = services.ingest(document.pk)
            # in this process too: search by meaning needs no worker afterwards
            document = vectors.embed_document(document.pk) or document
        return {
            "id": document.pk,
            "title": document.title,
            "filename": document.filename,
            "status": document.status,
            "pages": document.page_count,
            "chunks": document.chunk_count,
            "embedded": document.vectors_done,
            **({"error": document.error} if document.error else {}),
        }


def _expand(paths: list[str]) -> list[Path]:
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in NAME_KINDS
            )
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{raw}: no such file or folder")
    if not files:
        raise CommandError("no files to ingest (PDF, DOCX, Markdown, text, PNG, JPEG)")
    return files


def _json_line(outcome: dict) -> str:
    return json.dumps(outcome)


def _text_line(outcome: dict) -> str:
    line = (
        f"{outcome['status']:<10} {outcome['filename']}: "
        f"{outcome['pages']} pages, {outcome['chunks']} chunks"
    )
    return line + (f" — {outcome['error']}" if outcome.get("error") else "")
