"""How common each word is in the store's manuals: the number of passages (chunks of
ready documents) that use it, by stem.

The assistant weighs a question's words by it (a word few passages use says more about
what is asked than one most use). It is counted once per process and counted again
when the set of ready chunks changes (an ingest, a re-ingest or a deletion changes
their number or their highest id), which ``knowledge.freshness`` checks at most once a
second, not for every question.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass

from knowledge import freshness
from knowledge.models import Chunk, Document
from knowledge.words import stems

_lock = threading.Lock()
_cached: Vocabulary | None = None


@dataclass(frozen=True)
class Vocabulary:
    passages: int
    frequency: dict[str, int]
    version: tuple = ()

    def count(self, stem_tuple: tuple[str, ...] | frozenset[str]) -> int:
        """Passages using every stem of a phrase or bag (at most the rarest one's count)."""
        if not stem_tuple:
            return 0
        return min(self.frequency.get(s, 0) for s in stem_tuple)

    def weight(self, frequency: int) -> float:
        """Inverse document frequency: log((N + 1) / (df + 0.5))."""
        return math.log((self.passages + 1) / (frequency + 0.5))


EMPTY = Vocabulary(0, {})


def _ready():
    return Chunk.objects.filter(document__status=Document.Status.READY)


_version = freshness.Version(_ready)


def current() -> Vocabulary:
    """The vocabulary of the ready chunks, counted again only if they changed."""
    global _cached
    ready = _ready()
    version = _version.current()
    cached = _cached
    if cached is not None and cached.version == version:
        return cached
    with _lock:
        if _cached is not None and _cached.version == version:
            return _cached
        frequency: Counter[str] = Counter()
        rows = ready.values_list("text", "heading", "document__title")
        for text, heading, title in rows.iterator(chunk_size=500):
            frequency.update(set(stems(f"{title} {heading} {text}")))
        _cached = Vocabulary(version[0], dict(frequency), version)
        return _cached
