"""Run a few child processes in the foreground as one unit.

Used by ``manage.py serve`` to run the web server, a Celery worker and beat
together: their output is interleaved with a name prefix, and one Ctrl-C or SIGTERM
stops all of them. A child marked ``restart`` (the worker, beat) that dies is started
again after a back-off that doubles while it keeps dying quickly, so a worker killed
for its memory does not take the web server down; any other child that dies stops the
rest, so nothing is left running half-alive.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

GRACE_SECONDS = 15
BACKOFF_SECONDS = (1.0, 60.0)  # the first restart's delay, and the longest
STABLE_SECONDS = 60.0  # a child that ran this long starts its back-off afresh


@dataclass
class Child:
    name: str
    argv: list[str]
    restart: bool = False
    process: subprocess.Popen | None = None
    started: float = 0.0
    quick_exits: int = 0  # exits in a row, each soon after its start
    due: float | None = None  # when it is to be started again


def die_with_parent() -> None:
    """For ``Popen(preexec_fn=...)``: on Linux, the child gets SIGTERM when the process
    that started it dies, even killed outright; elsewhere, nothing."""
    with contextlib.suppress(OSError):  # not glibc: do without
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pump(name: str, process: subprocess.Popen, width: int, out) -> None:
    for line in iter(process.stdout.readline, b""):
        out.write(f"{name:<{width}} | {line.decode(errors='replace').rstrip()}\n")
        out.flush()


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        env: dict[str, str],
        out=sys.stdout,
        *,
        backoff: tuple[float, float] = BACKOFF_SECONDS,
        stable: float = STABLE_SECONDS,
    ):
        self.children = children
        self.env = env
        self.out = out
        self.backoff = backoff
        self.stable = stable
        self.width = max(len(c.name) for c in children)
        self.stopping = threading.Event()
        self.signal_name: str | None = None

    def _on_signal(self, signum, frame) -> None:
        self.signal_name = signal.Signals(signum).name
        self.stopping.set()

    def start(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # signals come from us, in order
            preexec_fn=die_with_parent,
        )
        child.started, child.due = time.monotonic(), None
        pump = (child.name, child.process, self.width, self.out)
        threading.Thread(target=_pump, args=pump, daemon=True).start()

    def wait(self, on_tick: Callable[[], None] | None = None) -> int:
        """Block until a signal or the exit of a child that is not restarted, then stop
        everything; returns the exit code."""
        failed: Child | None = None
        while not self.stopping.is_set() and failed is None:
            failed = self._tend()
            if failed is None and on_tick:
                on_tick()
            self.stopping.wait(0.2)
        if failed:
            self.say(
                f"{failed.name} exited with code {failed.process.returncode}; stopping the rest"
            )
        else:
            self.say(f"{self.signal_name or 'stop'} received; stopping")
        self.stop()
        if failed:
            return failed.process.returncode or 1
        return 0

    def _tend(self) -> Child | None:
        """Restart what is due; the first child found dead that is not restarted."""
        now = time.monotonic()
        for child in self.children:
            if child.due is not None:
                if now >= child.due:
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            if not child.restart:
                return child
            ran = now - child.started
            child.quick_exits = 1 if ran >= self.stable else child.quick_exits + 1
            delay = min(self.backoff[0] * 2 ** (child.quick_exits - 1), self.backoff[1])
            child.due = now + delay
            self.say(f"{child.name} exited with code {code}; restarting it in {delay:g}s")
        return None

    def stop(self) -> None:
        alive = [
            c for c in self.children if c.due is None and c.process and c.process.poll() is None
        ]
        for child in alive:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in alive:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {GRACE_SECONDS}s; killing it")
                child.process.kill()
                child.process.wait()
        self.say("all stopped")

    def say(self, text: str) -> None:
        self.out.write(f"==> {text}\n")
        self.out.flush()
