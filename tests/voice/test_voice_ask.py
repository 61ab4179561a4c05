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
from voice import audio
from voice.models import VoiceTurn

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
    assert {
        "conversation",
        "message",
        "transcript",
        "answer",
        "declined",
        "citations",
        "audio",
        "timings",
    } <= set(result)
    assert "fries" in result["transcript"]
    assert "3 min" in result["answer"] and not result["declined"]
    assert result["citations"][0]["filename"] == "hb-eq-101-fryer.pdf"
    answer = Message.objects.get(pk=result["message"])
    assert answer.modality == Message.Modality.VOICE and answer.text == result["answer"]
    with wave.open(result["audio"]) as spoken:
        assert spoken.getnframes() / spoken.getframerate() > 1.0
    timings = result["timings"]
    assert {"stt_ms", "answer_ms", "first_audio_ms", "total_ms"} <= set(timings)
    assert 0 < timings["stt_ms"] <= timings["first_audio_ms"] <= timings["total_ms"]
    turn = VoiceTurn.objects.get(answer=answer)
    assert turn.mode == VoiceTurn.Mode.FILE and turn.transcript == result["transcript"]


def test_spoken_numbers_reach_the_assistant_as_the_manuals_write_them(charlie, fryer, tmp_path):
    result = voice_ask(
        recording(tmp_path, "what do i do if the fryer oil reads forty five degrees")
    )
    assert "45°F" in result["transcript"], result["transcript"]
    turn = VoiceTurn.objects.select_related("question").get(pk=result["voice_turn"])
    assert turn.question.text == turn.transcript == result["transcript"]


def test_a_follow_up_continues_the_conversation(charlie, fryer, tmp_path):
    conversation = chat.create_conversation(charlie)
    chat.answer_now(conversation, charlie, "how long do fries cook?")
    result = voice_ask(
        recording(tmp_path, "and what temperature"), "--conversation", conversation.pk
    )
    assert result["conversation"] == conversation.pk
    assert "350" in result["answer"]


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
