import io
import json
import math
import shutil
import struct
import wave

import httpx
import pytest

from voice import tts
from voice.tts import SpeechFailed, SpeechUnavailable, make_speech, read_pcm16_wav
from voice.tts.espeak import EspeakEngine
from voice.tts.openai import OpenAIEngine

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed")

KEY = "sk-test-0123456789abcdef"
SENTENCE = "Heat the fryer to three hundred fifty degrees before the lunch rush starts."


@pytest.fixture(autouse=True)
def _fresh_engine():
    tts.reset()
    yield
    tts.reset()


def read_wav(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()


def sine_wav(seconds: float, rate: int = 24000, streaming: bool = True) -> bytes:
    """A WAV like OpenAI's: 24 kHz PCM16 mono, sizes unknown (0xFFFFFFFF) when streaming."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        samples = (int(8000 * math.sin(i / 10)) for i in range(int(seconds * rate)))
        w.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    data = bytearray(buffer.getvalue())
    if streaming:
        data[4:8] = data[40:44] = b"\xff\xff\xff\xff"
    return bytes(data)


# --- WAV handling -------------------------------------------------------------------


def test_it_reads_a_wav_whose_header_sizes_are_unknown():
    pcm = read_pcm16_wav(sine_wav(0.5))

    assert pcm.sample_rate == 24000
    assert len(pcm.frames) == 0.5 * 24000 * 2


def test_it_writes_exact_sizes_into_the_header():
    speech = make_speech(read_pcm16_wav(sine_wav(0.25)), "test")

    riff_size, data_size = struct.unpack_from("<I", speech.wav, 4)[0], speech.wav[40:44]
    assert riff_size == len(speech.wav) - 8
    assert struct.unpack("<I", data_size)[0] == len(speech.wav) - 44
    assert read_wav(speech.wav) == (1, 2, 24000, 6000)
    assert speech.duration_ms == pytest.approx(250)


def test_it_rejects_audio_that_is_not_pcm16_mono_wav():
    stereo = io.BytesIO()
    with wave.open(stereo, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0\0\0" * 100)

    with pytest.raises(ValueError, match="not a RIFF"):
        read_pcm16_wav(b"ID3\x04mp3 bytes")
    with pytest.raises(ValueError, match="2 channel"):
        read_pcm16_wav(stereo.getvalue())


# --- espeak-ng ----------------------------------------------------------------------


@needs_espeak
def test_it_speaks_a_sentence_with_espeak_as_a_valid_wav():
    speech = EspeakEngine().synthesize(SENTENCE)

    channels, width, rate, frames = read_wav(speech.wav)
    assert (channels, width, rate) == (1, 2, speech.sample_rate)
    assert speech.engine == "espeak"
    assert speech.duration_ms == pytest.approx(frames / rate * 1000)
    assert 2000 < speech.duration_ms < 8000
    assert struct.unpack_from("<I", speech.wav, 4)[0] == len(speech.wav) - 8


@needs_espeak
def test_it_takes_longer_to_say_more():
    engine = EspeakEngine()

    short = engine.synthesize("Drop the basket.")
    long = engine.synthesize("Drop the basket. " * 4)

    assert long.duration_ms > 3 * short.duration_ms


@needs_espeak
def test_it_speaks_faster_at_a_higher_rate():
    slow = EspeakEngine(rate=120).synthesize(SENTENCE)
    fast = EspeakEngine(rate=300).synthesize(SENTENCE)

    assert fast.duration_ms < 0.7 * slow.duration_ms


@needs_espeak
@pytest.mark.parametrize("text", ["--help", "-h", "--version", "-v xx --stdout"])
def test_it_speaks_text_that_looks_like_options(text):
    speech = EspeakEngine().synthesize(text)

    assert read_wav(speech.wav)[3] > 0
    assert speech.duration_ms > 200


@needs_espeak
def test_it_does_not_let_the_text_choose_an_output_file(tmp_path):
    target = tmp_path / "x.wav"

    speech = EspeakEngine().synthesize(f"-w {target}")

    assert speech.duration_ms > 500
    assert not target.exists()


@needs_espeak
def test_it_speaks_very_long_text():
    speech = EspeakEngine(rate=400).synthesize("Wipe the counter and restock the cups. " * 300)

    assert speech.duration_ms > 60_000
    assert read_wav(speech.wav)[3] == pytest.approx(speech.duration_ms * speech.sample_rate / 1000)


@needs_espeak
def test_it_speaks_accented_and_symbol_characters():
    speech = EspeakEngine().synthesize("Café crème at 41 °F — done ✓")

    assert speech.duration_ms > 1000


@needs_espeak
@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_it_refuses_to_speak_nothing(text):
    with pytest.raises(ValueError, match="nothing to say"):
        EspeakEngine().synthesize(text)


@needs_espeak
def test_it_reports_espeak_errors_with_their_message():
    with pytest.raises(SpeechFailed, match="voice does not exist"):
        EspeakEngine(voice="nosuchvoice").synthesize(SENTENCE)


def test_it_gives_up_on_a_hung_espeak(tmp_path):
    hung = tmp_path / "espeak-ng"
    hung.write_text("#!/bin/sh\nexec sleep 5\n")
    hung.chmod(0o755)
    engine = EspeakEngine(binary=str(hung), timeout=0.2)

    # the fake sleeps 5 s and then writes nothing: only giving up at 0.2 s says this
    with pytest.raises(SpeechFailed, match="longer than 0.2 s"):
        engine.synthesize(SENTENCE)


def test_it_fails_when_espeak_writes_no_wav(tmp_path):
    broken = tmp_path / "espeak-ng"
    broken.write_text("#!/bin/sh\necho 'not audio'\n")
    broken.chmod(0o755)

    with pytest.raises(SpeechFailed, match="no usable WAV"):
        EspeakEngine(binary=str(broken)).synthesize(SENTENCE)


# --- OpenAI -------------------------------------------------------------------------


def openai_engine(handler, **kwargs) -> OpenAIEngine:
    return OpenAIEngine(
        api_key=KEY,
        base_url="https://api.example.test/v1/",
        model="gpt-4o-mini-tts",
        voice="coral",
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def test_it_asks_openai_for_wav_speech():
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=sine_wav(1.5), headers={"content-type": "audio/wav"})

    speech = openai_engine(handler).synthesize("  Drop the basket.  ")

    (request,) = requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.example.test/v1/audio/speech"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "gpt-4o-mini-tts",
        "voice": "coral",
        "input": "Drop the basket.",
        "response_format": "wav",
    }
    assert speech.engine == "openai"
    assert speech.sample_rate == 24000
    assert speech.duration_ms == pytest.approx(1500)
    assert read_wav(speech.wav) == (1, 2, 24000, 36000)


@pytest.mark.parametrize(
    ("status", "message", "shown"),
    [
        (401, f"Incorrect API key provided: {KEY}. Find yours at ...", "Incorrect API key"),
        (401, "Incorrect API key provided: sk-test-************cdef.", "Incorrect API key"),
        (500, "The server had an error while processing your request.", "server had an error"),
        (429, "Rate limit reached for gpt-4o-mini-tts.", "Rate limit reached"),
    ],
)
def test_it_reports_openai_errors_without_the_key(status, message, shown):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": message, "type": "x"}})

    with pytest.raises(SpeechFailed) as failure:
        openai_engine(handler).synthesize(SENTENCE)

    text = str(failure.value)
    assert f"({status})" in text
    assert shown in text
    assert KEY not in text
    assert "cdef" not in text


def test_it_reports_an_error_body_that_is_not_json():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    with pytest.raises(SpeechFailed, match=r"\(502\): <html>Bad gateway"):
        openai_engine(handler).synthesize(SENTENCE)


def test_it_gives_up_when_openai_is_too_slow():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SpeechFailed, match="longer than 3 s") as failure:
        openai_engine(handler, timeout=3).synthesize(SENTENCE)
    assert KEY not in str(failure.value)


def test_it_reports_openai_being_unreachable():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    with pytest.raises(SpeechFailed, match="unreachable: Name or service not known"):
        openai_engine(handler).synthesize(SENTENCE)


def test_it_rejects_openai_audio_that_is_not_wav():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"ID3\x04\x00fake mp3")

    with pytest.raises(SpeechFailed, match="no usable WAV"):
        openai_engine(handler).synthesize(SENTENCE)


def test_it_does_not_call_openai_to_say_nothing():
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    with pytest.raises(ValueError, match="nothing to say"):
        openai_engine(handler).synthesize(" ")


def test_it_keeps_the_key_out_of_the_engine_repr():
    assert KEY not in repr(openai_engine(lambda request: httpx.Response(200)))


# --- choosing the engine ------------------------------------------------------------


@pytest.fixture
def no_espeak(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))


def test_it_has_no_engine_when_the_browser_speaks(settings):
    settings.VOICE_TTS = "none"
    settings.VOICE_OPENAI_API_KEY = KEY

    assert tts.engine() is None


@needs_espeak
def test_it_builds_espeak_from_the_settings_once(settings):
    settings.VOICE_TTS = "espeak"
    settings.VOICE_ESPEAK_VOICE = "en-gb"
    settings.VOICE_ESPEAK_RATE = 200

    engine = tts.engine()

    assert isinstance(engine, EspeakEngine)
    assert (engine.voice, engine.rate) == ("en-gb", 200)
    assert tts.engine() is engine
    tts.reset()
    assert tts.engine() is not engine


def test_it_explains_how_to_install_espeak_when_it_is_missing(settings, no_espeak):
    settings.VOICE_TTS = "espeak"

    with pytest.raises(SpeechUnavailable, match="apt-get install espeak-ng"):
        tts.engine()


def test_it_needs_a_key_for_openai(settings):
    settings.VOICE_TTS = "openai"
    settings.VOICE_OPENAI_API_KEY = ""

    with pytest.raises(SpeechUnavailable, match="VOICE_OPENAI_API_KEY"):
        tts.engine()


def test_it_builds_openai_from_the_settings(settings):
    settings.VOICE_TTS = "openai"
    settings.VOICE_OPENAI_API_KEY = KEY
    settings.VOICE_TTS_MODEL = "tts-1"
    settings.VOICE_TTS_VOICE = "nova"
    settings.VOICE_TIMEOUT_SECONDS = 4.0

    engine = tts.engine()

    assert isinstance(engine, OpenAIEngine)
    assert (engine.model, engine.voice, engine.timeout) == ("tts-1", "nova", 4.0)


def test_it_prefers_openai_when_a_key_is_set(settings):
    settings.VOICE_TTS = "auto"
    settings.VOICE_OPENAI_API_KEY = KEY

    assert isinstance(tts.engine(), OpenAIEngine)


@needs_espeak
def test_it_falls_back_to_espeak_without_a_key(settings):
    settings.VOICE_TTS = "auto"
    settings.VOICE_OPENAI_API_KEY = ""

    assert isinstance(tts.engine(), EspeakEngine)
    assert tts.available() == ["espeak"]


def test_it_leaves_speaking_to_the_browser_when_nothing_can_run(settings, no_espeak):
    settings.VOICE_TTS = "auto"
    settings.VOICE_OPENAI_API_KEY = ""

    assert tts.engine() is None
    assert tts.available() == []


@needs_espeak
def test_it_lists_every_engine_that_can_run(settings):
    settings.VOICE_OPENAI_API_KEY = KEY

    assert tts.available() == ["openai", "espeak"]
