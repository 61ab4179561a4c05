"""What ``bench abuse`` watches while it attacks: how long the web server takes to answer
/healthz (a prober in a process of its own) and how much memory the worker's processes
hold (read from /proc). Both run for the whole benchmark; each attack reads its window.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from django.conf import settings

from lineled.lib.procs import die_with_parent

PROBE_INTERVAL = 0.05  # seconds between two /healthz probes
PROBE_TIMEOUT = 5.0
MEMORY_INTERVAL = 0.1
PIDS_INTERVAL = 1.0  # finding the processes reads all of /proc: less often


class HealthProber:
    """``lineled.benchmarks.probe`` against the deployment, its lines kept here."""

    def __init__(self, port: int):
        self.port = port
        self.samples: list[tuple[float, float, int]] = []  # (sent, ms, status)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> HealthProber:
        argv = [sys.executable, "-m", "lineled.benchmarks.probe", "127.0.0.1", str(self.port)]
        argv += [str(PROBE_INTERVAL), str(PROBE_TIMEOUT)]
        self.process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=die_with_parent,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 15
        while not self.samples and time.monotonic() < deadline:  # it is probing
            time.sleep(0.05)
        return self

    def _read(self) -> None:
        for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                sent, ms, status = line.split()
                self.samples.append((float(sent), float(ms), int(status)))

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def window(self, start: float, end: float) -> dict:
        """The probes sent between ``start`` and ``end`` (monotonic seconds): how many,
        how many got no 200, and the time to answer p50/p95/max in ms."""
        inside = [(ms, status) for sent, ms, status in list(self.samples) if start <= sent <= end]
        times = sorted(ms for ms, _ in inside)
        return {
            "probes": len(times),
            "failed": sum(1 for _, status in inside if status != 200),
            "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95),
            "max_ms": round(times[-1], 1) if times else None,
        }


def percentile(values: list[float], p: int) -> float | None:
    """The ``p``-th percentile of ``values``, rounded to 0.1 (None for no values)."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1], 1)


class MemoryWatch:
    """Samples the resident and peak resident memory of the processes ``pids()`` names
    (the worker and its pool) every MEMORY_INTERVAL seconds."""

    def __init__(self, pids: Callable[[], list[int]], memory: Callable[[int], tuple]):
        self.pids = pids
        self.memory = memory
        self.samples: list[tuple[float, int, float, float]] = []  # (when, pid, rss, peak)
        self.stopping = threading.Event()

    def __enter__(self) -> MemoryWatch:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()

    def _run(self) -> None:
        pids, found = [], 0.0
        while not self.stopping.wait(MEMORY_INTERVAL):
            now = time.monotonic()
            if now - found >= PIDS_INTERVAL:
                with contextlib.suppress(OSError, ValueError):  # a process gone meanwhile
                    pids, found = self.pids(), now
            for pid in pids:
                rss, peak = self.memory(pid)
                if peak:
                    self.samples.append((now, pid, rss, peak))

    def peak_mb(self, start: float, end: float) -> float | None:
        """The most memory one of the processes held between ``start`` and ``end``: the
        highest resident size sampled, or a peak the kernel recorded (VmHWM) that rose
        meanwhile, which catches a spike between two samples."""
        highest = None
        before: dict[int, float] = {}
        for when, pid, rss, peak in list(self.samples):
            if when < start:
                before[pid] = peak
                continue
            if when > end:
                break
            rose = peak if peak > before.get(pid, 0.0) else 0.0
            highest = max(highest or 0.0, rss, rose)
        return round(highest, 1) if highest is not None else None
