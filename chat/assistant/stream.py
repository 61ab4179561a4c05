"""``stream_answer``: one agent run turned into the events chat.services consumes.

The run is driven node by node (``Agent.iter``) so the model's text is forwarded as it
streams. Searches the tools ran are told (``Searched``) before the text that uses them;
the built-in model's one search is run before the run (``local.searched_first``), whose
one model request is then the answer. The text of a model we do not control goes
through a ``citations.Gate``: it is shown up to its last checked marker, and what its
output validator rejects is never shown. A rejection after part of an answer was shown
cannot be taken back, so that answer fails with a clear reason instead of being retried.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

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
from pydantic_graph import End

from chat import markers

from . import citations, providers
from . import local as local_model
from .agent import OUTPUT_RETRIES, AnswerDeps, agent
from .events import AnswerEvent, Finished, Sources, TextDelta, Turn

logger = logging.getLogger(__name__)


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
    """Answer ``question`` (``history``: the earlier turns, oldest first) as events."""
    deps = AnswerDeps.for_question(question, history, user, modality)
    chosen = providers.model()
    local = providers.is_local(chosen)
    gate = citations.Gate(0, trusted=local)
    told = 0  # searches already told
    timeout = settings.LINELED_MODEL_TIMEOUT_SECONDS
    prompt, messages = question, _messages(history)
    if local:  # its search is known in advance: run it now, the run is one request
        prompt, messages = None, [*messages, *await local_model.searched_first(deps)]
    try:
        async with agent.iter(
            prompt, deps=deps, model=chosen, message_history=messages, timeout=timeout
        ) as run:
            node = run.next_node
            while not isinstance(node, End):
                if Agent.is_model_request_node(node):
                    for searched in deps.searches[told:]:
                        yield searched
                    told = len(deps.searches)
                    if gate.released:
                        raise AnswerError(
                            "the model's answer cited a passage it was not given after part "
                            "of it was shown"
                        )
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
            output = run.result.output
            usage = run.usage
    except UnexpectedModelBehavior as exc:
        broke = f"the model kept breaking the citation rules ({OUTPUT_RETRIES} retries)"
        raise AnswerError(f"{broke}: {exc}", public=broke) from exc
    except RunTimedOut as exc:
        raise AnswerError(f"the model did not answer within {timeout:g} s") from exc
    except ModelConnectionError as exc:
        unreachable = "the model provider could not be reached"
        raise AnswerError(f"{unreachable}: {exc}", public=unreachable) from exc
    except ModelAPIError as exc:
        refused = "the model provider refused the request"
        raise AnswerError(f"{refused}: {exc}", public=refused) from exc
    declined = citations.is_decline(output)
    yield Sources([] if declined else list(deps.passages))
    yield Finished(
        declined=declined,
        model_name=providers.model_name(),
        input_tokens=None if local else usage.input_tokens or None,
        output_tokens=None if local else usage.output_tokens or None,
    )


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
