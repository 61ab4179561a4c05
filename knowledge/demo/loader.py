"""Loading the Harbor Burger Co. demo manuals into the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge import services, vectors
from knowledge.models import Document

MANUALS = Path(__file__).resolve().parent / "manuals"
# The manuals' embeddings, made by ``export_embeddings`` (see README.md): loading them
# needs no model time on a fresh install.
EMBEDDINGS = Path(__file__).resolve().parent / "embeddings.npz"


@dataclass
class Loaded:
    document: Document
    action: str  # "added", "reingested" or "present"


def manual_paths() -> list[Path]:
    return sorted(MANUALS.glob("*.pdf"))


def load(paths: list[Path] | None = None) -> list[Loaded]:
    """Add and ingest each demo manual in this process, embeddings included; a manual
    already ready is left alone, one that failed, never finished or was ingested by
    older rules is ingested again."""
    results = []
    vectors.seed(EMBEDDINGS)
    for path in paths or manual_paths():
        data = path.read_bytes()
        document, created = services.add_document(
            filename=path.name,
            data=data,  # titled from the PDF's metadata
        )
        current = document.ingest_version >= services.INGEST_VERSION
        if not created and document.status == Document.Status.READY and current:
            vectors.embed_document(document.pk)  # no-op when they are current
            results.append(Loaded(document, "present"))
            continue
        if document.status == Document.Status.PROCESSING:
            # Left over from an interrupted load: nobody else ingests demo manuals.
            Document.objects.filter(pk=document.pk).update(status=Document.Status.QUEUED)
        document = services.ingest(document.pk)
        document = vectors.embed_document(document.pk) or document
        results.append(Loaded(document, "added" if created else "reingested"))
    return results


def export_embeddings() -> int:
    """Write the loaded demo manuals' embeddings to EMBEDDINGS (after ``load``); run it
    whenever the manuals or how they are read change."""
    texts = []
    for item in load():
        for heading, text in item.document.chunks.values_list("heading", "text"):
            texts += vectors.chunk_texts(item.document.title, heading, text)
    return vectors.export(texts, EMBEDDINGS)
