"""Conversations and turns: what the websocket, the REST API, ``manage.py ask`` and voice
all call, so every path stores and answers a question the same way.

A turn (``run_turn``) stores the question first, then an answer message (pending), then
runs the assistant in a task of its own: the answer is saved as it grows and always
finishes (done, or failed with the reason) even when nobody is listening any more. The
caller reads events while it wants them, each the JSON-ready dict of a schema in
``chat.schemas``: ``StartEvent``, ``TokenEvent`` (many), ``CitationsEvent``, then
``DoneEvent``, or ``AnswerErrorEvent`` instead of done.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
import unicodedata
from collections.abc import AsyncIterator
from datetime import timedelta

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, OuterRef, Prefetch, Subquery, Value, When
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from ninja import Schema

from chat import assistant
from chat import markers as citation_markers  # `markers` is the _Markers in _answer
from chat.assistant import AnswerError, Finished, Searched, Sources, TextDelta, Turn
from chat.models import Citation, Conversation, Feedback, Message
from chat.schemas import (
    AnswerErrorEvent,
    CitationOut,
    CitationsEvent,
    DoneEvent,
    MessageOut,
    StartEvent,
    TimingsOut,
    TokenEvent,
)
from knowledge.models import Chunk, Document
from knowledge.search import Passage
from lineled.admission import Ticket
from lineled.errors import Invalid, NotFound
from lineled.lanes import lane
from lineled.lib.text import lone_surrogate

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
COULD_NOT_FINISH = "the assistant could not finish this answer"  # an unexpected failure
HISTORY_TURNS = 6  # earlier messages the assistant sees
SAVE_EVERY_SECONDS = 0.25  # a streaming answer is written at most this often
TITLE_CHARS = 80
PREVIEW_CHARS = 200  # of the last message, in conversation lists
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_running: set[asyncio.Task] = set()  # answer tasks, kept referenced until they finish


# --- Conversations ---------------------------------------------------------------------


def conversations_of(user):
    return Conversation.objects.filter(user=user)


def get_conversation(user, conversation_id) -> Conversation:
    """The user's conversation; NotFound for a missing id or anyone else's (one message
    for both, so ids of other people's conversations are not confirmed)."""
    try:
        conversation_id = int(conversation_id)
    except (TypeError, ValueError):
        raise NotFound(f"no conversation {conversation_id!r}") from None
    conversation = Conversation.objects.filter(pk=conversation_id, user=user).first()
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation


def listed_conversations(user):
    """The user's conversations, most recently asked in first, each annotated with
    ``message_count`` and its last message's ``last_role``, ``last_text`` (the first
    PREVIEW_CHARS characters), ``last_status`` and ``last_at`` (None when empty)."""
    messages = Message.objects.filter(conversation=OuterRef("pk"))
    last = messages.order_by("-created_at", "-pk")
    count = messages.order_by().values("conversation").annotate(n=Count("pk")).values("n")
    return conversations_of(user).annotate(
        message_count=Coalesce(Subquery(count), 0),
        last_role=Subquery(last.values("role")[:1]),
        last_text=Subquery(last.values(preview=Substr("text", 1, PREVIEW_CHARS))[:1]),
        last_status=Subquery(last.values("status")[:1]),
        last_at=Subquery(last.values("created_at")[:1]),
    )


def create_conversation(user, title: str = "") -> Conversation:
    return Conversation.objects.create(user=user, title=_clean_title(title))


def rename_conversation(conversation: Conversation, title: str) -> Conversation:
    """A new title (whitespace collapsed); Invalid if blank. Not counted as activity:
    ``updated_at`` (the list's order) is when a question was last asked."""
    title = _clean_title(title)
    if not title:
        raise Invalid("the title cannot be blank")
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


def delete_conversation(conversation: Conversation) -> None:
    """Delete it with its messages; an answer being written meanwhile is dropped."""
    conversation.delete()


def _clean_title(title: str) -> str:
    return " ".join(title.split())[:200]


def clean_question(text) -> str:
    """The question as it will be stored; Invalid with a message for the user if it is
    not a question we can take."""
    if not isinstance(text, str):
        raise Invalid("the question must be text")
    if (found := lone_surrogate(text)) is not None:
        raise Invalid(f"the question holds {found}, a lone surrogate, not a character; retype it")
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text)).strip()
    if not text:
        raise Invalid("the question is empty; type or say what you want to know")
    if len(text) > MAX_QUESTION_CHARS:
        raise Invalid(
            f"the question is {len(text)} characters long; keep it under "
            f"{MAX_QUESTION_CHARS} (ask one thing at a time)"
        )
    return text


