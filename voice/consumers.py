"""The voice websocket: microphone audio in, answers out as text, citations and speech."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import services as chat
from chat.consumers import CLOSE_NOT_FOUND, MAX_FRAME_BYTES
from lineled import admission
from lineled.consumers import ACCESS_ENDED, CLOSE_UNAUTHENTICATED, current_role, role_of_user
from lineled.errors import NotFound
from voice import audio, services, stt, tts
from voice.models import VoiceTurn

logger = logging.getLogger(__name__)

# The web server imports this module as it builds its routes (lineled.routing), when it
# starts: the recogniser loads then, in the background, rather than on the first question.
stt.preload()

CLOSE_UNAVAILABLE = 4503
MODES = (VoiceTurn.Mode.PUSH, VoiceTurn.Mode.HANDS_FREE)
START_EXAMPLE = '{"type": "start", "sample_rate": 16000, "encoding": "pcm16", "mode": "push"}'
NOISE_LIMIT_MS = 1000  # noise-like audio for this long means the client sends the wrong format


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
    """

    conversation = None
    listening = None  # the Listener while listening, else None
    mode = VoiceTurn.Mode.PUSH
    hands_free = False
    answering: asyncio.Task | None = None
    mute: services.Mute | None = None
    idle: asyncio.Task | None = None
    told_to_start = False
    awaiting_listen = False  # hands-free: the answer is playing; audio waits for "listen"
    overflowed = False
    noise_ms = 0.0

    async def connect(self):
        user = self.scope.get("user")
        if await role_of_user(user) is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        await self.accept()
        try:
            self.conversation = await database_sync_to_async(chat.get_conversation)(
                user, conversation_id
            )
        except NotFound as exc:
            await self.refuse(exc.message, "not_found")
            await self.close(code=CLOSE_NOT_FOUND)
            return
        try:
            engine = await asyncio.to_thread(stt.engine)
            self.voice = await asyncio.to_thread(services.speaker)
        except (stt.SpeechUnavailable, tts.SpeechUnavailable) as exc:
            logger.warning("voice is unavailable: %s", exc)
            await self.refuse(f"Voice is not available on this server: {exc}", "unavailable")
            await self.close(code=CLOSE_UNAVAILABLE)
            return
        self.last_heard = time.monotonic()
        await self.send_json(
            {
                "type": "ready",
                "conversation": self.conversation.pk,
                "stt": engine.name,
                "tts": self.voice.name if self.voice else None,
                "sample_rate": audio.SAMPLE_RATE,
                "max_seconds": settings.VOICE_MAX_UTTERANCE_SECONDS,
                "idle_minutes": settings.VOICE_IDLE_MINUTES,
            }
        )

    async def disconnect(self, code):
        if self.answering is not None:
            self.answering.cancel()
        if self.idle is not None:
            self.idle.cancel()
        if self.listening is not None:
            self.listening.cancel()

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content))

    async def refuse(self, message: str, code: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    # --- Frames in ------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if bytes_data is not None:
            await self.receive_audio(bytes_data)
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
        handler = {
            "start": self.start,
            "end": self.end,
            "listen": self.listen,
            "interrupt": self.interrupt,
            "stop": self.stop,
            "ping": self.ping,
        }.get(content.get("type"))
        if handler is None:
            await self.refuse(
                f"unknown message type {content.get('type')!r}; send start, end, listen, "
                "interrupt, stop or ping",
                "unknown_type",
            )
            return
        await handler(content)

    async def start(self, content: dict) -> None:
        if self.is_answering():
            await self.refuse("wait for the current answer to finish, or interrupt it", "busy")
            return
        rate, encoding = content.get("sample_rate"), content.get("encoding", "pcm16")
        mode = content.get("mode", VoiceTurn.Mode.PUSH)
        if rate != audio.SAMPLE_RATE or isinstance(rate, bool):
            await self.refuse(
                f"sample_rate must be {audio.SAMPLE_RATE} (16 kHz mono PCM16, downsampled "
                f"in the browser); got {rate!r}",
                "invalid",
            )
            return
        if encoding != "pcm16":
            await self.refuse(f'encoding must be "pcm16"; got {encoding!r}', "invalid")
            return
        if mode not in MODES:
            await self.refuse(f'mode must be "push" or "handsfree"; got {mode!r}', "invalid")
            return
        self.mode = mode
        self.hands_free = mode == VoiceTurn.Mode.HANDS_FREE
        await self.arm()
        if self.hands_free and self.idle is None:
            self.idle = asyncio.create_task(self.watch_idle())

    async def arm(self) -> None:
        if self.listening is not None:
            self.listening.cancel()
        self.listening = services.listener(hands_free=self.hands_free)
        self.overflowed = False
        self.awaiting_listen = False
        self.told_to_start = False
        self.noise_ms = 0.0
        self.last_heard = time.monotonic()
        await self.send_json({"type": "listening", "mode": self.mode})

    async def end(self, content: dict) -> None:
        if self.listening is None:
            if not self.overflowed:
                await self.refuse("not listening; send start first", "invalid")
            self.overflowed = False
            return
        released = time.perf_counter()
        listening, self.listening = self.listening, None
        heard = await asyncio.to_thread(listening.release)
        if heard.utterance is None:
            await self.refuse(
                "I didn't hear a question. Hold the button while you speak.", "no_speech"
            )
            return
        await self.begin_answer(heard, released)

    async def listen(self, content: dict) -> None:
        if self.is_answering():
            await self.refuse("still answering; send listen when the answer has played", "busy")
            return
        if not self.hands_free:
            await self.refuse("listen re-arms hands-free mode; send start first", "invalid")
            return
        if self.listening is None:
            await self.arm()
        else:
            await self.send_json({"type": "listening", "mode": self.mode})

    async def interrupt(self, content: dict) -> None:
        if self.mute is not None:
            self.mute.set()
        if self.hands_free:
            await self.arm()

    async def stop(self, content: dict) -> None:
        await self.leave_hands_free("user")

    async def ping(self, content: dict) -> None:
        await self.send_json({"type": "pong"})

    async def receive_audio(self, data: bytes) -> None:
        if self.listening is None:
            # Dropped quietly while an answer plays (the gate) or after an overflow;
            # otherwise said once, not for every frame.
            quiet = self.is_answering() or self.overflowed or self.awaiting_listen
            if not (quiet or self.told_to_start):
                self.told_to_start = True
                await self.refuse(f"send {START_EXAMPLE} before audio", "bad_audio")
            return
        if len(data) % 2 or len(data) > MAX_FRAME_BYTES:
            await self.refuse(
                "audio frames are 16-bit samples (an even number of bytes), at most 64 KB",
                "bad_audio",
            )
            return
        if audio.looks_like_noise(data):
            self.noise_ms += audio.duration_ms(data)
            if self.noise_ms >= NOISE_LIMIT_MS:
                self.listening.cancel()
                self.listening = None
                self.overflowed = not self.hands_free
                await self.refuse(services.NOT_SPEECH, "bad_audio")
                if self.hands_free:
                    await self.leave_hands_free("bad_audio")
                return
        arrived = time.perf_counter()
        listening = self.listening
        heard = await asyncio.to_thread(listening.feed, data)
        if listening is not self.listening:  # stopped while this frame was decoded
            return
        if heard.started:
            self.last_heard = time.monotonic()
            await self.send_json({"type": "speech_start"})
        if heard.partials:
            await self.send_json({"type": "partial", "text": heard.partials[-1]})
        if heard.utterance is None:
            return
        self.listening = None
        if heard.utterance.cut:
            heard.stream.cancel()
            self.overflowed = not self.hands_free  # push: drop the rest until "end"
            seconds = round(settings.VOICE_MAX_UTTERANCE_SECONDS)
            await self.refuse(
                f"That ran past {seconds} seconds, so I stopped listening. "
                "Ask one question at a time.",
                "too_long",
            )
            if self.hands_free:
                await self.arm()
            return
        # This frame arrived as its last sample was recorded; the last speech frame
        # was recorded (received_ms - end_ms) before that.
        speech_end = arrived - (listening.received_ms - heard.utterance.end_ms) / 1000
        await self.begin_answer(heard, speech_end)

    # --- Answering ------------------------------------------------------------------

    def is_answering(self) -> bool:
        return self.answering is not None and not self.answering.done()

    async def begin_answer(self, heard, speech_end: float) -> None:
        """Answer what was heard, once the user may still ask and the limits of
        ``lineled.admission`` (the chat socket's) let another answer start."""
        self.last_heard = time.monotonic()
        user = self.scope["user"]
        if await current_role(user) is None:
            heard.stream.cancel()
            await self.refuse(ACCESS_ENDED, "signed_out")
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            ticket = await admission.aadmit_answer(user)
        except admission.Busy as exc:
            heard.stream.cancel()
            await self.send_json(exc.event())
            if self.hands_free:
                await self.arm()
            return
        self.mute = services.Mute()
        events = services.answer(
            self.conversation,
            user,
            heard.utterance,
            heard.stream,
            speech_end=speech_end,
            mode=self.mode,
            voice=self.voice,
            mute=self.mute,
            ticket=ticket,
        )
        self.answering = asyncio.create_task(self.relay(events, self.mute))

    async def relay(self, events, mute: services.Mute) -> None:
        spoke = False  # audio_end sent: the client re-arms with "listen" once it has played
        try:
            async for event, wav in events:
                spoke = spoke or event["type"] == "audio_end"
                if wav is not None:
                    if mute.muted:
                        continue
                    await self.send_json(event)
                    await self.send(bytes_data=wav)
                    continue
                if event["type"] == "stopped":
                    await self.leave_hands_free("stop_phrase")
                    return
                if event["type"] == "say" and mute.muted:
                    continue
                await self.send_json(event)
                if event["type"] == "error" and event.get("code") == "not_found":
                    await self.close(code=CLOSE_NOT_FOUND)
                    return
        except OSError:  # the client is gone
            return
        except Exception:
            logger.exception("relaying a spoken answer failed")
            with contextlib.suppress(OSError):
                await self.refuse("the answer could not be sent; try again", "unavailable")
        if self.hands_free and self.listening is None:
            if spoke:
                self.awaiting_listen = True
            else:  # nothing was said aloud (not understood, failed): listen again at once
                await self.arm()

    async def leave_hands_free(self, reason: str) -> None:
        self.hands_free = False
        self.awaiting_listen = False
        if self.listening is not None:
            self.listening.cancel()
            self.listening = None
        if self.idle is not None and self.idle is not asyncio.current_task():
            self.idle.cancel()
        self.idle = None
        await self.send_json({"type": "stopped", "reason": reason})

    async def watch_idle(self) -> None:
        limit = settings.VOICE_IDLE_MINUTES * 60
        try:
            while self.hands_free:
                left = self.last_heard + limit - time.monotonic()
                if self.is_answering():
                    left = max(left, 1.0)
                if left <= 0:
                    self.idle = None
                    await self.leave_hands_free("idle")
                    return
                await asyncio.sleep(min(left, 5.0))
        except OSError:
            return
