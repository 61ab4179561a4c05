"""Attacks on the web server's edges: what a stranger or a careless user sends it, and
access that should end with a role or an account (issue 16, points 3, 6, 7 and 8)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat.models import Message
from lineled.benchmarks.abuse.base import Outcome, Store, ask, attack, ended_as, ready, receive
from lineled.benchmarks.deployment import Account, Deployment

MB = 1024 * 1024
DEBUG_MARKS = ("Traceback", "URLconf", "DisallowedHost", "SECRET_KEY", "settings")


@attack("foreign-host", cap=15)
def foreign_host(store: Store) -> Outcome:
    """A request naming another host, and pages that do not exist: plain pages, never
    Django's debug page with its URL patterns and settings."""
    tries = [
        ("Host: evil.example", "/", {"Host": "evil.example"}, 400),
        ("/no-such-page", "/no-such-page", {}, 404),
        ("/api/no-such-endpoint", "/api/no-such-endpoint", {}, 404),
    ]
    answers, leaked = {}, []
    with store.deployment.client() as client:
        for what, path, headers, _ in tries:
            response = client.get(path, headers=headers)
            answers[what] = response.status_code
            leaked += [f"{what}: {mark}" for mark in DEBUG_MARKS if mark in response.text]
    return Outcome(
        did="GET / with Host: evil.example, GET /no-such-page and /api/no-such-endpoint",
        came_back=answers,
        checks=[
            (
                "400 for the foreign host, 404 for the missing pages",
                all(answers[what] == expected for what, *_, expected in tries),
            ),
            ("no debug page (traceback, URL patterns, settings)", not leaked),
        ],
        figures={"leaked": leaked},
    )


@attack("wrong-origin", cap=20)
def wrong_origin(store: Store) -> Outcome:
    """Chat sockets opened with a session cookie from pages of other origins (another
    site, port or scheme, or none at all) are refused; one from the app's own page opens."""
    alice, port = store.account("alice"), store.deployment.port
    conversation = store.conversation("alice")
    origins = [
        "http://evil.example",
        f"http://127.0.0.1:{port + 1}",
        f"https://127.0.0.1:{port}",
        "null",
        None,
    ]

    async def open_from(origin) -> str:
        try:
            async with store.socket(alice, conversation, origin=origin) as ws:
                await ready(ws)
                return "opened"
        except InvalidStatus as refused:
            return f"refused {refused.response.status_code}"
        except ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else 'without a code'}"

    async def attempts():
        return [await open_from(origin) for origin in [*origins, "same"]]

    *foreign, own = asyncio.run(asyncio.wait_for(attempts(), store.left()))
    return Outcome(
        did=f"{len(origins)} chat sockets from other origins (another host, port, scheme, "
        "'null', none), then one from the app's own page",
        came_back=dict(Counter([*foreign, f"own page: {own}"])),
        checks=[
            ("every other origin refused", not any(result == "opened" for result in foreign)),
            ("the app's own page opens", own == "opened"),
        ],
    )


