"""A private deployment to attack or load: ``manage.py serve`` on a free loopback port,
made like ``make run``'s (embedded profile, DEBUG off, one worker with its pool, beat,
the watchdog) but on the benchmark sandbox's database and a var folder of its own, so
its media, broker queue and secret never touch the store's.

``redis=True`` (``bench load`` in the services profile) gives it this environment's
Redis for its channel layer and cache, under key prefixes of its own, so that several
web processes share them; it then runs no worker, whose broker would be the store's.

The benchmark's own process shares the database: it makes the accounts and sessions an
attack needs, and reads what an attack left behind, through the ORM.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

from chat.models import Message
from knowledge.models import Document, Page
from lineled import services
from lineled.bench import database_url, stop, wait_for_line
from lineled.lib.procs import die_with_parent
from lineled.roles import Role

# What makes a profile or points at the store: a private deployment sets its own. The
# limits under attack (rates, body and ingestion limits...) are inherited, so the
# deployment is limited as this environment configures the store.
PROFILE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "LINELED_ENV",
    "LINELED_VAR_DIR",
    "LINELED_QUEUE_DIR",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "BEHIND_TLS_PROXY",
    "DEBUG",
    "HOST",
    "PORT",
    "LINELED_MODEL",
    "RAGIE_API_KEY",
    "SEARCH_BACKEND",
)
START_SECONDS = 90  # a cold start on a busy 2-core machine imports for a while


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Account:
    """A user of the deployment, signed in both ways the app knows."""

    username: str
    pk: int
    session: str  # a session key, for pages and sockets
    token: str  # an API token, for the REST API
    password: str = ""


class Deployment:
    """``serve`` started on ``var``; ``worker=False`` serves the web app alone, ``web``
    is its number of web processes (None: serve's default)."""

    def __init__(
        self, var: Path, *, worker: bool = True, web: int | None = None, redis: bool = False
    ):
        if redis and worker:
            raise ValueError("a deployment on the store's Redis runs no worker")
        self.var = var
        self.worker = worker
        self.web = web
        self.redis = redis
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.origin = self.base  # what a page of this deployment sends as its Origin
        self.log = var / "serve.log"
        self.process: subprocess.Popen | None = None

    @property
    def media(self) -> Path:
        return self.var / "media"

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
        env.update(
            PYTHONUNBUFFERED="1",
            DATABASE_URL=database_url(),  # the sandbox's
            LINELED_VAR_DIR=str(self.var),  # media, broker folders, caches
            SECRET_KEY=settings.SECRET_KEY,  # so sessions made here are valid there
            # The same texts' embeddings, computed once for the store and reused.
            LINELED_EMBED_CACHE=settings.EMBED_CACHE or "off",
        )
        if self.redis:
            prefix = f"lineled-bench-{self.port}"
            env.update(REDIS_URL=settings.REDIS_URL, CHANNELS_PREFIX=prefix, CACHE_PREFIX=prefix)
        return env

    def start(self) -> None:
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve"]
        argv += ["--port", str(self.port)] + ([] if self.worker else ["--no-worker"])
        argv += ["--web", str(self.web)] if self.web else []
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=settings.BASE_DIR,
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A benchmark killed outright takes its deployment with it.
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + START_SECONDS
        wait_for_line(
            self.log, "Line Lead is running at", timeout=START_SECONDS, process=self.process
        )
        if self.worker:
            left = max(1.0, deadline - time.monotonic())
            wait_for_line(self.log, " ready.", timeout=left, process=self.process)
        # The first web process up answers; each of the others says so once it has loaded.
        while self.log.read_text(errors="replace").count("Started server process") < (
            self.web or 1
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not every web process started:\n{self.tail()}")
            time.sleep(0.2)

    def up(self) -> float:
        """``start()`` for a benchmark: the seconds it took, or ValueError with the end of
        the log when it did not start (stopped then)."""
        began = time.monotonic()
        try:
            self.start()
        except (RuntimeError, TimeoutError):
            self.stop()
            raise ValueError(f"the private deployment did not start:\n{self.tail()}") from None
        return time.monotonic() - began

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=40)  # serve gives its children 15 s

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # --- Accounts ----------------------------------------------------------------------

    def account(self, username: str, role: Role | None, password: str = "") -> Account:
        """A user of ``role`` (None: signed in, no role), with a session and a token."""
        user = get_user_model().objects.create_user(username, password=password or None)
        if role is not None:
            services.set_role(user, role)
        _, token = services.create_token(user, "bench")
        return Account(username, user.pk, _session_for(user), token, password)

    def client(self, account: Account | None = None, *, timeout: float = 10) -> httpx.Client:
        """An HTTP client of ``account`` (signed out without one) by its API token."""
        headers = {"Authorization": f"Bearer {account.token}"} if account else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=timeout, trust_env=False)

    def browser(self, account: Account | None = None, *, timeout: float = 10) -> httpx.Client:
        """An HTTP client of ``account`` by its session cookie, as a browser signs in."""
        cookies = {settings.SESSION_COOKIE_NAME: account.session} if account else {}
        return httpx.Client(base_url=self.base, cookies=cookies, timeout=timeout, trust_env=False)

    def cookie(self, account: Account) -> str:
        return f"{settings.SESSION_COOKIE_NAME}={account.session}"

    # --- Processes ---------------------------------------------------------------------

    def processes(self) -> dict[str, list[int]]:
        """The deployment's processes by part: web (those that serve: uvicorn, or its
        worker processes when it has several), worker (the main process), pool (its
        children, which run the tasks), beat, watch."""
        found: dict[str, list[int]] = {"web": [], "worker": [], "pool": [], "beat": [], "watch": []}
        if self.process is None:
            return found
        table = _process_table()
        for pid in _children(table, self.process.pid):
            command = table[pid][1]
            if "uvicorn" in command:
                workers = [c for c in _children(table, pid) if "spawn_main" in table[c][1]]
                found["web"] += workers or [pid]
            elif "celery" in command and " worker" in command:
                found["worker"].append(pid)
                found["pool"] += _children(table, pid)
            elif "celery" in command and " beat" in command:
                found["beat"].append(pid)
            elif "sample_metrics" in command:
                found["watch"].append(pid)
        return found

    # --- What attacks leave behind -----------------------------------------------------

    def leftovers(self) -> dict[str, int]:
        """Answers not finished, documents still being ingested, and page images on disk
        that no page refers to (of deleted or failed documents, or of a dead run)."""
        unfinished = Message.objects.filter(
            status__in=[Message.Status.PENDING, Message.Status.STREAMING]
        )
        used = {name for pair in Page.objects.values_list("image", "thumbnail") for name in pair}
        on_disk = [
            path.relative_to(self.media).as_posix()
            for path in (self.media / "pages").rglob("*")
            if path.is_file()
        ]
        return {
            "answers_unfinished": unfinished.count(),
            "documents_processing": Document.objects.filter(
                status=Document.Status.PROCESSING
            ).count(),
            "orphan_page_images": sum(1 for name in on_disk if name not in used),
        }


def _session_for(user) -> str:
    """A session signed in as ``user``, as ``Client.force_login`` makes one."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        table[int(entry.name)] = (parent, command)
    return table


def _children(table: dict[int, tuple[int, str]], pid: int) -> list[int]:
    return sorted(child for child, (parent, _) in table.items() if parent == pid)


def cpu_seconds(pid: int) -> float:
    """The CPU time ``pid`` has used, user and system; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) megabytes of ``pid``; (0, 0) once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    peak = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    return rss, peak
