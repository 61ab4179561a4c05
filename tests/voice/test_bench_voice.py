"""``manage.py bench voice``: spoken questions through the voice path, clean and noisy,
with the figures the voice targets are judged by."""

import json
from array import array

import pytest

from lineled.bench import BENCHMARKS
from voice import audio
from voice.benchmarks import voice as bench
from voice.stt import vocabulary

from .speech_samples import spoken

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_voice_benchmark_is_registered():
    assert BENCHMARKS["voice"].load() is bench.run


def test_it_speaks_each_question_clean_and_noisy_and_reports_the_figures(tmp_path, settings):
    questions = [
        {
            "id": "fries",
            "question": "how long do french fries go in the fryer",
            "kind": "fact",
            "facts": ["3 min 00 s"],
        },
        {
            "id": "temp",
            "question": "and what temperature",
            "kind": "follow-up",
            "after": "fries",
            "facts": ["350°F"],
        },
    ]
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(questions))
    settings.VAR_DIR = tmp_path / "var"
    result = bench.run({"questions": path, "voices": "en-us+klatt", "speeds": "160", "show": True})
    assert vocabulary.current() is None  # built in a folder of its own, not the store's
    assert result["recordings"] == 2 and result["engines"]["stt"] == "pocketsphinx"
    wer = result["wer"]["pocketsphinx"]
    assert wer["clean"]["words"] == wer["noisy"]["words"] == 12
    assert 0 <= wer["clean"]["wer"] <= 1 and "en-us+klatt@160" in wer["clean"]["by_voice"]
    assert result["fact_recall"]["typed_text"] == 1.0
    assert result["fact_recall"]["spoken_clean"] is not None
    for condition in ("clean", "noisy"):
        timings = result["timings"][condition]
        assert timings["turns"] == 2 and timings["answered"] == 2
        first = timings["first_audio_ms"]
        assert 0 < first["p50"] <= first["p95"]
    spoken = [a for a in result["answers"] if a["condition"] == "clean"]
    assert spoken[0]["transcript"] and set(result["meets_targets"]) == set(bench.TARGETS)


def test_noise_is_mixed_in_at_the_asked_level():
    speech = spoken("how long do fries cook")
    pcm = audio.silence(200) + speech + audio.silence(200)
    noise = bench._kitchen_noise(len(pcm))
    noisy = bench._mix(pcm, speech, noise, 10.0)
    pairs = zip(audio.samples(noisy), audio.samples(pcm), strict=False)
    added = audio.to_bytes(array("h", (n - c for n, c in pairs)))
    ratio = audio.rms(speech) / audio.rms(added)
    assert 2.8 < ratio < 3.6  # 10 dB is a factor of 3.16 in level
