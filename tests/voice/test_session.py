"""What the voice session decides, as a user meets it: through the real voice websocket
with real speech (espeak-ng), the offline recogniser and chat. The state machine's table
on its own is tested in test_session_machine.py."""

from __future__ import annotations

import os

import pytest

from chat import services as chat
from chat.models import Message
from voice import audio
from voice.models import VoiceTurn

from .sockets import connect, new_conversation, receive, say, types, until
from .speech_samples import frames

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("voice_sockets")]
HANDS_FREE = {"type": "start", "sample_rate": 16000, "mode": "handsfree"}
PUSH = {"type": "start", "sample_rate": 16000, "mode": "push"}


async def pong(ws) -> None:
    """Nothing else is waiting to be sent: the next frame answers a ping."""
    await ws.send_json_to({"type": "ping"})
    assert (await receive(ws)) == {"type": "pong"}


async def hands_free(user, conversation) -> object:
    ws, _ = await connect(user, conversation.pk)
    await ws.send_json_to(HANDS_FREE)
    assert (await receive(ws)) == {"type": "listening", "mode": "handsfree"}
    return ws


async def test_muted_it_says_once_to_start_and_hears_no_question(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await say(ws, "how long do fries cook")  # before start: the microphone is muted
    told = await receive(ws)
    assert told["code"] == "bad_audio" and '"start"' in told["message"]
    await pong(ws)  # said once, not for every frame
    assert not await VoiceTurn.objects.aexists()

    # After a push-to-talk answer it is muted again until the next start.
    await ws.send_json_to(PUSH)
    await receive(ws)
    await say(ws, "how long do fries cook")
    await ws.send_json_to({"type": "end"})
    await until(ws, "audio_end")
    await say(ws, "what temperature is the fryer oil")
    assert (await receive(ws))["code"] == "bad_audio"
    await pong(ws)
    assert await VoiceTurn.objects.acount() == 1


async def test_the_stop_phrase_is_decided_once_and_not_asked(alice, fryer):
    conversation = await new_conversation(alice)
    ws = await hands_free(alice, conversation)
    await say(ws, "stop listening")
    seen = await until(ws, "stopped")
    assert seen[-1] == {"type": "stopped", "reason": "stop_phrase"}
    assert "transcript" not in types(seen) and "error" not in types(seen)
    await pong(ws)  # one "stopped", not two
    turn = await VoiceTurn.objects.aget()
    assert turn.status == VoiceTurn.Status.COMMAND and turn.transcript
    assert not await Message.objects.aexists()
    # Hands-free is over: "listen" does not bring it back.
    await ws.send_json_to({"type": "listen"})
    assert (await receive(ws))["code"] == "invalid"


async def test_noise_is_rejected_once_and_push_to_talk_drops_the_rest(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to(PUSH)
    await receive(ws)
    for frame in frames(os.urandom(2000 * audio.BYTES_PER_MS)):  # 2 s of float-like hiss
        await ws.send_to(bytes_data=frame)
    rejected = await receive(ws)
    assert rejected["code"] == "bad_audio" and "noise" in rejected["message"]
    await ws.send_json_to({"type": "end"})  # the button let go: expected, nothing to say
    await pong(ws)
    assert not await VoiceTurn.objects.aexists()
    # The next start listens again.
    await ws.send_json_to(PUSH)
    assert (await receive(ws)) == {"type": "listening", "mode": "push"}


async def test_noise_ends_hands_free_with_one_error(alice, fryer):
    conversation = await new_conversation(alice)
    ws = await hands_free(alice, conversation)
    for frame in frames(os.urandom(2000 * audio.BYTES_PER_MS)):
        await ws.send_to(bytes_data=frame)
    assert (await receive(ws))["code"] == "bad_audio"
    assert (await receive(ws)) == {"type": "stopped", "reason": "bad_audio"}
    await pong(ws)
    assert not await VoiceTurn.objects.aexists()


async def test_a_new_start_waits_while_the_answer_is_being_given(alice, fryer):
    conversation = await new_conversation(alice)
    ws, _ = await connect(alice, conversation.pk)
    await ws.send_json_to(PUSH)
    await receive(ws)
    await say(ws, "how long do fries cook")
    await ws.send_json_to({"type": "end"})
    await ws.send_json_to(PUSH)  # taken right after "end": the answer has just begun
    seen = await until(ws, "audio_end")
    busy = [f for f in seen if isinstance(f, dict) and f.get("code") == "busy"]
    assert len(busy) == 1
    assert "listening" not in types(seen)
    await ws.send_json_to(PUSH)  # the answer is out: now it listens
    assert (await receive(ws)) == {"type": "listening", "mode": "push"}


async def test_barge_in_stops_the_speech_and_the_next_question_is_heard(alice, fryer):
    conversation = await new_conversation(alice)
    ws = await hands_free(alice, conversation)
    await say(ws, "how do i filter the fryer")
    await until(ws, "audio")
    await ws.send_json_to({"type": "interrupt"})
    rest = await until(ws, "audio_end")
    assert {"type": "listening", "mode": "handsfree"} in rest
    after = rest[rest.index({"type": "listening", "mode": "handsfree"}) :]
    assert "audio" not in types(after) and "say" not in types(after)
    await chat.wait_for_answers()
    # Listening again: the words spoken over the answer are the next question.
    await say(ws, "how long do fries cook")
    seen = await until(ws, "audio_end")
    assert "fries" in next(
        f["text"] for f in seen if isinstance(f, dict) and f["type"] == "transcript"
    )
    statuses = [t.status async for t in VoiceTurn.objects.order_by("pk")]
    assert statuses == [VoiceTurn.Status.INTERRUPTED, VoiceTurn.Status.ANSWERED]


async def test_hands_free_rearms_at_once_when_nothing_is_said_aloud(alice, fryer, settings):
    settings.RATE_ASK = "1/m"
    conversation = await new_conversation(alice)
    ws = await hands_free(alice, conversation)
    await say(ws, "how long do fries cook")
    await until(ws, "audio_end")
    await pong(ws)  # the answer is out, but it waits for the client to play it
    await ws.send_json_to({"type": "listen"})
    assert (await receive(ws)) == {"type": "listening", "mode": "handsfree"}
    await say(ws, "what temperature is the fryer oil")
    refused = await until(ws, "error")
    assert refused[-1]["code"] == "try_again"
    # Nothing will be played: it listens again without waiting for "listen".
    assert (await receive(ws)) == {"type": "listening", "mode": "handsfree"}
    assert await Message.objects.acount() == 2


async def test_hands_free_listens_again_at_once_when_the_question_is_refused(
    alice, fryer, monkeypatch
):
    monkeypatch.setattr(chat, "MAX_QUESTION_CHARS", 5)  # every question is too long
    conversation = await new_conversation(alice)
    ws = await hands_free(alice, conversation)
    await say(ws, "how long do fries cook")
    seen = await until(ws, "error")
    assert "transcript" in types(seen) and seen[-1]["code"] == "invalid"
    assert "audio_end" not in types(seen)
    assert (await receive(ws)) == {"type": "listening", "mode": "handsfree"}
