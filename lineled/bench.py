"""What benchmarks run in: a throwaway sandbox, and the worker and queue they may need.

A benchmark (listed by ``manage.py bench``) runs inside ``sandbox()``: a fresh
database (SQLite file under var/, or a ``<name>_bench`` database on PostgreSQL) and a
temporary media folder, so measuring never touches the store's own documents and
always starts from the same state. The benchmarks import these helpers, so this module
imports none of them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings, setup_databases, teardown_databases

from lineled.celery import app


@contextlib.contextmanager
def sandbox(label: str = "bench"):
    """A fresh, migrated database and an empty media folder for the duration."""
    database = settings.DATABASES["default"]
    test = database.setdefault("TEST", {})
    saved_name = test.get("NAME")
    if database["ENGINE"].endswith("sqlite3"):
        test["NAME"] = str(settings.VAR_DIR / f"{label}.sqlite3")
    else:
        test["NAME"] = f"{database['NAME']}_{label}"
    media = tempfile.mkdtemp(prefix=f"lineled-{label}-")
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        with override_settings(MEDIA_ROOT=media):
            yield
    finally:
        teardown_databases(old, verbosity=0)
        shutil.rmtree(media, ignore_errors=True)
        if saved_name is None:
            test.pop("NAME", None)
        else:
            test["NAME"] = saved_name


def database_url() -> str:
    """A DATABASE_URL naming the database this process uses now (a sandbox's, say), so a
    child process can share it."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for_line(log: Path, text: str, *, timeout: float, process: subprocess.Popen) -> None:
    """Wait until ``process`` writes ``text`` to ``log``; fail with the log if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = log.read_text(errors="replace") if log.exists() else ""
        if text in written:
            return
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before {text!r}:\n{written}")
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} not written within {timeout:g} s:\n{log.read_text()}")


@contextlib.contextmanager
def private_queue(queue: str):
    """Tasks sent meanwhile go to ``queue``, never to the store's own worker; what is
    left on it is dropped at the end."""
    saved = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield
    finally:
        app.conf.task_default_queue = saved
        purge(queue)


def purge(queue: str) -> None:
    """Drop the tasks waiting on ``queue``."""
    with contextlib.suppress(Exception), app.connection_for_write() as broker:
        broker.default_channel.queue_purge(queue)


def worker_argv(queue: str, name: str = "") -> list[str]:
    """A one-process Celery worker taking only ``queue``'s tasks, logging at INFO (its
    " ready." line says it is listening); named ``name`` (default: the queue)."""
    argv = [sys.executable, "-m", "celery", "-A", "lineled", "worker", "-Q", queue]
    argv += ["--pool", "solo", "-n", f"{name or queue}@%h", "-l", "INFO"]
    return argv + ["--without-mingle", "--without-gossip"]


@contextlib.contextmanager
def worker(var: Path, queue: str, *, timeout: float = 90):
    """A Celery worker for the sandbox: it reads and writes the sandbox database, keeps
    its files (speech vocabulary, media) in ``var`` instead of the store's, and takes
    only ``queue``'s tasks from the store's broker. Yields once it is ready."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url(),
        "LINELED_VAR_DIR": str(var),
        "LINELED_EMBED_CACHE": settings.EMBED_CACHE or "off",  # the same texts, computed once
        "LINELED_QUEUE_DIR": str(settings.CELERY_QUEUE_DIR),
    }
    log = var / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            worker_argv(queue), cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for_line(log, " ready.", timeout=timeout, process=process)
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Ask ``process`` to exit; kill it if it has not within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
