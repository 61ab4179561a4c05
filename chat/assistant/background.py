"""How close in meaning questions the store cannot answer come to its text.

A cosine of 0.87 between a question and a sentence means a close match in one store
and a chance one in another: legal text, short crew manuals and long SOPs sit at
different distances from any question. The background (``data/off_topic.txt``: plain
questions about everyday life, which no store's manuals answer) is measured against
the store's own units, and a question's best cosine is told as standard deviations
above what those questions reach (``closeness``). It is measured again when the
store's embeddings change (``vectors.index``'s version), once per process.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np

from knowledge import vectors

QUESTIONS = Path(__file__).resolve().parent / "data" / "off_topic.txt"
MIN_SPREAD = 0.01  # cosine: a floor for the spread of a tiny store's background

_lock = threading.Lock()
_measured: tuple[tuple, float, float] | None = None


@cache
def _questions() -> np.ndarray:
    lines = [line.strip() for line in QUESTIONS.read_text().splitlines()]
    return vectors.embed([q for q in lines if q and not q.startswith("#")], query=True)


def baseline() -> tuple[float, float] | None:
    """Mean and spread of the background questions' best cosine in this store; None
    when the store has no embeddings."""
    global _measured
    index = vectors.index()
    if not len(index.units):
        return None
    measured = _measured
    if measured is not None and measured[0] == index.version:
        return measured[1], measured[2]
    with _lock:
        best = (index.units @ _questions().T).max(axis=0)
        _measured = (index.version, float(best.mean()), max(float(best.std()), MIN_SPREAD))
        return _measured[1], _measured[2]


def closeness(cosine: float, measured: tuple[float, float] | None) -> float:
    """How far above the background (``baseline()``) a cosine is, in the background's
    spreads (0 when the store has no embeddings to compare with)."""
    if measured is None:
        return 0.0
    mean, spread = measured
    return (cosine - mean) / spread
