"""The assistant: one answer, streamed as ``events``. See events.py for the contract.

``stream_answer`` is what chat.services calls for every turn, typed or spoken.
"""

from __future__ import annotations

from .events import DECLINE, AnswerEvent, Finished, Searched, Sources, TextDelta, Turn
from .skeleton import stream_answer

__all__ = [
    "DECLINE",
    "AnswerEvent",
    "Finished",
    "Searched",
    "Sources",
    "TextDelta",
    "Turn",
    "stream_answer",
]
