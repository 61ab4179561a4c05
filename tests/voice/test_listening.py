"""Finding where a spoken question starts and ends, in quiet and in kitchen noise."""

from __future__ import annotations

import io
import random
import wave
from array import array

import pytest

from voice import audio
from voice.listening import FRAME_MS, PRE_ROLL_MS, TAIL_MS, TENTATIVE_MS, Endpointer, Listener
from voice.stt import Engine, Stream, Transcript

from .speech_samples import frames, question, spoken, voiced_ms


class CountingStream(Stream):
    """Records what the listener hands to speech-to-text."""

    def __init__(self):
        self.received = b""
        self.cancelled = False
        self.ends: list[int] = []  # the tentative ends it was told, in bytes

    def accept(self, pcm: bytes):
        self.received += pcm
        return f"{len(self.received) // audio.BYTES_PER_MS} ms"

    def tentative_end(self, length: int) -> None:
        self.ends.append(length)

    def finish(self) -> Transcript:
        return Transcript("heard", "counting")

    def cancel(self) -> None:
        self.cancelled = True


class CountingEngine(Engine):
    name = "counting"

    def __init__(self):
        self.streams: list[CountingStream] = []

    def stream(self) -> CountingStream:
        self.streams.append(CountingStream())
        return self.streams[-1]


def listen(pcm: bytes, *, hands_free=True, end_silence_ms=300, max_ms=30000, chunk_ms=100):
    engine = CountingEngine()
    listener = Listener(engine, hands_free=hands_free, end_silence_ms=end_silence_ms, max_ms=max_ms)
    results = [listener.feed(frame) for frame in frames(pcm, chunk_ms)]
    return listener, engine, results


def hum(ms: int, level: int = 1500, seed: int = 1) -> bytes:
    """Steady fan-and-fryer noise: smoothed random samples."""
    rng = random.Random(seed)
    values, last = array("h"), 0.0
    for _ in range(int(ms * 16)):
        last = 0.9 * last + 0.1 * rng.uniform(-1, 1)
        values.append(int(max(-1, min(1, last * 6)) * level))
    return audio.to_bytes(values)


def mixed(speech: bytes, noise: bytes) -> bytes:
    a, b = audio.samples(speech), audio.samples(noise)
    return audio.to_bytes(
        array("h", (max(-32768, min(32767, x + y)) for x, y in zip(a, b, strict=False)))
    )


def test_it_ends_a_question_after_the_configured_silence():
    speech = spoken("how long do fries cook")
    recording = audio.silence(500) + speech + audio.silence(1500)
    _, engine, results = listen(recording)
    ended = [r for r in results if r.utterance]
    assert len(ended) == 1
    utterance = ended[0].utterance
    speech_end = 500 + voiced_ms(speech)
    # The end of the last word is found within a frame or two of where it is...
    assert abs(utterance.end_ms - speech_end) <= 4 * FRAME_MS
    # ...and the question is handed over once 300 ms of quiet followed it.
    assert 300 <= utterance.detected_ms - utterance.end_ms <= 300 + FRAME_MS
    # Speech-to-text got the speech from just before it started, not the long lead-in.
    assert 500 - PRE_ROLL_MS <= utterance.start_ms <= 500
    assert ended[0].stream is engine.streams[0]
    assert engine.streams[0].received == utterance.pcm


def test_partial_transcripts_come_while_speaking():
    _, _, results = listen(question("what temperature should the walk in cooler be"))
    partials = [p for r in results for p in r.partials]
    assert len(partials) >= 5


def test_silence_and_a_short_clang_are_not_questions():
    clang = spoken("ta")[: 150 * audio.BYTES_PER_MS]
    _, engine, results = listen(audio.silence(2000) + clang + audio.silence(2000))
    assert not any(r.utterance for r in results)
    assert all(s.cancelled for s in engine.streams)


def test_steady_kitchen_noise_does_not_hold_a_question_open():
    speech = spoken("how long do fries cook")
    noise = hum(6000)
    recording = mixed(audio.silence(1500) + speech + audio.silence(3000), noise)
    _, _, results = listen(recording)
    ended = [r.utterance for r in results if r.utterance]
    assert len(ended) == 1
    assert abs(ended[0].end_ms - (1500 + voiced_ms(speech))) <= 6 * FRAME_MS


def test_push_to_talk_waits_for_the_button_through_pauses():
    first, second = spoken("how long do fries cook"), spoken("and the nuggets")
    recording = audio.silence(300) + first + audio.silence(900) + second + audio.silence(300)
    listener, _, results = listen(recording, hands_free=False)
    assert not any(r.utterance for r in results)
    heard = listener.release()
    assert heard.utterance is not None
    assert heard.utterance.speech_ms > audio.duration_ms(first + second)


def test_a_question_longer_than_the_limit_is_cut():
    speech = spoken("how long do fries cook and what temperature is the oil " * 3)
    _, _, results = listen(speech + audio.silence(500), max_ms=3000)
    cut = [r.utterance for r in results if r.utterance]
    assert cut and cut[0].cut and cut[0].audio_ms <= 3000 + 100


@pytest.mark.parametrize("level", [0, 30])
def test_digital_silence_never_starts_speech(level):
    endpointer = Endpointer(300)
    quiet = audio.to_bytes(array("h", [level] * 480))
    assert all(endpointer.push(quiet) is None for _ in range(100))


def test_noise_like_garbage_is_told_apart_from_speech():
    rng = random.Random(3)
    garbage = bytes(rng.randrange(256) for _ in range(32000))
    assert audio.looks_like_noise(garbage)
    assert not audio.looks_like_noise(spoken("how long do fries cook"))
    assert not audio.looks_like_noise(hum(1000))


def test_wav_files_of_any_rate_and_channels_become_16k_mono():
    speech = spoken("fries")
    stereo = array("h")
    for v in audio.samples(audio.resample(speech, 16000, 44100)):
        stereo.extend((v, v))
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(44100)
        writer.writeframes(audio.to_bytes(stereo))
    pcm = audio.load_wav(out.getvalue())
    assert abs(audio.duration_ms(pcm) - audio.duration_ms(speech)) < 20
    assert abs(audio.rms(pcm) - audio.rms(speech)) < 0.1 * audio.rms(speech)
    with pytest.raises(audio.AudioError, match="not a PCM WAV"):
        audio.load_wav(b"ID3 this is an mp3")


def test_a_recording_that_starts_with_speech_keeps_its_first_words():
    speech = spoken("and fish")
    _, engine, results = listen(speech + audio.silence(800))
    ended = [r.utterance for r in results if r.utterance]
    assert len(ended) == 1
    assert ended[0].start_ms <= 3 * FRAME_MS  # not after "and"


def test_the_recogniser_hears_of_the_end_before_it_is_decided_with_the_quiet_trimmed():
    speech = spoken("how long do fries cook")
    _, engine, results = listen(audio.silence(500) + speech + audio.silence(800), chunk_ms=30)
    told = next(i for i, r in enumerate(results) if r.tentative)
    ended = next(i for i, r in enumerate(results) if r.utterance)
    # Told after TENTATIVE_MS of quiet, the end decided at the 300 ms of quiet.
    assert (ended - told) * 30 == pytest.approx(300 - TENTATIVE_MS, abs=30)
    utterance, stream = results[ended].utterance, engine.streams[0]
    question_ms = utterance.end_ms - utterance.start_ms + TAIL_MS
    assert stream.ends == [int(question_ms * audio.BYTES_PER_MS)] * 2  # again at the end: same
    assert len(stream.received) > stream.ends[0]  # the rest of the quiet is not decoded
