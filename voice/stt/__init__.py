"""Speech-to-text engines behind one small interface, chosen by ``VOICE_STT``.

Audio everywhere in the voice app is 16 kHz mono signed 16-bit little-endian PCM.
An engine hands out one :class:`Stream` per utterance: ``accept`` takes audio as it
arrives (a streaming engine decodes as it goes and may return a new partial
transcript), ``finish`` returns the final :class:`Transcript`. Streams are used from
one thread at a time; callers run them off the event loop.
"""

from __future__ import annotations

import importlib.util
import threading
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


class Stream:
    """One utterance being transcribed."""

    def accept(self, pcm: bytes) -> str | None:
        """Feed audio; returns the new partial transcript when it changed, else None."""
        raise NotImplementedError

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


NAMES = ("pocketsphinx", "whisper", "openai")
_cache: dict[tuple, Engine] = {}
_lock = threading.Lock()


def configured_name() -> str:
    """The engine VOICE_STT asks for, with "auto" resolved."""
    choice = settings.VOICE_STT
    if choice != "auto":
        return choice
    if settings.VOICE_OPENAI_API_KEY:
        return "openai"
    if settings.VOICE_WHISPER_MODEL:
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
    """Forget the shared engine (tests, changed settings); the next call makes a new one."""
    with _lock:
        _cache.clear()


def available() -> list[str]:
    """Names of the engines that can run here, as configured now."""
    names = []
    if importlib.util.find_spec("pocketsphinx"):
        names.append("pocketsphinx")
    if (
        settings.VOICE_WHISPER_MODEL
        and importlib.util.find_spec("faster_whisper")
        and Path(settings.VOICE_WHISPER_MODEL).is_dir()
    ):
        names.append("whisper")
    if settings.VOICE_OPENAI_API_KEY:
        names.append("openai")
    return names
