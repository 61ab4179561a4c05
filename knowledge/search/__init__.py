"""Search over the manuals: ``search(query)`` returns the best passages.

The backend is picked by the ``SEARCH_BACKEND`` setting (default "local", full-text
search in the app's database); a Ragie backend can be registered in ``BACKENDS``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import MAX_TOP_K, Filters, Passage, SearchBackend
from .local import LocalBackend

__all__ = [
    "BACKENDS",
    "MAX_TOP_K",
    "Filters",
    "LocalBackend",
    "Passage",
    "SearchBackend",
    "get_backend",
    "search",
]

BACKENDS: dict[str, type[SearchBackend]] = {"local": LocalBackend}


def search(query: str, *, top_k: int = 5, filters: dict | None = None) -> list[Passage]:
    """The ``top_k`` passages of READY documents that best answer ``query``, best first.

    ``filters`` may hold ``document_ids`` (list of ints) and ``kinds`` (Document.Kind
    values). An empty or stopword-only query gives []. Raises ValueError for a
    ``top_k`` outside 1..MAX_TOP_K or malformed filters, never for the query text.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"top_k must be an integer from 1 to {MAX_TOP_K}")
    parsed_filters = Filters.parse(filters)
    if not isinstance(query, str) or not query.strip():
        return []
    return get_backend().search(query, top_k=top_k, filters=parsed_filters)


def get_backend() -> SearchBackend:
    """The backend named by ``settings.SEARCH_BACKEND`` ("local" when unset)."""
    name = getattr(settings, "SEARCH_BACKEND", "local")
    if name not in BACKENDS:
        known = ", ".join(BACKENDS)
        raise ImproperlyConfigured(f"SEARCH_BACKEND is {name!r}; known backends: {known}")
    return BACKENDS[name]()
