"""Where the benchmark documents come from, and loading them into the sandbox."""

from __future__ import annotations

import re
import time
from pathlib import Path

from django.conf import settings

from knowledge import services, vectors
from knowledge.ingest.detect import NAME_KINDS
from knowledge.models import Chunk, Document

SHARED_CORPUS = Path(settings.BASE_DIR).parent / "shared" / "corpus"


def files(root: Path, suffixes: set[str] | None = None) -> list[Path]:
    """Documents under ``root`` (a file or a folder, searched recursively), sorted;
    README files are descriptions of a corpus, not part of it."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    suffixes = suffixes or set(NAME_KINDS)
    return [p for p in paths if p.suffix.lower() in suffixes and p.stem.lower() != "readme"]


def food_code(root: Path = SHARED_CORPUS) -> list[Path]:
    """The Food Code corpus as its evaluation set expects it ingested: the chapter PDFs,
    and the Markdown sections of the chapters no PDF holds (a section is never in the
    store twice)."""
    pdfs = files(root / "pdf", {".pdf"})
    chapters = {m.group(1) for p in pdfs if (m := re.search(r"chapter-(\d+)", p.name))}
    sections = files(root / "fda-food-code-2022", {".md"})
    return pdfs + [p for p in sections if p.name.split("-", 1)[0] not in chapters]


def ingest(paths: list[Path], *, embed: bool = True) -> list[tuple[Document, float]]:
    """Add and ingest each file here and now; (document, seconds to ingest) for each.
    With ``embed``, the embeddings are made too (not counted in the seconds)."""
    done = []
    for path in paths:
        document, _ = services.add_document(filename=path.name, data=path.read_bytes())
        started = time.perf_counter()
        document = services.ingest(document.pk)
        done.append((document, time.perf_counter() - started))
        if embed:
            vectors.embed_document(document.pk)
    return done


def grow(paths: list[Path], target: int) -> None:
    """Add copies of the text documents (each with a store line of its own, so each is
    a new document), embeddings included, until the index holds ``target`` chunks: the
    latency a larger estate of binders would see."""
    texts = [p for p in paths if p.suffix.lower() in {".md", ".txt"}]
    if not texts:
        raise ValueError("growing the index needs text or Markdown documents to copy")
    copy = 0
    while Chunk.objects.count() < target:
        copy += 1
        for path in texts:
            data = path.read_bytes() + f"\n\nStore binder copy {copy}.\n".encode()
            document, _ = services.add_document(
                filename=f"copy{copy}-{path.name}", data=data, title=""
            )
            services.ingest(document.pk)
            vectors.embed_document(document.pk)
            if Chunk.objects.count() >= target:
                break
