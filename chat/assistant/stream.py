"""``stream_answer``: one answer turned into the events chat.services consumes.

The built-in model answers directly (``_direct``): its one search, told (``Searched``)
as soon as it is done, then its text as it is written. It needs none of the agent's
round trips (a tool call, then a second request for the answer), whose machinery cost
as much CPU as the answer. Any other model answers through the agent
(``_through_agent``), driven node by node (``Agent.iter``) so its text is forwarded as
it streams; the searches its tools ran are told before the text that uses them. The
text of a model we do not control goes through a ``citations.Gate``: it is shown up to
its last checked marker, and what its output validator rejects is never shown. A
rejection after part of an answer was shown cannot be taken back, so that answer fails
with a clear reason instead of being retried.

Both paths yield the same events for the same answer: the built-in model's text is held
to the citation contract as the output validator would hold it (it cites by
construction, so that never fails), it reports no token usage, and it fails with the
same reason when it outlasts ``LINELED_MODEL_TIMEOUT_SECONDS``: its search and its
writing count, as a remote model's tool calls and text do, and the limit is checked
between its own steps, never while the caller handles an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TypeVar

from django.conf import settings
from pydantic_ai import Agent, UnexpectedModelBehavior
from pydantic_ai.exceptions import ModelAPIError, ModelConnectionError, RunTimedOut
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    UserPromptPart,
)
from pydantic_ai.models import Model
from pydantic_graph import End

from chat import markers
from lineled.lanes import lane

from . import citations, providers
from . import local as local_model
from .agent import OUTPUT_RETRIES, AnswerDeps, agent
from .events import AnswerEvent, Finished, Sources, TextDelta, Turn

logger = logging.getLogger(__name__)

T = TypeVar("T")
BROKE = f"the model kept breaking the citation rules ({OUTPUT_RETRIES} retries)"
SHOWN_THEN_BROKE = "the model's answer cited a passage it was not given after part of it was shown"


class AnswerError(Exception):
    """The model could not give an answer that keeps the citation contract, in time, or
    its provider refused. ``public`` is what the crew may be told; the message itself may
    quote the provider (an account, a key's prefix, a quota) and is for ops only."""

    def __init__(self, message: str, *, public: str | None = None):
        super().__init__(message)
        self.public = public or message


async def stream_answer(
    *, question: str, history: list[Turn], user, modality: str = "text"
) -> AsyncIterator[AnswerEvent]:
    """Answer ``question`` (``history``: the earlier turns, oldest first) as events: any
    number of ``Searched``, then ``TextDelta``s, one ``Sources``, one ``Finished``
    (events.py); AnswerError when no answer keeping the citation contract came in time."""
    deps = AnswerDeps.for_question(question, history, user, modality)
    local = providers.is_local()
    events = _direct(deps) if local else _through_agent(deps, providers.model())
    async with contextlib.aclosing(events):  # closed with this one (a run's cleanup)
        async for event in events:
            yield event


async def _direct(deps: AnswerDeps) -> AsyncIterator[AnswerEvent]:
    """The built-in model's answer, without the agent: its search, then its text."""
    timeout = settings.LINELED_MODEL_TIMEOUT_SECONDS
    deadline = asyncio.get_running_loop().time() + timeout
    work = lane(local_model.found_and_read)(deps)
    found, known = await _within(deadline, timeout, work)
    for searched in deps.searches:
        yield searched
    text = []
    for delta in local_model.written(found, known, deps):
        if asyncio.get_running_loop().time() > deadline:
            raise _timed_out(timeout)
        text.append(delta)
        yield TextDelta(delta)
    output = "".join(text)
    if citations.problem(output, len(deps.passages)):  # as the output validator would
        raise AnswerError(SHOWN_THEN_BROKE if output else BROKE)
    declined = citations.is_decline(output)
    yield Sources([] if declined else list(deps.passages))
    yield Finished(declined=declined, model_name=providers.model_name())


async def _within(deadline: float, timeout: float, work: Awaitable[T]) -> T:
    """``work``'s result, or AnswerError if it is not done by ``deadline`` (loop time)."""
    try:
        async with asyncio.timeout_at(deadline) as limit:
            return await work
    except TimeoutError as exc:
        if limit.expired():
            raise _timed_out(timeout) from exc
        raise


def _timed_out(timeout: float) -> AnswerError:
    return AnswerError(f"the model did not answer within {timeout:g} s")


async def _through_agent(deps: AnswerDeps, chosen: Model) -> AsyncIterator[AnswerEvent]:
    """A model's answer through the agent run, its text gated by its checked markers."""
    timeout = settings.LINELED_MODEL_TIMEOUT_SECONDS
    with _agent_errors(timeout):
        async with agent.iter(
            deps.question,
            deps=deps,
            model=chosen,
            message_history=_messages(deps.history),
            timeout=timeout,
        ) as run:
            async for event in _run_events(run, deps):
                yield event
            output, usage = run.result.output, run.usage
    declined = citations.is_decline(output)
    yield Sources([] if declined else list(deps.passages))
    yield Finished(
        declined=declined,
        model_name=providers.model_name(),
        input_tokens=usage.input_tokens or None,
        output_tokens=usage.output_tokens or None,
    )


async def _run_events(run, deps: AnswerDeps) -> AsyncIterator[AnswerEvent]:
    """The run driven node by node: each model request's searches told before its text,
    the text released by a ``citations.Gate``; AnswerError when a rejected answer had
    already been shown in part."""
    gate = citations.Gate(0)
    told = 0  # searches already told
    node = run.next_node
    while not isinstance(node, End):
        if Agent.is_model_request_node(node):
            for searched in deps.searches[told:]:
                yield searched
            told = len(deps.searches)
            if gate.released:
                raise AnswerError(SHOWN_THEN_BROKE)
            gate.reset(len(deps.passages))
            async with node.stream(run.ctx) as events:
                async for event in events:
                    if (text := _text(event)) and (piece := gate.feed(text)):
                        yield TextDelta(piece)
        node = await run.next(node)
    for searched in deps.searches[told:]:
        yield searched
    if piece := gate.finish():
        yield TextDelta(piece)


@contextlib.contextmanager
def _agent_errors(timeout: float) -> Iterator[None]:
    """The agent run's failures as AnswerErrors, with what the crew may be told."""
    try:
        yield
    except UnexpectedModelBehavior as exc:
        raise AnswerError(f"{BROKE}: {exc}", public=BROKE) from exc
    except RunTimedOut as exc:
        raise _timed_out(timeout) from exc
    except ModelConnectionError as exc:
        unreachable = "the model provider could not be reached"
        raise AnswerError(f"{unreachable}: {exc}", public=unreachable) from exc
    except ModelAPIError as exc:
        refused = "the model provider refused the request"
        raise AnswerError(f"{refused}: {exc}", public=refused) from exc


def _text(event) -> str:
    """The text a model stream event adds to the answer, if any."""
    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
        return event.part.content
    if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
        return event.delta.content_delta
    return ""


def _messages(history: list[Turn]) -> list[ModelMessage]:
    """Earlier turns as model messages; old markers go (they named other passages)."""
    messages: list[ModelMessage] = []
    for turn in history:
        if turn.role == "user":
            messages.append(ModelRequest(parts=[UserPromptPart(turn.text)]))
        elif turn.text.strip():
            messages.append(ModelResponse(parts=[TextPart(markers.plain(turn.text))]))
    return messages
