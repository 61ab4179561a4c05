"""The assistant: one answer, streamed as ``events``. See events.py for the contract.

``stream_answer`` is what chat.services calls for every turn, typed or spoken, with the
model ``LINELED_MODEL`` names: the built-in grounded model (local.py, compose.py), which
answers directly, or any PydanticAI model string (providers.py), which answers through
the PydanticAI agent (agent.py).
"""

from __future__ import annotations

from .events import DECLINE, AnswerEvent, Finished, Searched, Sources, TextDelta, Turn
from .stream import AnswerError, stream_answer

__all__ = [
    "DECLINE",
    "AnswerError",
    "AnswerEvent",
    "Finished",
    "Searched",
    "Sources",
    "TextDelta",
    "Turn",
    "stream_answer",
]
