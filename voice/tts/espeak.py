"""eSpeak NG: offline, robotic but fast (a sentence in ~15 ms) and always there."""

from __future__ import annotations

import subprocess

from voice.tts import Engine, Speech, SpeechFailed, make_speech, read_pcm16_wav, require_text


class EspeakEngine(Engine):
    name = "espeak"

    def __init__(
        self,
        voice: str = "en-us",
        rate: int = 165,
        timeout: float = 15.0,
        binary: str = "espeak-ng",
    ) -> None:
        # The text goes on stdin, never on the command line, so text starting with
        # "-" is spoken rather than read as an option. -b 1: the input is UTF-8.
        self.command = [binary, "--stdout", "-b", "1", "-v", voice, "-s", str(rate)]
        self.timeout = timeout

    def synthesize(self, text: str) -> Speech:
        text = require_text(text)
        try:
            done = subprocess.run(
                self.command,
                input=text.encode(),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SpeechFailed(f"espeak-ng took longer than {self.timeout:g} s") from exc
        except OSError as exc:
            raise SpeechFailed(f"espeak-ng could not start: {exc}") from exc
        if done.returncode != 0:
            stderr = done.stderr.decode(errors="replace").strip()
            raise SpeechFailed(f"espeak-ng exited with {done.returncode}: {stderr}")
        try:
            pcm = read_pcm16_wav(done.stdout)
        except ValueError as exc:
            raise SpeechFailed(f"espeak-ng wrote no usable WAV: {exc}") from exc
        return make_speech(pcm, self.name)
