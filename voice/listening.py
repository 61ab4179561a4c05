"""Finding questions in a stream of audio.

``Endpointer`` looks at 30 ms frames and decides where speech starts and ends: a frame
counts as speech when the WebRTC voice detector (shipped in pocketsphinx) says so and
it is clearly louder than the background, whose level it keeps learning, so a steady
fryer hum or fan does not hold a question open. ``Listener`` puts it in front of a
speech-to-text stream: audio from just before speech starts is decoded as it arrives,
partial transcripts come out on the way, and the utterance is handed over when the
speaker has been quiet for ``end_silence_ms`` (hands-free) or lets go of the button
(push-to-talk). After ``TENTATIVE_MS`` of quiet the stream is told the question may be
over (``Stream.tentative_end``, with the trailing quiet cut to ``TAIL_MS``), so an
engine that hears whole utterances is already decoding when the end is decided; if
the speaker goes on, it is told again at the next pause.

Positions are in milliseconds of audio since the listener started; the caller maps
them to wall-clock time (audio arrives in real time from a microphone).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from pocketsphinx import Vad

from voice import audio
from voice.stt import Engine, Stream

FRAME_MS = 30
FRAME_BYTES = FRAME_MS * audio.BYTES_PER_MS
PRE_ROLL_MS = 300  # audio kept from before speech was detected (first consonants)
START_FRAMES = 3  # speech frames within the last START_WINDOW frames that start speech
START_WINDOW = 5
MIN_SPEECH_MS = 240  # shorter bursts (a clang, a cough) are dropped
NOISE_MARGIN = 2.0  # a speech frame is at least this much louder than the background
FLOOR_FRAMES = 50  # the background is the quietest frame of the last 1.5 s
QUIET_FLOOR = 60.0  # RMS below which nothing counts as speech (digital silence, hiss)
# Quiet after speech at which decoding starts, and the quiet kept after the last speech
# frame for the decoder (no more than TENTATIVE_MS, or the end would need a decode of
# its own). On bench voice's recordings whisper base heard as well with 90 to 200 ms
# of tail; 120 ms starts decoding early while a pause inside a question seldom lasts it.
TENTATIVE_MS = 120
TAIL_MS = 120


@dataclass
class Utterance:
    """One question's audio, as heard."""

    pcm: bytes
    start_ms: float  # where speech started, in the listener's audio time
    end_ms: float  # end of the last speech frame
    detected_ms: float  # audio time when the end was decided (end_ms + silence, or release)
    cut: bool = False  # stopped at the length limit

    @property
    def speech_ms(self) -> float:
        return self.end_ms - self.start_ms

    @property
    def audio_ms(self) -> float:
        return audio.duration_ms(self.pcm)


class Endpointer:
    """Frame-by-frame speech start/end decisions with an adaptive noise floor."""

    def __init__(self, end_silence_ms: float, vad_mode: int = Vad.MEDIUM_LOOSE):
        self.vad = Vad(vad_mode, audio.SAMPLE_RATE, FRAME_MS / 1000)
        assert self.vad.frame_bytes == FRAME_BYTES
        self.end_frames = max(1, math.ceil(end_silence_ms / FRAME_MS))
        self.recent: deque[bool] = deque(maxlen=START_WINDOW)
        self.levels: deque[float] = deque(maxlen=FLOOR_FRAMES)
        self.in_speech = False
        self.silent_frames = 0
        self.last_was_speech = False

    @property
    def floor(self) -> float:
        return min(self.levels) if self.levels else 0.0

    def is_speech(self, frame: bytes) -> bool:
        """Voiced, and clearly above the background. The background is the quietest
        frame of the last 1.5 s: speech pauses between words, a fan never does, so this
        follows the room's noise whether or not anyone is talking (and audio that starts
        in the middle of a word is not mistaken for the background)."""
        level = audio.rms(frame)
        self.levels.append(level)
        loud = level > max(QUIET_FLOOR, self.floor * NOISE_MARGIN)
        return loud and self.vad.is_speech(frame)

    def push(self, frame: bytes) -> str | None:
        """ "start", "end" or None for one frame."""
        speech = self.last_was_speech = self.is_speech(frame)
        self.recent.append(speech)
        if not self.in_speech:
            if sum(self.recent) >= START_FRAMES:
                self.in_speech = True
                self.silent_frames = 0
                return "start"
            return None
        if speech:
            self.silent_frames = 0
            return None
        self.silent_frames += 1
        if self.silent_frames >= self.end_frames:
            self.in_speech = False
            self.recent.clear()
            return "end"
        return None


@dataclass
class Heard:
    """What ``Listener.feed`` noticed in one piece of audio."""

    started: bool = False
    tentative: bool = False  # the speaker went quiet: the stream was told the question may be over
    partials: list[str] = field(default_factory=list)
    utterance: Utterance | None = None
    stream: Stream | None = None  # the utterance's STT stream, ready to finish()
    dropped: bool = False  # a too-short burst was dropped


