"""``manage.py voice_ask`` and ``POST /api/voice/.../ask``: one spoken question from a WAV
file, through the same path as the websocket."""

from __future__ import annotations

import base64
import io
import json
import wave
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from chat import services as chat
from chat.models import Message
from chat.schemas import MessageOut
from lineled import admission
from voice import audio
from voice.models import VoiceTurn
from voice.schemas import SpokenFileOut, VoiceTurnOut

from .speech_samples import question

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def recording(tmp_path: Path, text: str, rate: int = 22050) -> Path:
    """A WAV as a phone might save it: not 16 kHz."""
    path = tmp_path / "question.wav"
    pcm = audio.resample(question(text), 16000, rate)
    path.write_bytes(audio.wav_bytes(pcm, rate))
    return path


def voice_ask(*args) -> dict:
    out = StringIO()
    call_command("voice_ask", *map(str, args), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_it_prints_the_transcript_answer_citations_audio_and_timings(charlie, fryer, tmp_path):
    result = voice_ask(recording(tmp_path, "how long do fries cook"))
    assert set(result) == set(SpokenFileOut.model_fields)
    heard, shown = result["voice_turn"], result["answer"]
    assert set(heard) == set(VoiceTurnOut.model_fields)
    assert set(shown) == set(MessageOut.model_fields)
    assert "fries" in heard["transcript"] and result["question"]["text"] == heard["transcript"]
    assert "3 min" in shown["text"] and not shown["declined"]
    assert shown["citations"][0]["filename"] == "hb-eq-101-fryer.pdf"
    answer = Message.objects.get(pk=shown["id"])
    assert answer.modality == Message.Modality.VOICE and answer.text == shown["text"]
    with wave.open(result["audio"]) as spoken:
        assert spoken.getnframes() / spoken.getframerate() > 1.0
    assert shown["timings"]["total_ms"] > 0
    assert 0 < heard["stt_ms"] <= heard["first_audio_ms"] <= heard["total_ms"]
    turn = VoiceTurn.objects.get(answer=answer)
    assert turn.pk == heard["id"] and turn.answer_id == heard["answer"]
    assert turn.mode == VoiceTurn.Mode.FILE and turn.transcript == heard["transcript"]


def test_spoken_numbers_reach_the_assistant_as_the_manuals_write_them(charlie, fryer, tmp_path):
    result = voice_ask(
        recording(tmp_path, "what do i do if the fryer oil reads forty five degrees")
    )
    heard = result["voice_turn"]
    assert "45°F" in heard["transcript"], heard["transcript"]
    turn = VoiceTurn.objects.select_related("question").get(pk=heard["id"])
    assert turn.question.text == turn.transcript == heard["transcript"]


def test_a_follow_up_continues_the_conversation(charlie, fryer, tmp_path):
    conversation = chat.create_conversation(charlie)
    chat.answer_now(conversation, charlie, "how long do fries cook?")
    result = voice_ask(
        recording(tmp_path, "and what temperature"), "--conversation", conversation.pk
    )
    assert result["voice_turn"]["conversation"] == conversation.pk
    assert result["answer"]["conversation"] == conversation.pk
    assert "350" in result["answer"]["text"]


def test_bad_files_get_clear_errors(charlie, fryer, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        voice_ask(tmp_path / "missing.wav")
    mp3 = tmp_path / "question.mp3"
    mp3.write_bytes(b"ID3\x03\x00" + bytes(2000))
    with pytest.raises(CommandError, match="not a PCM WAV"):
        voice_ask(mp3)
    quiet = tmp_path / "quiet.wav"
    quiet.write_bytes(audio.wav_bytes(audio.silence(3000)))
    with pytest.raises(CommandError, match="No speech"):
        voice_ask(quiet)
    assert not Message.objects.exists()


def test_the_api_takes_a_recording_and_can_speak_the_answer(alice, fryer, tmp_path):
    client = Client()
    client.force_login(alice)
    conversation = chat.create_conversation(alice)
    url = f"/api/voice/conversations/{conversation.pk}/ask?speak=true"
    with recording(tmp_path, "how long do fries cook").open("rb") as wav:
        response = client.post(url, {"audio": wav})
    assert response.status_code == 200, response.content
    body = response.json()
    assert "fries" in body["voice_turn"]["transcript"]
    assert body["question"]["text"] == body["voice_turn"]["transcript"]
    assert "3 min" in body["answer"]["text"] and body["answer"]["citations"]
    spoken = base64.b64decode(body["audio_wav_base64"])
    with wave.open(io.BytesIO(spoken)) as reader:
        assert reader.getnframes() > 0

    listed = client.get(f"/api/voice/conversations/{conversation.pk}/turns").json()
    assert [t["id"] for t in listed] == [body["voice_turn"]["id"]]
    assert listed[0]["first_audio_ms"] is not None

    status = client.get("/api/voice/status").json()
    assert status["stt"] == "whisper" and status["tts"] == "espeak"
    assert "fryer" in status["vocabulary"]["key_terms"]


def test_the_api_refuses_what_is_not_a_question(alice, bob, fryer, tmp_path):
    client = Client()
    client.force_login(alice)
    conversation = chat.create_conversation(alice)
    url = f"/api/voice/conversations/{conversation.pk}/ask"
    not_wav = io.BytesIO(b"hello")
    not_wav.name = "q.wav"
    response = client.post(url, {"audio": not_wav})
    assert response.status_code == 400 and "not a PCM WAV" in response.json()["message"]
    quiet = io.BytesIO(audio.wav_bytes(audio.silence(2000)))
    quiet.name = "quiet.wav"
    response = client.post(url, {"audio": quiet})
    assert response.status_code == 400 and "No speech" in response.json()["message"]
    # Someone else's conversation is not found.
    other = Client()
    other.force_login(bob)
    with recording(tmp_path, "how long do fries cook").open("rb") as wav:
        assert other.post(url, {"audio": wav}).status_code == 404
    assert not Message.objects.exists()


def test_the_api_admits_spoken_questions_as_typed_ones(alice, fryer, tmp_path, settings):
    """Over the ask rate, or with an answer already being written, a recording is
    refused with 429 before it is decoded, and nothing is stored; a refused or failed
    recording gives its slot back."""
    settings.ANSWERS_PER_USER = 1
    client = Client()
    client.force_login(alice)
    conversation = chat.create_conversation(alice)
    url = f"/api/voice/conversations/{conversation.pk}/ask"

    held = admission.admit_answer(alice)  # an answer of hers being written elsewhere
    with recording(tmp_path, "how long do fries cook").open("rb") as wav:
        busy = client.post(url, {"audio": wav})
    assert busy.status_code == 429 and "being written" in busy.json()["message"]
    held.release()

    quiet = io.BytesIO(audio.wav_bytes(audio.silence(2000)))
    quiet.name = "quiet.wav"
    assert client.post(url, {"audio": quiet}).status_code == 400  # and its slot is free again
    with recording(tmp_path, "how long do fries cook").open("rb") as wav:
        assert client.post(url, {"audio": wav}).status_code == 200

    settings.RATE_ASK = "2/m"  # the two asks above are counted
    with recording(tmp_path, "how long do fries cook").open("rb") as wav:
        fast = client.post(url, {"audio": wav})
    assert fast.status_code == 429 and 1 <= int(fast["Retry-After"]) <= 60
    assert VoiceTurn.objects.filter(conversation=conversation).count() == 1
    assert Message.objects.filter(conversation=conversation).count() == 2
