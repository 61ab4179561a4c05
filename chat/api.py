"""Chat endpoints: your conversations, asking (whole or streamed), feedback on answers.

Everyone with a role may chat; a user only ever sees their own conversations (anyone
else's answer 404, like a missing one).
"""

import json
import logging
from collections.abc import AsyncIterator

from django.http import StreamingHttpResponse
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from chat import services
from chat.models import Conversation
from chat.schemas import (
    AskIn,
    ConversationDetailOut,
    ConversationIn,
    ConversationOut,
    ConversationPatch,
    FeedbackIn,
    FeedbackOut,
    RefusedEvent,
    TurnOut,
)
from lineled import admission
from lineled.admission import UserRate
from lineled.auth import require_role
from lineled.errors import DomainError, NotFound
from lineled.roles import Role
from lineled.schemas import ErrorOut

logger = logging.getLogger(__name__)
router = Router(tags=["chat"])

ERRORS = {403: ErrorOut, 404: ErrorOut}
BUSY = {429: ErrorOut}  # over a rate, or too many answers being written: see Retry-After
EVENTS_DOC = (
    "Server-sent events, each `event: <type>` and `data: <JSON>`: `start` (the ids of "
    "the stored question and answer), `token` (many, the answer's text in pieces), "
    "`citations`, then `done`; or `error` (with `message`) instead of `done`. The same "
    "events as the chat websocket. Closing the stream does not stop the answer: it is "
    "finished and stored."
)


def _user(request):
    require_role(request, Role.CREW)
    return request.auth


def _listed(user, conversation_id: int, *, messages: bool = False) -> Conversation:
    """The conversation as the list shows it (404 if it is not the user's); with
    ``messages``, those too."""
    conversations = services.listed_conversations(user)
    if messages:
        conversations = services.with_messages(conversations, user)
    conversation = conversations.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation


@router.get(
    "/conversations",
    response={200: list[ConversationOut], 403: ErrorOut},
    summary="Your conversations",
)
@paginate(LimitOffsetPagination, max_limit=100)
def list_conversations(request):
    """Most recently asked in first, each with its message count and last message."""
    return services.listed_conversations(_user(request))


@router.post(
    "/conversations",
    response={201: ConversationOut, 403: ErrorOut, **BUSY},
    summary="Start a conversation",
    throttle=[UserRate("RATE_API_USER"), UserRate("RATE_CONVERSATIONS")],
)
def create_conversation(request, body: ConversationIn):
    user = _user(request)
    conversation = services.create_conversation(user, body.title)
    return Status(201, _listed(user, conversation.pk))


@router.get(
    "/conversations/{conversation_id}",
    response={200: ConversationDetailOut, **ERRORS},
    summary="A conversation with its messages",
)
def get_conversation(request, conversation_id: int):
    return _listed(_user(request), conversation_id, messages=True)


@router.patch(
    "/conversations/{conversation_id}",
    response={200: ConversationOut, 400: ErrorOut, **ERRORS},
    summary="Rename a conversation",
)
def rename_conversation(request, conversation_id: int, body: ConversationPatch):
    user = _user(request)
    services.rename_conversation(services.get_conversation(user, conversation_id), body.title)
    return _listed(user, conversation_id)


@router.delete(
    "/conversations/{conversation_id}",
    response={204: None, **ERRORS},
    summary="Delete a conversation and its messages",
)
def delete_conversation(request, conversation_id: int):
    user = _user(request)
    services.delete_conversation(services.get_conversation(user, conversation_id))
    return Status(204, None)


@router.post(
    "/conversations/{conversation_id}/messages",
    response={200: TurnOut, 400: ErrorOut, **ERRORS, **BUSY},
    summary="Ask, and get the whole answer",
)
def ask(request, conversation_id: int, body: AskIn):
    """Stores the question, waits for the answer and returns both with the answer's
    citations. An answer that failed comes back with status ``failed`` and ``error``;
    the question stays stored either way. 429 (nothing stored) when asking too fast or
    with too many answers being written: try again after ``Retry-After`` seconds."""
    user = _user(request)
    conversation = services.get_conversation(user, conversation_id)
    ticket = admission.admit_answer(user)
    start = services.answer_now(
        conversation, user, body.text, modality=body.modality, ticket=ticket
    )[0]
    question, answer = services.messages_for(user, ids=[start["question"], start["message"]])
    return {"question": question, "answer": answer}


@router.post(
    "/conversations/{conversation_id}/messages/stream",
    response={400: ErrorOut, **ERRORS, **BUSY},
    summary="Ask, and get the answer streamed (server-sent events)",
    openapi_extra={
        "responses": {
            200: {
                "description": EVENTS_DOC,
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def ask_streamed(request, conversation_id: int, body: AskIn):
    """The question is checked before the stream starts: a bad one answers 400 in JSON,
    and one over the limits 429, as ``POST .../messages`` does."""
    user = _user(request)
    conversation = services.get_conversation(user, conversation_id)
    text = services.clean_question(body.text)
    ticket = admission.admit_answer(user)
    events = services.run_turn(conversation, user, text, modality=body.modality, ticket=ticket)
    response = StreamingHttpResponse(_server_sent(events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _server_sent(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    """The events as SSE; a failure to store the question (the response has begun, so
    it cannot be an HTTP error any more) is an ``error`` event too."""
    try:
        async for event in events:
            yield _event(event)
    except DomainError as exc:  # the conversation was deleted since it was checked
        yield _event(RefusedEvent(message=exc.message).model_dump(exclude_none=True))
    except Exception:
        logger.exception("storing a streamed question failed")
        refused = RefusedEvent(message="the question could not be stored; try again")
        yield _event(refused.model_dump(exclude_none=True))


def _event(event: dict) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


@router.post(
    "/messages/{message_id}/feedback",
    response={200: FeedbackOut, 400: ErrorOut, **ERRORS},
    summary="Thumbs up or down on an answer",
)
def give_feedback(request, message_id: int, body: FeedbackIn):
    """Giving it again replaces your earlier rating of the same answer."""
    return services.give_feedback(_user(request), message_id, body.rating, body.reason)
