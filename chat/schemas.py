"""Ninja schemas of the chat app's API, fields listed explicitly."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from chat.models import Citation, Feedback, Message
from knowledge.citations import image_url, thumbnail_url

# Literals rather than the model's enums: an enum would become an OpenAPI component
# named plainly "Role" or "Status", which another app's schemas could collide with.
MessageRole = Literal[tuple(Message.Role.values)]
MessageModality = Literal[tuple(Message.Modality.values)]
MessageStatus = Literal[tuple(Message.Status.values)]
Rating = Literal[tuple(Feedback.Rating.values)]


class LastMessageOut(Schema):
    role: MessageRole
    text: str = Field(description="The start of the message, at most 200 characters.")
    status: MessageStatus
    created_at: datetime


class ConversationOut(Schema):
    id: int
    title: str = Field(description="The first question, unless renamed; may be empty.")
    created_at: datetime
    updated_at: datetime = Field(description="When the last question was asked.")
    message_count: int = Field(description="Questions and answers together.")
    last_message: LastMessageOut | None

    @staticmethod
    def resolve_last_message(conversation) -> dict | None:
        """From the annotations of ``services.listed_conversations``."""
        if isinstance(conversation, dict):
            return conversation.get("last_message")
        if conversation.last_at is None:
            return None
        return {
            "role": conversation.last_role,
            "text": conversation.last_text,
            "status": conversation.last_status,
            "created_at": conversation.last_at,
        }


class ConversationIn(Schema):
    title: str = Field("", max_length=200, description="Empty: the first question names it.")


class ConversationPatch(Schema):
    title: str = Field(..., min_length=1, max_length=200)


class CitationOut(Schema):
    rank: int = Field(description="The [n] marker in the answer's text.")
    document_id: int | None = Field(description="None if the document was deleted since.")
    chunk_id: int | None
    title: str
    filename: str
    pages: list[int]
    heading: str = Field(description="Section titles, outermost first, joined by ' › '.")
    snippet: str = Field(description="HTML: escaped text with the matched words in <mark>.")
    score: float
    image_url: str | None = Field(description="The first page's image, passage highlighted.")
    thumbnail_url: str | None

    @staticmethod
    def resolve_image_url(citation: Citation) -> str | None:
        return _first_page(citation, image_url)

    @staticmethod
    def resolve_thumbnail_url(citation: Citation) -> str | None:
        return _first_page(citation, thumbnail_url)


def _first_page(citation: Citation, url) -> str | None:
    """``url`` of the citation's first page, passage highlighted; None once the document
    is deleted."""
    if not citation.document_id:
        return None
    first = citation.pages[0] if citation.pages else 1
    return url(citation.document_id, first, citation.chunk_id)


class TimingsOut(Schema):
    search_ms: float | None
    first_token_ms: float | None
    answer_ms: float | None
    total_ms: float | None


class MyFeedbackOut(Schema):
    rating: Rating
    reason: str


class MessageOut(Schema):
    id: int
    conversation: int
    role: MessageRole
    modality: MessageModality
    text: str
    status: MessageStatus
    error: str = Field(
        description='Why the answer failed, in words for the crew (such as "the model '
        'provider refused the request"); empty otherwise.'
    )
    declined: bool = Field(description="Nothing in the manuals answered the question.")
    reply_to: int | None = Field(description="For an answer: the question's id.")
    created_at: datetime
    citations: list[CitationOut]
    timings: TimingsOut
    feedback: MyFeedbackOut | None = Field(description="Your rating of this answer, if any.")

    @staticmethod
    def resolve_conversation(message: Message) -> int:
        return message.conversation_id

    @staticmethod
    def resolve_error(message: Message) -> str:
        return message.public_error  # the full reason (``error``) is for ops only

    @staticmethod
    def resolve_reply_to(message: Message) -> int | None:
        return message.reply_to_id

    @staticmethod
    def resolve_timings(message: Message) -> Message:
        return message  # TimingsOut reads its fields off the message

    @staticmethod
    def resolve_feedback(message: Message) -> Feedback | None:
        """The rating prefetched by ``services.messages_for``, of the user it was asked
        for; None for a message read otherwise."""
        given = getattr(message, "user_feedback", None)
        if message.role != Message.Role.ASSISTANT or not given:
            return None
        return given[0]


class ConversationDetailOut(ConversationOut):
    # Read from ``conversation.messages``: prefetched by ``services.with_messages``.
    messages: list[MessageOut] = Field(description="Oldest first.")


class AskIn(Schema):
    text: str = Field(description="The question, 1 to 2000 characters.")
    modality: MessageModality = "text"


class TurnOut(Schema):
    question: MessageOut
    answer: MessageOut


class FeedbackIn(Schema):
    rating: Rating
    reason: str = Field("", max_length=2000)


class FeedbackOut(Schema):
    message: int
    rating: Rating
    reason: str

    @staticmethod
    def resolve_message(feedback: Feedback) -> int:
        return feedback.message_id


# --- A turn's events: what the chat websocket and the SSE stream send, and voice relays ---


class StartEvent(Schema):
    type: Literal["start"] = "start"
    conversation: int
    question: int = Field(description="The stored question's id.")
    message: int = Field(description="The answer's id (pending until done).")


class TokenEvent(Schema):
    type: Literal["token"] = "token"
    text: str = Field(description="The next piece of the answer's text.")


class CitationsEvent(Schema):
    type: Literal["citations"] = "citations"
    citations: list[CitationOut]


class DoneEvent(Schema):
    type: Literal["done"] = "done"
    message: int
    declined: bool
    timings: TimingsOut


class AnswerErrorEvent(Schema):
    """Instead of ``done``: the answer failed, and is stored as failed."""

    type: Literal["error"] = "error"
    message: str = Field(description="What went wrong, in words for the crew.")
    message_id: int


# --- The chat socket's own messages, beside a turn's events ---


class ReadyEvent(Schema):
    """The socket is open on this conversation."""

    type: Literal["ready"] = "ready"
    conversation: int


class PongEvent(Schema):
    type: Literal["pong"] = "pong"


class RefusedEvent(Schema):
    """A frame refused (the socket stays open), or, on the SSE stream, a question that
    could not be stored once the response had begun (no ``code`` there)."""

    type: Literal["error"] = "error"
    message: str = Field(description="What was wrong, and what to send instead.")
    code: str | None = Field(
        default=None,
        description="invalid_json, too_large, unknown_type, not_found, busy, unavailable, ...",
    )
