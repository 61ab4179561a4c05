"""A stand-in assistant (search, then the best passage's first sentences) that keeps the
chat app working end to end until the PydanticAI agent replaces it."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async

from knowledge.search import search

from .events import DECLINE, AnswerEvent, Finished, Searched, Sources, TextDelta, Turn


async def stream_answer(
    *, question: str, history: list[Turn], user, modality: str = "text"
) -> AsyncIterator[AnswerEvent]:
    started = time.perf_counter()
    passages = await sync_to_async(search)(question, top_k=4)
    yield Searched(question, "", (time.perf_counter() - started) * 1000, len(passages))
    if not passages:
        yield TextDelta(DECLINE)
        yield Sources([])
        yield Finished(declined=True, model_name="skeleton")
        return
    sentences = re.split(r"(?<=[.!?])\s+", passages[0].text.strip())
    text = " ".join(sentences[:2]) + " [1]"
    for word in re.findall(r"\S+\s*", text):
        yield TextDelta(word)
    yield Sources(passages[:1])
    yield Finished(declined=False, model_name="skeleton")
