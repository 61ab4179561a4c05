"""The chat websocket: questions in, answers streamed out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from chat import services
from chat.schemas import PongEvent, ReadyEvent, RefusedEvent
from lineled import admission
from lineled.consumers import ACCESS_ENDED, CLOSE_UNAUTHENTICATED, current_role, role_of_user
from lineled.errors import Invalid, NotFound
from lineled.notify import user_group

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
MAX_FRAME_BYTES = 64 * 1024
ASK_EXAMPLE = '{"type": "ask", "text": "how long do fries cook?"}'


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/chat/<conversation_id>/``: ask in one of your conversations, answers stream.

    Connecting:

    - Not signed in, or signed in without a role: closed with 4401 before it is
      accepted (the handshake fails), as ``/ws/notifications/`` does.
    - A conversation that does not exist or is someone else's: accepted, then
      ``{"type": "error", "message": "no conversation N", "code": "not_found"}`` and
      closed with 4404. Accepted first so that a browser can show why: a refused
      handshake reaches its JavaScript as a bare 1006.
    - Otherwise: ``{"type": "ready", "conversation": id}``.

    The client sends JSON text frames:

    - ``{"type": "ask", "text": "...", "modality": "text"}`` (modality optional,
      ``"text"`` or ``"voice"``): the answer's events follow as ``services.run_turn``
      yields them: ``start``, ``token`` (many), ``citations``, ``done``, or ``error``
      (with ``message_id``) instead of ``done`` when the answer fails.
    - ``{"type": "ping"}``: answered ``{"type": "pong"}``.

    A frame that cannot be taken is answered ``{"type": "error", "message": ...,
    "code": ...}`` and the socket stays open; nothing is stored for it. Codes:
    ``invalid_json`` (not JSON, not an object, or a binary frame), ``unknown_type``,
    ``invalid`` (empty or too long question, unknown modality), ``too_large`` (a frame
    over 64 KB), ``busy`` (an ask while an answer is streaming: one at a time),
    ``try_again`` (refused at once by ``lineled.admission``: asking too fast, too many
    answers being written for the user or in this server; with ``retry_after``, in
    seconds), ``unavailable`` (the question could not be stored, e.g. the database is
    down), and ``not_found`` (the conversation was deleted meanwhile; the socket is then
    closed with 4404).

    Access is checked again on each ask, and whenever the user's account or role
    groups change: a user deactivated or without a role any more is closed with 4401
    (an ask gets ``{"type": "error", "code": "signed_out"}`` first).

    Closing the socket mid-answer stops only the sending: the answer is finished and
    stored all the same (``run_turn`` runs it in a task of its own).
    """

    conversation = None
    relay: asyncio.Task | None = None
    listening: str | None = None  # the user's group, for access changes

    async def connect(self):
        user = self.scope.get("user")
        if await role_of_user(user) is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        try:
            self.conversation = await database_sync_to_async(services.get_conversation)(
                user, conversation_id
            )
        except NotFound as exc:
            await self.accept()
            await self.refuse_and_close(exc.message)
            return
        self.listening = user_group(user.pk)
        await self.channel_layer.group_add(self.listening, self.channel_name)
        await self.accept()
        await self.send_json(ReadyEvent(conversation=self.conversation.pk).model_dump())

    async def disconnect(self, code):
        # Only the relay to this socket; the answer's own task goes on (see run_turn).
        if self.relay is not None:
            self.relay.cancel()
        if self.listening is not None:
            await self.channel_layer.group_discard(self.listening, self.channel_name)
            self.listening = None

    async def access_changed(self, event):
        """The user's account or role groups changed (``lineled.notify``)."""
        if await current_role(self.scope["user"]) is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def notify_event(self, event):
        """Notifications for the user's group are the notifications socket's job."""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self.refuse("send JSON text frames, not binary ones", "invalid_json")
        elif len(text_data) > MAX_FRAME_BYTES or len(text_data.encode()) > MAX_FRAME_BYTES:
            size = len(text_data.encode()) // 1024
            await self.refuse(
                f"the frame is {size} KB; frames may be at most {MAX_FRAME_BYTES // 1024} KB",
                "too_large",
            )
        else:
            try:
                content = json.loads(text_data)
            except ValueError:
                content = None
            if not isinstance(content, dict):
                await self.refuse(f"send a JSON object, such as {ASK_EXAMPLE}", "invalid_json")
            else:
                await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "ask":
            await self.ask(content.get("text"), content.get("modality") or "text")
        elif kind == "ping":
            await self.send_json(PongEvent().model_dump())
        else:
            await self.refuse(
                f'unknown message type {kind!r}; send {ASK_EXAMPLE} or {{"type": "ping"}}',
                "unknown_type",
            )

    async def ask(self, text, modality) -> None:
        """Store the question and start relaying its answer. Runs up to the start event
        here (frames are handled one at a time), so the next ask finds the relay."""
        if self.relay is not None and not self.relay.done():
            await self.refuse("wait for the current answer to finish", "busy")
            return
        user = self.scope["user"]
        if await current_role(user) is None:
            await self.refuse(ACCESS_ENDED, "signed_out")
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            ticket = await admission.aadmit_answer(user)
        except admission.Busy as exc:
            await self.send_json(exc.event())
            return
        events = services.run_turn(self.conversation, user, text, modality=modality, ticket=ticket)
        try:
            start = await anext(events)
        except Invalid as exc:
            await self.refuse(exc.message, "invalid")
            return
        except NotFound as exc:
            await self.refuse_and_close(exc.message)
            return
        except Exception:  # the database is down, say; the socket can stay open
            logger.exception("storing a question from a chat socket failed")
            await self.refuse("the question could not be stored; try again shortly", "unavailable")
            return
        await self.send_json(start)
        self.relay = asyncio.create_task(self.send_events(events))

    async def send_events(self, events) -> None:
        try:
            async for event in events:
                await self.send_json(event)
        except OSError:  # the client is gone (the server says so before disconnect runs)
            pass
        except Exception:  # run_turn itself does not raise once started; be safe anyway
            logger.exception("relaying an answer to a chat socket failed")
            with contextlib.suppress(OSError):
                await self.refuse("the answer could not be sent; reload the page", "unavailable")

    async def refuse(self, message: str, code: str) -> None:
        await self.send_json(RefusedEvent(message=message, code=code).model_dump())

    async def refuse_and_close(self, message: str) -> None:
        await self.refuse(message, "not_found")
        await self.close(code=CLOSE_NOT_FOUND)
