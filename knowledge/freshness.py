"""How a process's in-memory copies of the store (the embeddings index, the assistant's
word counts) learn that the store changed, without asking for every question.

A copy remembers the ``Version`` of the chunks it was made from: their number and
highest id, which an ingest, a re-ingest or a deletion changes. Counting reads every
chunk, so a process counts at most every CHECK_SECONDS, and at once after ``forget``
(it changed the store itself: ``knowledge_changed``, or new embeddings). A change made
by another process is seen within CHECK_SECONDS.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from django.db.models import Count, Max, QuerySet

CHECK_SECONDS = 1.0

_versions: list[Version] = []


class Version:
    """The (count, highest id) of the chunks ``chunks()`` selects, as last counted."""

    def __init__(self, chunks: Callable[[], QuerySet]):
        self._chunks = chunks
        self._value: tuple | None = None
        self._checked = -math.inf  # time.monotonic() of the last count (never yet)
        _versions.append(self)

    def current(self) -> tuple:
        value = self._value
        if value is not None and time.monotonic() - self._checked < CHECK_SECONDS:
            return value
        stats = self._chunks().aggregate(count=Count("id"), last=Max("id"))
        self._value = (stats["count"], stats["last"])
        self._checked = time.monotonic()
        return self._value


def forget() -> None:
    """This process changed the store: every version is counted again when next asked."""
    for version in _versions:
        # Not 0.0: monotonic time starts near zero at boot, so "0.0" can look recent.
        version._checked = -math.inf
