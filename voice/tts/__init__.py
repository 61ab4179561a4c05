"""Text-to-speech engines behind one small interface, chosen by ``VOICE_TTS``.

``engine()`` returns the configured engine, or None when the server has none (the
browser's own speech synthesis speaks instead). ``synthesize`` is blocking; callers
run it off the event loop, one sentence at a time, so speech starts with the first
sentence. Pass it text already shaped by ``voice.speech.for_the_ear``.
"""

from __future__ import annotations

import shutil
import struct
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice import audio

if TYPE_CHECKING:
    from voice.tts.espeak import EspeakEngine


class SpeechUnavailable(Exception):
    """The configured engine cannot run here; the message says why."""


class SpeechFailed(Exception):
    """The engine failed on this text (cloud error, timeout); the message says why."""


@dataclass
class Speech:
    wav: bytes  # a complete RIFF/WAVE file, PCM16 mono
    sample_rate: int
    duration_ms: float
    engine: str


class Engine:
    name: str = ""

    def synthesize(self, text: str) -> Speech:
        """Speak ``text``; raises ValueError when it is empty or only whitespace
        (there is nothing to say: callers skip such pieces) and SpeechFailed when the
        engine fails."""
        raise NotImplementedError


ESPEAK_BINARY = "espeak-ng"
ESPEAK_MISSING = "espeak-ng is not installed; install it with: sudo apt-get install espeak-ng"

_lock = threading.Lock()
_engine: Engine | None = None
_chosen = False


def engine() -> Engine | None:
    """The engine ``VOICE_TTS`` names, built once; None when the browser speaks.

    Raises SpeechUnavailable when the setting names an engine that cannot run here;
    that is not cached, so every call raises until the cause is fixed.
    """
    global _engine, _chosen
    with _lock:
        if not _chosen:
            _engine = _build()
            _chosen = True
        return _engine


def reset() -> None:
    """Forget the cached engine, so the next ``engine()`` reads the settings again."""
    global _engine, _chosen
    with _lock:
        _engine, _chosen = None, False


def available() -> list[str]:
    """Names of the server-side engines that can run here, preferred first."""
    from django.conf import settings

    names = []
    if settings.VOICE_OPENAI_API_KEY:
        names.append("openai")
    if shutil.which(ESPEAK_BINARY):
        names.append("espeak")
    return names


def _build() -> Engine | None:
    from django.conf import settings

    choice = settings.VOICE_TTS
    if choice == "auto":
        usable = available()
        choice = usable[0] if usable else "none"
    if choice == "none":
        return None
    if choice == "openai":
        if not settings.VOICE_OPENAI_API_KEY:
            raise SpeechUnavailable("VOICE_TTS=openai needs VOICE_OPENAI_API_KEY")
        from voice.tts.openai import OpenAIEngine

        return OpenAIEngine(
            api_key=settings.VOICE_OPENAI_API_KEY,
            base_url=settings.VOICE_OPENAI_BASE_URL,
            model=settings.VOICE_TTS_MODEL,
            voice=settings.VOICE_TTS_VOICE,
            timeout=settings.VOICE_TIMEOUT_SECONDS,
        )
    if choice == "espeak":
        return espeak_engine(
            voice=settings.VOICE_ESPEAK_VOICE,
            rate=settings.VOICE_ESPEAK_RATE,
            timeout=settings.VOICE_TIMEOUT_SECONDS,
        )
    raise SpeechUnavailable(f"unknown VOICE_TTS {choice!r}")


def espeak_engine(voice: str = "en-us", rate: int = 165, timeout: float = 15.0) -> EspeakEngine:
    """An ``EspeakEngine`` with this voice and speed (words a minute): the way every
    part of the project runs espeak-ng. SpeechUnavailable, saying how to install it,
    when espeak-ng is missing."""
    binary = shutil.which(ESPEAK_BINARY)
    if not binary:
        raise SpeechUnavailable(ESPEAK_MISSING)
    from voice.tts.espeak import EspeakEngine

    return EspeakEngine(voice=voice, rate=rate, timeout=timeout, binary=binary)


def require_text(text: str) -> str:
    """``text`` stripped; ValueError when nothing is left to say."""
    text = text.strip()
    if not text:
        raise ValueError("nothing to say: the text is empty")
    return text


@dataclass
class Pcm:
    sample_rate: int
    frames: bytes  # PCM16 mono little-endian samples


def read_pcm16_wav(data: bytes) -> Pcm:
    """The samples of a PCM16 mono WAV file, trusting the bytes over the header.

    Engines that stream (espeak-ng --stdout, OpenAI) write the RIFF and data sizes
    before they know them (0xFFFFFFFF or similar): a data size past the end of the
    file means "to the end". Raises ValueError when ``data`` is not such a file.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise ValueError("truncated fmt chunk")
            fmt = struct.unpack_from("<HHIIHH", data, body)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("data chunk before fmt chunk")
            audio_format, channels, rate, _, _, bits = fmt
            if audio_format not in (1, 0xFFFE) or channels != 1 or bits != 16 or not rate:
                raise ValueError(
                    f"not PCM16 mono: format {audio_format}, {channels} channel(s), "
                    f"{bits} bits, {rate} Hz"
                )
            frames = data[body : min(body + size, len(data))]
            return Pcm(sample_rate=rate, frames=frames[: len(frames) - len(frames) % 2])
        pos = body + size + (size & 1)
    raise ValueError("no data chunk")


def make_speech(pcm: Pcm, engine: str) -> Speech:
    """A Speech holding ``pcm`` as a WAV file with exact sizes in its header."""
    duration_ms = len(pcm.frames) / 2 / pcm.sample_rate * 1000
    return Speech(
        wav=audio.wav_bytes(pcm.frames, pcm.sample_rate),
        sample_rate=pcm.sample_rate,
        duration_ms=duration_ms,
        engine=engine,
    )
