"""The built-in grounded model (``LINELED_MODEL=local``): a PydanticAI ``FunctionModel``
that needs no network and no weights.

It reads the conversation as any model does: given a question it calls search_manuals;
given the passages the tool returned, it writes the answer from them (``compose``),
quoting the manuals' sentences with their [n] markers, or the decline. It follows the
two instructions it understands: a voice answer (``VOICE_STYLE``) and safety first
(``SAFETY_STYLE``). Streamed, the answer comes a few words at a time (WORDS_PER_DELTA):
the reader sees it grow, and each delta costs the agent's machinery a little CPU.

Its first move is always the same search, so ``searched_first`` runs it ahead of the
agent run and hands the run the call and its result: the answer is then one model
request instead of two (each costs the agent's machinery a few ms of CPU).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

from django.db.models import Q
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

from knowledge import background, vectors
from knowledge.models import Chunk
from lineled.lanes import lane

from . import vocabulary
from .agent import SAFETY_STYLE, VOICE_STYLE, AnswerDeps, search_for
from .compose import Source, plan, write
from .events import DECLINE
from .question import understand

logger = logging.getLogger(__name__)

NAME = "local"
SEARCH_CALL_ID = "search-1"
WORDS_PER_DELTA = 4
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
    sources = sources_from(found)
    query = found.get("query", "")
    knowing = await lane(knowledge)(query, sources)
    sources, words, question_vector, unit_vectors, measured = knowing
    voice = VOICE_STYLE in instructions
    chosen = plan(
        understand(query),
        sources,
        words,
        safety_first=SAFETY_STYLE in instructions,
        voice=voice,
        question_vector=question_vector,
        unit_vectors=unit_vectors,
        background=measured,
    )
    if chosen is None:
        return iter([DECLINE])
    return write(chosen, voice=voice)


def _following(sources: list[Source]) -> dict[int, Chunk]:
    """The next chunk of each passage that ends on a lead-in ("... the following
    procedures:"): its list was cut off at the chunk's end."""
    cut = [s.chunk_id for s in sources if s.chunk_id and s.text.rstrip().endswith(":")]
    if not cut:
        return {}
    places = Chunk.objects.filter(pk__in=cut).values_list("pk", "document_id", "order")
    wanted = {(document, order + 1): pk for pk, document, order in places}
    if not wanted:
        return {}
    after = Q()
    for document, order in wanted:
        after |= Q(document_id=document, order=order)
    nexts = Chunk.objects.filter(after).only("pk", "text", "document_id", "order")
    return {wanted[(c.document_id, c.order)]: c for c in nexts}


def sources_from(found: dict) -> list[Source]:
    """The passages of a search_manuals result, as the writer reads them."""
    return [
        Source(
            p["n"],
            p.get("manual", ""),
            p.get("section", ""),
            p.get("text", ""),
            int(p.get("chunk_id") or 0),
            float(p.get("score") or 0.0),
        )
        for p in found.get("passages", [])
    ]


def knowledge(query: str, sources: list[Source]):
    """What the writer reads beside the question: the passages (a passage whose list
    goes on in the next chunk made whole), the store's word counts, the embeddings of
    the question and of the passages' units, and the store's background (the last three
    None or empty without embeddings)."""
    words = vocabulary.current()
    following = _following(sources)
    sources = [
        replace(s, text=f"{s.text}\n{following[s.chunk_id].text}") if s.chunk_id in following else s
        for s in sources
    ]
    ids = [s.chunk_id for s in sources if s.chunk_id]
    found = vectors.stored([*ids, *(c.pk for c in following.values())]) if ids else {}
    for pk, chunk in following.items():
        if pk in found and chunk.pk in found:
            found[pk].units.update(found[chunk.pk].units)
    if not found:
        return sources, words, None, {}, None
    try:
        return sources, words, vectors.question(query), found, background.baseline()
    except Exception:  # the model cannot run here: words alone
        logger.warning("the question could not be embedded", exc_info=True)
        return sources, words, None, {}, None


def _search_args(question: str) -> str:
    return json.dumps({"query": question})


async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """One whole response: the search call, or the answer."""
    question, found = _turn(messages)
    if found is None:
        return ModelResponse(parts=[ToolCallPart("search_manuals", _search_args(question))])
    return ModelResponse(parts=[TextPart("".join(await _answer(found, info)))])


async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator:
    """The same response, streamed: the tool call at once, the answer WORDS_PER_DELTA
    words at a time (a piece's last delta may be shorter; joined, the same text)."""
    question, found = _turn(messages)
    if found is None:
        yield {0: DeltaToolCall(name="search_manuals", json_args=_search_args(question))}
        return
    for piece in await _answer(found, info):
        words = _WORD.findall(piece)
        for start in range(0, len(words), WORDS_PER_DELTA):
            yield "".join(words[start : start + WORDS_PER_DELTA])


async def searched_first(deps: AnswerDeps) -> list[ModelMessage]:
    """The messages of the question and of the search this model asks for first, run
    now: a run started from them (with no new prompt) goes straight to the answer."""
    found = await search_for(deps, deps.question)
    return [
        ModelRequest(parts=[UserPromptPart(deps.question)]),
        ModelResponse(
            parts=[ToolCallPart("search_manuals", _search_args(deps.question), SEARCH_CALL_ID)]
        ),
        ModelRequest(parts=[ToolReturnPart("search_manuals", found, SEARCH_CALL_ID)]),
    ]


model = FunctionModel(respond, stream_function=stream, model_name=NAME)
