"""Helpers for tests that run real processes: a web server, a Celery worker, beat."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

from lineled.bench import database_url, stop, wait_for_line, worker_argv

ROOT = Path(__file__).resolve().parent.parent
ENV_KEYS_TO_DROP = ("DATABASE_URL", "REDIS_URL", "LINELED_ENV", "SECRET_KEY", "ALLOWED_HOSTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus the profile variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS_TO_DROP}
    env["PYTHONUNBUFFERED"] = "1"
    # A child with a var folder of its own still reads the embeddings this run computed
    # (the cache is keyed by model and text: what it holds is the same in any store).
    env["LINELED_EMBED_CACHE"] = settings.EMBED_CACHE or "off"
    env["VOICE_MODELS_DIR"] = settings.VOICE_MODELS_DIR  # and the whisper model assembled once
    env.update(extra)
    return env


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child that must share this test run's database, broker and key."""
    env = clean_env(
        DATABASE_URL=database_url(),  # the test database
        SECRET_KEY=settings.SECRET_KEY,
        LINELED_VAR_DIR=str(settings.VAR_DIR),
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
        env["CHANNELS_PREFIX"] = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    env.update(extra)
    return env


def run_python(argv: list[str], env: dict[str, str], timeout: float = 120):
    """Run ``python ARGV...`` from the project root; output captured as text."""
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def wait_for_http(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered, even if not 2xx
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], log: Path):
    """Run ``argv`` from the project root, output to ``log``; stopped on exit."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            yield process
        finally:
            stop(process)


@contextlib.contextmanager
def web_server(tmp_path: Path, **env: str):
    """The real ASGI app under uvicorn on a free port; yields its base URL."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "lineled.asgi:application",
        "--port",
        str(port),
        "--ws",
        "websockets-sansio",
        "--lifespan",
        "off",
        # As `serve` does: a connection left open does not hold the server's exit for
        # the 15 s `stop` waits before it kills.
        "--timeout-graceful-shutdown",
        "5",
    ]
    with running(argv, child_env(**env), tmp_path / "web.log") as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{base}/healthz", timeout=30, process=process)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{(tmp_path / 'web.log').read_text()}") from None
        yield base


@contextlib.contextmanager
def celery_worker(tmp_path: Path, queue: str, **env: str):
    log = tmp_path / "worker.log"
    with running(worker_argv(queue, f"test-{queue}"), child_env(**env), log) as process:
        # Tests time what the worker does, not how long Python takes to start it: on a
        # loaded machine booting Django and Celery alone can take longer than a check's
        # own deadline.
        wait_for_line(log, " ready.", timeout=90, process=process)
        yield process
