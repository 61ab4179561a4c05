"""A spoken turn: an utterance in, the assistant's answer out as text and speech.

Every spoken question takes the same two steps (the voice socket's session, ``manage.py
voice_ask``, ``bench voice``, the API): ``hear`` stores the ``VoiceTurn`` and finishes
the transcript; ``reply`` asks chat's assistant in the same conversation as typed
questions (so a spoken follow-up understands a typed question and the other way round;
both messages are stored with modality "voice"), relays the chat events, and speaks the
answer while it is still being written. Between the two the caller decides what the
words mean to it (``voice.session`` takes "stop listening" as a command). The screen
gets the full answer, the same one typing would get; the ear gets it shaped by
``speech.SpokenAnswer``: one step at a time, the first three steps, no markdown or
citation markers. ``reply`` yields ``(event, audio)`` pairs: a JSON-ready dict, and the
WAV bytes of an ``audio`` event (else None). The ``VoiceTurn`` row is written as soon
as the speaker stops and kept up to date, so a failure or a dropped connection leaves
the turn stored as far as it got.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from chat import services as chat
from chat.assistant import DECLINE
from lineled import admission
from lineled.errors import DomainError, Invalid, Unavailable
from lineled.lanes import lane
from voice import audio, speech, stt, tts
from voice.listening import Listener, Utterance
from voice.models import VoiceTurn
from voice.schemas import (
    AudioEndEvent,
    AudioEvent,
    SayEvent,
    SpokenTurnOut,
    TranscriptEvent,
    VocabularyOut,
    VoiceErrorEvent,
    VoiceStatusOut,
    payload,
)
from voice.stt import prompt
from voice.text import written

logger = logging.getLogger(__name__)

DECLINE_SPOKEN = speech.for_the_ear(DECLINE)
NOT_UNDERSTOOD = "Sorry, I didn't catch that. Try again a little closer to the microphone."
NOT_SPEECH = (
    "That didn't sound like speech: the audio looks like noise. Send 16 kHz mono "
    "16-bit PCM from the microphone."
)


def listener(*, hands_free: bool) -> Listener:
    """A listener on the configured speech-to-text engine (SpeechUnavailable if none)."""
    return Listener(
        stt.engine(),
        hands_free=hands_free,
        end_silence_ms=settings.VOICE_END_SILENCE_MS,
        max_ms=settings.VOICE_MAX_UTTERANCE_SECONDS * 1000,
    )


def speaker() -> tts.Engine | None:
    """The configured text-to-speech engine, or None (the browser speaks)."""
    return tts.engine()


@dataclass
class _Clock:
    speech_end: float  # time.perf_counter() when the speaker stopped

    def since(self) -> float:
        return round((time.perf_counter() - self.speech_end) * 1000, 2)


@dataclass
class _Spoken:
    sentences: int = 0
    audio_ms: float = 0.0
    first_ms: float | None = None
    failed: str = ""


@dataclass
class Question:
    """A spoken question as the recogniser heard it: what ``hear`` gives ``reply``.

    ``error`` is the error event to show when there is nothing to ask (the recogniser
    failed or understood nothing); the turn is closed then."""

    turn: VoiceTurn
    clock: _Clock
    heard: str = ""  # the recogniser's words, in spoken form
    decode_ms: float | None = None
    engine: str = ""
    error: dict | None = None


@contextlib.asynccontextmanager
async def _kept_as_far_as_it_got(turn: VoiceTurn):
    """A turn cut short (the client went away, the task was cancelled) is stored as
    disconnected, with what it had."""
    try:
        yield
    except BaseException:
        if turn.finished_at is None:
            turn.status = VoiceTurn.Status.DISCONNECTED
            turn.finished_at = timezone.now()
            with contextlib.suppress(Exception):
                await asyncio.shield(lane(turn.save)())
        raise


async def hear(
    conversation, utterance: Utterance, stream: stt.Stream, *, speech_end: float, mode: str, voice
) -> Question:
    """Store the ``VoiceTurn`` and finish the transcript of ``utterance`` (its ``stream``
    has been fed). ``speech_end`` is the ``time.perf_counter()`` when the speaker
    stopped: the turn's timings count from it."""
    clock = _Clock(speech_end)
    turn = VoiceTurn(
        conversation=conversation,
        mode=mode,
        audio_ms=round(utterance.speech_ms, 1),
        cut=utterance.cut,
        stt_engine=stt.engine().name,
        tts_engine=voice.name if voice else "",
    )
    await lane(turn.save)()
    async with _kept_as_far_as_it_got(turn):
        try:
            transcript = await asyncio.to_thread(stream.finish)
        except (stt.SpeechFailed, stt.SpeechUnavailable) as exc:
            turn.stt_ms = clock.since()
            await _close(turn, VoiceTurn.Status.FAILED, error=f"speech-to-text: {exc}")
            return Question(
                turn, clock, error=_error("stt_failed", f"Speech recognition failed: {exc}")
            )
        turn.stt_ms = clock.since()
        heard = transcript.text.strip()
        if not heard:
            await _close(turn, VoiceTurn.Status.NOT_UNDERSTOOD)
            return Question(turn, clock, error=_error("not_understood", NOT_UNDERSTOOD))
        return Question(turn, clock, heard, transcript.decode_ms, transcript.engine)


