"""The voice websocket through the real ASGI app, with real speech (espeak-ng), the real
offline recogniser prompted with the manuals' key terms, and real speech synthesis."""

from __future__ import annotations

import asyncio
import io
import os
import wave

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat import services as chat
from chat.models import Message
from voice import audio
from voice.models import VoiceTurn

from .sockets import (
    connect,
    new_conversation,
    opened,
    push_to_talk,
    receive,
    say,
    types,
    until,
)
from .speech_samples import frames, question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("voice_sockets")]


# --- Connecting ---------------------------------------------------------------------


async def test_it_refuses_the_signed_out_and_other_peoples_conversations(alice, bob, fryer):
    conversation = await new_conversation(alice)
    _, refused = await connect(None, conversation.pk)
    assert refused == {"closed": 4401}
    ws, first = await connect(bob, conversation.pk)
    assert first["code"] == "not_found"
    assert (await receive(ws))["code"] == 4404


async def test_it_says_which_engines_it_uses_when_ready(alice, fryer):
    conversation = await new_conversation(alice)
    _, ready = await connect(alice, conversation.pk)
    assert ready == {
        "type": "ready",
        "conversation": conversation.pk,
        "stt": "whisper",
        "tts": "espeak",
        "sample_rate": 16000,
        "max_seconds": settings.VOICE_MAX_UTTERANCE_SECONDS,
        "idle_minutes": settings.VOICE_IDLE_MINUTES,
    }


# --- Asking -------------------------------------------------------------------------


async def test_a_spoken_question_is_answered_in_text_citations_and_speech(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    listening = await push_to_talk(ws, "how long do french fries go in the fryer")
    assert listening == {"type": "listening", "mode": "push"}
    seen = await until(ws, "audio_end")
    kinds = types(seen)
    assert "speech_start" in kinds
    transcript = next(f for f in seen if isinstance(f, dict) and f["type"] == "transcript")
    assert "fries" in transcript["text"]
    assert kinds.index("transcript") < kinds.index("start") < kinds.index("citations")
    # Every audio announcement is followed by its WAV; speech began before the answer
    # was complete (sentence by sentence).
    audio_events = [f for f in seen if isinstance(f, dict) and f["type"] == "audio"]
    assert audio_events
    for event in audio_events:
        wav = seen[seen.index(event) + 1]
        assert isinstance(wav, bytes) and len(wav) == event["bytes"]
        with wave.open(io.BytesIO(wav)) as reader:
            assert reader.getnframes() > 0
        assert "[" not in event["text"] and "*" not in event["text"]
    citations = next(f for f in seen if isinstance(f, dict) and f["type"] == "citations")
    assert citations["citations"][0]["filename"] == "hb-eq-101-fryer.pdf"
    answer_text = "".join(f["text"] for f in seen if isinstance(f, dict) and f["type"] == "token")
    assert "3 min" in answer_text

    turn = await VoiceTurn.objects.select_related("question", "answer").aget()
    assert turn.status == VoiceTurn.Status.ANSWERED
    assert turn.transcript == transcript["text"] == turn.question.text
    assert turn.question.modality == turn.answer.modality == Message.Modality.VOICE
    assert turn.answer.status == Message.Status.DONE
    assert 1000 < turn.audio_ms < 4000
    assert 0 <= turn.stt_ms <= turn.first_token_ms <= turn.first_audio_ms <= turn.total_ms
    assert turn.sentences == len(audio_events) and turn.speech_out_ms > 500


async def test_hands_free_finds_the_end_of_the_question_and_gates_its_own_voice(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "handsfree"})
    assert (await receive(ws))["mode"] == "handsfree"
    await say(ws, "what temperature is the fryer oil")  # no "end": silence ends it
    seen = await until(ws, "audio_end")
    assert "transcript" in types(seen)
    # While the answer plays, what the microphone hears is not a question.
    await say(ws, "how long do fries cook")
    await ws.send_json_to({"type": "ping"})
    assert (await receive(ws)) == {"type": "pong"}
    assert await VoiceTurn.objects.acount() == 1
    # Re-armed after playback, it listens again.
    await ws.send_json_to({"type": "listen"})
    assert (await receive(ws)) == {"type": "listening", "mode": "handsfree"}
    await say(ws, "how long do fries cook")
    seen = await until(ws, "audio_end")
    assert await VoiceTurn.objects.acount() == 2


