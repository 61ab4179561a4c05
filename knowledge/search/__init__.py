"""Search over the manuals: ``search(query)`` returns the best passages.

The backend is picked by the ``SEARCH_BACKEND`` setting: "local" (full-text search in
the app's database) or "ragie" (Ragie's retrieval API, mapped onto local chunks). When
Ragie fails, the local index answers instead. Every search is recorded as a
SearchEvent (backend, latency, outcome) for monitoring.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from knowledge.models import SearchEvent

from .base import MAX_TOP_K, Filters, Passage, SearchBackend
from .local import LocalBackend
from .ragie import RagieBackend

__all__ = [
    "BACKENDS",
    "MAX_TOP_K",
    "Filters",
    "LocalBackend",
    "Passage",
    "RagieBackend",
    "SearchBackend",
    "get_backend",
    "search",
]

logger = logging.getLogger(__name__)

BACKENDS: dict[str, type[SearchBackend]] = {"local": LocalBackend, "ragie": RagieBackend}


def search(query: str, *, top_k: int = 5, filters: dict | None = None) -> list[Passage]:
    """The ``top_k`` passages of READY documents that best answer ``query``, best first.

    ``filters`` may hold ``document_ids`` (list of ints) and ``kinds`` (Document.Kind
    values). An empty or stopword-only query gives []. Raises ValueError for a
    ``top_k`` outside 1..MAX_TOP_K or malformed filters, never for the query text.
    If a remote backend fails, the local index answers (outcome "fallback").
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"top_k must be an integer from 1 to {MAX_TOP_K}")
    parsed_filters = Filters.parse(filters)
    if not isinstance(query, str) or not query.strip():
        return []
    backend = get_backend()
    start = time.perf_counter()
    outcome, error = SearchEvent.Outcome.OK, ""
    try:
        try:
            results = backend.search(query, top_k=top_k, filters=parsed_filters)
        except Exception as exc:
            if isinstance(backend, LocalBackend):
                raise
            outcome, error = SearchEvent.Outcome.FALLBACK, _describe(exc)
            logger.warning("%s search failed, using the local index: %s", backend.name, error)
            results = LocalBackend().search(query, top_k=top_k, filters=parsed_filters)
    except Exception as exc:
        failure = _describe(exc)
        _record(backend.name, query, top_k, 0, start, SearchEvent.Outcome.ERROR, error, failure)
        raise
    _record(backend.name, query, top_k, len(results), start, outcome, error)
    return results


def get_backend() -> SearchBackend:
    """The backend named by ``settings.SEARCH_BACKEND`` ("local" when unset)."""
    name = getattr(settings, "SEARCH_BACKEND", "local")
    if name not in BACKENDS:
        known = ", ".join(BACKENDS)
        raise ImproperlyConfigured(f"SEARCH_BACKEND is {name!r}; known backends: {known}")
    return BACKENDS[name]()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _record(backend, query, top_k, results, start, outcome, *errors: str) -> None:
    """One INSERT describing the search; never raises, never breaks the caller's transaction."""
    latency_ms = (time.perf_counter() - start) * 1000
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.needs_rollback:
            return  # inside a broken atomic block: any query would fail
        event = SearchEvent(
            backend=backend[:16],
            query=query[:500],
            top_k=top_k,
            results=min(results, 32767),
            latency_ms=round(latency_ms, 3),
            outcome=outcome,
            error="\n".join(e for e in errors if e)[:4000],
        )
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a failed INSERT must not doom the caller
                event.save(force_insert=True)
        else:
            event.save(force_insert=True)
    except Exception:
        logger.warning("could not record a search event", exc_info=True)
