"""The built-in grounded model (``LINELED_MODEL=local``): a PydanticAI ``FunctionModel``
that needs no network and no weights.

It reads the conversation as any model does: given a question it calls search_manuals;
given the passages the tool returned, it writes the answer from them (``compose``),
quoting the manuals' sentences with their [n] markers, or the decline. It follows the
two instructions it understands: a voice answer (``VOICE_STYLE``) and safety first
(``SAFETY_STYLE``). Streamed, the answer comes a word at a time as it is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel

from . import vocabulary
from .agent import SAFETY_STYLE, VOICE_STYLE
from .compose import Source, plan, write
from .events import DECLINE
from .question import understand

NAME = "local"
_WORD = re.compile(r"\s*\S+")


def _turn(messages: list[ModelMessage]) -> tuple[str, dict | None]:
    """The question of this run and the last search result returned for it."""
    question, found = "", None
    for message in messages:
        if not isinstance(message, ModelRequest):
            continue
        for part in message.parts:
            if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                if "retry_feedback" not in part.content:  # not the agent's own feedback
                    question, found = part.content, None
            elif isinstance(part, ToolReturnPart) and part.tool_name == "search_manuals":
                found = part.content if isinstance(part.content, dict) else None
    return question, found


async def _answer(found: dict, info: AgentInfo) -> Iterator[str]:
    """The answer's pieces, written from the search result as they are asked for."""
    instructions = info.instructions or ""
    sources = [
        Source(p["n"], p.get("manual", ""), p.get("section", ""), p.get("text", ""))
        for p in found.get("passages", [])
    ]
    words = await sync_to_async(vocabulary.current)()
    voice = VOICE_STYLE in instructions
    chosen = plan(
        understand(found.get("query", "")),
        sources,
        words,
        safety_first=SAFETY_STYLE in instructions,
        voice=voice,
    )
    if chosen is None:
        return iter([DECLINE])
    return write(chosen, voice=voice)


def _search_args(question: str) -> str:
    return json.dumps({"query": question})


async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """One whole response: the search call, or the answer."""
    question, found = _turn(messages)
    if found is None:
        return ModelResponse(parts=[ToolCallPart("search_manuals", _search_args(question))])
    return ModelResponse(parts=[TextPart("".join(await _answer(found, info)))])


async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator:
    """The same response, streamed: the tool call at once, the answer word by word."""
    question, found = _turn(messages)
    if found is None:
        yield {0: DeltaToolCall(name="search_manuals", json_args=_search_args(question))}
        return
    for piece in await _answer(found, info):
        for word in _WORD.findall(piece):
            yield word


model = FunctionModel(respond, stream_function=stream, model_name=NAME)
