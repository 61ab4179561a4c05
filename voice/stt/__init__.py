"""Speech-to-text engines behind one small interface, chosen by ``VOICE_STT``.

Audio everywhere in the voice app is 16 kHz mono signed 16-bit little-endian PCM.
An engine hands out one :class:`Stream` per utterance: ``accept`` takes audio as it
arrives (a streaming engine decodes as it goes and may return a new partial
transcript), ``tentative_end`` says the speaker may have stopped (an engine that hears
whole utterances starts on them then), ``finish`` returns the final :class:`Transcript`.
Streams are used from one thread at a time; callers run them off the event loop.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class SpeechUnavailable(Exception):
    """The configured engine cannot run here (missing package, model, key); the message says why."""


class SpeechFailed(Exception):
    """The engine ran but failed on this audio (cloud error, timeout); the message says why."""


@dataclass
class Transcript:
    text: str  # as spoken, normalised to plain words ("", when nothing was understood)
    engine: str
    confidence: float | None = None  # 0..1 when the engine reports one
    decode_ms: float | None = None  # the engine's own time on the audio, when it reports it


class Stream:
    """One utterance being transcribed."""

    def accept(self, pcm: bytes) -> str | None:
        """Feed audio; returns the new partial transcript when it changed, else None."""
        raise NotImplementedError

    def tentative_end(self, length: int) -> None:
        """The speaker may have stopped: the first ``length`` bytes accepted hold the
        question (trailing quiet trimmed). An engine that decodes whole utterances may
        start on them now. A later call replaces it (speech came back); ``finish`` then
        transcribes up to the last one, or everything accepted when there was none."""

    def finish(self) -> Transcript:
        raise NotImplementedError

    def cancel(self) -> None:
        """Drop the utterance (connection gone); safe to call after finish."""


class Engine:
    name: str = ""
    streaming: bool = False  # True when accept() decodes as audio arrives

    def stream(self) -> Stream:
        raise NotImplementedError

    def transcribe(self, pcm: bytes) -> Transcript:
        stream = self.stream()
        stream.accept(pcm)
        return stream.finish()


class BufferedStream(Stream):
    """A stream for engines that transcribe a whole utterance at once."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._audio = bytearray()

    def accept(self, pcm: bytes) -> str | None:
        self._audio += pcm
        return None

    def finish(self) -> Transcript:
        audio, self._audio = bytes(self._audio), bytearray()
        return self._engine.transcribe(audio)

    def cancel(self) -> None:
        self._audio = bytearray()


_cache: dict[tuple, Engine] = {}
_lock = threading.Lock()
logger = logging.getLogger(__name__)


def configured_name() -> str:
    """The engine VOICE_STT asks for, with "auto" resolved: the cloud when it has a key,
    else whisper when faster-whisper is installed (requirements.txt installs it with its
    model), else pocketsphinx."""
    choice = settings.VOICE_STT
    if choice != "auto":
        return choice
    if settings.VOICE_OPENAI_API_KEY:
        return "openai"
    if importlib.util.find_spec("faster_whisper"):
        return "whisper"
    return "pocketsphinx"


def engine() -> Engine:
    """The configured engine, made once per configuration and shared.

    Raises SpeechUnavailable when it cannot run here (its message says how to fix it).
    """
    name = configured_name()
    key = (
        name,
        settings.VOICE_OPENAI_API_KEY,
        settings.VOICE_OPENAI_BASE_URL,
        settings.VOICE_STT_MODEL,
        settings.VOICE_WHISPER_MODEL,
        settings.VOICE_WHISPER_THREADS,
        settings.VOICE_TIMEOUT_SECONDS,
    )
    with _lock:
        if key not in _cache:
            _cache.clear()
            _cache[key] = _make(name)
        return _cache[key]


def _make(name: str) -> Engine:
    if name == "openai":
        from voice.stt.openai import OpenAIEngine

        return OpenAIEngine()
    if name == "whisper":
        from voice.stt.whisper import WhisperEngine

        return WhisperEngine()
    from voice.stt.pocketsphinx import PocketsphinxEngine

    return PocketsphinxEngine()


def reset() -> None:
    """Forget the shared engine (tests, changed settings); the next call makes a new one.

    A loaded whisper model stays: the process keeps one, and it is reused while the
    settings still ask for it."""
    with _lock:
        _cache.clear()


def preload() -> None:
    """Make the configured engine now, on a thread of its own: a server process calls
    this when it starts, so that loading the recogniser (a second or two for whisper)
    does not hold up the first spoken question. A failure is logged here and reported
    again to whoever then asks for the engine."""

    def load():
        started = time.monotonic()
        try:
            name = engine().name
            logger.info("speech-to-text: %s ready in %.1f s", name, time.monotonic() - started)
        except SpeechUnavailable as exc:
            logger.warning("speech-to-text is unavailable: %s", exc)
        except Exception:
            logger.exception("loading the speech-to-text engine failed")

    threading.Thread(target=load, name="stt-preload", daemon=True).start()


def available() -> list[str]:
    """Names of the engines that can run here, as configured now."""
    names = []
    if importlib.util.find_spec("pocketsphinx"):
        names.append("pocketsphinx")
    if importlib.util.find_spec("faster_whisper") and (
        Path(settings.VOICE_WHISPER_MODEL).is_dir()
        if settings.VOICE_WHISPER_MODEL
        else _bundled_whisper()
    ):
        names.append("whisper")
    if settings.VOICE_OPENAI_API_KEY:
        names.append("openai")
    return names


def _bundled_whisper() -> bool:
    from voice.stt import weights

    return weights.installed()
