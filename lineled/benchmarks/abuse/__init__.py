"""``manage.py bench abuse``: the fault and abuse suite of issue 16, kept in the project.

Each attack is something a stranger, a careless user or a failing machine did to the
store: it runs against a private deployment on loopback (``manage.py serve`` on a free
port, on the sandbox database and a var folder of its own; the worker only when an
attack needs one), bounded in count and in time (each attack has a cap). Meanwhile a
prober asks the web server's /healthz every 50 ms and the worker's memory is read from
/proc. Each attack's row says what it did, what came back, how /healthz fared, the
worker's peak memory, what was left behind (answers not finished, documents still
processing, page images no page refers to) and whether it was ``safe``, with the rule
it was judged by and the parts of it that failed.

The shared parts of every rule: /healthz answered every probe, and the attack left
nothing more behind than there was before it, once what was still finishing (its own
answers, or the monitor's probes) had GRACE_SECONDS to finish. Attacks by volume are also judged on
/healthz p95 (under 100 ms), the bombs on the worker's memory (under 1 GB).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lineled.benchmarks.abuse import ingest, load, web
from lineled.benchmarks.abuse.base import Attack, Outcome, Store, TimedOut
from lineled.benchmarks.abuse.ingest import BOMB_SECONDS
from lineled.benchmarks.abuse.load import OTHER_ANSWER_S
from lineled.benchmarks.deployment import Deployment, memory_mb
from lineled.benchmarks.watch import HealthProber, MemoryWatch

# The suite, in the order it runs: the edges first, then volume, then the worker's turn.
ATTACKS = {attack.name: attack for attack in [*web.ATTACKS, *load.ATTACKS, *ingest.ATTACKS]}
HEALTH_P95_MS = 100.0
WORKER_MB = 1024
# Each attack's window is at least this long: /healthz is watched for a while even after
# an attack that is over in milliseconds (its aftermath counts too).
MIN_WINDOW_SECONDS = 1.0
# What is still finishing when an attack ends (an answer of its own, or of the monitor's
# probes) is given this long before it counts as left behind; after the last attack,
# SETTLE_SECONDS.
GRACE_SECONDS = 10
SETTLE_SECONDS = 30


def add_arguments(parser):
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        type=chosen,
        help="run only these attacks (in the suite's order): " + ", ".join(ATTACKS),
    )


def chosen(only: str) -> list[Attack]:
    """The attacks named in ``only`` (comma-separated), in the suite's order."""
    names = {name.strip() for name in only.split(",") if name.strip()}
    if unknown := sorted(names - set(ATTACKS)):
        raise argparse.ArgumentTypeError(
            f"unknown attack {unknown[0]!r}; the attacks are: {', '.join(ATTACKS)}"
        )
    return [attack for name, attack in ATTACKS.items() if name in names]


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    attacks = options.get("only") or list(ATTACKS.values())
    with tempfile.TemporaryDirectory(prefix="lineled-abuse-") as folder:
        deployment = Deployment(Path(folder), worker=any(a.worker for a in attacks))
        started_s = deployment.up()
        log(f"deployment up at {deployment.base} in {started_s:.1f} s")
        try:
            with (
                HealthProber(deployment.port) as prober,
                MemoryWatch(lambda: _worker_pids(deployment), memory_mb) as memory,
            ):
                store = Store(deployment)
                rows = [_play(attack, store, prober, memory, log) for attack in attacks]
                after = _settled(deployment, SETTLE_SECONDS)
        finally:
            deployment.stop()
    unsafe = [row["attack"] for row in rows if not row["safe"]]
    return {
        "deployment": {
            "url": deployment.base,
            "worker": deployment.worker,
            "started_s": round(started_s, 1),
        },
        # The figures depend on the machine, and on what else it was doing.
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
        "targets": {
            "healthz_p95_ms": HEALTH_P95_MS,
            "other_answer_s": OTHER_ANSWER_S,
            "bomb_s": BOMB_SECONDS,
            "worker_mb": WORKER_MB,
        },
        "attacks": rows,
        "after_run": after,
        "summary": {
            "attacks": len(rows),
            "safe": len(rows) - len(unsafe),
            "unsafe": unsafe,
            "left_after_run": sum(after.values()),
        },
        "all_safe": not unsafe and not any(after.values()),
    }


def _worker_pids(deployment: Deployment) -> list[int]:
    processes = deployment.processes()
    return processes["worker"] + processes["pool"]


def _play(attack: Attack, store: Store, prober: HealthProber, memory: MemoryWatch, log) -> dict:
    """Run one attack within its cap and judge it."""
    before = store.deployment.leftovers()
    began = time.monotonic()
    store.deadline, store.struck = began + attack.cap, None
    summary = (attack.play.__doc__ or attack.name).split("\n")[0]
    try:
        outcome = attack.play(store)
    except Exception as exc:  # a broken attack is a row too; the others still run
        if isinstance(exc, TimedOut) or time.monotonic() >= store.deadline:
            check = f"finished within its {attack.cap:g} s cap"  # (asyncio's timeout too)
        else:
            check = "ran to its end"
        error = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        outcome = Outcome(summary, error, [(check, False)])
    struck = store.struck or began
    time.sleep(max(0.0, struck + MIN_WINDOW_SECONDS - time.monotonic()))
    ended = time.monotonic()
    store.deadline = float("inf")
    health = prober.window(struck, ended)
    peak = memory.peak_mb(struck, ended)
    left = _settled(store.deployment, GRACE_SECONDS, before)
    checks = [
        *outcome.checks,
        ("/healthz answered every probe", health["probes"] > 0 and health["failed"] == 0),
    ]
    if attack.load:
        p95 = health["p95_ms"]
        checks.append(
            (f"/healthz p95 under {HEALTH_P95_MS:g} ms", p95 is not None and p95 < HEALTH_P95_MS)
        )
    if attack.memory:
        checks.append(
            (f"every worker process under {WORKER_MB} MB", peak is not None and peak < WORKER_MB)
        )
    nothing_more = all(left[k] <= before[k] for k in left)
    checks.append((f"nothing more left behind ({GRACE_SECONDS} s on)", nothing_more))
    failed = [rule for rule, held in checks if not held]
    verdict = "safe" if not failed else "UNSAFE: " + "; ".join(failed)
    log(f"{attack.name}: {verdict} ({ended - began:.1f} s)")
    return {
        "attack": attack.name,
        "did": outcome.did,
        "came_back": outcome.came_back,
        "seconds": round(ended - began, 2),
        "attack_s": round(ended - struck, 2),
        "healthz": health,
        "worker_peak_mb": peak,
        "left": left,
        **({"figures": outcome.figures} if outcome.figures else {}),
        "safe": not failed,
        "rule": "; ".join(rule for rule, _ in checks),
        "failed": failed,
    }


def _settled(deployment: Deployment, seconds: float, was: dict | None = None) -> dict[str, int]:
    """What is left behind once the deployment has had ``seconds`` to bring it down to
    what ``was`` left before (nothing, without it)."""
    deadline = time.monotonic() + seconds
    left = deployment.leftovers()
    while any(left[k] > (was or {}).get(k, 0) for k in left) and time.monotonic() < deadline:
        time.sleep(0.25)
        left = deployment.leftovers()
    return left