def history(conversation: Conversation, before: Message) -> list[Turn]:
    """The finished messages before ``before``, oldest first, at most HISTORY_TURNS."""
    rows = (
        conversation.messages.filter(created_at__lte=before.created_at, status=Message.Status.DONE)
        .exclude(pk=before.pk)
        .order_by("-created_at", "-pk")
        .values_list("role", "text", "search_query")[:HISTORY_TURNS]
    )
    return [Turn(role, text, query) for role, text, query in reversed(rows)]


def give_feedback(user, message_id, rating: str, reason: str = "") -> Feedback:
    """Thumbs up or down on an answer in one of the user's conversations."""
    if rating not in Feedback.Rating.values:
        raise Invalid("rating must be 'up' or 'down'")
    message = (
        Message.objects.filter(
            pk=message_id, conversation__user=user, role=Message.Role.ASSISTANT
        ).first()
        if str(message_id).isdigit()
        else None
    )
    if message is None:
        raise NotFound(f"no answer {message_id}")
    feedback, _ = Feedback.objects.update_or_create(
        message=message, user=user, defaults={"rating": rating, "reason": reason.strip()[:2000]}
    )
    return feedback


# --- Messages as the clients see them ---------------------------------------------------


def message_out(message: Message) -> MessageOut:
    """A message with its citations, as the API shows it: for what prints or sends one
    outside the API (whose endpoints return the ``Message`` and let Ninja read it through
    the same schema). ``feedback`` is the rating of the user ``messages_for`` was asked
    for; None for a message read otherwise."""
    return MessageOut.from_orm(message)


def messages_for(user, conversation: Conversation | None = None, *, ids=None):
    """Messages oldest first, of ``conversation`` or with these ``ids`` (in the user's
    conversations only), with their citations and the user's feedback prefetched."""
    messages = Message.objects.filter(conversation__user=user)
    if conversation is not None:
        messages = messages.filter(conversation=conversation)
    if ids is not None:
        messages = messages.filter(pk__in=ids)
    return messages.order_by("created_at", "pk").prefetch_related(
        "citations",
        Prefetch("feedback", queryset=Feedback.objects.filter(user=user), to_attr="user_feedback"),
    )


def with_messages(conversations, user):
    """``conversations`` with their ``messages`` prefetched as ``messages_for`` reads
    them: what ``ConversationDetailOut`` shows, in a fixed number of queries."""
    return conversations.prefetch_related(Prefetch("messages", queryset=messages_for(user)))


# --- A turn ------------------------------------------------------------------------------


