"""Where the async code of an answer runs its database work.

``sync_to_async`` sends thread-sensitive work to one thread per process when no sync
caller is waiting: every answer's reads and writes (store the question, search, save
the answer) queued behind each other there, one at a time, however many answers were
being written. ``lane`` runs them on a small pool instead (``DB_LANES`` threads, so at
most that many connections a process), each call between ``close_old_connections`` as
Channels' ``database_sync_to_async`` does.

Code run from a sync caller through ``async_to_sync`` (a command, the validation
client, a test) keeps that caller's thread, its connection and any transaction it has
open: the pool's connections could not see what it has not committed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync
from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")

_pool = ThreadPoolExecutor(max_workers=settings.DB_LANES, thread_name_prefix="db-lane")


def lane(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``fn`` as a coroutine function run on a database lane (see the module)."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if _a_sync_caller_waits():
            return await SyncToAsync(fn)(*args, **kwargs)
        return await SyncToAsync(_closing, thread_sensitive=False, executor=_pool)(
            fn, *args, **kwargs
        )

    return run


def _a_sync_caller_waits() -> bool:
    """True inside ``async_to_sync``: the thread that called it waits for this code
    and is where asgiref runs thread-sensitive work (its connection, its transaction)."""
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return True
    try:
        return asyncio.get_running_loop() in AsyncToSync.loop_thread_executors
    except RuntimeError:
        return False


def _closing(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    close_old_connections()  # one left broken or past CONN_MAX_AGE by an earlier call
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()