async def test_a_spoken_follow_up_understands_a_typed_question_and_back(alice, fryer):
    conversation = await new_conversation(alice)
    typed = await sync_to_async(chat.answer_now)(conversation, alice, "how long do fries cook?")
    assert typed[-1]["type"] == "done"
    ws, _ = await connect(alice, conversation.pk)
    await push_to_talk(ws, "and what temperature")
    seen = await until(ws, "done")
    spoken_answer = "".join(f["text"] for f in seen if isinstance(f, dict) and f["type"] == "token")
    heard = next(f["text"] for f in seen if isinstance(f, dict) and f["type"] == "transcript")
    assert "350" in spoken_answer, (heard, spoken_answer)

    # Spoken first, then typed.
    other = await new_conversation(alice)
    ws2, _ = await connect(alice, other.pk)
    await push_to_talk(ws2, "how long do french fries go in the fryer")
    await until(ws2, "audio_end")
    events = await sync_to_async(chat.answer_now)(other, alice, "and at what temperature?")
    typed_answer = "".join(e["text"] for e in events if e["type"] == "token")
    assert "350" in typed_answer, typed_answer


async def test_saying_stop_listening_ends_hands_free_without_asking(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "handsfree"})
    await receive(ws)
    await say(ws, "stop listening")
    seen = await until(ws, "stopped")
    stopped = seen[-1]
    assert stopped["reason"] == "stop_phrase"
    turn = await VoiceTurn.objects.aget()
    assert turn.status == VoiceTurn.Status.COMMAND
    assert not await Message.objects.aexists()
    # Audio is no longer taken: it says so once.
    await ws.send_to(bytes_data=audio.silence(100))
    assert (await receive(ws))["code"] == "bad_audio"


async def test_interrupting_stops_the_speech_but_the_answer_is_kept(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "handsfree"})
    await receive(ws)
    await say(ws, "how do i filter the fryer")
    await until(ws, "audio")
    await ws.send_json_to({"type": "interrupt"})
    rest = await until(ws, "audio_end")
    assert {"type": "listening", "mode": "handsfree"} in rest
    assert types(rest).count("audio") <= 1  # at most the sentence already on its way
    await chat.wait_for_answers()
    turn = await VoiceTurn.objects.select_related("answer").aget()
    assert turn.status == VoiceTurn.Status.INTERRUPTED
    assert turn.answer.status == Message.Status.DONE and turn.answer.text


async def test_a_dropped_connection_keeps_the_turn_as_far_as_it_got(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await push_to_talk(ws, "how do i filter the fryer")
    await until(ws, "transcript")
    await ws.disconnect()
    opened.remove(ws)
    await chat.wait_for_answers()
    # the cut-short turn is saved shielded from the cancellation, so it may land a moment
    # after the task is gone: wait for it (the suite's load decides how long that is)
    for _ in range(200):
        turn = await VoiceTurn.objects.select_related("question", "answer").aget()
        if turn.finished_at is not None:
            break
        await asyncio.sleep(0.05)
    assert turn.transcript and turn.stt_ms is not None
    assert turn.status in (VoiceTurn.Status.DISCONNECTED, VoiceTurn.Status.ANSWERED)
    assert turn.finished_at is not None
    if turn.answer is not None:  # chat finishes and stores the answer regardless
        assert turn.answer.status == Message.Status.DONE


# --- Bad input ----------------------------------------------------------------------


async def test_wrong_formats_and_garbage_get_clear_errors(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)

    async def error_for(**frame):
        if "bytes_data" in frame:
            await ws.send_to(bytes_data=frame["bytes_data"])
        elif "text_data" in frame:
            await ws.send_to(text_data=frame["text_data"])
        else:
            await ws.send_json_to(frame)
        reply = await receive(ws)
        assert reply["type"] == "error", reply
        return reply

    assert (await error_for(bytes_data=b"\x00\x01" * 50))["code"] == "bad_audio"
    wrong_rate = await error_for(type="start", sample_rate=44100, mode="push")
    assert wrong_rate["code"] == "invalid" and "16000" in wrong_rate["message"]
    assert (await error_for(type="start", sample_rate=16000, encoding="f32"))["code"] == "invalid"
    assert (await error_for(type="start", sample_rate=16000, mode="always"))["code"] == "invalid"
    assert (await error_for(text_data="not json"))["code"] == "invalid_json"
    assert (await error_for(type="shout"))["code"] == "unknown_type"
    assert (await error_for(type="end"))["code"] == "invalid"

    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "push"})
    await receive(ws)
    assert (await error_for(bytes_data=b"\x00" * 321))["code"] == "bad_audio"
    assert (await error_for(bytes_data=b"\x00" * (65 * 1024)))["code"] == "bad_audio"
    # Random bytes (say, float samples sent as PCM16) are refused as not speech.
    garbage = os.urandom(32000 * 2)
    for frame in frames(garbage):
        await ws.send_to(bytes_data=frame)
    reply = await receive(ws)
    assert reply["code"] == "bad_audio" and "16 kHz" in reply["message"]
    # Silence is not a question.
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "push"})
    await receive(ws)
    for frame in frames(audio.silence(1500)):
        await ws.send_to(bytes_data=frame)
    assert (await error_for(type="end"))["code"] == "no_speech"
    assert not await Message.objects.aexists()