async def run_turn(
    conversation: Conversation,
    user,
    text,
    *,
    modality: str = Message.Modality.TEXT,
    style: str | None = None,
    ticket: Ticket | None = None,
) -> AsyncIterator[dict]:
    """Store the question, answer it, and yield the events described above.

    ``modality`` is how the question was asked (stored on both messages); ``style``
    (default: the modality) is the answer the assistant writes: "voice" for one that
    is itself short and spoken-shaped, "text" for the full answer. The voice app asks
    for the full answer (it is on screen) and shapes the spoken part itself.

    ``ticket`` (from ``lineled.admission.admit_answer``, for a user's own question) is
    released when the answer is finished, or at once if the question is refused.

    Raises Invalid (before storing anything) for a question we cannot take, NotFound if
    the conversation was deleted meanwhile. Stopping the iteration early, or cancelling
    the task that iterates (a closed socket, a dropped HTTP stream), at any point does
    not stop the answer: it is finished and stored anyway.
    """
    try:
        question = clean_question(text)
        style = style or modality
        if modality not in Message.Modality.values or style not in Message.Modality.values:
            raise Invalid(f"modality must be one of: {', '.join(Message.Modality.values)}")
    except Invalid:
        if ticket is not None:
            ticket.release()
        raise
    queue: asyncio.Queue = asyncio.Queue()
    # Storing the question happens in the task too: a caller cancelled while it is
    # being stored would otherwise leave an answer pending forever.
    task = asyncio.create_task(
        _turn(conversation, question, user, modality, style, queue, ticket),
        context=_detached_context(),
    )
    _running.add(task)
    task.add_done_callback(_running.discard)
    while (event := await queue.get()) is not None:
        if isinstance(event, Exception):
            raise event
        yield event


def answer_now(
    conversation: Conversation, user, text, *, modality="text", ticket: Ticket | None = None
) -> list[dict]:
    """Run a whole turn from synchronous code (``manage.py ask``); all its events."""
    from asgiref.sync import async_to_sync

    async def collect():
        events = run_turn(conversation, user, text, modality=modality, ticket=ticket)
        return [event async for event in events]

    return async_to_sync(collect)()


