"""What the ASGI app checks before Django or Channels see a request (lineled.asgi).

``BodyLimit`` answers 413 to a request body over the caller's limit before anything
reads it: Django's ASGI handler spools the whole body to a temporary file before any
view, middleware or authentication runs, so a limit checked later comes too late.
``SameOriginValidator`` lets a websocket open only from a page of the origin it
connects to.
"""

from __future__ import annotations

import json
import re
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from lineled.services import user_for_token

KB = 1024
MB = 1024 * KB


def _headers(scope) -> dict[str, str]:
    """The request's headers by lower-case name (a repeated one: its last value)."""
    return {k.decode("latin1").lower(): v.decode("latin1") for k, v in scope.get("headers", [])}


class BodyLimit:
    """HTTP bodies over the caller's limit get 413 before the app reads them.

    The limits are settings: ``BODY_LIMIT_ANONYMOUS`` for a request without a valid
    session or API token, ``BODY_LIMIT`` when signed in, and ``BODY_LIMIT_UPLOAD`` when
    signed in on one of ``BODY_LIMIT_UPLOAD_PATHS``. A declared Content-Length over the
    limit is answered at once and the body is never read; a chunked body is counted as
    it arrives and cut off as it passes the limit (the app sees the client go away, so
    Django stops spooling it). Credentials are looked up only for a body larger than the
    anonymous limit: small requests cost nothing more.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        declared = _content_length(headers)
        chunked = "transfer-encoding" in headers or declared == -1
        if not chunked and (declared is None or declared <= settings.BODY_LIMIT_ANONYMOUS):
            return await self.app(scope, receive, send)
        limit, anonymous = await self._limit_for(scope["path"], headers)
        if not chunked and declared > limit:
            return await _too_large(send, scope, limit, anonymous, size=declared)

        received = 0
        refused = False

        async def receive_within_limit():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _too_large(send, scope, limit, anonymous)
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message):
            if not refused:
                await send(message)

        return await self.app(scope, receive_within_limit, send_unless_refused)

    @staticmethod
    async def _limit_for(path: str, headers: dict[str, str]) -> tuple[int, bool]:
        """(limit, anonymous) for this caller and path."""
        token, session_key = _credentials(headers)
        if not (token or session_key) or not await _signed_in(token, session_key):
            return settings.BODY_LIMIT_ANONYMOUS, True
        if any(re.fullmatch(pattern, path) for pattern in settings.BODY_LIMIT_UPLOAD_PATHS):
            return settings.BODY_LIMIT_UPLOAD, False
        return settings.BODY_LIMIT, False


def _content_length(headers: dict[str, str]) -> int | None:
    """The declared length; None without one, -1 when it is not a number."""
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return -1


def _credentials(headers: dict[str, str]) -> tuple[str, str]:
    """(bearer token, session key) the request carries, each "" when absent."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    key = parse_cookie(headers.get("cookie", "")).get(settings.SESSION_COOKIE_NAME, "")
    return token, key


@database_sync_to_async  # as consumers do: old connections are closed around it
def _signed_in(token: str, session_key: str) -> bool:
    """Whether the token is valid, or else the session is an active user's: the two
    ways lineled.auth lets a caller in."""
    if token:
        return user_for_token(token) is not None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(SimpleNamespace(session=session)).is_authenticated


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / KB:.0f} KB"


async def _too_large(send, scope, limit: int, anonymous: bool, size: int | None = None) -> None:
    where = " before signing in" if anonymous else ""
    if size is None:  # a streamed body, stopped as it passed the limit
        message = f"the request body is over {_size(limit)}, the most accepted here{where}"
    else:
        message = (
            f"the request body is {_size(size)}; at most {_size(limit)} is accepted here{where}"
        )
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"message": message}).encode(), b"application/json"
    else:
        body, kind = message.encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        # The unread body cannot be skipped to reach a next request on this connection.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SameOriginValidator(OriginValidator):
    """A websocket opens only when its Origin is the origin it connects to: the same
    scheme (https for wss, or as a trusted TLS proxy says), host and port, with the host
    one of ALLOWED_HOSTS; or one of CSRF_TRUSTED_ORIGINS. That is what Django's CSRF
    check asks of a form post. Channels' AllowedHostsOriginValidator compares the host
    name only, so a page on another port or plain http of the same host could connect.
    """

    def __init__(self, application):
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        if self.origin_matches(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def origin_matches(self, scope) -> bool:
        headers = _headers(scope)
        if not headers.get("origin"):
            return False
        origin = urlparse(headers["origin"])
        # Channels writes a subdomain wildcard as ".example.com", Django as "*.example.com".
        allowed = [pattern.replace("://*.", "://.") for pattern in settings.CSRF_TRUSTED_ORIGINS]
        host = headers.get("host", "")
        domain, _ = split_domain_port(host)
        if domain and validate_host(domain, settings.ALLOWED_HOSTS):
            allowed.append(f"{_scheme(scope, headers)}://{host}")
        return any(self.match_allowed_origin(origin, pattern) for pattern in allowed)


def _scheme(scope, headers: dict[str, str]) -> str:
    """The page scheme a socket's origin should have, as Django's request.scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure = settings.SECURE_PROXY_SSL_HEADER
        value = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower())
        if value is not None:
            return "https" if value.split(",")[0].strip() == secure else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


class SocketCap:
    """At most ``SOCKETS_PER_SIGN_IN`` open websockets per session or API token in this
    process; one more is refused at its handshake (429 "too many open connections"),
    before any session, user or database work: a flood of sockets from one sign-in
    (200 asks at once) costs the server little and no other user's time. 0: no cap.

    Counted per process, like ANSWERS_PER_PROCESS: the count lives with the sockets it
    counts and needs no clean-up when a process stops. A browser keeps two or three per
    open tab (notifications, chat, voice). Sockets with neither credential pass: the
    consumer turns them away (4401).
    """

    def __init__(self, application):
        self.application = application
        self.open: dict[str, int] = {}

    async def __call__(self, scope, receive, send):
        cap = settings.SOCKETS_PER_SIGN_IN
        token, session_key = _credentials(_headers(scope))
        key = f"token:{token}" if token else f"session:{session_key}" if session_key else ""
        if not cap or not key:
            return await self.application(scope, receive, send)
        if self.open.get(key, 0) >= cap:
            return await _too_many(scope, receive, send, cap)
        self.open[key] = self.open.get(key, 0) + 1
        try:
            return await self.application(scope, receive, send)
        finally:
            self.open[key] -= 1
            if not self.open[key]:
                del self.open[key]


async def _too_many(scope, receive, send, cap: int) -> None:
    """Refuse the handshake: 429 with the reason where the server can send a response
    to a handshake (uvicorn can), else a plain refusal (403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close"})
        return
    body = json.dumps(
        {"message": f"too many open connections for one sign-in (at most {cap}): "
         "close other Line Lead tabs, or try again shortly"}
    ).encode()  # fmt: skip
    headers = [(b"content-type", b"application/json"), (b"retry-after", b"5")]
    await send({"type": "websocket.http.response.start", "status": 429, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
