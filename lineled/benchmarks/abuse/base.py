"""What the attacks of ``bench abuse`` share: how one is declared and what it returns, the
store they attack (accounts, a manual, conversations) and the few moves most of them
make (open a chat socket, ask on it, wait for a document)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django_celery_results.models import TaskResult
from websockets.asyncio.client import connect

from chat import services
from knowledge import vectors
from knowledge.demo.loader import MANUALS
from knowledge.models import Document
from lineled.benchmarks.deployment import Account, Deployment
from lineled.roles import Role

QUESTION = "what temperature should the walk-in cooler hold?"
# Who does what. Each attack has an account of its own, so that one attack's rates and
# lockouts never decide another's outcome.
ROLES: dict[str, Role | None] = {
    "alice": Role.CREW,  # asks 200 times at once on sockets
    "bob": Role.CREW,  # the other user, whose answers must still come quickly
    "carol": Role.CREW,  # floods the REST API
    "dana": Role.CREW,  # guesses passwords
    "erin": Role.CREW,  # is deactivated while her socket is open
    "frank": Role.CREW,  # sends bad input
    "grace": Role.CREW,  # reads citation images
    "morgan": Role.MANAGER,  # uploads the manuals and the bombs
    "olive": Role.OPS,  # deactivates erin in the admin
    "nora": None,  # signed in, no role
}


class TimedOut(Exception):
    """An attack ran out of its time cap."""


@dataclass
class Outcome:
    """What one attack did and what came back. ``checks`` are the attack's own parts of
    its rule, each (what must hold, whether it did); the runner adds the shared ones."""

    did: str
    came_back: dict
    checks: list[tuple[str, bool]]
    figures: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Attack:
    name: str
    play: Callable[[Store], Outcome]
    cap: float  # seconds the attack may take, set-up included
    worker: bool = False  # needs the deployment's Celery worker
    load: bool = False  # judged on the web server's /healthz p95 too
    memory: bool = False  # judged on the worker's memory too


def attack(name: str, *, cap: float, worker=False, load=False, memory=False):
    """The decorated function, ``play(store) -> Outcome``, as the attack ``name``."""

    def declare(play: Callable[[Store], Outcome]) -> Attack:
        return Attack(name, play, cap, worker, load, memory)

    return declare


class Store:
    """The deployment under attack and what attacks set up on it, made once."""

    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self.accounts: dict[str, Account] = {}
        self.deadline = float("inf")
        self.struck: float | None = None  # when the current attack's hostile part began
        self._manual: int | None = None

    # --- Time ----------------------------------------------------------------------------

    def left(self) -> float:
        """Seconds left of the current attack's cap; TimedOut once there are none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimedOut
        return left

    def strike(self) -> None:
        """Say that the set-up is over and the attack proper begins: /healthz and the
        worker's memory are judged from here (from the start, for an attack that never
        says so). Only the first call counts."""
        if self.struck is None:
            self.struck = time.monotonic()

    def wait(self, done: Callable[[], object], *, every: float = 0.1):
        """Poll ``done()`` until it returns something true, within the cap."""
        while True:
            self.left()
            if result := done():
                return result
            time.sleep(every)

    # --- Who ---------------------------------------------------------------------------

    def account(self, name: str) -> Account:
        if name not in self.accounts:
            # Only dana signs in with a password (login-lockout); the rest need none.
            password = f"{name}-correct-horse-7" if name == "dana" else ""
            self.accounts[name] = self.deployment.account(name, ROLES[name], password)
        return self.accounts[name]

    def conversation(self, name: str) -> int:
        """A new conversation of ``name``'s (made here: no API rate is spent on it)."""
        owner = get_user_model().objects.get(pk=self.account(name).pk)
        return services.create_conversation(owner, "bench abuse").pk

    # --- What ----------------------------------------------------------------------------

    def upload(self, name: str, data: bytes):
        """``morgan`` uploads a file through the API; the response."""
        with self.deployment.client(self.account("morgan"), timeout=min(60, self.left())) as c:
            return c.post("/api/knowledge/documents", files={"file": (name, data)})

    def manual(self) -> int:
        """The walk-in cooler manual, uploaded once (and ingested, with a worker)."""
        if self._manual is None:
            response = self.upload("walk-in.pdf", (MANUALS / "hb-eq-104-walk-in.pdf").read_bytes())
            response.raise_for_status()
            self._manual = response.json()["id"]
        if self.deployment.worker:
            self.finished(self._manual)
        return self._manual

    def quiet(self) -> None:
        """Wait, within the cap, until the worker has nothing left to do (ingestion,
        embeddings, any task started): an attack by volume then measures itself, not
        the tail of the work an earlier upload set off."""

        def idle() -> bool:
            return not (
                Document.objects.filter(status__in=["queued", "processing"]).exists()
                or vectors.outdated()
                or TaskResult.objects.filter(status="STARTED").exists()
            )

        if self.deployment.worker:
            self.wait(idle, every=0.25)

    def finished(self, document_id: int, *, every: float = 0.1):
        """The document once it is ready or failed (or gone: None), within the cap."""

        def ended():
            document = Document.objects.filter(pk=document_id).first()
            if document is None:
                return "gone"
            return document if document.status in ("ready", "failed") else None

        found = self.wait(ended, every=every)
        return None if found == "gone" else found

    # --- Sockets -------------------------------------------------------------------------

    def socket(self, account: Account, conversation: int, *, origin: str | None = "same"):
        """A chat socket of ``account`` (an async context manager), opened from a page of
        the deployment unless another ``origin`` (None: none) is given."""
        url = self.deployment.ws(f"/ws/chat/{conversation}/")
        return connect(
            url,
            origin=self.deployment.origin if origin == "same" else origin,
            additional_headers={"Cookie": self.deployment.cookie(account)},
            compression=None,
            proxy=None,
            open_timeout=30,
            ping_interval=None,
        )


async def receive(ws, timeout: float = 30) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def ready(ws) -> None:
    event = await receive(ws)
    if event.get("type") != "ready":
        raise RuntimeError(f"the chat socket did not say ready: {event}")


async def ask(ws, text: str = QUESTION, timeout: float = 30) -> tuple[float, dict]:
    """Ask on an open chat socket; (seconds until the answer ended, its last event:
    ``done`` or ``error``)."""
    started = time.monotonic()
    await ws.send(json.dumps({"type": "ask", "text": text}))
    while True:
        event = await receive(ws, timeout)
        if event.get("type") in ("done", "error"):
            return time.monotonic() - started, event


def ended_as(event: dict) -> str:
    """``done``, or the error's code."""
    if event.get("type") == "error":
        return event.get("code") or "error"
    return event.get("type", "?")


def limit(setting: str) -> int | None:
    """The number of requests a rate setting allows per period (None when off)."""
    rate = getattr(settings, setting)
    return int(rate.split("/")[0]) if rate else None
