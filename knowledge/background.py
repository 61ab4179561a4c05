"""How close in meaning questions the store cannot answer come to its text.

A cosine of 0.87 between a question and a sentence means a close match in one store
and a chance one in another: legal text, short crew manuals and long SOPs sit at
different distances from any question. The background (``data/off_topic.txt``: plain
questions about everyday life, which no store's manuals answer) is measured against
the store's own text, once per process and again when its embeddings change
(``vectors.index``'s version):

- ``unit``: the best unit cosine each background question reaches (mean and spread):
  the assistant tells a question's best cosine as spreads above it (``closeness``);
- ``chunk``: the best chunk closeness (``vectors.nearest``'s measure) they reach: search
  keeps a passage found by meaning alone only above ``chunk_floor``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from knowledge import vectors

QUESTIONS = Path(__file__).resolve().parent / "data" / "off_topic.txt"
MIN_SPREAD = 0.01  # cosine: a floor for the spread of a tiny store's background
CHUNK_SPREADS = 1.0  # above most everyday questions (about 1 in 6 reaches it)

_lock = threading.Lock()
_measured: tuple[tuple, Baseline] | None = None


@dataclass(frozen=True)
class Baseline:
    unit_mean: float
    unit_spread: float
    chunk_mean: float
    chunk_spread: float

    @property
    def chunk_floor(self) -> float:
        """The closeness a passage found by meaning alone must reach: above what most
        everyday questions reach (their mean plus CHUNK_SPREADS spreads)."""
        return self.chunk_mean + CHUNK_SPREADS * self.chunk_spread


@cache
def questions() -> np.ndarray:
    """The background questions' embeddings (computed once per process)."""
    lines = [line.strip() for line in QUESTIONS.read_text().splitlines()]
    return vectors.embed([q for q in lines if q and not q.startswith("#")], query=True)


def baseline() -> Baseline | None:
    """What the background questions reach in this store; None when the store has no
    embeddings."""
    global _measured
    index = vectors.index()
    if not len(index.units):
        return None
    measured = _measured
    if measured is not None and measured[0] == index.version:
        return measured[1]
    with _lock:
        asked = questions()
        best_units = (index.units @ asked.T).max(axis=0)
        best_chunks = np.array([vectors.nearest(q, 1)[0][1] for q in asked])
        found = Baseline(
            float(best_units.mean()),
            max(float(best_units.std()), MIN_SPREAD),
            float(best_chunks.mean()),
            max(float(best_chunks.std()), MIN_SPREAD),
        )
        _measured = (index.version, found)
        return found


def closeness(cosine: float, measured: Baseline | None) -> float:
    """How far above the background a unit cosine is, in the background's spreads (0
    when the store has no embeddings to compare with)."""
    if measured is None:
        return 0.0
    return (cosine - measured.unit_mean) / measured.unit_spread
