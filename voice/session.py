"""One voice socket's session: the microphone, the questions heard in it, the answers.

``VoiceConsumer`` parses the client's frames and calls a ``VoiceSession`` method for
each; the session decides what they mean and hands back, through ``send``, what the
client is to get. It is a state machine (``State``, ``Trigger``, ``TRANSITIONS``)::

    MUTED --start--> LISTENING --speech--> HEARING --question--> ANSWERING --sound--> SPEAKING
                       ^   ^<---silence------'  |                   |                   |
                       |   '------rearm---------+-------------------+-------------------'
                       '---start (the answer played), barge_in----------------------------'
    any state --mute--> MUTED  (stop, "stop listening", idle, noise; push-to-talk between asks)

Audio is taken only while LISTENING or HEARING, so the assistant's own voice never
becomes a question; a move the table lacks raises ``IllegalTransition``. Each of these
is decided here, once:

- noise: audio that sounds like noise rather than speech for ``NOISE_LIMIT_MS`` means
  the client sends the wrong format (``bad_audio``; hands-free stops);
- the stop phrase: a question that is "stop listening" is stored as a command and
  ends hands-free (``stopped``, reason ``stop_phrase``), never asked;
- barge-in: the client heard the user speak over the answer (``interrupt``): no more
  of the answer's speech is sent; hands-free listens again;
- re-arming: hands-free listens again when the client says the answer has played
  (``listen``), at once when nothing was said aloud; push-to-talk mutes until the
  next ``start``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from asgiref.sync import sync_to_async
from django.conf import settings

from chat.consumers import CLOSE_NOT_FOUND
from lineled import admission
from lineled.consumers import ACCESS_ENDED, CLOSE_UNAUTHENTICATED, current_role
from voice import audio, services
from voice.listening import Heard, Listener
from voice.models import VoiceTurn
from voice.schemas import (
    ListeningEvent,
    PartialEvent,
    SpeechStartEvent,
    StoppedEvent,
    VoiceErrorEvent,
    payload,
)
from voice.text import normalize

logger = logging.getLogger(__name__)

NOISE_LIMIT_MS = 1000  # noise-like audio for this long means the client sends the wrong format
STOP_PHRASES = ("stop listening", "stop listing", "stop hands free", "end hands free")
START_EXAMPLE = '{"type": "start", "sample_rate": 16000, "encoding": "pcm16", "mode": "push"}'


class State(StrEnum):
    MUTED = "muted"  # audio is not taken: before start, after stop, push-to-talk between asks
    LISTENING = "listening"  # audio is taken; nobody is speaking yet
    HEARING = "hearing"  # someone is speaking: a question is being heard
    ANSWERING = "answering"  # the question is transcribed and answered; audio is dropped
    SPEAKING = "speaking"  # the answer's speech went out; the client plays it; audio is dropped


class Trigger(StrEnum):
    START = "start"  # the client starts, or says the answer has played ("listen")
    SPEECH = "speech"  # the listener heard speech begin
    SILENCE = "silence"  # it was too short to be a question (a clang, a cough)
    QUESTION = "question"  # an utterance is complete: answer it
    SOUND = "sound"  # the answer's speech is on its way to the client
    REARM = "rearm"  # hands-free, nothing being said aloud: listen again at once
    BARGE_IN = "barge_in"  # hands-free: the user spoke over the answer
    MUTE = "mute"  # stop taking audio


_S = State
_MOVES = (
    (Trigger.START, (_S.MUTED, _S.LISTENING, _S.HEARING, _S.SPEAKING), _S.LISTENING),
    (Trigger.SPEECH, (_S.LISTENING,), _S.HEARING),
    (Trigger.SILENCE, (_S.HEARING,), _S.LISTENING),
    (Trigger.QUESTION, (_S.HEARING,), _S.ANSWERING),
    (Trigger.SOUND, (_S.ANSWERING,), _S.SPEAKING),
    (Trigger.REARM, (_S.LISTENING, _S.HEARING, _S.ANSWERING, _S.SPEAKING), _S.LISTENING),
    (Trigger.BARGE_IN, (_S.LISTENING, _S.HEARING, _S.ANSWERING, _S.SPEAKING), _S.LISTENING),
    (Trigger.MUTE, tuple(State), _S.MUTED),
)
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (source, trigger): target for trigger, sources, target in _MOVES for source in sources
}


class IllegalTransition(RuntimeError):
    """A trigger the current state does not take (a bug in the caller, not bad input)."""


class Machine:
    """The session's state, moved only along ``TRANSITIONS``."""

    def __init__(self, state: State = State.MUTED):
        self.state = state

    def allows(self, trigger: Trigger) -> bool:
        return (self.state, trigger) in TRANSITIONS

    def fire(self, trigger: Trigger) -> State:
        """Move on ``trigger``; IllegalTransition (and no move) if the state does not take it."""
        target = TRANSITIONS.get((self.state, trigger))
        if target is None:
            raise IllegalTransition(f"{trigger} is not taken while {self.state}")
        self.state = target
        return target


