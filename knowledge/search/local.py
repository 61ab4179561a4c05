"""Full-text search in the app's own database: FTS5 + bm25 on SQLite (``fts5.py``),
tsvector + ts_rank_cd on PostgreSQL (``postgres.py``), ranked alike (``ranking.py``).

Terms come from ``query.parse`` (letters, digits and spaces only) and reach the database
quoted (FTS5) or as bound parameters, never as query syntax.
"""

from __future__ import annotations

from django.db import connections

from knowledge.models import Chunk

from . import fts5, postgres
from . import query as q
from .base import Filters, Passage, parse_boxes
from .snippet import CLOSE, OPEN, make_snippet, strip_marks


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
        return [_passage(row) for row in engine.search(connection, parsed, top_k, filters)]


def _engine(connection):
    return fts5 if connection.vendor == "sqlite" else postgres


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
