"""Search latency, for ``manage.py bench`` and for tuning."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable

from knowledge.search import search as find_passages


def latency(
    queries: Iterable[str],
    repeat: int = 5,
    *,
    top_k: int = 5,
    search: Callable | None = None,
    warmup: bool = True,
) -> dict:
    """Time ``search(query, top_k=top_k)`` ``repeat`` times per query.

    Returns ``{"count", "p50_ms", "p95_ms", "max_ms", "mean_ms"}`` over all timed calls.
    One untimed call per query first warms caches unless ``warmup`` is false.
    """
    search = search or find_passages
    queries = list(queries)
    if not queries or repeat < 1:
        raise ValueError("latency needs at least one query and repeat >= 1")
    if warmup:
        for query in queries:
            search(query, top_k=top_k)
    timings = []
    for _ in range(repeat):
        for query in queries:
            start = time.perf_counter()
            search(query, top_k=top_k)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {
        "count": len(timings),
        "p50_ms": round(_percentile(timings, 50), 3),
        "p95_ms": round(_percentile(timings, 95), 3),
        "max_ms": round(timings[-1], 3),
        "mean_ms": round(statistics.fmean(timings), 3),
    }


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