class Listener:
    """Audio in, utterances (with their STT stream already fed) out.

    ``hands_free``: an utterance ends after ``end_silence_ms`` of quiet. Otherwise
    (push-to-talk) only ``release()`` ends it. Either way it is cut at ``max_ms``.
    Not thread-safe: feed it from one thread at a time.
    """

    def __init__(self, engine: Engine, *, hands_free: bool, end_silence_ms: float, max_ms: float):
        self.engine = engine
        self.hands_free = hands_free
        self.max_ms = max_ms
        self.endpointer = Endpointer(end_silence_ms)
        self.pending = b""  # less than a frame
        self.position_ms = 0.0
        self.received = 0  # bytes fed, the part not looked at after an utterance ended too
        self.pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_MS // FRAME_MS)
        self.reset_utterance()

    def reset_utterance(self) -> None:
        self.stream: Stream | None = None
        self.frames: list[bytes] = []
        self.start_ms = 0.0
        self.speech_start_ms = 0.0
        self.last_speech_ms = 0.0
        self.told_end = False  # tentative_end sent since the last speech frame

    @property
    def in_speech(self) -> bool:
        return self.stream is not None

    @property
    def received_ms(self) -> float:
        """Audio time of everything fed so far: where the microphone is now. The end of
        speech happened ``received_ms - utterance.end_ms`` ago."""
        return self.received / audio.BYTES_PER_MS

    def feed(self, pcm: bytes) -> Heard:
        heard = Heard()
        self.received += len(pcm)
        data = self.pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self.pending = data[whole:]
        for offset in range(0, whole, FRAME_BYTES):
            frame = data[offset : offset + FRAME_BYTES]
            self.position_ms += FRAME_MS
            decision = self.endpointer.push(frame)
            if self.stream is None:
                self.pre_roll.append(frame)
                if decision == "start":
                    self._begin(heard)
                continue
            self.frames.append(frame)
            if self.endpointer.last_was_speech:
                self.last_speech_ms = self.position_ms
                self.told_end = False
            partial = self.stream.accept(frame)
            if partial:
                heard.partials.append(partial)
            if self._quiet_after_speech():
                self.told_end = heard.tentative = True
                self.stream.tentative_end(self._question_bytes())
            if decision == "end" and self.hands_free:
                self._end(heard, self.position_ms)
                if heard.utterance is not None:
                    return heard  # the rest of this audio is not part of the question
            elif self.position_ms - self.start_ms >= self.max_ms:
                self._end(heard, self.position_ms, cut=True)
                return heard
        return heard

    def release(self) -> Heard:
        """Push-to-talk let go: the utterance, if there was speech."""
        heard = Heard()
        if self.stream is not None:
            self._end(heard, self.position_ms)
        self.endpointer.in_speech = False
        self.endpointer.recent.clear()
        return heard

    def cancel(self) -> None:
        if self.stream is not None:
            self.stream.cancel()
        self.reset_utterance()
        self.endpointer.in_speech = False
        self.endpointer.recent.clear()

    def _begin(self, heard: Heard) -> None:
        heard.started = True
        self.stream = self.engine.stream()
        self.frames = list(self.pre_roll)
        self.pre_roll.clear()
        self.start_ms = self.position_ms - len(self.frames) * FRAME_MS
        self.speech_start_ms = self.position_ms - START_FRAMES * FRAME_MS
        self.last_speech_ms = self.position_ms
        partial = self.stream.accept(b"".join(self.frames))
        if partial:
            heard.partials.append(partial)

    def _quiet_after_speech(self) -> bool:
        return (
            not self.told_end
            and self.position_ms - self.last_speech_ms >= TENTATIVE_MS
            and self.last_speech_ms - self.speech_start_ms >= MIN_SPEECH_MS  # not a clang
        )

    def _question_bytes(self) -> int:
        """Bytes of the utterance up to its last speech frame and TAIL_MS of what followed."""
        return int((self.last_speech_ms + TAIL_MS - self.start_ms) * audio.BYTES_PER_MS)

    def _end(self, heard: Heard, detected_ms: float, cut: bool = False) -> None:
        if self.last_speech_ms - self.speech_start_ms < MIN_SPEECH_MS and not cut:
            self.stream.cancel()
            heard.dropped = True
        else:
            self.stream.tentative_end(self._question_bytes())
            heard.utterance = Utterance(
                pcm=b"".join(self.frames),
                start_ms=self.start_ms,
                end_ms=self.last_speech_ms,
                detected_ms=detected_ms,
                cut=cut,
            )
            heard.stream = self.stream
        self.reset_utterance()
