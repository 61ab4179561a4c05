"""What every search backend takes and returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.models import Document

MAX_TOP_K = 50
_LISTS = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class Passage:
    """One chunk found for a query, with what a citation needs.

    ``snippet`` is HTML: a short window of ``text``, escaped, with the matched words in
    ``<mark>``. ``score`` is higher for better matches and only comparable within one
    result list. ``boxes`` maps page numbers to ``[x0, y0, x1, y1]`` page fractions.
    """

    chunk_id: int
    document_id: int
    title: str
    filename: str
    pages: list[int]
    heading: list[str]
    text: str
    snippet: str
    score: float
    boxes: dict[int, list[list[float]]] = field(default_factory=dict)
    links: dict[str, dict] = field(default_factory=dict)  # Ragie's links, e.g. page images

    def as_json(self) -> dict:
        """The fields a script reads (``manage.py search --json``)."""
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "title": self.title,
            "filename": self.filename,
            "pages": self.pages,
            "heading": self.heading,
            "snippet": self.snippet,
            "score": self.score,
        }


def parse_boxes(raw) -> dict[int, list[list[float]]]:
    """Chunk.boxes (a dict, or its JSON text) with int page numbers; {} if malformed."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    boxes: dict[int, list[list[float]]] = {}
    if not isinstance(raw, dict):
        return boxes
    for page, rects in raw.items():
        try:
            boxes[int(page)] = [[float(v) for v in rect] for rect in rects]
        except (TypeError, ValueError):
            continue  # a malformed entry must not break search; highlighting is optional
    return boxes


@dataclass(frozen=True)
class Filters:
    """Which chunks may be returned; ``None`` means no restriction."""

    document_ids: tuple[int, ...] | None = None
    kinds: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, filters: dict | None) -> Filters:
        """Validate a ``filters`` dict as ``search()`` takes it; ValueError if malformed."""
        filters = dict(filters or {})
        unknown = set(filters) - {"document_ids", "kinds"}
        if unknown:
            raise ValueError(f"unknown search filter(s): {', '.join(sorted(unknown))}")
        document_ids = filters.get("document_ids")
        if document_ids is not None:
            if not isinstance(document_ids, _LISTS) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in document_ids
            ):
                raise ValueError("filters['document_ids'] must be a list of integers")
            document_ids = tuple(document_ids)
        kinds = filters.get("kinds")
        if kinds is not None:
            if not isinstance(kinds, _LISTS) or not set(kinds) <= set(Document.Kind.values):
                choices = ", ".join(Document.Kind.values)
                raise ValueError(f"filters['kinds'] must be a list of: {choices}")
            kinds = tuple(str(k) for k in kinds)
        return cls(document_ids=document_ids, kinds=kinds)

    @property
    def matches_nothing(self) -> bool:
        return self.document_ids == () or self.kinds == ()


class SearchBackend(Protocol):
    """A place passages come from: the local database today, Ragie later."""

    name: str

    def search(self, query: str, *, top_k: int, filters: Filters) -> list[Passage]:
        """At most ``top_k`` passages from READY documents, best first."""
        ...
