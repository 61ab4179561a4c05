import json

from django.core.management.base import BaseCommand, CommandError

from knowledge.demo import loader
from knowledge.models import Document


class Command(BaseCommand):
    help = (
        "Load the Harbor Burger Co. demo manuals (seven PDFs shipped with the project) into "
        "the knowledge base. Safe to run again: manuals already loaded are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object per manual"
        )

    def handle(self, as_json, **options):
        if not loader.manual_paths():
            raise CommandError(f"no demo manuals found in {loader.MANUALS}")
        results = loader.load()
        failed = [r for r in results if r.document.status != Document.Status.READY]
        for r in results:
            d = r.document
            if as_json:
                row = {
                    "id": d.pk,
                    "title": d.title,
                    "filename": d.filename,
                    "status": d.status,
                    "pages": d.page_count,
                    "chunks": d.chunk_count,
                    "action": r.action,
                }
                self.stdout.write(json.dumps(row))
            elif d.status == Document.Status.READY:
                self.stdout.write(
                    f"{r.action:>10}  {d.title} ({d.page_count} pages, {d.chunk_count} chunks)"
                )
            else:
                self.stderr.write(f"{'failed':>10}  {d.title}: {d.error}")
        if failed:
            raise CommandError(f"{len(failed)} demo manual(s) failed to load")
        if not as_json:
            added = sum(r.action != "present" for r in results)
            self.stdout.write(
                self.style.SUCCESS(f"Demo manuals ready: {len(results)} ({added} loaded now).")
            )