async def test_a_stream_that_never_stops_is_cut_with_a_message(alice, fryer, settings):
    settings.VOICE_MAX_UTTERANCE_SECONDS = 3
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "push"})
    await receive(ws)
    long_talk = "how long do fries cook and what temperature is the oil " * 3
    for frame in frames(question(long_talk, before_ms=0, after_ms=0)):
        await ws.send_to(bytes_data=frame)
    seen = await until(ws, "error")
    assert seen[-1]["code"] == "too_long" and "3 seconds" in seen[-1]["message"]
    await ws.send_json_to({"type": "end"})  # the button let go later: nothing more
    await ws.send_json_to({"type": "ping"})
    assert (await receive(ws)) == {"type": "pong"}
    assert not await Message.objects.aexists()


async def test_hands_free_switches_itself_off_when_idle(alice, fryer, settings):
    settings.VOICE_IDLE_MINUTES = 0.01  # 0.6 s
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "handsfree"})
    await receive(ws)
    for frame in frames(audio.silence(300)):
        await ws.send_to(bytes_data=frame)
    assert (await receive(ws, timeout=10)) == {"type": "stopped", "reason": "idle"}


async def test_a_declined_spoken_question_says_what_was_heard(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await push_to_talk(ws, "who won the football game last night")
    seen = await until(ws, "audio_end")
    heard = next(f["text"] for f in seen if isinstance(f, dict) and f["type"] == "transcript")
    done = next(f for f in seen if isinstance(f, dict) and f["type"] == "done")
    assert done["declined"], heard
    first = next(f for f in seen if isinstance(f, dict) and f["type"] == "audio")
    assert first["text"].startswith(f"I heard: {heard}. The manuals don't cover that")


async def test_spoken_asks_share_the_chat_limits_and_end_with_the_users_access(
    alice, fryer, settings
):
    """The voice socket admits answers as the chat socket does (one rate for both), and
    a user deactivated meanwhile is told and the socket closed, not answered."""
    settings.RATE_ASK = "1/m"
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await push_to_talk(ws, "how long do french fries go in the fryer")
    assert "done" in types(await until(ws, "audio_end"))

    await push_to_talk(ws, "and onion rings")
    refused = (await until(ws, "error"))[-1]
    assert refused["code"] == "try_again" and 1 <= refused["retry_after"] <= 60
    assert await Message.objects.acount() == 2  # only the first question was taken

    settings.RATE_ASK = None
    alice.is_active = False
    await alice.asave(update_fields=["is_active"])
    await push_to_talk(ws, "and onion rings")
    ended = await until(ws, "closed")
    assert [f.get("code") for f in ended if isinstance(f, dict)][-2:] == ["signed_out", 4401]
    assert await Message.objects.acount() == 2
