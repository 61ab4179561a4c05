"""Attacks by volume: one user asking for far more than their share (issue 16, points 1
and 2), while another user asks and the web server must stay responsive."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import httpx
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from knowledge.models import Chunk
from lineled.benchmarks.abuse.base import (
    QUESTION,
    Outcome,
    Store,
    ask,
    attack,
    ended_as,
    limit,
    ready,
    receive,
)
from lineled.benchmarks.watch import percentile

OTHER_ANSWER_S = 1.0  # the other user's answer, during an attack
IMAGES = 16
SOCKETS = 200


def _text_manual(size: int = 96 * 1024) -> bytes:
    """A plain-text manual of ``size`` bytes with long unbroken words, the kind whose page
    images were typeset on every request: sections a few hundred bytes long, so that the
    pages hold many passages to highlight."""
    sections, n = [], 0
    while sum(map(len, sections)) < size:
        n += 1
        sections.append(
            f"Fryer station step {n}. Skim the oil, then check the basket hooks. "
            + "Oilfiltrationcartridgereplacementprocedure" * 4
            + f" Log the oil temperature (350 F) on sheet {n}. " * 3
        )
    return "\n\n".join(sections).encode()


def _other_user(store: Store):
    """(bob, a new conversation of his) for ``_other_answer``, made before the loop runs."""
    return store.account("bob"), store.conversation("bob")


async def _other_answer(store: Store, other, go: asyncio.Event) -> tuple[float, str]:
    """The other user, on a socket opened beforehand, asks once ``go`` is set: (seconds,
    how the answer ended)."""
    bob, conversation = other
    async with store.socket(bob, conversation) as ws:
        await ready(ws)
        await go.wait()
        seconds, event = await ask(ws)
        return seconds, ended_as(event)


def _warm(store: Store) -> None:
    """Bob asks once before any attack, so the web process has loaded what answering
    needs (the embedding model): the time measured is an answer's, not a cold start's."""

    other = _other_user(store)

    async def once():
        go = asyncio.Event()
        go.set()
        return await _other_answer(store, other, go)

    asyncio.run(asyncio.wait_for(once(), store.left()))


@attack("citation-images", cap=90, worker=True, load=True)
def citation_images(store: Store) -> Outcome:
    """16 page images with a different passage highlighted each, asked for at once, of a
    text manual with long unbroken words (issue 16 point 1: 97 s each, /healthz 5.7 s),
    while another user asks."""
    store.manual()
    _warm(store)
    uploaded = store.upload("fryer-station.txt", _text_manual())
    uploaded.raise_for_status()
    document = store.finished(uploaded.json()["id"], every=0.25)
    chunks = list(
        Chunk.objects.filter(document=document.pk).order_by("order").values_list("pk", "first_page")
    )
    step = max(1, len(chunks) // IMAGES)
    paths = [
        f"/knowledge/documents/{document.pk}/pages/{page}/image.png?chunk={pk}"
        for pk, page in chunks[::step][:IMAGES]
    ]
    grace, bob = store.account("grace"), _other_user(store)
    store.quiet()

    async def attack_and_ask():
        go = asyncio.Event()
        other = asyncio.create_task(_other_answer(store, bob, go))
        headers = {"Authorization": f"Bearer {grace.token}"}
        async with httpx.AsyncClient(
            base_url=store.deployment.base, headers=headers, timeout=60, trust_env=False
        ) as client:

            async def image(path):
                started = time.monotonic()
                response = await client.get(path)
                kind = response.headers.get("content-type", "")
                return response.status_code, kind, time.monotonic() - started

            store.strike()
            images = [asyncio.create_task(image(path)) for path in paths]
            await asyncio.sleep(0.05)  # the requests are in
            go.set()
            return await asyncio.gather(*images), await other

    images, (other_s, other) = asyncio.run(asyncio.wait_for(attack_and_ask(), store.left()))
    slowest = max(seconds for _, _, seconds in images)
    return Outcome(
        did=f"GET {len(paths)} highlighted page images of a {document.page_count}-page text "
        "manual at once (each a different passage), while another user asks on the chat socket",
        came_back={
            "images": dict(Counter(f"{status} {kind}" for status, kind, _ in images)),
            "other user's answer": other,
        },
        checks=[
            ("every image 200 image/png", all(s == 200 and k == "image/png" for s, k, _ in images)),
            (
                f"the other user's answer within {OTHER_ANSWER_S:g} s",
                other == "done" and other_s < OTHER_ANSWER_S,
            ),
        ],
        figures={
            "pages": document.page_count,
            "slowest_image_s": round(slowest, 3),
            "other_answer_s": round(other_s, 3),
        },
    )


@attack("ask-flood", cap=90, worker=True, load=True)
def ask_flood(store: Store) -> Outcome:
    """One crew session opens 200 chat sockets and asks on each at once (issue 16 point 2:
    none answered, 48 left 'streaming' forever), while another user asks."""
    alice = store.account("alice")
    conversation = store.conversation("alice")
    store.manual()
    _warm(store)
    bob = _other_user(store)
    store.quiet()
    refusal_s: list[float] = []

    async def flood():
        go, asked = asyncio.Event(), 0

        async def one() -> str:
            nonlocal asked
            try:
                async with store.socket(alice, conversation) as ws:
                    await ready(ws)
                    started = time.monotonic()
                    await ws.send(json.dumps({"type": "ask", "text": QUESTION}))
                    asked += 1
                    if asked >= SOCKETS // 2:
                        go.set()  # half the asks are in: the other user asks now
                    while (event := await receive(ws, 60))["type"] not in ("done", "error"):
                        pass
                    if ended_as(event) == "try_again":
                        refusal_s.append(time.monotonic() - started)
                    return ended_as(event)
            except InvalidStatus as refused:
                return f"refused {refused.response.status_code}"
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                return type(exc).__name__

        other = asyncio.create_task(_other_answer(store, bob, go))
        store.strike()
        results = await asyncio.gather(*(one() for _ in range(SOCKETS)))
        go.set()  # in case fewer than half got to ask
        return results, await other

    results, (other_s, other) = asyncio.run(asyncio.wait_for(flood(), store.left()))
    ended = Counter(results)
    answered = ended.pop("done", 0)
    refused = ended.pop("try_again", 0)
    turned_away = ended.pop("refused 429", 0)  # past SOCKETS_PER_SIGN_IN, at the handshake
    most = limit("RATE_ASK")
    return Outcome(
        did=f"{SOCKETS} chat sockets of one session, one question each at once, while "
        "another user asks on the chat socket",
        came_back={
            "done": answered,
            "try_again": refused,
            "socket refused (429)": turned_away,
            **ended,
            "other user's answer": other,
        },
        checks=[
            ("every ask answered or refused (try_again, or its socket with 429)", not ended),
            (
                f"answers within RATE_ASK ({most} a minute)",
                most is None or answered <= most,
            ),
            (
                f"the other user's answer within {OTHER_ANSWER_S:g} s",
                other == "done" and other_s < OTHER_ANSWER_S,
            ),
        ],
        figures={
            "other_answer_s": round(other_s, 3),
            "refusal_p95_ms": percentile([s * 1000 for s in refusal_s], 95),
            "answers_per_user": settings.ANSWERS_PER_USER,
        },
    )


@attack("api-flood", cap=60)
def api_flood(store: Store) -> Outcome:
    """100 questions and 300 new conversations from one API token at once (issue 16 point
    2: all accepted): refused past the user's rates with 429 and Retry-After."""
    store.manual()
    carol = store.account("carol")
    conversation = store.conversation("carol")
    store.quiet()

    async def flood():
        store.strike()
        headers = {"Authorization": f"Bearer {carol.token}"}
        async with httpx.AsyncClient(
            base_url=store.deployment.base, headers=headers, timeout=60, trust_env=False,
            limits=httpx.Limits(max_connections=100),
        ) as client:  # fmt: skip
            asks = [
                client.post(
                    f"/api/chat/conversations/{conversation}/messages", json={"text": QUESTION}
                )
                for _ in range(100)
            ]
            starts = [client.post("/api/chat/conversations", json={}) for _ in range(300)]
            return await asyncio.gather(asyncio.gather(*asks), asyncio.gather(*starts))

    asks, starts = asyncio.run(asyncio.wait_for(flood(), store.left()))
    refusals = [r for r in asks + starts if r.status_code == 429]
    answered = sum(1 for r in asks if r.status_code == 200)
    started = sum(1 for r in starts if r.status_code == 201)
    most_asks, most_starts = limit("RATE_ASK"), limit("RATE_CONVERSATIONS")
    return Outcome(
        did="100 POST .../messages and 300 POST /api/chat/conversations at once, one token",
        came_back={
            "asks": dict(Counter(str(r.status_code) for r in asks)),
            "conversations": dict(Counter(str(r.status_code) for r in starts)),
        },
        checks=[
            ("only 200/201 and 429", all(r.status_code in (200, 201, 429) for r in asks + starts)),
            (f"answers within RATE_ASK ({most_asks})", most_asks is None or answered <= most_asks),
            (
                f"conversations within RATE_CONVERSATIONS ({most_starts})",
                most_starts is None or started <= most_starts,
            ),
            ("every 429 says when to retry", all(r.headers.get("Retry-After") for r in refusals)),
        ],
    )


ATTACKS = [citation_images, ask_flood, api_flood]
