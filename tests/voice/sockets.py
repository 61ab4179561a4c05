"""The voice websocket as a test client sees it: connect, read frames, speak into it.

Sockets opened with ``connect`` are closed after each test by the ``voice_sockets``
fixture (conftest), which then waits for the answers they started."""

from __future__ import annotations

import contextlib
import json

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from chat import services as chat
from lineled.asgi import application

from .speech_samples import frames, question

opened: list[WebsocketCommunicator] = []


async def close_opened() -> None:
    while opened:
        ws = opened.pop()
        with contextlib.suppress(Exception):
            await ws.disconnect(timeout=2)
    await chat.wait_for_answers()
    await sync_to_async(connections.close_all)()


def cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def connect(user, conversation_id) -> tuple[WebsocketCommunicator, dict]:
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", (await sync_to_async(cookie)(user)).encode()))
    ws = WebsocketCommunicator(application, f"/ws/voice/{conversation_id}/", headers=headers)
    opened.append(ws)
    connected, code = await ws.connect(timeout=10)
    if not connected:
        return ws, {"closed": code}
    return ws, json.loads(await ws.receive_from(timeout=10))


async def receive(ws, timeout=20):
    """The next frame: a dict for JSON, bytes for audio."""
    message = await ws.receive_output(timeout=timeout)
    if message["type"] == "websocket.close":
        return {"type": "closed", "code": message.get("code")}
    if message.get("bytes") is not None:
        return message["bytes"]
    return json.loads(message["text"])


async def until(ws, kind: str, timeout=30) -> list:
    """Frames up to and including the first of type ``kind``."""
    seen = []
    while True:
        frame = await receive(ws, timeout)
        seen.append(frame)
        if isinstance(frame, dict) and frame["type"] in (kind, "closed"):
            return seen


def types(seen) -> list[str]:
    return ["<audio>" if isinstance(f, bytes) else f["type"] for f in seen]


async def say(ws, text: str, **kwargs) -> None:
    for frame in frames(question(text, **kwargs)):
        await ws.send_to(bytes_data=frame)


async def push_to_talk(ws, text: str) -> dict:
    """A push-to-talk question: press (``start``), say ``text``, let go (``end``); the
    frame that answered the press (``listening``)."""
    await ws.send_json_to({"type": "start", "sample_rate": 16000, "mode": "push"})
    listening = await receive(ws)
    await say(ws, text)
    await ws.send_json_to({"type": "end"})
    return listening


async def new_conversation(user):
    return await sync_to_async(chat.create_conversation)(user)
