"""eSpeak NG: offline, robotic but fast (a sentence in ~15 ms) and always there.

This is the one place the project runs espeak-ng: the answers' voice, the recogniser's
pronunciations (``ipa``), and the recordings that validation, ``bench voice`` and the
tests make of questions all go through ``EspeakEngine`` (get one with ``tts.espeak_engine``).
"""

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
        self.voice = voice
        self.rate = rate  # words a minute
        self.timeout = timeout
        self.binary = binary

    def synthesize(self, text: str) -> Speech:
        out = self._run(["--stdout", "-s", str(self.rate)], require_text(text))
        try:
            pcm = read_pcm16_wav(out)
        except ValueError as exc:
            raise SpeechFailed(f"espeak-ng wrote no usable WAV: {exc}") from exc
        return make_speech(pcm, self.name)

    def ipa(self, text: str) -> list[str]:
        """How this voice pronounces ``text``, in IPA: a line for each line of ``text``
        (espeak-ng may join or split lines; callers that count them check)."""
        out = self._run(["-q", "--ipa"], text)
        return [line for line in out.decode(errors="replace").splitlines() if line.strip()]

    def _run(self, options: list[str], text: str) -> bytes:
        # The text goes on stdin, never on the command line, so text starting with
        # "-" is read rather than taken as an option. -b 1: the input is UTF-8.
        command = [self.binary, *options, "-b", "1", "-v", self.voice]
        try:
            done = subprocess.run(
                command, input=text.encode(), capture_output=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SpeechFailed(f"espeak-ng took longer than {self.timeout:g} s") from exc
        except OSError as exc:
            raise SpeechFailed(f"espeak-ng could not start: {exc}") from exc
        if done.returncode != 0:
            stderr = done.stderr.decode(errors="replace").strip()
            raise SpeechFailed(f"espeak-ng exited with {done.returncode}: {stderr}")
        return done.stdout
