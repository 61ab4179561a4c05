"""What the assistant yields while it answers; chat.services stores and forwards it.

Contract between the assistant (any model) and the rest of the app:

- ``Searched``: the search it ran (the standalone query after follow-up rewriting, the
  topic it routed to, and how long search took). Zero or more, before any text.
- ``TextDelta``: the next piece of the answer text. Citation markers are ``[n]``, where
  ``n`` is the 1-based rank of a passage in ``Sources.passages``.
- ``Sources``: the passages the answer cites, in marker order ([1] is passages[0]).
  Exactly once, after the last ``TextDelta``; empty when the answer declines.
- ``Finished``: last; whether the assistant declined, the model name and token usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.search import Passage

DECLINE = "The manuals don't cover that — ask your manager."


@dataclass(frozen=True)
class Turn:
    """An earlier message of the conversation, oldest first in a history list."""

    role: str  # "user" or "assistant"
    text: str
    search_query: str = ""  # for user turns: what was searched for it


@dataclass(frozen=True)
class Searched:
    query: str
    topic: str
    search_ms: float
    results: int


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Sources:
    passages: list[Passage] = field(default_factory=list)


@dataclass(frozen=True)
class Finished:
    declined: bool
    model_name: str
    input_tokens: int | None = None
    output_tokens: int | None = None


AnswerEvent = Searched | TextDelta | Sources | Finished
