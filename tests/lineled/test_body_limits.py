"""Request bodies are bounded before anything reads them (lineled.edge.BodyLimit), through
the real ASGI application: the caller's limit depends on whether it is signed in."""

import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from knowledge.ingest.detect import SIZE_LIMITS
from knowledge.models import Document
from lineled import services
from lineled.asgi import application

MB = 1024 * 1024
CSRF = get_token(RequestFactory().get("/"))


def http(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> ApplicationCommunicator:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    return ApplicationCommunicator(application, scope)


async def send_body(app: ApplicationCommunicator, body: bytes, chunk: int = 64 * 1024) -> None:
    for start in range(0, len(body), chunk):
        more = start + chunk < len(body)
        await app.send_input(
            {"type": "http.request", "body": body[start : start + chunk], "more_body": more}
        )


async def response(app: ApplicationCommunicator, timeout: float = 5) -> tuple[int, bytes]:
    start = await app.receive_output(timeout)
    body = b""
    while True:
        message = await app.receive_output(timeout)
        body += message.get("body", b"")
        if not message.get("more_body"):
            return start["status"], body


async def test_an_anonymous_two_gigabyte_post_is_refused_at_once_unread():
    app = http("POST", "/healthz", [(b"content-length", b"2000000000")])
    status, body = await response(app, timeout=2)  # no byte of the body was sent
    assert status == 413
    assert body.decode() == (
        "the request body is 1907.3 MB; at most 64 KB is accepted here before signing in"
    )
    await app.wait(timeout=1)  # the app is done: nothing waits for, or spooled, the body


async def test_a_streamed_body_is_cut_off_when_it_grows_past_the_limit():
    app = http("POST", "/accounts/login/", [(b"transfer-encoding", b"chunked")])
    await send_body(
        app, b"username=" + b"x" * (10 * settings.BODY_LIMIT_ANONYMOUS), chunk=16 * 1024
    )
    status, body = await response(app)
    assert status == 413 and b"over 64 KB" in body
    await app.wait(timeout=1)
    assert app.input_queue.qsize() > 30  # most of the body was never read


def multipart(name: str, data: bytes) -> tuple[bytes, bytes]:
    boundary = "line-lead-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: text/markdown\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}".encode()


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_manager_uploads_a_manual_that_a_stranger_cannot_send(
    bob, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    assert max(SIZE_LIMITS.values()) < settings.BODY_LIMIT_UPLOAD  # the largest manual fits
    client = Client()
    await client.aforce_login(bob)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    body, kind = multipart("closing.md", b"# Closing\n\n" + b"Wipe the fryer hood. " * 150_000)
    assert len(body) > settings.BODY_LIMIT  # over the limit of other requests
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]

    stranger = http("POST", "/api/knowledge/documents", headers)
    status, answer = await response(stranger)
    assert status == 413 and "before signing in" in json.loads(answer)["message"]

    cookie = f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={CSRF}"
    signed_in = [(b"cookie", cookie.encode()), (b"x-csrftoken", CSRF.encode())]
    manager = http("POST", "/api/knowledge/documents", headers + signed_in)
    await send_body(manager, body, chunk=MB)
    status, answer = await response(manager, timeout=30)
    assert status == 201, answer
    assert await Document.objects.filter(filename="closing.md").aexists()


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_user_gets_413_for_a_three_megabyte_question(alice):
    from asgiref.sync import sync_to_async

    _, token = await sync_to_async(services.create_token)(alice, "till")
    body = json.dumps({"text": "fries " * 500_000}).encode()
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    app = http("POST", "/api/chat/conversations/1/messages", headers)
    status, answer = await response(app)
    assert status == 413
    assert json.loads(answer) == {
        "message": "the request body is 2.9 MB; at most 2.0 MB is accepted here"
    }
