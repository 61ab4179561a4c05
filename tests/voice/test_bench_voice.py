"""``manage.py bench voice``: spoken questions through the voice path, clean and noisy,
with the figures the voice targets are judged by."""

import json
from array import array

import pytest

from lineled.management.commands.bench import BENCHMARKS
from voice import audio
from voice.benchmarks import voice as bench
from voice.stt import vocabulary

from .speech_samples import spoken

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_voice_benchmark_is_registered():
    assert BENCHMARKS["voice"].run is bench.run


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
    voices = "en-us+klatt,flite:slt"  # the two questions take turns: one voice each
    result = bench.run({"questions": path, "voices": voices, "speeds": "160", "show": True})
    assert vocabulary.current() is None  # built in a folder of its own, not the store's
    assert result["recordings"] == 2 and result["engines"]["stt"] == "whisper"
    assert set(result["wer"]["pocketsphinx"]) == {"clean", "noisy"}  # transcription only
    wer = result["wer"]["whisper"]
    assert wer["clean"]["words"] == wer["noisy"]["words"] == 12
    assert 0 <= wer["clean"]["wer"] <= 1
    assert set(wer["clean"]["by_voice"]) == {"en-us+klatt@160", "flite:slt@160"}
    assert set(wer["noisy"]["by_synthesizer"]) == {"espeak-ng", "flite"}
    by_synth = result["fact_recall"]["by_synthesizer"]
    assert by_synth["flite"]["typed_text"] == by_synth["espeak-ng"]["typed_text"] == 1.0
    assert set(result["meets_targets_by_synthesizer"]["flite"]) == {
        "wer_clean",
        "wer_noisy",
        "spoken_as_correct_as_typed",
    }
    assert result["fact_recall"]["typed_text"] == 1.0
    assert result["fact_recall"]["spoken_clean"] is not None
    for condition in ("clean", "noisy"):
        timings = result["timings"][condition]
        assert timings["turns"] == 2 and timings["answered"] == 2
        first = timings["first_audio_ms"]
        assert 0 < first["p50"] <= first["p95"]
    spoken = [a for a in result["answers"] if a["condition"] == "clean"]
    assert spoken[0]["transcript"] and set(result["meets_targets"]) == set(bench.TARGETS)


def test_a_voice_whose_synthesizer_is_missing_is_left_out_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither espeak-ng nor flite on the path
    with pytest.raises(RuntimeError, match="no voice to speak with"):
        bench._available(["en-us+klatt", "flite:slt"])
    (tmp_path / "flite").write_text("#!/bin/sh\n")
    (tmp_path / "flite").chmod(0o755)
    kept, skipped = bench._available(["en-us+klatt", "flite:slt"])
    assert kept == ["flite:slt"]
    assert skipped == {"en-us+klatt": "espeak-ng is not installed: sudo apt-get install espeak-ng"}


def test_flite_speaks_at_the_asked_speed(tmp_path):
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    bench._speak("how long do fries cook", "flite:slt", 120, slow)
    bench._speak("how long do fries cook", "flite:slt", 200, fast)
    slow_ms, fast_ms = (audio.duration_ms(bench._to_16k(p)) for p in (slow, fast))
    assert fast_ms < 0.8 * slow_ms


def test_noise_is_mixed_in_at_the_asked_level():
    speech = spoken("how long do fries cook")
    pcm = audio.silence(200) + speech + audio.silence(200)
    noise = bench._kitchen_noise(len(pcm))
    noisy = bench._mix(pcm, speech, noise, 10.0)
    pairs = zip(audio.samples(noisy), audio.samples(pcm), strict=False)
    added = audio.to_bytes(array("h", (n - c for n, c in pairs)))
    ratio = audio.rms(speech) / audio.rms(added)
    assert 2.8 < ratio < 3.6  # 10 dB is a factor of 3.16 in level


def test_the_kitchen_noise_is_the_same_in_every_run():
    """Two runs of the benchmark hear the same noisy recordings, so their noisy figures
    compare."""
    assert bench._kitchen_noise(16000) == bench._kitchen_noise(16000)
