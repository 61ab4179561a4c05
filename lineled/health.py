"""Readiness checks: can this process reach its database, broker and channel layer?

Each check runs with a time limit and reports ``ok``, its latency and, when it
fails, a short reason. Checks run concurrently, so /readyz answers within one
time limit even when every dependency hangs.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from kombu import Connection


@dataclass
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    backend: str
    error: str | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["status"] = "ok" if self.ok else "down"
        data.pop("ok")
        if data["error"] is None:
            data.pop("error")
        return data


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    url = settings.CELERY_BROKER_URL
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    with Connection(
        url, transport_options=options, connect_timeout=settings.READYZ_TIMEOUT_SECONDS
    ) as conn:
        transport = conn.transport.driver_type
        if transport == "filesystem":
            folder = Path(options["data_folder_in"])
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise OSError(f"queue folder {folder} is missing or not writable")
        else:
            conn.ensure_connection(max_retries=1, timeout=settings.READYZ_TIMEOUT_SECONDS)
            if transport == "redis":
                conn.default_channel.client.ping()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("the channel layer returned a different message")


async def _run(name: str, backend: str, coro) -> CheckResult:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(coro, timeout=settings.READYZ_TIMEOUT_SECONDS)
        ok, error = True, None
    except TimeoutError:
        ok, error = False, f"no answer within {settings.READYZ_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # any failure is the report, not a crash
        ok, error = False, f"{type(exc).__name__}: {exc}"[:300]
    elapsed = round((time.perf_counter() - start) * 1000, 2)
    return CheckResult(name, ok, elapsed, backend, error)


async def run_checks() -> list[CheckResult]:
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return list(
        await asyncio.gather(
            _run("database", connection.vendor, sync_to_async(_database)()),
            # Not thread-sensitive: a hung broker must not hold up Django's sync thread.
            _run("broker", broker, sync_to_async(_broker, thread_sensitive=False)()),
            _run("channel_layer", layer, _channel_layer()),
        )
    )
