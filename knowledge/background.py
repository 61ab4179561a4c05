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
  keeps a passage found by meaning alone only above ``chunk_floor``;
- ``offsets``: for each document, how much closer on average they come to its units than
  to the whole store's. Manuals written in a crew's words sit closer to every crew
  question than a regulation does, whatever the question is about; search by meaning
  takes the offset off (``vectors.nearest``), so a store holding both ranks by what the
  text says, not how it says it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
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
    # per row of ``vectors.index()``: its document's offset (cosine; 0 for chunks without
    # units), or None when not measured
    offsets: np.ndarray | None = field(default=None, compare=False, repr=False)

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
        cosines = index.units @ asked.T  # (units, questions)
        best_units = cosines.max(axis=0)
        shifts = _offsets(index, cosines.mean(axis=1))
        # the chunk closeness everyday questions reach, as search measures it (offsets off)
        best_chunks = np.array([vectors.nearest(q, 1, shifts=shifts)[0][1] for q in asked])
        found = Baseline(
            float(best_units.mean()),
            max(float(best_units.std()), MIN_SPREAD),
            float(best_chunks.mean()),
            max(float(best_chunks.std()), MIN_SPREAD),
            shifts,
        )
        _measured = (index.version, found)
        return found


def _offsets(index, per_unit: np.ndarray) -> np.ndarray:
    """Each index row's document offset: the mean cosine of the background questions to
    the document's units, less their mean over all the store's units."""
    overall = float(per_unit.mean())
    totals: dict[int, list[float]] = {}
    for row, start, end in index.rows.values():
        if end > start:
            found = totals.setdefault(int(index.documents[row]), [0.0, 0])
            found[0] += float(per_unit[start:end].sum())
            found[1] += end - start
    means = {doc: total / count - overall for doc, (total, count) in totals.items()}
    return np.array([means.get(int(d), 0.0) for d in index.documents], dtype=np.float32)


def closeness(cosine: float, measured: Baseline | None) -> float:
    """How far above the background a unit cosine is, in the background's spreads (0
    when the store has no embeddings to compare with)."""
    if measured is None:
        return 0.0
    return (cosine - measured.unit_mean) / measured.unit_spread
