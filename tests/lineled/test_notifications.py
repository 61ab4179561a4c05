"""The notifications websocket: session auth, origin check, and group messages."""

import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from lineled import notify, services
from lineled.asgi import application
from lineled.notify import role_group, user_group
from lineled.roles import Role
from tests.support import web_server


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def communicator(cookie: str = "", origin: bytes = b"http://localhost"):
    headers = [(b"origin", origin), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/notifications/", headers=headers)


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_user_is_greeted_and_answered():
    from django.contrib.auth import get_user_model

    def make_user():
        user = get_user_model().objects.create_user("dana", password="dana-pass-123")
        services.set_role(user, Role.MANAGER)
        return session_cookie(user)

    cookie = await database_sync_to_async(make_user)()
    ws = communicator(cookie)
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_json_from() == {"type": "hello", "user": "dana", "role": "manager"}
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.send_to(text_data="not json")
    assert (await ws.receive_json_from())["type"] == "error"
    await ws.disconnect()


async def refused(ws: WebsocketCommunicator) -> tuple[bool, int | None]:
    """Connect, then send the disconnect a browser sends once its socket is refused, and
    give the application a second to end before it is cancelled. Left running, a refused
    consumer's wait on the Redis channel layer was cancelled only when the test's event
    loop closed, and that hung the teardown past the 120 s timeout (CI, with Redis)."""
    try:
        return await ws.connect()
    finally:
        await ws.disconnect(timeout=1)


@pytest.mark.django_db(transaction=True)
async def test_a_stranger_is_turned_away():
    connected, code = await refused(communicator())
    assert not connected
    assert code == 4401


@pytest.mark.django_db(transaction=True)
async def test_a_page_from_another_site_cannot_open_the_socket():
    connected, _ = await refused(communicator(origin=b"https://evil.example"))
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_a_socket_opens_only_from_a_page_of_the_origin_it_connects_to():
    """Scheme, host and port must all match, as Django's CSRF check wants of a form post.
    A stranger past the origin check reaches the consumer, which asks them to sign in
    (4401); one stopped by it is closed before that (1000)."""
    cases = [
        (b"localhost:8000", b"http://localhost:8000", 4401),
        (b"localhost:8000", b"https://localhost:8000", 1000),  # another scheme
        (b"localhost:8000", b"http://localhost:9000", 1000),  # another port
        (b"localhost:8000", b"http://localhost", 1000),  # port 80
        (b"evil.example", b"http://evil.example", 1000),  # not one of ALLOWED_HOSTS
    ]
    for host, origin, expected in cases:
        headers = [(b"origin", origin), (b"host", host)]
        ws = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, code = await refused(ws)
        assert (connected, code) == (False, expected), (host, origin)


@pytest.mark.django_db(transaction=True)
def test_a_group_message_from_another_process_reaches_the_connected_browser(
    tmp_path, redis_url, bob
):
    """The web server runs in its own process; this test process sends through Redis."""
    import websockets.sync.client as ws_client

    cookie = session_cookie(bob)
    with web_server(tmp_path) as base:
        url = base.replace("http://", "ws://") + "/ws/notifications/"
        with ws_client.connect(
            url, additional_headers={"Cookie": cookie, "Origin": base}
        ) as socket:
            assert json.loads(socket.recv(timeout=10))["type"] == "hello"
            notify.send(user_group(bob.pk), "notice", {"text": "walk-in at 45F"})
            assert json.loads(socket.recv(timeout=10)) == {
                "type": "notice",
                "text": "walk-in at 45F",
            }
            # A crew-wide broadcast reaches a manager too (roles include the ones below).
            notify.send(role_group(Role.CREW), "notice", {"text": "fryer 2 down"})
            assert json.loads(socket.recv(timeout=10))["text"] == "fryer 2 down"


@pytest.mark.django_db(transaction=True)
def test_the_server_refuses_a_websocket_from_a_foreign_origin(tmp_path, bob):
    import websockets.sync.client as ws_client
    from websockets.exceptions import InvalidStatus

    cookie = session_cookie(bob)
    with web_server(tmp_path) as base:
        url = base.replace("http://", "ws://") + "/ws/notifications/"
        with pytest.raises(InvalidStatus) as refused:
            ws_client.connect(
                url, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}
            )
        assert refused.value.response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_one_sign_in_past_its_sockets_is_refused_at_the_handshake_with_the_reason(tmp_path, bob):
    """A flood of sockets from one session is turned away before any work is done for
    it; another sign-in, and the same one once a socket closes, still connect."""
    import websockets.sync.client as ws_client
    from websockets.exceptions import InvalidStatus

    with web_server(tmp_path, SOCKETS_PER_SIGN_IN="2") as base:
        url = base.replace("http://", "ws://") + "/ws/notifications/"

        def connect(cookie: str):
            return ws_client.connect(url, additional_headers={"Cookie": cookie, "Origin": base})

        bobs = session_cookie(bob)
        first, second = connect(bobs), connect(bobs)
        for socket in (first, second):
            assert json.loads(socket.recv(timeout=10))["type"] == "hello"
        with pytest.raises(InvalidStatus) as refused:
            connect(bobs)
        assert refused.value.response.status_code == 429
        assert b"too many open connections for one sign-in (at most 2)" in (
            refused.value.response.body
        )
        with connect(session_cookie(bob)) as other:  # another session of the same user
            assert json.loads(other.recv(timeout=10))["type"] == "hello"
        first.close()
        # The slot frees when the server has finished with the closed socket (its group
        # leaves go through Redis), a moment after the close handshake: retry as the
        # browser does, for a while.
        deadline = time.monotonic() + 15
        while True:
            try:
                again = connect(bobs)
                break
            except InvalidStatus as still:
                assert still.response.status_code == 429
                assert time.monotonic() < deadline, "the closed socket's slot was never freed"
                time.sleep(0.1)
        with again:
            assert json.loads(again.recv(timeout=10))["type"] == "hello"
        second.close()


