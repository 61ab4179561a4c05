"""Golden questions as speech: espeak-ng's voice, as a 16 kHz WAV a microphone would give."""

from __future__ import annotations

from functools import lru_cache

from voice import audio, tts

VOICE = "en-us+klatt"
SPEED = 160


class NoSynthesizer(RuntimeError):
    pass


@lru_cache(maxsize=256)
def speak(text: str, voice: str = VOICE, speed: int = SPEED) -> bytes:
    """``text`` spoken, with half a second of silence before and a second after."""
    try:
        espeak = tts.espeak_engine(voice=voice, rate=speed, timeout=30)
    except tts.SpeechUnavailable as exc:
        raise NoSynthesizer(str(exc)) from None
    spoken = espeak.synthesize(text)
    pcm = audio.silence(500) + audio.load_wav(spoken.wav) + audio.silence(1000)
    return audio.wav_bytes(pcm)
