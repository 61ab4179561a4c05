"""The voice websocket: microphone audio in, answers out as text, citations and speech."""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import services as chat
from chat.consumers import CLOSE_NOT_FOUND, MAX_FRAME_BYTES
from lineled.consumers import CLOSE_UNAUTHENTICATED, role_of_user
from lineled.errors import NotFound
from voice import audio, services, stt, tts
from voice.models import VoiceTurn
from voice.schemas import VoiceErrorEvent, VoicePongEvent, VoiceReadyEvent, payload
from voice.session import START_EXAMPLE, VoiceSession

logger = logging.getLogger(__name__)

# The web server imports this module as it builds its routes (lineled.routing), when it
# starts: the recogniser loads then, in the background, rather than on the first question.
stt.preload()

CLOSE_UNAVAILABLE = 4503
MODES = (VoiceTurn.Mode.PUSH, VoiceTurn.Mode.HANDS_FREE)


class VoiceConsumer(AsyncWebsocketConsumer):
    """``/ws/voice/<conversation_id>/``: ask by voice in one of your conversations.

    Connecting works as on ``/ws/chat/``: 4401 for the signed-out, ``not_found`` and
    4404 for someone else's conversation; then ``{"type": "ready", "conversation",
    "stt", "tts", "sample_rate", "max_seconds", "idle_minutes"}`` (``tts`` null: the
    browser speaks the ``say`` events). No speech-to-text engine here: ``unavailable``
    and close code 4503.

    Client frames: ``start`` (sample_rate 16000, encoding "pcm16", mode "push" or
    "handsfree") then binary frames of 16 kHz mono PCM16; ``end`` (push-to-talk let go);
    ``listen`` (hands-free: re-arm after the answer was played); ``interrupt`` (the user
    spoke over the answer: no more audio for it); ``stop`` (leave hands-free); ``ping``.

    Server frames: ``listening``, ``speech_start``, ``partial`` (pocketsphinx only),
    ``transcript`` (``text``: the question as the assistant gets it, numbers written as
    the manuals write them; ``heard``: the recogniser's words), then the
    chat socket's ``start``/``token``/``citations``/``done`` (or ``error``), ``audio``
    (JSON, followed by one binary frame with the sentence's WAV) or ``say``, and
    ``audio_end``; ``stopped`` (reason ``user``, ``idle``, ``stop_phrase``), ``pong``.
    Errors are ``{"type": "error", "code", "message"}`` and leave the socket open:
    ``invalid_json``, ``unknown_type``, ``invalid``, ``bad_audio``, ``too_long``,
    ``no_speech``, ``not_understood``, ``busy``, ``stt_failed``, ``tts_failed``,
    ``unavailable``, ``try_again`` (with ``retry_after``: refused at once by
    ``lineled.admission``, as on the chat socket) and ``signed_out`` (then close 4401: the
    user was deactivated or lost the role).

    While an answer is being spoken, audio from the client is dropped (the assistant's
    own voice must never become a question); the client is expected not to send it.
    Closing the socket mid-answer stops the speech only: the answer is finished and
    stored by chat, and the voice turn is marked disconnected.

    This class only parses frames; what they mean (listening, noise, the stop phrase,
    barge-in, re-arming) is decided by ``voice.session.VoiceSession``.
    """

    session: VoiceSession | None = None

    async def connect(self):
        user = self.scope.get("user")
        if await role_of_user(user) is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        await self.accept()
        try:
            conversation = await database_sync_to_async(chat.get_conversation)(
                user, conversation_id
            )
        except NotFound as exc:
            await self.refuse(exc.message, "not_found")
            await self.close(code=CLOSE_NOT_FOUND)
            return
        try:
            engine = await asyncio.to_thread(stt.engine)
            voice = await asyncio.to_thread(services.speaker)
        except (stt.SpeechUnavailable, tts.SpeechUnavailable) as exc:
            logger.warning("voice is unavailable: %s", exc)
            await self.refuse(f"Voice is not available on this server: {exc}", "unavailable")
            await self.close(code=CLOSE_UNAVAILABLE)
            return
        self.session = VoiceSession(
            conversation, user, voice, send=self.send_event, close=self.close_with
        )
        await self.send_json(
            payload(
                VoiceReadyEvent(
                    conversation=conversation.pk,
                    stt=engine.name,
                    tts=voice.name if voice else None,
                    sample_rate=audio.SAMPLE_RATE,
                    max_seconds=settings.VOICE_MAX_UTTERANCE_SECONDS,
                    idle_minutes=settings.VOICE_IDLE_MINUTES,
                )
            )
        )

    async def disconnect(self, code):
        if self.session is not None:
            await self.session.disconnected()

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content))

    async def send_event(self, event: dict, wav: bytes | None) -> None:
        """What the session sends: an event, and the WAV that follows an ``audio`` one."""
        await self.send_json(event)
        if wav is not None:
            await self.send(bytes_data=wav)

    async def close_with(self, code: int) -> None:
        await self.close(code=code)

    async def refuse(self, message: str, code: str) -> None:
        await self.send_json(payload(VoiceErrorEvent(code=code, message=message)))

    # --- Frames in ------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.session is None:
            return
        if bytes_data is not None:
            if len(bytes_data) % 2 or len(bytes_data) > MAX_FRAME_BYTES:
                await self.refuse(
                    "audio frames are 16-bit samples (an even number of bytes), at most 64 KB",
                    "bad_audio",
                )
                return
            await self.session.audio(bytes_data)
            return
        if len(text_data.encode()) > MAX_FRAME_BYTES:
            await self.refuse("text frames may be at most 64 KB", "invalid_json")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            content = None
        if not isinstance(content, dict):
            await self.refuse(f"send a JSON object, such as {START_EXAMPLE}", "invalid_json")
            return
        kind = content.get("type")
        session = self.session
        handler = {
            "end": session.release,  # push-to-talk let go
            "listen": session.listen,
            "interrupt": session.interrupt,
            "stop": session.stop,
        }.get(kind)
        if kind == "start":
            await self.start(content)
        elif kind == "ping":
            await self.send_json(payload(VoicePongEvent()))
        elif handler is not None:
            await handler()
        else:
            await self.refuse(
                f"unknown message type {kind!r}; send start, end, listen, interrupt, stop or ping",
                "unknown_type",
            )

    async def start(self, content: dict) -> None:
        rate, encoding = content.get("sample_rate"), content.get("encoding", "pcm16")
        mode = content.get("mode", VoiceTurn.Mode.PUSH)
        if rate != audio.SAMPLE_RATE or isinstance(rate, bool):
            await self.refuse(
                f"sample_rate must be {audio.SAMPLE_RATE} (16 kHz mono PCM16, downsampled "
                f"in the browser); got {rate!r}",
                "invalid",
            )
        elif encoding != "pcm16":
            await self.refuse(f'encoding must be "pcm16"; got {encoding!r}', "invalid")
        elif mode not in MODES:
            await self.refuse(f'mode must be "push" or "handsfree"; got {mode!r}', "invalid")
        else:
            await self.session.start(mode)