def is_stop_phrase(transcript: str) -> bool:
    words = normalize(transcript)
    return len(words.split()) <= 5 and any(phrase in words for phrase in STOP_PHRASES)


@dataclass(eq=False)
class _Answer:
    """One question being answered: its task, whether the user spoke over it, and
    whether all of it was sent (its stored turn may still be being closed)."""

    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    sent: bool = False  # audio_end went out: the client plays it, then says "listen"

    def sending(self) -> bool:
        return self.task is not None and not self.task.done() and not self.sent


Send = Callable[[dict, bytes | None], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]


class VoiceSession:
    """The voice socket of ``user`` on ``conversation``. ``send(event, wav)`` sends an
    event (and the WAV that follows an ``audio`` event); ``close(code)`` closes the
    socket. Call ``disconnected`` when the socket is gone."""

    def __init__(self, conversation, user, voice, *, send: Send, close: Close):
        self.conversation, self.user, self.voice = conversation, user, voice
        self._send, self._close = send, close
        self.machine = Machine()
        self.mode = VoiceTurn.Mode.PUSH
        self.listener: Listener | None = None  # while LISTENING or HEARING
        self.noise_ms = 0.0  # noise-like audio since the listener started
        self.told = False  # MUTED: audio was answered once with "send start first"
        self.held = False  # audio cut off (too long, noise): the rest, and its "end", are dropped
        self.answer: _Answer | None = None  # the latest answer
        self.tasks: set[asyncio.Task] = set()
        self.idle: asyncio.Task | None = None
        self.last_heard = time.monotonic()
        self.closed = False

    @property
    def state(self) -> State:
        return self.machine.state

    @property
    def hands_free(self) -> bool:
        return self.mode == VoiceTurn.Mode.HANDS_FREE and self.state is not State.MUTED

    def busy(self) -> bool:
        """An answer is still being sent (a new start or listen must wait for it)."""
        return self.answer is not None and self.answer.sending()

    # --- What the client says -----------------------------------------------------

    async def start(self, mode: str) -> None:
        if self.busy():
            await self._refuse("wait for the current answer to finish, or interrupt it", "busy")
            return
        self.mode = mode
        await self._listen(Trigger.START)
        if self.hands_free and self.idle is None:
            self.idle = asyncio.create_task(self._watch_idle())

    async def listen(self) -> None:
        """Hands-free: the answer has played; listen again."""
        if self.busy():
            await self._refuse("still answering; send listen when the answer has played", "busy")
        elif not self.hands_free:
            await self._refuse("listen re-arms hands-free mode; send start first", "invalid")
        elif self.listener is not None:
            await self._send_listening()
        else:
            await self._listen(Trigger.START)

    async def release(self) -> None:
        """Push-to-talk let go: the question is complete."""
        listener = self.listener
        if listener is None:
            if not self.held:
                await self._refuse("not listening; send start first", "invalid")
            self.held = False
            return
        released = time.perf_counter()
        heard = await asyncio.to_thread(listener.release)
        if not self._still(listener, heard):
            return
        self.listener = None
        if heard.utterance is None:
            await self._refuse(
                "I didn't hear a question. Hold the button while you speak.", "no_speech"
            )
            await self._nothing_asked()
            return
        await self._question(heard, released)

    async def interrupt(self) -> None:
        """Barge-in: the user spoke over the answer; no more of its speech is sent."""
        if self.answer is not None:
            self.answer.interrupted.set()
        if self.hands_free:
            await self._listen(Trigger.BARGE_IN)
        elif self.state in (State.ANSWERING, State.SPEAKING):
            self._mute()

    async def stop(self, reason: str = "user") -> None:
        """Stop taking audio (hands-free is over) and say why."""
        self._mute()
        await self._send(payload(StoppedEvent(reason=reason)), None)

    async def audio(self, pcm: bytes) -> None:
        """A frame of microphone audio (16 kHz mono PCM16, an even number of bytes)."""
        listener = self.listener
        if listener is None:
            # Dropped quietly while the answer is given and played (the gate), and after
            # a push-to-talk cut; otherwise said once, not for every frame.
            if self.state is State.MUTED and not (self.told or self.held or self.busy()):
                self.told = True
                await self._refuse(f"send {START_EXAMPLE} before audio", "bad_audio")
            return
        if audio.looks_like_noise(pcm):
            self.noise_ms += audio.duration_ms(pcm)
            if self.noise_ms >= NOISE_LIMIT_MS:
                await self._not_speech()
                return
        arrived = time.perf_counter()
        heard = await asyncio.to_thread(listener.feed, pcm)
        if not self._still(listener, heard):
            return
        await self._heard(listener, heard, arrived)

    async def disconnected(self) -> None:
        """The socket is gone: stop listening, and cancel what is still running (an
        answer being written is finished and stored by chat all the same)."""
        self.closed = True
        for task in [*self.tasks, self.idle]:
            if task is not None:
                task.cancel()
        if self.listener is not None:
            self.listener.cancel()

    # --- Listening ----------------------------------------------------------------

    async def _listen(self, trigger: Trigger) -> None:
        """Take audio with a fresh listener."""
        if self.listener is not None:
            self.listener.cancel()
        self.machine.fire(trigger)
        self.listener = services.listener(hands_free=self.mode == VoiceTurn.Mode.HANDS_FREE)
        self.noise_ms = 0.0
        self.told = self.held = False
        self.last_heard = time.monotonic()
        await self._send_listening()

    async def _send_listening(self) -> None:
        await self._send(payload(ListeningEvent(mode=self.mode)), None)

    def _mute(self) -> None:
        self.machine.fire(Trigger.MUTE)
        if self.listener is not None:
            self.listener.cancel()
            self.listener = None
        if self.idle is not None and self.idle is not asyncio.current_task():
            self.idle.cancel()
        self.idle = None

    def _still(self, listener: Listener, heard: Heard) -> bool:
        """Whether ``listener`` is still the one listening after a wait (a stop, the idle
        watch or a barge-in may have come meanwhile); if not, what it heard is dropped."""
        if listener is self.listener:
            return True
        if heard.stream is not None:
            heard.stream.cancel()
        return False

    async def _heard(self, listener: Listener, heard: Heard, arrived: float) -> None:
        if heard.started:
            self.last_heard = time.monotonic()
            if self.state is State.LISTENING:
                self.machine.fire(Trigger.SPEECH)
            await self._send(payload(SpeechStartEvent()), None)
        if heard.partials:
            await self._send(payload(PartialEvent(text=heard.partials[-1])), None)
        if heard.utterance is None:
            if not listener.in_speech and self.state is State.HEARING:
                self.machine.fire(Trigger.SILENCE)
            return
        self.listener = None
        if heard.utterance.cut:
            heard.stream.cancel()
            seconds = round(settings.VOICE_MAX_UTTERANCE_SECONDS)
            await self._refuse(
                f"That ran past {seconds} seconds, so I stopped listening. "
                "Ask one question at a time.",
                "too_long",
            )
            self.held = self.mode == VoiceTurn.Mode.PUSH  # the button is still held
            await self._nothing_asked()
            return
        # This frame arrived as its last sample was recorded; the last speech frame
        # was recorded (received_ms - end_ms) before that.
        speech_end = arrived - (listener.received_ms - heard.utterance.end_ms) / 1000
        await self._question(heard, speech_end)

    async def _not_speech(self) -> None:
        hands_free = self.hands_free
        await self._refuse(services.NOT_SPEECH, "bad_audio")
        if hands_free:
            await self.stop("bad_audio")
        else:
            self._mute()
        self.held = True  # what is still on its way is the same noise: said once is enough

    async def _nothing_asked(self) -> None:
        """What was heard came to nothing: hands-free listens again, push-to-talk mutes."""
        if self.state is State.MUTED:  # stopped meanwhile
            return
        if self.hands_free:
            await self._listen(Trigger.REARM)
        else:
            self._mute()

    # --- Answering ----------------------------------------------------------------

    async def _question(self, heard: Heard, speech_end: float) -> None:
        """Answer what was heard, once the user may still ask and the limits of
        ``lineled.admission`` (the chat socket's) let another answer start."""
        self.last_heard = time.monotonic()
        self.machine.fire(Trigger.QUESTION)
        if await current_role(self.user) is None:
            heard.stream.cancel()
            await self._refuse(ACCESS_ENDED, "signed_out")
            self._mute()
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        try:
            ticket = await admission.aadmit_answer(self.user)
        except admission.Busy as exc:
            heard.stream.cancel()
            await self._send(exc.event(), None)
            await self._nothing_asked()
            return
        answer = self.answer = _Answer()
        answer.task = asyncio.create_task(self._answer(answer, heard, speech_end, ticket))
        self.tasks.add(answer.task)
        answer.task.add_done_callback(self.tasks.discard)

    async def _answer(self, answer: _Answer, heard: Heard, speech_end: float, ticket) -> None:
        try:
            question = await services.hear(
                self.conversation,
                heard.utterance,
                heard.stream,
                speech_end=speech_end,
                mode=self.mode,
                voice=self.voice,
            )
            command = not question.error and is_stop_phrase(question.heard)
            if question.error or command:
                await sync_to_async(ticket.release)()  # nothing is asked
            if command:
                await services.record_command(question)
                if self._current(answer):
                    await self.stop("stop_phrase")
                return
            if question.error:
                await self._send(question.error, None)
            else:
                events = services.reply(
                    question,
                    self.user,
                    voice=self.voice,
                    interrupted=answer.interrupted,
                    ticket=ticket,
                )
                await self._relay(answer, events)
        except OSError:  # the client is gone
            return
        except Exception:
            logger.exception("answering a spoken question failed")
            with contextlib.suppress(OSError):
                await self._refuse("the answer could not be sent; try again", "unavailable")
        if not (answer.sent or self.closed):
            await self._answered(answer)

    async def _relay(self, answer: _Answer, events) -> None:
        async for event, wav in events:
            kind = event["type"]
            if kind in ("audio", "say") and answer.interrupted.is_set():
                continue  # the user spoke over it
            speech = kind in ("audio", "say", "audio_end")
            if speech and answer is self.answer and self.state is State.ANSWERING:
                self.machine.fire(Trigger.SOUND)
            if kind == "audio_end":  # decided before the client hears of it
                answer.sent = True
                await self._answered(answer)
            await self._send(event, wav)
            if kind == "error" and event.get("code") == "not_found":
                self.closed = True
                await self._close(CLOSE_NOT_FOUND)
                return

    def _current(self, answer: _Answer) -> bool:
        """Whether ``answer`` still drives the session (not spoken over, not stopped)."""
        return answer is self.answer and self.state in (State.ANSWERING, State.SPEAKING)

    async def _answered(self, answer: _Answer) -> None:
        """The answer is all sent: push-to-talk mutes until the next start; hands-free
        waits for the client to play it ("listen"), or listens at once when nothing
        went out to be played."""
        if not self._current(answer):
            return
        if not self.hands_free:
            self._mute()
        elif not answer.sent:
            await self._listen(Trigger.REARM)

    async def _watch_idle(self) -> None:
        limit = settings.VOICE_IDLE_MINUTES * 60
        try:
            while self.hands_free:
                left = self.last_heard + limit - time.monotonic()
                if self.busy():
                    left = max(left, 1.0)
                if left <= 0:
                    self.idle = None
                    await self.stop("idle")
                    return
                await asyncio.sleep(min(left, 5.0))
        except OSError:
            return

    async def _refuse(self, message: str, code: str) -> None:
        await self._send(payload(VoiceErrorEvent(code=code, message=message)), None)
