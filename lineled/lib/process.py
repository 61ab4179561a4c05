"""Naming this process so that another process can later tell whether it still runs.

``identity()`` is recorded beside work a process claims (an ingestion, say); a sweep
elsewhere asks ``is_running(identity)``. The identity holds the host, the PID namespace,
the PID and the process's start time, so a PID reused after a restart, or the same PID
in another container, is not mistaken for the original process.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path

PROC = Path("/proc")


def identity() -> str:
    pid = os.getpid()
    return f"{_host()}/{_namespace()}/{pid}/{_started(pid) or 0}"


def is_running(identity: str) -> bool | None:
    """True or False when this host can tell (the same host and PID namespace), None
    when it cannot (another machine or container, or a malformed identity)."""
    try:
        host, namespace, pid, started = identity.rsplit("/", 3)
        pid = int(pid)
    except ValueError:
        return None
    if host != _host() or namespace != _namespace():
        return None
    if not PROC.is_dir():  # not Linux: the PID alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    current = _started(pid)
    if current is None:
        return False
    return started in ("0", current)  # "0": recorded where the start time was unknown


@cache
def _host() -> str:
    return socket.gethostname()


@cache
def _namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "-"


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot; None when it is gone (or a
    zombie, which has finished running)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]
