"""Golden questions as speech: espeak-ng's voice, as a 16 kHz WAV a microphone would give."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from voice import audio

VOICE = "en-us+klatt"
SPEED = 160


class NoSynthesizer(RuntimeError):
    pass


@lru_cache(maxsize=256)
def speak(text: str, voice: str = VOICE, speed: int = SPEED) -> bytes:
    """``text`` spoken, with half a second of silence before and a second after."""
    if shutil.which("espeak-ng") is None:
        raise NoSynthesizer("espeak-ng is not installed: sudo apt-get install espeak-ng")
    done = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", "--stdin"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    )
    pcm = audio.silence(500) + audio.load_wav(done.stdout) + audio.silence(1000)
    return audio.wav_bytes(pcm)