async def record_command(question: Question) -> None:
    """``question`` was said to the voice session ("stop listening"): stored, not asked."""
    question.turn.transcript = question.heard
    await _close(question.turn, VoiceTurn.Status.COMMAND)


async def reply(
    question: Question,
    user,
    *,
    voice: tts.Engine | None,
    interrupted: asyncio.Event | None = None,
    ticket=None,
) -> AsyncIterator[tuple[dict, bytes | None]]:
    """Ask chat ``question`` and speak the answer. See the module doc. Once
    ``interrupted`` is set no more sentences are spoken. ``ticket`` (the socket's
    ``lineled.admission`` admission) goes with the question to chat, which releases it."""
    turn, clock = question.turn, question.clock
    interrupted = interrupted or asyncio.Event()
    async with _kept_as_far_as_it_got(turn):
        async for item in _reply(question, turn, clock, user, voice, interrupted, ticket):
            yield item


async def _reply(question: Question, turn, clock, user, voice, interrupted, ticket):
    # The question as typed questions are read: "forty five degrees" is 45°F.
    turn.transcript = written(question.heard, prompt.codes())
    yield (
        payload(
            TranscriptEvent(
                text=turn.transcript,
                heard=question.heard,
                stt_ms=turn.stt_ms,
                decode_ms=question.decode_ms,
                engine=question.engine,
                cut=turn.cut,
            )
        ),
        None,
    )
    try:
        events = chat.run_turn(
            turn.conversation, user, turn.transcript, modality="voice", style="text", ticket=ticket
        )
        start = await anext(events)
    except DomainError as exc:  # the question could not be taken (too long, gone)
        await _close(turn, VoiceTurn.Status.FAILED, error=exc.message)
        yield _error("invalid", exc.message), None
        return
    except Exception as exc:
        logger.exception("storing a spoken question failed")
        await _close(turn, VoiceTurn.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        yield _error("unavailable", "The question could not be stored; try again shortly."), None
        return
    turn.question_id = start["question"]
    turn.answer_id = start["message"]
    turn.status = VoiceTurn.Status.ANSWERING
    await lane(turn.save)(update_fields=["question", "answer", "status", "stt_ms"])
    yield start, None

    out: asyncio.Queue = asyncio.Queue()
    sentences: asyncio.Queue = asyncio.Queue()
    spoken = _Spoken()
    outcome: dict = {}
    tasks = [
        asyncio.create_task(_relay(events, sentences, out, turn, clock, outcome)),
        asyncio.create_task(
            _speak(sentences, out, voice, interrupted, spoken, clock, turn.transcript)
        ),
    ]
    try:
        for _ in range(2):  # each task ends with None
            while (item := await out.get()) is not None:
                yield item
    finally:
        for task in tasks:
            task.cancel()
    turn.first_audio_ms = spoken.first_ms
    turn.sentences = spoken.sentences
    turn.speech_out_ms = round(spoken.audio_ms, 1)
    turn.total_ms = clock.since()
    if outcome.get("failed"):
        status = VoiceTurn.Status.FAILED
    elif interrupted.is_set():
        status = VoiceTurn.Status.INTERRUPTED
    else:
        status = VoiceTurn.Status.ANSWERED
    # Stored before the client hears the turn is over: whoever reads it then sees it ended.
    await _close(turn, status, error=outcome.get("error", "") or spoken.failed)
    yield payload(AudioEndEvent(message=turn.answer_id, sentences=spoken.sentences)), None


async def _relay(events, sentences: asyncio.Queue, out: asyncio.Queue, turn, clock, outcome):
    """Chat's events to ``out``; the answer's sentences, as they complete, to the speaker."""
    spoken = speech.SpokenAnswer()
    try:
        async for event in events:
            if event["type"] == "token":
                if turn.first_token_ms is None:
                    turn.first_token_ms = clock.since()
                for piece in spoken.feed(event["text"]):
                    sentences.put_nowait(piece)
            elif event["type"] == "error":
                outcome["failed"] = True
                outcome["error"] = "the assistant could not finish the answer"
            out.put_nowait((event, None))
        for piece in spoken.flush():
            sentences.put_nowait(piece)
    finally:
        sentences.put_nowait(None)
        out.put_nowait(None)


async def _speak(sentences, out: asyncio.Queue, voice, interrupted, spoken, clock, transcript: str):
    """Speak each piece (already shaped for the ear) in order, as soon as it is complete.

    A decline says what was heard first: by voice, the likelier cause is a question
    heard wrong than one the manuals miss, and the speaker can then try again."""
    seq = 0
    try:
        while (said := await sentences.get()) is not None:
            if interrupted.is_set():
                continue
            if seq == 0 and said == DECLINE_SPOKEN:
                said = f"I heard: {transcript}. {said}"
            if voice is None:
                out.put_nowait((payload(SayEvent(seq=seq, text=said)), None))
            else:
                try:
                    made = await asyncio.to_thread(voice.synthesize, said)
                except (tts.SpeechFailed, tts.SpeechUnavailable) as exc:
                    spoken.failed = f"text-to-speech: {exc}"
                    out.put_nowait((_error("tts_failed", f"Speech output failed: {exc}"), None))
                    interrupted.set()  # the rest would fail too; the text is on screen
                    continue
                if interrupted.is_set():
                    continue
                spoken.audio_ms += made.duration_ms
                sent = AudioEvent(
                    seq=seq,
                    text=said,
                    bytes=len(made.wav),
                    duration_ms=round(made.duration_ms, 1),
                )
                out.put_nowait((payload(sent), made.wav))
            if spoken.first_ms is None:
                spoken.first_ms = clock.since()
            seq += 1
            spoken.sentences = seq
    finally:
        out.put_nowait(None)


def _error(code: str, message: str) -> dict:
    return payload(VoiceErrorEvent(code=code, message=message))


async def _close(turn: VoiceTurn, status: str, error: str = "") -> None:
    turn.status = status
    turn.error = error[:2000]
    turn.finished_at = timezone.now()
    await lane(turn.save)()


# --- One spoken question from a file (voice_ask, bench voice) ------------------------


@dataclass
class FileTurn:
    transcript: str = ""  # the question as asked: numbers and units written as in the manuals
    heard: str = ""  # the recogniser's words, in spoken form
    endpoint_ms: float = 0.0  # how long after the last speech frame the end was decided
    decode_ms: float | None = None  # the recogniser's own time on it, when it says
    events: list[dict] = field(default_factory=list)
    audio: list[bytes] = field(default_factory=list)
    speech_end: float = 0.0
    turn: VoiceTurn | None = None
    error: dict | None = None


async def ask_from_pcm(
    conversation, user, pcm: bytes, *, voice=None, speak=True, ticket=None
) -> FileTurn:
    """Run ``pcm`` (a recording of one question) through the voice path as if it came
    from a microphone: endpointed, decoded while it "arrives", timed from the end of
    speech (the silence the endpointer waits for is counted).

    Audio is fed as fast as it is taken until the speaker first goes quiet, and in real
    time from then on: what the recogniser does from its tentative end of speech on
    (decoding while the rest of the silence comes in) takes the time it would live."""
    result = FileTurn()
    listening = listener(hands_free=True)
    chunk = 60 * audio.BYTES_PER_MS  # 60 ms, as the browser does (voice-socket.js)
    heard = None
    clock = None  # (perf_counter, audio ms) when real time began
    for offset in range(0, len(pcm), chunk):
        piece = pcm[offset : offset + chunk]
        if clock is not None:
            due = clock[0] + (listening.received_ms + audio.duration_ms(piece) - clock[1]) / 1000
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        heard = await asyncio.to_thread(listening.feed, piece)
        if heard.tentative and clock is None:
            clock = (time.perf_counter(), listening.received_ms)
        if heard.utterance is not None:
            break
    if heard is None or heard.utterance is None:
        heard = listening.release()  # the recording ended before the silence did
    if heard.utterance is None:
        result.error = _error(
            "no_speech", "No speech was found in the recording (is it silent, or too short?)"
        )
        return result
    utterance = heard.utterance
    if audio.looks_like_noise(utterance.pcm):
        # A live socket judges noise frame by frame (voice.session); a file, its question.
        heard.stream.cancel()
        result.error = _error("bad_audio", NOT_SPEECH)
        return result
    # The microphone is at received_ms now; the last speech frame is that far behind.
    result.endpoint_ms = listening.received_ms - utterance.end_ms
    result.speech_end = time.perf_counter() - result.endpoint_ms / 1000
    voice = (voice if voice is not None else speaker()) if speak else None
    mode = VoiceTurn.Mode.FILE
    question = await hear(
        conversation, utterance, heard.stream, speech_end=result.speech_end, mode=mode, voice=voice
    )
    result.turn = question.turn
    if question.error:
        result.events.append(question.error)
        result.error = question.error
        return result
    async for event, wav in reply(question, user, voice=voice, ticket=ticket):
        result.events.append(event)
        if event["type"] == "transcript":
            result.transcript, result.heard = event["text"], event["heard"]
            result.decode_ms = event["decode_ms"]
        elif event["type"] == "error" and result.error is None:
            result.error = event
        if wav is not None:
            result.audio.append(wav)
    return result


# --- The REST side --------------------------------------------------------------------

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def status() -> VoiceStatusOut:
    """Which engines run here, and what the recogniser learnt of the store; no keys or
    paths."""
    try:
        engine, error = stt.engine().name, None
    except stt.SpeechUnavailable as exc:
        engine, error = None, str(exc)
    try:
        voice = speaker()
    except tts.SpeechUnavailable:
        voice = None
    from voice.stt import vocabulary  # pocketsphinx's language model, when one was built

    model = vocabulary.current()
    key_terms = prompt.terms()
    return VoiceStatusOut(
        stt=engine,
        stt_error=error,
        stt_available=stt.available(),
        tts=voice.name if voice else None,
        tts_available=tts.available(),
        vocabulary=VocabularyOut(
            key_terms=key_terms,
            version=model.version if model else None,
            words=model.words if model else None,
            sentences=model.sentences if model else None,
        ),
        sample_rate=audio.SAMPLE_RATE,
        max_seconds=settings.VOICE_MAX_UTTERANCE_SECONDS,
        end_silence_ms=settings.VOICE_END_SILENCE_MS,
        idle_minutes=settings.VOICE_IDLE_MINUTES,
    )


def rebuild_vocabulary(*, pocketsphinx: bool | None = None) -> dict:
    """Learn the knowledge base as it is now: the key-terms prompt (whisper, the cloud),
    and pocketsphinx's language model when pocketsphinx is the engine (or when asked:
    it takes seconds, and nothing else reads it)."""
    said = prompt.build()
    result: dict = {"prompt": said, "pocketsphinx": None}
    if pocketsphinx or (pocketsphinx is None and stt.configured_name() == "pocketsphinx"):
        from voice.stt import vocabulary

        model = vocabulary.build()
        result["pocketsphinx"] = {
            "version": model.version,
            "words": model.words,
            "sentences": model.sentences,
            "path": str(model.path),
        }
    return result


def turns(user, conversation_id):
    conversation = chat.get_conversation(user, conversation_id)
    return VoiceTurn.objects.filter(conversation=conversation)


def spoken_turn(user, turn: VoiceTurn) -> dict:
    """The turn with its question and answer as ``chat.messages_for`` reads them (None
    for one it has not got), under the names ``SpokenTurnOut`` reads them by."""
    stored = {m.pk: m for m in chat.messages_for(user, ids=[turn.question_id, turn.answer_id])}
    return {
        "voice_turn": turn,
        "question": stored.get(turn.question_id),
        "answer": stored.get(turn.answer_id),
    }


def ask_with_recording(
    user, conversation_id, upload, *, speak: bool = False, ticket: admission.Ticket | None = None
) -> SpokenTurnOut:
    """One spoken question from an uploaded WAV (``POST .../ask``). ``ticket`` is the
    user's admission (``lineled.admission.admit_answer``, taken by the API before the
    upload is read), handed to chat with the question; validation's own spoken
    questions come without one. Returns the turn as the endpoint answers it."""
    conversation = chat.get_conversation(user, conversation_id)
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise Invalid(f"the recording is {upload.size // 1024 // 1024} MB; at most 10 MB")
    try:
        pcm = audio.load_wav(upload.read(MAX_UPLOAD_BYTES + 1))
    except audio.AudioError as exc:
        raise Invalid(str(exc)) from None
    try:
        voice = speaker() if speak else None
        result = async_to_sync(ask_from_pcm)(
            conversation, user, pcm, voice=voice, speak=speak, ticket=ticket
        )
    except (stt.SpeechUnavailable, tts.SpeechUnavailable) as exc:
        raise Unavailable(f"voice is not available on this server: {exc}") from None
    if result.turn is None or (result.error and result.turn.answer_id is None):
        raise Invalid(result.error["message"] if result.error else "no question was heard")
    wav = audio.join_wavs(result.audio) if result.audio else None
    return SpokenTurnOut.from_orm(
        {
            **spoken_turn(user, result.turn),
            "audio_wav_base64": base64.b64encode(wav).decode() if wav else None,
        }
    )
