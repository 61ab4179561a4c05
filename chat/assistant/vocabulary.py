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
from functools import cached_property

from knowledge import freshness
from knowledge.models import Chunk, Document
from knowledge.search.query import STOPWORDS
from knowledge.words import stems

MIN_PART = 4  # letters of each part of a closed compound ("fingernail", "handwash")
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

    @cached_property
    def compounds(self) -> dict[str, tuple[str, ...]]:
        """Closed compounds by their last word: "nail" -> ("fingernail",), when the
        manuals write a word ("fingernails", "handwashing") whose two parts ("finger"
        and "nail") they also use alone. Both parts are at least MIN_PART letters, so
        "service" is not "ice" nor "season" "son", and the front is a word of its own,
        not a particle ("overload", "understand", "whenever" name no load, stand or
        ever)."""
        found: dict[str, list[str]] = {}
        for word in self.frequency:
            for cut in range(MIN_PART, len(word) - MIN_PART + 1):
                front, tail = word[:cut], word[cut:]
                if front in self.frequency and tail in self.frequency and front not in STOPWORDS:
                    found.setdefault(tail, []).append(word)
        return {tail: tuple(words) for tail, words in found.items()}

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
    version = _version.current()
    cached = _cached
    if cached is not None and cached.version == version:
        return cached  # the common case: no query built, none run
    with _lock:
        if _cached is not None and _cached.version == version:
            return _cached
        frequency: Counter[str] = Counter()
        rows = _ready().values_list("text", "heading", "document__title")
        for text, heading, title in rows.iterator(chunk_size=500):
            frequency.update(set(stems(f"{title} {heading} {text}")))
        _cached = Vocabulary(version[0], dict(frequency), version)
        return _cached
