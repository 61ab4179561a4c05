"""Spoken test questions: espeak-ng speech as 16 kHz mono PCM16, made once per session."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

from voice import audio, tts

CACHE = Path(tempfile.gettempdir()) / "lineled-test-speech"
# Of espeak-ng's voices, the one whisper base hears best (its formant voices are far
# from a person's; klatt is the one pocketsphinx's tests use).
VOICE = "en-us+m3"


def spoken(text: str, *, voice: str = VOICE, speed: int = 150) -> bytes:
    """``text`` spoken by espeak-ng, without padding."""
    key = hashlib.sha256(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
    CACHE.mkdir(exist_ok=True)
    raw = CACHE / f"{key}.raw"
    if not raw.exists():
        wav = tts.espeak_engine(voice=voice, rate=speed, timeout=60).synthesize(text).wav
        pcm = subprocess.run(
            ["sox", "-t", "wav", "-", "-t", "raw", "-r", "16000", "-c", "1", "-b", "16"]
            + ["-e", "signed", "-"],
            input=wav,
            check=True,
            capture_output=True,
        ).stdout
        raw.write_bytes(pcm)
    return raw.read_bytes()


def question(text: str, *, before_ms: int = 400, after_ms: int = 1000, **kwargs) -> bytes:
    """A recording of one question: quiet, the question, quiet again."""
    return audio.silence(before_ms) + spoken(text, **kwargs) + audio.silence(after_ms)


def frames(pcm: bytes, ms: int = 100) -> list[bytes]:
    size = ms * audio.BYTES_PER_MS
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def voiced_ms(pcm: bytes) -> float:
    """Where the last word ends in ``pcm`` (espeak-ng leaves some silence after it)."""
    size = 10 * audio.BYTES_PER_MS
    loud = [i for i in range(0, len(pcm), size) if audio.rms(pcm[i : i + size]) > 300]
    return (loud[-1] + size) / audio.BYTES_PER_MS if loud else 0.0
