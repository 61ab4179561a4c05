"""``bench load``'s users: each a conversation made over the REST API and the chat socket
(or the voice socket) opened on it, as the chat page does."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import ClientConnection, connect

from voice import audio

FRAME_BYTES = 60 * audio.BYTES_PER_MS  # 60 ms of audio a frame, as the browser sends
START = {"type": "start", "sample_rate": audio.SAMPLE_RATE, "encoding": "pcm16", "mode": "push"}


@dataclass(frozen=True)
class Credentials:
    """How one user signs in: an API token for REST, and for the socket either the
    session cookie (a browser's) or the token too (``cookie`` empty)."""

    token: str
    cookie: str = ""

    def socket_headers(self) -> dict[str, str]:
        if self.cookie:
            return {"Cookie": self.cookie}
        return {"Authorization": f"Bearer {self.token}"}


class ChatSocket:
    """Questions typed on ``/ws/chat/<conversation>/``."""

    mode = "text"

    def __init__(self, ws: ClientConnection):
        self.ws = ws

    async def ask(self, text: str) -> AsyncIterator[dict]:
        await self.ws.send(json.dumps({"type": "ask", "text": text}))
        while True:
            event = json.loads(await self.ws.recv())
            yield event
            if event.get("type") in ("done", "error"):
                return


class VoiceSocket:
    """Questions spoken on ``/ws/voice/<conversation>/`` with push-to-talk: the whole
    recording at once, then ``end``, as a button let go. The turn is over at
    ``audio_end`` (the answer was spoken) or an error."""

    mode = "voice"

    def __init__(self, ws: ClientConnection, speech: Callable[[str], bytes]):
        self.ws = ws
        self.speech = speech

    async def ask(self, text: str) -> AsyncIterator[dict]:
        pcm = self.speech(text)
        await self.ws.send(json.dumps(START))
        for offset in range(0, len(pcm), FRAME_BYTES):
            await self.ws.send(pcm[offset : offset + FRAME_BYTES])
        await self.ws.send(json.dumps({"type": "end"}))
        yield {"type": "asked"}  # the user has stopped speaking: the answer is timed from here
        while True:
            frame = await self.ws.recv()
            if isinstance(frame, bytes):
                continue  # a sentence's audio
            event = json.loads(frame)
            yield event
            if event.get("type") in ("audio_end", "error"):
                return


class Users:
    """Opens users' connections to the deployment at ``base`` (``http://host:port``)."""

    def __init__(self, base: str, speech: Callable[[str], bytes] | None = None):
        self.base = base.rstrip("/")
        self.socket_base = "ws" + self.base.removeprefix("http")
        self.speech = speech
        self.http = httpx.AsyncClient(
            base_url=self.base,
            timeout=30,
            trust_env=False,
            limits=httpx.Limits(max_connections=100),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def opener(self, credentials: Credentials, voice: bool = False):
        """A user of ``bench load``'s driver: a new conversation and its socket."""
        return lambda: self.open(credentials, voice)

    @contextlib.asynccontextmanager
    async def open(self, credentials: Credentials, voice: bool = False):
        response = await self.http.post(
            "/api/chat/conversations",
            json={},
            headers={"Authorization": f"Bearer {credentials.token}"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/chat/conversations: HTTP {response.status_code}")
        path = f"/ws/{'voice' if voice else 'chat'}/{response.json()['id']}/"
        async with connect(
            self.socket_base + path,
            origin=self.base,
            additional_headers=credentials.socket_headers(),
            compression=None,
            proxy=None,
            open_timeout=30,
            ping_interval=None,
            max_size=None,  # a spoken sentence's audio may be large
        ) as ws:
            ready = json.loads(await ws.recv())
            if ready.get("type") != "ready":
                raise RuntimeError(f"{path} did not say ready: {ready}")
            yield VoiceSocket(ws, self.speech) if voice else ChatSocket(ws)