async def _declared(port: int, size: int) -> tuple[int, float]:
    """POST /healthz declaring ``size`` bytes and sending none: (status, seconds)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        started = time.monotonic()
        writer.write(
            b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/"
            b"octet-stream\r\nContent-Length: %d\r\n\r\n" % size
        )
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        return int(line.split()[1]), time.monotonic() - started
    finally:
        writer.close()


async def _streamed(port: int, size: int, chunk: int = 64 * 1024) -> tuple[str, int]:
    """POST /healthz with a chunked body of up to ``size`` bytes, sent until the server
    answers or drops the connection: (the status, or "reset", and the bytes sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.create_task(reader.read(4096))
    sent = 0
    try:
        writer.write(
            b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        piece = b"%x\r\n%s\r\n" % (chunk, bytes(chunk))
        while sent < size and not answer.done():
            writer.write(piece)
            await writer.drain()
            sent += chunk
    except ConnectionError:
        pass  # the server hung up with the body unread (its 413 may be lost with it)
    try:
        head = await asyncio.wait_for(answer, 5)
    except ConnectionError:
        return "reset", sent
    finally:
        writer.close()
    return (head.split()[1].decode() if head else "closed"), sent


@attack("big-body", cap=20)
def big_body(store: Store) -> Outcome:
    """Anonymous 2 GB bodies to /healthz, declared and streamed: 413 before they are read
    (issue 16 point 6: 400 MB were spooled to disk before any reply)."""
    port, size = store.deployment.port, 2 * 1024 * MB
    declared, declared_s = asyncio.run(_declared(port, size))
    streamed, sent = asyncio.run(_streamed(port, size))
    return Outcome(
        did="anonymous POST /healthz with Content-Length 2 GB (no body sent), then a "
        "chunked 2 GB body sent until the server answered or hung up",
        came_back={"declared": declared, "streamed": streamed},
        checks=[
            ("413 for the declared 2 GB within 1 s", declared == 413 and declared_s < 1),
            (
                "the streamed body refused (413, or the connection dropped) within 16 MB",
                streamed in ("413", "reset", "closed") and sent < 16 * MB,
            ),
        ],
        figures={
            "declared_answer_s": round(declared_s, 3),
            "streamed_mb_sent": round(sent / MB, 1),
        },
    )


@attack("oversize-json", cap=20)
def oversize_json(store: Store) -> Outcome:
    """A 3 MB JSON question by a signed-in crew member (a 500 before), and a 1 MB frame on
    the chat socket: refused with a message, the socket left open."""
    frank = store.account("frank")
    conversation = store.conversation("frank")
    body = json.dumps({"text": "fryer " * (MB // 2)}).encode()  # 3 MB
    with store.deployment.client(frank) as client:
        response = client.post(
            f"/api/chat/conversations/{conversation}/messages",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    said = response.json().get("message", "") if response.status_code == 413 else ""

    frame_text = json.dumps({"type": "ask", "text": "fryer " * (MB // 6)})
    frame, after = _refused_then_ping(store, frank, conversation, frame_text)
    return Outcome(
        did="POST a 3 MB JSON question to /api/chat/conversations/N/messages; send a 1 MB "
        "ask frame on the chat socket, then a ping",
        came_back={"rest": response.status_code, "socket": frame, "then ping": after},
        checks=[
            ("413 with a message for the body", response.status_code == 413 and bool(said)),
            (
                "the frame refused as too_large, the socket still open",
                (frame, after) == ("too_large", "pong"),
            ),
        ],
        figures={"message": said},
    )


def _refused_then_ping(store: Store, user, conversation: int, frame: str) -> tuple:
    """Send ``frame`` on the user's chat socket, then a ping: how the frame ended (the
    error code) and what the ping got back ("pong" while the socket stays open)."""

    async def exchange():
        async with store.socket(user, conversation) as ws:
            await ready(ws)
            await ws.send(frame)
            refused = await receive(ws)
            await ws.send(json.dumps({"type": "ping"}))
            return ended_as(refused), (await receive(ws)).get("type")

    return asyncio.run(asyncio.wait_for(exchange(), store.left()))


@attack("lone-surrogate", cap=20)
def lone_surrogate(store: Store) -> Outcome:
    """A question holding a lone surrogate (\\ud800, valid JSON that no database stores):
    400 by the API and an ``invalid`` error on the socket, nothing stored (a 500 before)."""
    frank = store.account("frank")
    conversation = store.conversation("frank")
    stored = Message.objects.filter(conversation__user_id=frank.pk).count
    before = stored()
    body = b'{"text": "how hot is the fryer \\ud800"}'
    with store.deployment.client(frank) as client:
        response = client.post(
            f"/api/chat/conversations/{conversation}/messages",
            content=body,
            headers={"Content-Type": "application/json"},
        )

    ask = '{"type": "ask", "text": "fryer \\ud800"}'
    socket, after = _refused_then_ping(store, frank, conversation, ask)
    return Outcome(
        did='POST {"text": "... \\ud800"} to /api/chat/conversations/N/messages; the same '
        "question on the chat socket, then a ping",
        came_back={"rest": response.status_code, "socket": socket, "then ping": after},
        checks=[
            ("400 from the API", response.status_code == 400),
            ("'invalid' on the socket, which stays open", (socket, after) == ("invalid", "pong")),
            ("nothing stored", stored() == before),
        ],
    )


@attack("no-role", cap=30)
def no_role(store: Store) -> Outcome:
    """A signed-in user with no role reads the knowledge base by token and by session,
    and opens a chat socket (issue 16 point 7: they read everything)."""
    nora, document = store.account("nora"), store.manual()
    images = [
        f"/knowledge/documents/{document}/pages/1/image.png",
        f"/knowledge/documents/{document}/pages/1/thumbnail.png",
    ]
    by_token = [  # what a token opens: the API, and the page images citations link to
        "/api/knowledge/documents",
        f"/api/knowledge/documents/{document}",
        f"/api/knowledge/documents/{document}/pages/1",
        "/api/knowledge/search?q=walk-in",
        *images,
    ]
    by_session = [f"/knowledge/documents/{document}/original", *images]
    with store.deployment.client(nora) as client:
        statuses = {f"token {path}": client.get(path).status_code for path in by_token}
    with store.deployment.browser(nora) as browser:
        statuses |= {f"session {path}": browser.get(path).status_code for path in by_session}

    conversation = store.conversation("nora")

    async def chat_socket():
        try:
            async with store.socket(nora, conversation) as ws:
                await ready(ws)
                return "opened"
        except InvalidStatus as refused:
            return f"refused {refused.response.status_code}"
        except ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else 'without a code'}"

    socket = asyncio.run(asyncio.wait_for(chat_socket(), store.left()))
    return Outcome(
        did=f"GET {len(by_token)} knowledge paths by API token and {len(by_session)} by "
        "session (documents, a page, search, the original, page images); open a chat socket",
        came_back=dict(Counter([str(s) for s in statuses.values()] + [f"socket {socket}"])),
        checks=[
            ("403 for every read", set(statuses.values()) == {403}),
            ("the chat socket refused", socket != "opened"),
        ],
        figures={"not_403": {path: s for path, s in statuses.items() if s != 403}},
    )


@attack("login-lockout", cap=60)
def login_lockout(store: Store) -> Outcome:
    """100 wrong passwords for one username from one address, then the right one, on the
    sign-in page and the admin's (issue 16 point 3: the right one worked at once)."""
    dana, wrong = store.account("dana"), 100
    statuses, first_locked = [], None
    with store.deployment.browser() as browser:

        def sign_in(password: str, path: str = "/accounts/login/") -> int:
            browser.get(path)  # the CSRF cookie
            token = browser.cookies[settings.CSRF_COOKIE_NAME]
            form = {"username": dana.username, "password": password}
            return browser.post(path, data={**form, "csrfmiddlewaretoken": token}).status_code

        for attempt in range(1, wrong + 1):
            statuses.append(sign_in(f"guess-{attempt}"))
            if statuses[-1] == 429 and first_locked is None:
                first_locked = attempt
            store.left()
        right = sign_in(dana.password)
        admin = sign_in(dana.password, "/admin/login/")
        signed_in = settings.SESSION_COOKIE_NAME in browser.cookies
    return Outcome(
        did=f"{wrong} wrong passwords for {dana.username} on /accounts/login/, then the "
        "right one there and on /admin/login/",
        came_back={
            "wrong": dict(Counter(map(str, statuses))),
            "right password": right,
            "right password in the admin": admin,
        },
        checks=[
            (
                f"locked by wrong password {settings.AXES_FAILURE_LIMIT}",
                first_locked == settings.AXES_FAILURE_LIMIT,
            ),
            (
                "the right password refused (429) on both pages, no session",
                (right, admin, signed_in) == (429, 429, False),
            ),
        ],
        figures={"locked_at_attempt": first_locked},
    )


def _deactivating_form(username: str) -> tuple[str, dict]:
    """The admin page of ``username`` and its form as ops saves it with "active" unticked,
    but for the CSRF token (read from the page when it is posted)."""
    person = get_user_model().objects.get(username=username)
    joined = timezone.localtime(person.date_joined)
    form = {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        # is_active left out: unticked
        "groups": [str(pk) for pk in person.groups.values_list("pk", flat=True)],
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
        "_save": "Save",
    }
    return f"/admin/auth/user/{person.pk}/change/", form


def _save_in_admin(deployment: Deployment, ops: Account, path: str, form: dict) -> int:
    """``ops`` saves ``form`` on the admin page ``path``, as a person would; the status.
    HTTP only: it runs on a thread of its own, where a database connection would outlive
    the benchmark (on PostgreSQL it kept the sandbox database from being dropped)."""
    with deployment.browser(ops) as browser:
        page = browser.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        data = {"csrfmiddlewaretoken": token, **form}
        return browser.post(path, data=data, headers={"Referer": deployment.base}).status_code


@attack("deactivated-socket", cap=30)
def deactivated_socket(store: Store) -> Outcome:
    """Erin's chat socket is open when ops deactivates her account in the admin: it is
    closed (4401) and answers nothing more (issue 16 point 7: it kept answering)."""
    erin = store.account("erin")
    conversation = store.conversation("erin")
    ops = store.account("olive")
    path, form = _deactivating_form(erin.username)  # the database is read here, not in the thread

    async def scenario():
        async with store.socket(erin, conversation) as ws:
            await ready(ws)
            first = ended_as((await ask(ws))[1])
            saved = await asyncio.to_thread(_save_in_admin, store.deployment, ops, path, form)
            began = time.monotonic()
            try:
                await asyncio.wait_for(ws.wait_closed(), 3)
                return first, saved, "closed", ws.close_code, time.monotonic() - began
            except TimeoutError:
                pass
            try:  # still open: the next question must not be answered
                _, event = await ask(ws, timeout=10)
                await asyncio.wait_for(ws.wait_closed(), 3)
                return first, saved, f"asked: {ended_as(event)}", ws.close_code, None
            except (ConnectionClosed, TimeoutError):
                return first, saved, "asked: no answer", ws.close_code, None

    first, saved, then, code, closed_s = asyncio.run(asyncio.wait_for(scenario(), store.left()))
    inactive = not get_user_model().objects.get(pk=erin.pk).is_active
    return Outcome(
        did="erin asks on her chat socket, ops unticks 'active' on her admin page, the "
        "socket is watched (and asked again if it stays open 3 s)",
        came_back={"before": first, "admin save": saved, "after": then, "close code": code},
        checks=[
            ("answered before", first == "done"),
            ("the admin saved her as inactive", saved == 302 and inactive),
            ("closed with 4401 within 3 s of the change", then == "closed" and code == 4401),
        ],
        figures={"closed_after_s": round(closed_s, 3) if closed_s is not None else None},
    )


ATTACKS = [
    foreign_host,
    wrong_origin,
    big_body,
    oversize_json,
    lone_surrogate,
    no_role,
    login_lockout,
    deactivated_socket,
]
