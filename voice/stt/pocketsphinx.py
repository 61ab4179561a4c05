"""The offline engine: pocketsphinx with the store's vocabulary (voice.stt.vocabulary).

Decoding happens as audio arrives, so ``finish`` after the end of speech only closes
the utterance. A decoder is not thread-safe: each stream takes one from a small pool
and gives it back when done. When the vocabulary is rebuilt the pool is emptied, and
the next stream loads the new model.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from voice.stt import Engine, SpeechUnavailable, Stream, Transcript, vocabulary

logger = logging.getLogger(__name__)

POOL_SIZE = 4
PARTIAL_EVERY = 16000 * 3 // 10  # samples: ask for a partial at most every 300 ms of audio
# The first second of each utterance is decoded twice: once to set the cepstral mean
# (the decoder's normalisation of level and microphone colour) from this speaker, this
# microphone and this room, then for real. Without it the first words are heard
# through the previous utterance's mean, or the model's generic one in a new process,
# and are often lost ("and fish" heard as "fish").
PRIME_BYTES = 16000 * 2
# Measured on spoken crew questions: without the flat-lexicon second pass, finish()
# takes a few milliseconds instead of 100-300 ms, and at this language weight the
# word error rate is the same as with it.
OPTIONS = {
    "lw": 5.5,
    "fwdflat": False,
    "bestpath": True,
    "loglevel": "FATAL",
}


class PocketsphinxEngine(Engine):
    name = "pocketsphinx"
    streaming = True

    def __init__(self):
        try:
            import pocketsphinx
        except ImportError:
            raise SpeechUnavailable(
                "pocketsphinx is not installed: pip install pocketsphinx"
            ) from None
        self._ps = pocketsphinx
        self._lock = threading.Lock()
        self._pool: list = []
        self._version = ""
        # The cepstral mean the last utterance ended with: a new decoder starts from it
        # instead of the model's generic one, which costs words at the start of speech.
        self._cmn = ""

    def stream(self) -> Stream:
        model = vocabulary.ensure()
        return PocketsphinxStream(self, self._take(model), model.version)

    def _take(self, model: vocabulary.Model):
        with self._lock:
            if model.version != self._version:
                self._pool.clear()
                self._version = model.version
            if self._pool:
                return self._pool.pop()
        return self.decoder(model)

    def _give_back(self, decoder, version: str) -> None:
        with self._lock:
            self._cmn = decoder.get_cmn(False)
            if version == self._version and len(self._pool) < POOL_SIZE:
                self._pool.append(decoder)

    def decoder(self, model: vocabulary.Model):
        """A new decoder for ``model`` (a few hundred milliseconds: the pool avoids it)."""
        ps = self._ps
        config = ps.Config(
            hmm=str(Path(ps.get_model_path()) / "en-us" / "en-us"),
            lm=str(model.lm),
            dict=str(model.dictionary),
            **OPTIONS,
        )
        decoder = ps.Decoder(config)
        if self._cmn:
            decoder.set_cmn(self._cmn)
        return decoder


class PocketsphinxStream(Stream):
    def __init__(self, engine: PocketsphinxEngine, decoder, version: str):
        self._engine = engine
        self._decoder = decoder
        self._version = version
        self._odd = b""  # half a sample left over from the last chunk
        self._samples = 0
        self._asked_at = 0
        self._partial = ""
        self._head = b""  # audio held back until the mean is set (see PRIME_BYTES)
        self._primed = False

    def accept(self, pcm: bytes) -> str | None:
        if self._decoder is None:
            raise RuntimeError("the stream is finished")
        pcm = self._odd + pcm
        cut = len(pcm) - len(pcm) % 2
        self._odd = pcm[cut:]
        if not cut:
            return None
        pcm = pcm[:cut]
        if not self._primed:
            self._head += pcm
            if len(self._head) < PRIME_BYTES:
                return None
            pcm, self._head = self._prime(self._head), b""
        self._decoder.process_raw(pcm, False, False)
        self._samples += len(pcm) // 2
        if self._samples - self._asked_at < PARTIAL_EVERY:
            return None
        self._asked_at = self._samples
        hypothesis = self._decoder.hyp()
        text = hypothesis.hypstr if hypothesis else ""
        if text == self._partial:
            return None
        self._partial = text
        return text

    def finish(self) -> Transcript:
        if self._decoder is None:
            raise RuntimeError("the stream is finished")
        if not self._primed and self._head:
            self._decoder.process_raw(self._prime(self._head), False, False)
        decoder = self._release()
        decoder.end_utt()
        hypothesis = decoder.hyp()
        text = hypothesis.hypstr.strip() if hypothesis else ""
        self._engine._give_back(decoder, self._version)
        # No confidence: without the posterior pass pocketsphinx has no calibrated one.
        return Transcript(text=text, engine=self._engine.name)

    def cancel(self) -> None:
        decoder = self._release()
        if decoder is not None and self._primed:
            decoder.end_utt()
        if decoder is not None:
            self._engine._give_back(decoder, self._version)

    def _prime(self, head: bytes) -> bytes:
        """Set the mean from ``head``, start the utterance; ``head`` is to be decoded."""
        self._decoder.start_utt()
        self._decoder.process_raw(head, False, False)
        self._decoder.end_utt()
        self._decoder.start_utt()
        self._primed = True
        return head

    def _release(self):
        decoder, self._decoder = self._decoder, None
        return decoder
