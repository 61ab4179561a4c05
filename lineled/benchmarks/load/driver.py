"""The users of a load test, whatever carries their questions.

Each user opens its connection (a chat socket, a voice socket, an HTTP client...), all
users start together, and each asks its questions one after another: at once when the
previous answer ended, or every ``Plan.every`` seconds. Every answer is timed from the
moment its question was sent to its first ``token`` event and to its ``done`` (or
``error``) event. The run is bounded in count (``Plan.questions`` per user) and in time
(no question is sent after ``Plan.duration`` seconds, and an answer gets ``Plan.timeout``
seconds).

A user is an ``Opener``: an async context manager yielding an ``Asker``, whose
``ask(text)`` yields the events of the chat socket's protocol (``start``, ``token``...,
``done`` or ``error``; a voice turn also ``transcript``, and what follows ``done``
until the turn is over). An asker whose question takes a while to send (a recording)
yields ``{"type": "asked"}`` once it is sent: the answer is timed from there.
``bench load`` gives sockets, the validation suite its clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from lineled.benchmarks.watch import percentile

CONNECT_SECONDS = 30.0


class Asker(Protocol):
    mode: str  # "text" or "voice"

    def ask(self, text: str) -> AsyncIterator[dict]: ...


Opener = Callable[[], AbstractAsyncContextManager[Asker]]


@dataclass(frozen=True)
class Plan:
    users: int
    questions: int  # per user, at most
    every: float = 0.0  # seconds from one question of a user to its next; 0: no pause
    duration: float = 600.0  # no question is sent after this many seconds
    timeout: float = 30.0  # an answer that has not ended by then is an error


@dataclass
class Turn:
    """One question and how its answer went (times in seconds from the question sent)."""

    user: int
    mode: str
    question: str
    sent: float = 0.0  # seconds since the start of the run
    first_token: float | None = None
    total: float | None = None
    error: str = ""  # the kind: an error event's code, "timeout", an exception's name
    detail: str = ""  # what the error said
    answer: str = ""  # the streamed text
    transcript: str = ""  # what a voice turn was heard as

    @property
    def ok(self) -> bool:
        return not self.error and self.total is not None


@dataclass
class Run:
    turns: list[Turn] = field(default_factory=list)
    seconds: float = 0.0  # from the start to the last answer's end

    def summary(self) -> dict:
        return summary(self.turns, self.seconds)


async def drive(
    plan: Plan,
    users: Sequence[Opener],
    question: Callable[[int, int], str],
    on_turn: Callable[[Turn], None] | None = None,
) -> Run:
    """Run ``plan`` with ``users`` (one opener each), user ``i``'s ``k``-th question
    being ``question(i, k)``. ``on_turn`` is called as each turn ends."""
    run = Run()
    go = asyncio.Event()
    ready = 0
    started = 0.0

    def record(turn: Turn) -> None:
        run.turns.append(turn)
        if on_turn is not None:
            on_turn(turn)

    def connected() -> None:
        nonlocal ready, started
        ready += 1
        if ready == len(users):
            started = time.monotonic()
            go.set()

    def over() -> bool:
        return go.is_set() and time.monotonic() - started >= plan.duration

    async def asking(i: int, asker: Asker, asked: int) -> int:
        """User ``i``'s questions from its ``asked``-th on this connection, until the
        plan says stop or the connection broke; how many it has asked since the start
        (all of them once the duration is over)."""
        while asked < plan.questions:
            due = started + _offset(plan, i) + asked * plan.every
            if due - started >= plan.duration:
                return plan.questions
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            turn = Turn(i, asker.mode, question(i, asked))
            asked += 1
            turn.sent = time.monotonic() - started
            await _ask(asker, turn, plan.timeout)
            record(turn)
            if turn.error in BROKEN:
                break  # a new connection for the next question
        return asked

    async def user(i: int, opener: Opener) -> None:
        asked, waiting = 0, True
        while asked < plan.questions and not over():
            try:
                async with contextlib.AsyncExitStack() as stack:
                    try:
                        async with asyncio.timeout(CONNECT_SECONDS):
                            asker = await stack.enter_async_context(opener())
                    finally:
                        if waiting:  # everyone starts once every user has connected
                            waiting = False
                            connected()
                            await go.wait()
                    asked = await asking(i, asker, asked)
            except Exception as exc:  # could not connect: that question is lost
                text = question(i, asked)
                asked += 1
                record(Turn(i, "?", text, error=f"connect: {_kind(exc)}", detail=str(exc)[:300]))

    await asyncio.gather(*(user(i, opener) for i, opener in enumerate(users)))
    run.seconds = time.monotonic() - started if started else 0.0
    return run


# Errors after which the connection is not trusted with another question.
BROKEN = {"timeout", "no_end", "ConnectionClosed", "ConnectionClosedError", "ConnectionClosedOK"}


def _offset(plan: Plan, i: int) -> float:
    """When user ``i`` asks first: all at once without a pause; spread over one pause
    with one, as people who each ask every so often do not ask in step."""
    return plan.every * i / plan.users if plan.every else 0.0


async def _ask(asker: Asker, turn: Turn, timeout: float) -> None:
    """Ask ``turn.question`` and fill in the turn; never raises but for cancellation."""
    began = time.monotonic()
    tokens: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            async for event in asker.ask(turn.question):
                kind = event.get("type")
                if kind == "asked":  # the question is complete (a voice turn's audio is in)
                    began = time.monotonic()
                elif kind == "token":
                    if turn.first_token is None:
                        turn.first_token = time.monotonic() - began
                    tokens.append(event.get("text", ""))
                elif kind == "transcript":
                    turn.transcript = event.get("text", "")
                elif kind == "done" and turn.total is None:
                    turn.total = time.monotonic() - began
                elif kind == "error" and turn.total is None:
                    turn.total = time.monotonic() - began
                    turn.error = event.get("code") or "error"
                    turn.detail = str(event.get("message", ""))[:300]
    except TimeoutError:
        if turn.total is None:
            turn.error, turn.detail = "timeout", f"no end of the answer within {timeout:g} s"
    except Exception as exc:
        if turn.total is None or not turn.error:
            turn.error, turn.detail = _kind(exc), str(exc)[:300]
    if turn.total is None and not turn.error:
        turn.error, turn.detail = "no_end", "the connection ended before the answer did"
    turn.answer = "".join(tokens)


def _kind(exc: BaseException) -> str:
    return type(exc).__name__


def summary(turns: list[Turn], seconds: float) -> dict:
    """Answers, answers/s, errors by kind, first token and total p50/p95/max (ms), and
    the same per mode when there are several."""
    figures = _figures(turns, seconds)
    modes = sorted({t.mode for t in turns if t.mode != "?"})
    if len(modes) > 1:
        figures["by_mode"] = {
            mode: _figures([t for t in turns if t.mode == mode], seconds) for mode in modes
        }
    return figures


def _figures(turns: list[Turn], seconds: float) -> dict:
    done = [t for t in turns if t.ok]
    failed = [t for t in turns if not t.ok]
    return {
        "questions": len(turns),
        "answers": len(done),
        "errors": len(failed),
        "error_kinds": dict(Counter(t.error for t in failed)),
        "answers_per_s": round(len(done) / seconds, 2) if seconds else None,
        "first_token_ms": spread([t.first_token for t in done if t.first_token is not None]),
        "total_ms": spread([t.total for t in done]),
    }


def spread(seconds: list[float]) -> dict:
    """p50/p95/max in milliseconds (None for no values)."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "max": round(ms[-1], 1) if ms else None,
    }
