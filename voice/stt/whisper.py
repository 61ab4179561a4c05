"""faster-whisper with a local CTranslate2 model folder (VOICE_WHISPER_MODEL).

Nothing is downloaded: the folder must already hold the model. Whisper transcribes a
whole utterance at once, so streams buffer audio until ``finish``. The store's key
terms go in as the initial prompt, which biases whisper towards their spelling.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

from django.conf import settings

from voice.stt import BufferedStream, Engine, SpeechFailed, SpeechUnavailable, Stream, Transcript
from voice.stt.vocabulary import prompt as key_terms_prompt
from voice.text import normalize

logger = logging.getLogger(__name__)


class WhisperEngine(Engine):
    name = "whisper"
    streaming = False

    def __init__(self, model_dir: str | Path | None = None):
        folder = str(model_dir if model_dir is not None else settings.VOICE_WHISPER_MODEL)
        if not folder:
            raise SpeechUnavailable(
                "VOICE_WHISPER_MODEL is not set: point it at a local faster-whisper model folder"
            )
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise SpeechUnavailable(
                "faster-whisper is not installed: pip install faster-whisper "
                "(or set VOICE_STT=pocketsphinx)"
            ) from None
        if not Path(folder).is_dir():
            raise SpeechUnavailable(
                f"VOICE_WHISPER_MODEL folder {folder} does not exist: download a "
                "CTranslate2 whisper model there (e.g. Systran/faster-whisper-small)"
            )
        try:
            self._model = WhisperModel(
                folder, device="cpu", compute_type="int8", local_files_only=True
            )
        except Exception as exc:  # a broken or partial model folder
            raise SpeechUnavailable(f"whisper could not load {folder}: {exc}") from None
        self._lock = threading.Lock()  # one transcription at a time per model

    def stream(self) -> Stream:
        return BufferedStream(self)

    def transcribe(self, pcm: bytes) -> Transcript:
        if len(pcm) < 3200:  # under 0.1 s: nothing to hear
            return Transcript(text="", engine=self.name)
        import numpy

        audio = numpy.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        audio = audio.astype(numpy.float32) / 32768.0
        try:
            with self._lock:
                segments, _info = self._model.transcribe(
                    audio,
                    language="en",
                    beam_size=5,
                    initial_prompt=key_terms_prompt() or None,
                    condition_on_previous_text=False,
                )
                segments = list(segments)
        except Exception as exc:
            logger.exception("whisper failed")
            raise SpeechFailed(f"whisper failed: {exc}") from None
        text = normalize(" ".join(s.text for s in segments))
        confidence = None
        if segments:
            mean = sum(s.avg_logprob for s in segments) / len(segments)
            confidence = round(min(1.0, math.exp(mean)), 3)
        return Transcript(text=text, engine=self.name, confidence=confidence)