async def wait_for_answers() -> None:
    """Wait until every answer task has finished (tests, graceful shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)


def _detached_context() -> contextvars.Context:
    """The current context minus the thread-sensitive context of a request.

    Django's ASGI handler runs each request's database work on a thread of its own and
    stops it when the request ends. An answer that outlives its request (a dropped
    stream) would then make asgiref start another thread, holding a database connection
    that nobody closes; without the request's context it uses the shared thread, as
    websocket consumers do. A calling sync thread (``answer_now``) is still used.
    """
    context = contextvars.copy_context()
    context.run(SyncToAsync.thread_sensitive_context.set, None)
    return context


async def _turn(conversation, question: str, user, modality, style, queue, ticket):
    """Store the question and an empty answer, then answer it; errors storing the
    question go to ``queue`` for ``run_turn`` to raise."""
    try:
        try:
            asked, answer, turns = await lane(_begin)(conversation, question, modality)
        except Exception as exc:
            queue.put_nowait(exc)
            queue.put_nowait(None)
            return
        started = StartEvent(conversation=conversation.pk, question=asked.pk, message=answer.pk)
        queue.put_nowait(_event(started))
        await _answer(answer, question, turns, user, style, queue)
    finally:
        if ticket is not None:
            # Not awaited: this also runs when the task is closed unfinished; one quick
            # cache call.
            ticket.release()


def _begin(conversation: Conversation, question: str, modality: str):
    now = timezone.now()
    with transaction.atomic():
        # First, so a conversation deleted meanwhile is a NotFound, not an IntegrityError
        # at commit (and its row stays locked until the messages are in). Titled from its
        # first question unless it has a title by now: ``conversation`` may be an old
        # copy (a socket keeps one while the user renames it elsewhere).
        untitled = Case(When(title="", then=Value(_title(question))), default=F("title"))
        if not Conversation.objects.filter(pk=conversation.pk).update(
            updated_at=now, title=untitled
        ):
            raise NotFound(f"no conversation {conversation.pk}")
        asked = Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER,
            modality=modality,
            text=question,
            status=Message.Status.DONE,
            created_at=now,
            finished_at=now,
        )
        answer = Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            modality=modality,
            status=Message.Status.PENDING,
            reply_to=asked,
            created_at=now,
        )
    return asked, answer, history(conversation, asked)


def _title(question: str) -> str:
    question = " ".join(question.split())
    if len(question) <= TITLE_CHARS:
        return question
    return question[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


class _Progress:
    """Saves a growing answer at most every SAVE_EVERY_SECONDS, the first time
    SAVE_EVERY_SECONDS after it began: an answer written faster is saved once, whole."""

    def __init__(self, message: Message):
        self.message = message
        self.saved_at = time.monotonic()

    async def grew(self, parts: list[str]) -> None:
        """The answer so far is ``parts``; saved if the last save is old enough."""
        now = time.monotonic()
        if now - self.saved_at < SAVE_EVERY_SECONDS:
            return
        self.saved_at = now
        self.message.text = "".join(parts)
        self.message.status = Message.Status.STREAMING
        await lane(self.message.save)(update_fields=["status", "text"])


async def _answer(answer: Message, question, turns, user, style: str, queue: asyncio.Queue):
    """Run the assistant for ``answer``; store it; feed events to ``queue``; never raise."""
    started = time.perf_counter()
    progress = _Progress(answer)
    markers = _Markers()
    parts: list[str] = []
    passages: list[Passage] = []
    finished: Finished | None = None

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 2)

    try:
        events = assistant.stream_answer(
            question=question, history=turns, user=user, modality=style
        )
        async for event in events:
            if isinstance(event, Searched):
                answer.search_query = event.query[:500]
                answer.topic = event.topic[:32]
                answer.search_ms = round((answer.search_ms or 0) + event.search_ms, 2)
            elif isinstance(event, TextDelta) and event.text:
                text = markers.feed(event.text)
                if not text:
                    continue
                if answer.first_token_ms is None:
                    answer.first_token_ms = elapsed()
                parts.append(text)
                queue.put_nowait(_event(TokenEvent(text=text)))
                await progress.grew(parts)
            elif isinstance(event, Sources):
                passages = list(event.passages)
            elif isinstance(event, Finished):
                finished = event
        if finished is None:
            raise RuntimeError("the assistant stopped without finishing its answer")
        if rest := markers.flush():
            parts.append(rest)
            queue.put_nowait(_event(TokenEvent(text=rest)))
        total = elapsed()
        answer.text = "".join(parts).strip()
        answer.declined = finished.declined
        answer.model_name = finished.model_name[:100]
        answer.input_tokens = finished.input_tokens
        answer.output_tokens = finished.output_tokens
        answer.total_ms = total
        answer.answer_ms = round(total - (answer.search_ms or 0), 2)
        answer.status = Message.Status.DONE
        answer.finished_at = timezone.now()
        citations = await lane(_finish)(answer, passages, markers.order)
        shown = [CitationOut.from_orm(c) for c in citations]
        queue.put_nowait(_event(CitationsEvent(citations=shown)))
        timings = TimingsOut.from_orm(answer)
        queue.put_nowait(
            _event(DoneEvent(message=answer.pk, declined=answer.declined, timings=timings))
        )
    except Exception as exc:  # recorded on the message and told to the client
        answer.text = "".join(parts).strip()
        answer.status = Message.Status.FAILED
        answer.error = f"{type(exc).__name__}: {exc}"[:2000]
        answer.public_error = exc.public if isinstance(exc, AnswerError) else COULD_NOT_FINISH
        answer.total_ms = elapsed()
        answer.finished_at = timezone.now()
        try:
            recorded = await lane(_record_failure)(answer)
        except Exception:
            logger.exception("could not record the failure of message %s", answer.pk)
            recorded = True
        if recorded:
            logger.error("answering message %s failed", answer.pk, exc_info=exc)
        else:  # its conversation was deleted while it was being answered
            logger.info("message %s was deleted while it was being answered", answer.pk)
        if isinstance(exc, AnswerError):
            told = f"The assistant could not finish this answer: {exc.public}."
        else:
            told = "The assistant could not finish this answer. Try asking again."
        queue.put_nowait(_event(AnswerErrorEvent(message=told, message_id=answer.pk)))
    finally:
        queue.put_nowait(None)


def _event(event: Schema) -> dict:
    return event.model_dump(mode="json")


STALE_REASON = (
    "the answer was left unfinished: the server process writing it stopped or stalled "
    "(failed by the sweep after {seconds} s)"
)


def fail_stale_answers() -> int:
    """Mark failed, with the reason, every answer still pending or streaming after
    ``CHAT_STALE_ANSWER_SECONDS`` (longer than any answer may run): the process writing
    it is gone. Returns how many. Run every minute by beat and when a worker starts."""
    seconds = settings.CHAT_STALE_ANSWER_SECONDS
    now = timezone.now()
    return Message.objects.filter(
        role=Message.Role.ASSISTANT,
        status__in=[Message.Status.PENDING, Message.Status.STREAMING],
        created_at__lt=now - timedelta(seconds=seconds),
    ).update(
        status=Message.Status.FAILED,
        error=STALE_REASON.format(seconds=seconds),
        public_error=COULD_NOT_FINISH,
        finished_at=now,
    )


def _record_failure(answer: Message) -> bool:
    """Store a failed answer; False if it no longer exists (an update, so a message
    deleted with its conversation is not written back)."""
    fields = ["text", "status", "error", "public_error", "declined", "search_query", "topic"]
    fields += ["model_name"]
    fields += ["input_tokens", "output_tokens", "search_ms", "first_token_ms", "answer_ms"]
    fields += ["total_ms", "finished_at"]
    updated = Message.objects.filter(pk=answer.pk).update(**{f: getattr(answer, f) for f in fields})
    return updated > 0


def _finish(answer: Message, passages: list[Passage], order: dict[int, int]) -> list[Citation]:
    """Save the finished answer and its citations together. ``order`` maps the
    assistant's passage numbers to the markers shown ({} if it used none: then every
    passage is cited, in order)."""
    pairs = order.items() if order else ((n, n) for n in range(1, len(passages) + 1))
    citations = [
        Citation(
            message=answer,
            rank=rank,
            document_id=passages[old - 1].document_id,
            chunk_id=passages[old - 1].chunk_id,
            title=passages[old - 1].title[:300],
            filename=passages[old - 1].filename[:255],
            pages=list(passages[old - 1].pages),
            heading=" › ".join(passages[old - 1].heading)[:1000],
            snippet=passages[old - 1].snippet,
            score=passages[old - 1].score,
        )
        for old, rank in sorted(pairs, key=lambda pair: pair[1])
        if 1 <= old <= len(passages)
    ]
    _unlink_deleted(citations)
    with transaction.atomic():
        answer.save(force_update=True)  # fails if deleted meanwhile, rather than re-create it
        Citation.objects.bulk_create(citations)
        if answer.reply_to_id and answer.search_query:
            # The question keeps what was searched for it: the next follow-up builds on it.
            Message.objects.filter(pk=answer.reply_to_id).update(search_query=answer.search_query)
    return citations


class _Markers:
    """Renumbers citation markers in order of first use as the text streams: the
    assistant numbers passages as its searches found them ("[3] ... [2]"); the reader
    sees [1], [2] ... A marker split across deltas is held back until it is whole."""

    def __init__(self):
        self.order: dict[int, int] = {}  # the assistant's number -> the shown number
        self.pending = ""

    def feed(self, text: str) -> str:
        text, self.pending = self.pending + text, ""
        if cut := citation_markers.CUT.search(text):
            text, self.pending = text[: cut.start()], text[cut.start() :]
        return citation_markers.renumber(text, self._number)

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return citation_markers.renumber(text, self._number)

    def _number(self, number: int) -> int:
        return self.order.setdefault(number, len(self.order) + 1)


def _unlink_deleted(citations: list[Citation]) -> None:
    """A document deleted while the answer was written: keep the citation's text, drop
    its links."""
    chunks = set(
        Chunk.objects.filter(pk__in=[c.chunk_id for c in citations]).values_list("pk", flat=True)
    )
    # A chunk still there has its document; only the others' documents are looked for.
    unsure = {c.document_id for c in citations if c.chunk_id not in chunks}
    gone = unsure - set(Document.objects.filter(pk__in=unsure).values_list("pk", flat=True))
    for citation in citations:
        if citation.chunk_id not in chunks:
            citation.chunk_id = None
        if citation.document_id in gone:
            citation.document_id = None