async def test_an_idle_redis_channel_layer_keeps_waiting_for_messages(redis_url):
    """A consumer sits in receive() between messages; with redis-py 8's default 5 s socket
    timeout, channels_redis's 5 s blocking read failed and the consumer died."""
    import asyncio

    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    name = await layer.new_channel()
    with pytest.raises(asyncio.TimeoutError):  # still waiting: no redis TimeoutError
        await asyncio.wait_for(layer.receive(name), timeout=6.5)
    await layer.send(name, {"type": "hello"})
    assert (await asyncio.wait_for(layer.receive(name), timeout=5))["type"] == "hello"
    await layer.flush()


@pytest.mark.django_db(transaction=True)
async def test_access_follows_the_role_on_an_open_notifications_socket(charlie, alice):
    """Demoted: ops broadcasts stop at once and the page hears its new role.
    Deactivated: the socket is closed (4401, the page stops reconnecting)."""
    ops = communicator(await database_sync_to_async(session_cookie)(charlie))
    assert (await ops.connect())[0]
    assert (await ops.receive_json_from())["role"] == "ops"
    crew = communicator(await database_sync_to_async(session_cookie)(alice))
    assert (await crew.connect())[0]
    await crew.receive_json_from()

    await database_sync_to_async(services.set_role)(charlie, Role.CREW)
    assert await ops.receive_json_from(timeout=2) == {
        "type": "hello",
        "user": "charlie",
        "role": "crew",
    }
    await database_sync_to_async(notify.send)(role_group(Role.OPS), "alert", {"n": 1})
    await database_sync_to_async(notify.send)(role_group(Role.CREW), "notice", {"n": 2})
    assert await ops.receive_json_from(timeout=2) == {"type": "notice", "n": 2}
    assert await crew.receive_json_from(timeout=2) == {"type": "notice", "n": 2}

    def deactivate():
        alice.is_active = False
        alice.save()

    await database_sync_to_async(deactivate)()
    assert await crew.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await ops.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_role_event_is_passed_on_only_if_the_role_still_holds(charlie):
    """A demotion no signal announced (made by another process, say) is seen when the
    next event of the role arrives."""
    ops = communicator(await database_sync_to_async(session_cookie)(charlie))
    assert (await ops.connect())[0]
    await ops.receive_json_from()
    memberships = type(charlie).groups.through.objects.filter(user=charlie)
    await memberships.adelete()  # a bulk delete: no m2m_changed

    await database_sync_to_async(notify.send)(role_group(Role.OPS), "alert", {"n": 1})
    assert await ops.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
