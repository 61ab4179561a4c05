"""Search in the app's own database, by words and by meaning.

Words: full-text search, FTS5 + bm25 on SQLite (``fts5.py``), tsvector + ts_rank_cd on
PostgreSQL (``postgres.py``), ranked alike (``ranking.py``). Terms come from
``query.parse`` (letters, digits and spaces only) and reach the database quoted (FTS5)
or as bound parameters, never as query syntax.

Meaning: the question's embedding against every chunk's (``knowledge.vectors``), for the
passages that say it in other words than the question's ("lowboy" and "refrigerated
equipment"). Each ranking proposes its best ``POOL`` chunks and the two orders are fused
by reciprocal rank (a chunk's score is the sum of 1 / (RRF_K + its rank) in each), which
needs no calibration between bm25 and cosine. Chunks without embeddings yet (a document
just ingested) are found by words alone.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from django.db import connections

from knowledge import background, vectors
from knowledge.models import Chunk

from . import fts5, postgres
from . import query as q
from .base import Filters, Passage, parse_boxes
from .snippet import CLOSE, OPEN, make_snippet, strip_marks

logger = logging.getLogger(__name__)

POOL = 24  # candidates each ranking proposes
RRF_K = 30  # the constant of reciprocal rank fusion: lower favours each ranking's top


class LocalBackend:
    name = "local"

    def __init__(self, using: str = "default"):
        self.using = using

    def search(self, query: str, *, top_k: int, filters: Filters) -> list[Passage]:
        parsed = q.parse(query)
        if not parsed or filters.matches_nothing:
            return []
        connection = connections[self.using]
        engine = _engine(connection)
        # The question's embedding is computed on another thread while the database
        # ranks by words (the model releases the GIL): the two take about as long. A
        # store with nothing embedded yet is searched by words alone.
        embedding = _embedder.submit(_question_vector, query) if _has_vectors() else None
        rows = {row[0]: row for row in engine.search(connection, parsed, POOL, filters)}
        by_meaning = _by_meaning(embedding.result(), filters) if embedding else []
        if not by_meaning:
            return [_passage(row) for row in list(rows.values())[:top_k]]
        fused: dict[int, float] = {}
        for ranking in (list(rows), [pk for pk, _ in by_meaning]):
            for rank, pk in enumerate(ranking, 1):
                fused[pk] = fused.get(pk, 0.0) + 1.0 / (RRF_K + rank)
        # A chunk not embedded yet (its document was just ingested) cannot be found by
        # meaning: its rank by words counts for both, rather than half.
        embedded = vectors.index().known
        for rank, pk in enumerate(rows, 1):
            if pk not in embedded:
                fused[pk] += 1.0 / (RRF_K + rank)
        best = sorted(fused, key=lambda pk: (-fused[pk], pk))[:top_k]
        found = {pk: _passage(rows[pk]) for pk in best if pk in rows}
        missing = [pk for pk in best if pk not in rows]
        if missing:
            chunks = Chunk.objects.filter(pk__in=missing).select_related("document")
            found.update({c.pk: _chunk_passage(c) for c in chunks.using(self.using)})
        return [_scored(found[pk], fused[pk]) for pk in best if pk in found]


_embedder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-question")


def _question_vector(query: str):
    """The question's embedding, or None when the model cannot run here."""
    try:
        return vectors.question(query)
    except Exception:
        logger.warning("the question could not be embedded; searching by words only", exc_info=True)
        return None


def _has_vectors() -> bool:
    try:
        return bool(len(vectors.index().ids))
    except Exception:
        logger.warning("the embeddings could not be read; searching by words only", exc_info=True)
        return False


def _by_meaning(vector, filters: Filters) -> list[tuple[int, float]]:
    """Chunks nearest the question's embedding that are closer to it than everyday
    questions come to this store's text (``background``); [] without an embedding
    (search by words goes on alone)."""
    if vector is None:
        return []
    try:
        found = vectors.nearest(vector, POOL, filters)
        measured = background.baseline()
        floor = measured.chunk_floor if measured is not None else -1.0
        return [(pk, closeness) for pk, closeness in found if closeness >= floor]
    except Exception:
        logger.warning("search by meaning failed; searching by words only", exc_info=True)
        return []


def _engine(connection):
    return fts5 if connection.vendor == "sqlite" else postgres


def _scored(passage: Passage, score: float) -> Passage:
    return replace(passage, score=round(score, 6))


def _passage(row) -> Passage:
    """A row of ``ranking.COLUMNS`` + (score, marked text) as a Passage."""
    chunk_id, document_id, title, filename, first, last, heading, text, boxes = row[:9]
    score, marked = row[9:11]
    if marked is None or OPEN in text or CLOSE in text:
        marked = strip_marks(text)  # unknown, or the marks would be ambiguous
    chunk = Chunk(first_page=first, last_page=last, heading=heading)  # for its properties
    return Passage(
        chunk_id=chunk_id,
        document_id=document_id,
        title=title,
        filename=filename,
        pages=chunk.pages,
        heading=chunk.heading_path,
        text=text,
        snippet=make_snippet(marked),
        score=round(float(score), 6),
        boxes=parse_boxes(boxes),
    )


def _chunk_passage(chunk: Chunk) -> Passage:
    """A chunk found by meaning only: no word of the question to mark in its snippet."""
    return Passage(
        chunk_id=chunk.pk,
        document_id=chunk.document_id,
        title=chunk.document.title,
        filename=chunk.document.filename,
        pages=chunk.pages,
        heading=chunk.heading_path,
        text=chunk.text,
        snippet=make_snippet(strip_marks(chunk.text)),
        score=0.0,
        boxes=parse_boxes(chunk.boxes),
    )
