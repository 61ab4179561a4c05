"""The validation suite as a benchmark: how long a full in-process run takes on the demo
manuals and what it concludes, with the default engines of this machine.

The sandbox is made like ``make run``'s deployment: the demo manuals ingested, the
speech vocabulary built from them, the golden cases seeded, a Celery worker answering
(on a queue of the sandbox's own, with its files in a folder of its own) and one
monitoring sample taken, as beat takes every minute. Then the suite runs in this
process, as ``manage.py validate`` runs it. Only the run is timed.

Targets: the full run in 60 s or less, and READY with a score of 95 or more.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from pathlib import Path

from django.db import connection
from django.test.utils import override_settings

from knowledge.demo import loader
from knowledge.search import schema
from lineled.bench import private_queue, purge, worker
from monitoring import services as monitoring
from validation import report, services
from validation.models import Run
from validation.suite import CATEGORIES
from voice import stt
from voice.stt import vocabulary

TARGET_DURATION_S = 60.0
TARGET_SCORE = 95.0


def add_arguments(parser):
    parser.add_argument("--category", choices=CATEGORIES, help="only this category's tests")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="start no Celery worker: the Celery round trip then fails, as on a "
        "deployment whose worker is down",
    )


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    category = options.get("category") or ""
    with (
        tempfile.TemporaryDirectory(prefix="lineled-validation-var-") as folder,
        override_settings(VAR_DIR=Path(folder)),  # the vocabulary built here stays here
    ):
        stt.reset()
        try:
            return _run(Path(folder), category, not options.get("no_worker"), log)
        finally:
            stt.reset()


def _run(var: Path, category: str, with_worker: bool, log) -> dict:
    queue = f"lineled-bench-{uuid.uuid4().hex[:8]}"
    with private_queue(queue):
        began = time.perf_counter()
        loaded = loader.load()
        schema.analyze(connection)
        model = vocabulary.build()
        purge(queue)  # the rebuilds the ingestion asked for: the vocabulary is built
        services.ensure_default_cases()
        cases = services.enabled_cases()
        log(f"{len(loaded)} manuals, {len(cases)} cases, vocabulary {model.words} words")
        with worker(var, queue) if with_worker else contextlib.nullcontext():
            monitoring.sample(force=True, probes=False)
            prepared_s = time.perf_counter() - began
            log(f"ready in {prepared_s:.1f} s; running the suite")
            run = services.run_here(category=category, log=log)
    return _figures(run, len(loaded), len(cases), prepared_s, with_worker)


def _figures(run: Run, manuals: int, cases: int, prepared_s: float, with_worker: bool) -> dict:
    results = list(run.results.all())
    categories = {
        section.category: {
            "score": round(section.score, 1),
            "passed": section.passed,
            "tests": len(section.results),
            "seconds": round(sum(r.duration_ms for r in section.results) / 1000, 2),
        }
        for section in report.sections(run, results)
        if section.results
    }
    full = not run.category
    return {
        "manuals": manuals,
        "cases": cases,
        "engines": {"speech_to_text": stt.engine().name},
        "worker": "started" if with_worker else "none",
        "prepared_s": round(prepared_s, 1),
        "run": run.pk,
        "status": run.status,
        "error": run.error,
        "category": run.category or "all",
        "duration_s": run.duration_s,
        "score": run.score,
        "success_rate": run.success_rate,
        "readiness": run.readiness,
        "blocking_failed": run.blocking_failed,
        "categories": categories,
        "failed": {r.test_id: r.summary for r in results if not r.passed},
        "tests": [
            {
                "id": r.test_id,
                "score": round(r.score, 1),
                "passed": r.passed,
                "ms": round(r.duration_ms, 1),
                "summary": r.summary,
            }
            for r in results
        ],
        "targets": {
            "duration_s": TARGET_DURATION_S,
            "readiness": Run.Readiness.READY,
            "score": TARGET_SCORE,
        },
        "meets_targets": {
            "duration": run.status == Run.Status.DONE and run.duration_s <= TARGET_DURATION_S,
            "ready": full
            and run.readiness == Run.Readiness.READY
            and (run.score or 0) >= TARGET_SCORE,
        },
    }
