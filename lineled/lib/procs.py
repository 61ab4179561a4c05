"""Run a few child processes in the foreground as one unit.

Used by ``manage.py serve`` to run the web server, a Celery worker and beat
together: their output is interleaved with a name prefix, one Ctrl-C or SIGTERM
stops all of them, and if one dies the others are stopped too, so nothing is
left running half-alive.
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


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None


def _die_with_parent() -> None:
    # Linux: if the supervisor is killed outright, its children get SIGTERM.
    with contextlib.suppress(OSError):  # not glibc: do without
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pump(child: Child, width: int, out) -> None:
    for line in iter(child.process.stdout.readline, b""):
        out.write(f"{child.name:<{width}} | {line.decode(errors='replace').rstrip()}\n")
        out.flush()


class Supervisor:
    def __init__(self, children: list[Child], env: dict[str, str], out=sys.stdout):
        self.children = children
        self.env = env
        self.out = out
        self.stopping = threading.Event()
        self.signal_name: str | None = None

    def _on_signal(self, signum, frame) -> None:
        self.signal_name = signal.Signals(signum).name
        self.stopping.set()

    def start(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for child in self.children:
            child.process = subprocess.Popen(
                child.argv,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # signals come from us, in order
                preexec_fn=_die_with_parent,
            )
        width = max(len(c.name) for c in self.children)
        for child in self.children:
            threading.Thread(target=_pump, args=(child, width, self.out), daemon=True).start()

    def wait(self, on_tick: Callable[[], None] | None = None) -> int:
        """Block until a signal or a child exit, then stop everything; returns the exit code."""
        failed: Child | None = None
        while not self.stopping.is_set():
            failed = next((c for c in self.children if c.process.poll() is not None), None)
            if failed:
                break
            if on_tick:
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

    def stop(self) -> None:
        alive = [c for c in self.children if c.process and c.process.poll() is None]
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
