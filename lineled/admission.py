"""Admission control: how much one user, and one process, may ask of the server at once.

Two kinds of limit, checked before any work is done; what is over a limit is refused at
once with ``Busy`` (HTTP 429 with Retry-After through the API's error handler, an error
event with code ``try_again`` on a socket):

- Rates, requests per period per user (``RATE_*`` settings), counted with django-ninja's
  throttles in Django's cache, so every web process shares them when the cache is
  Redis. The API applies them as NinjaAPI/operation throttles; a socket calls
  ``check_rate`` (or ``admit_answer``, which includes the ``RATE_ASK`` check).
- Answers being written: at most ``ANSWERS_PER_USER`` for one user (slots in the
  cache, so across processes) and ``ANSWERS_PER_PROCESS`` in this process. An admitted
  answer holds a ``Ticket``; ``chat.services.run_turn(..., ticket=...)`` releases it
  when the answer is finished. A slot left by a process that died expires after
  ``CHAT_STALE_ANSWER_SECONDS``, when the sweep also fails its answer.

Any path that starts an answer for a user's own question calls ``admit_answer`` (or,
in async code, ``await aadmit_answer(user)``) and hands the ticket to ``run_turn``;
``Busy`` is a ``DomainError``, so a caller that already reports those needs no more.
The chat socket and API, the voice session (``voice.session``, before each spoken
question is answered) and the voice API (``voice.api.ask``, before the recording is
decoded) all do.

Answers the system asks itself (validation, monitoring probes, ``manage.py ask``) pass
no ticket and are not limited.
"""

from __future__ import annotations

import copy
import math
import secrets
import threading
import weakref
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from ninja.errors import Throttled
from ninja.throttling import SimpleRateThrottle

from lineled.errors import DomainError

RETRY_BUSY_SECONDS = 2  # answers take seconds; try again soon


class Busy(DomainError):
    """Refused for now: over a rate, or too many answers being written."""

    status = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))

    def event(self) -> dict:
        """The error event a socket (chat, voice) sends for this refusal."""
        return {
            "type": "error",
            "code": "try_again",
            "message": self.message,
            "retry_after": self.retry_after,
        }


# --- Rates (django-ninja throttles) ------------------------------------------------------


class _Rate(SimpleRateThrottle):
    """A django-ninja throttle whose rate is the setting ``setting`` read when it is
    checked (so operators and tests can change it), and that can be shared between
    concurrent requests: ninja keeps one throttle per operation and the base class
    keeps a request's history on the instance, so each check works on a copy."""

    def __init__(self, setting: str):
        self.setting = setting
        self.scope = setting.removeprefix("RATE_").lower()
        self._last = threading.local()

    @property
    def rate(self) -> str:
        return getattr(settings, self.setting)

    @property
    def num_requests(self) -> int | None:
        return self.parse_rate(self.rate)[0] if self.rate else None

    @property
    def duration(self) -> int | None:
        return self.parse_rate(self.rate)[1] if self.rate else None

    def allow_request(self, request) -> bool:
        call = copy.copy(self)
        allowed = SimpleRateThrottle.allow_request(call, request)
        self._last.call = call
        return allowed

    def wait(self) -> float | None:
        call = getattr(self._last, "call", None)
        if call is None or not getattr(call, "history", None):
            return None
        return SimpleRateThrottle.wait(call)


class UserRate(_Rate):
    """Counted per signed-in user (``request.auth``), whether by session or token."""

    def get_cache_key(self, request) -> str | None:
        user = getattr(request, "auth", None)
        if not self.rate or user is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AddressRate(_Rate):
    """Counted per client address (``TRUSTED_PROXIES`` says whether to read
    X-Forwarded-For)."""

    def get_cache_key(self, request) -> str | None:
        if not self.rate:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousGate:
    """Last in the API's authentication list: a request that no method signed in is
    counted per address (``RATE_API_ANON``), and over the rate answered 429 instead of
    401, so guessing tokens or hammering the API signed out is slowed down too (ninja
    checks throttles only after a successful sign-in)."""

    def __init__(self):
        self.rate = AddressRate("RATE_API_ANON")

    def __call__(self, request):
        if not self.rate.allow_request(request):
            raise Throttled(wait=self.rate.wait())
        return None


@dataclass
class _Caller:
    """What a throttle reads of a request, for checks that have no HTTP request."""

    auth: object


_RATES: dict[str, UserRate] = {}


def check_rate(user, setting: str) -> None:
    """Count one request of ``user`` against the rate ``setting`` (e.g. "RATE_ASK"), the
    same count the API keeps; ``Busy`` if it is over."""
    rate = _RATES.setdefault(setting, UserRate(setting))
    if not rate.allow_request(_Caller(user)):
        wait = rate.wait() or 1
        raise Busy(f"too many requests: try again in {math.ceil(wait)} s", wait)


# --- Answers in flight -------------------------------------------------------------------

_lock = threading.Lock()
_in_process = 0


def _release_process_slot() -> None:
    global _in_process
    with _lock:
        _in_process -= 1


def _release(key: str, nonce: str) -> None:
    _release_process_slot()
    if cache.get(key) == nonce:  # not if it expired meanwhile and was taken again
        cache.delete(key)


class Ticket:
    """An admitted answer. ``release()`` (once it is finished; calling it again does
    nothing) frees its slots; a ticket dropped without it frees them when collected."""

    def __init__(self, key: str, nonce: str):
        self._finalizer = weakref.finalize(self, _release, key, nonce)
        self._finalizer.atexit = False  # a process exiting frees its slots by expiry

    def release(self) -> None:
        self._finalizer()


def admit_answer(user) -> Ticket:
    """Admit one answer for ``user``, or raise ``Busy``: over ``RATE_ASK``, with
    ``ANSWERS_PER_USER`` answers already being written for them, or with
    ``ANSWERS_PER_PROCESS`` in this process."""
    global _in_process
    check_rate(user, "RATE_ASK")
    nonce = secrets.token_hex(8)
    for n in range(settings.ANSWERS_PER_USER):
        key = f"answering:{user.pk}:{n}"
        if cache.add(key, nonce, timeout=settings.CHAT_STALE_ANSWER_SECONDS):
            break
    else:
        count = settings.ANSWERS_PER_USER
        raise Busy(
            f"you already have {count} answer{'s' if count > 1 else ''} being written: "
            "try again when one is done",
            RETRY_BUSY_SECONDS,
        )
    with _lock:
        admitted = _in_process < settings.ANSWERS_PER_PROCESS
        if admitted:
            _in_process += 1
    if not admitted:
        cache.delete(key)
        raise Busy(
            "the assistant is busy with other questions: try again in a few seconds",
            RETRY_BUSY_SECONDS,
        )
    return Ticket(key, nonce)


async def aadmit_answer(user) -> Ticket:
    """``admit_answer`` for async code (the cache may be Redis: not on the event loop)."""
    return await sync_to_async(admit_answer)(user)
