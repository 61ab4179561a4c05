"""Benchmarks run by ``manage.py bench NAME``: a registry and a throwaway sandbox.

A benchmark is a function taking the parsed options and returning a JSON-able dict.
It runs inside ``sandbox()``: a fresh database (SQLite file under var/, or a
``<name>_bench`` database on PostgreSQL) and a temporary media folder, so measuring
never touches the store's own documents and always starts from the same state.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.test.utils import override_settings, setup_databases, teardown_databases


@dataclass(frozen=True)
class Benchmark:
    name: str
    help: str
    target: str  # "module:function"
    add_arguments: str | None = None  # "module:function" taking an argparse parser

    def load(self) -> Callable[..., dict]:
        return _resolve(self.target)

    def arguments(self, parser) -> None:
        if self.add_arguments:
            _resolve(self.add_arguments)(parser)


BENCHMARKS = {
    b.name: b
    for b in [
        Benchmark(
            "retrieval",
            "hit@1/hit@4 on development question sets and search latency p50/p95",
            "knowledge.benchmarks.retrieval:run",
            "knowledge.benchmarks.retrieval:add_arguments",
        ),
        Benchmark(
            "ingest",
            "PDF ingestion speed (pages per second, page images included)",
            "knowledge.benchmarks.ingest:run",
            "knowledge.benchmarks.ingest:add_arguments",
        ),
        Benchmark(
            "chat",
            "answers through chat.services: latency p50/p95, time to first token, fact recall, "
            "decline accuracy, follow-up accuracy",
            "chat.benchmarks.chat:run",
            "chat.benchmarks.chat:add_arguments",
        ),
        Benchmark(
            "voice",
            "spoken questions (espeak-ng voices, clean and with kitchen noise) through the voice "
            "path: word error rate, fact recall against typing, time to first audio",
            "voice.benchmarks.voice:run",
            "voice.benchmarks.voice:add_arguments",
        ),
        Benchmark(
            "monitoring",
            "one metric-sampling pass on a database with 100,000 chat messages (target <= 1 s)",
            "monitoring.benchmarks.monitoring:run",
            "monitoring.benchmarks.monitoring:add_arguments",
        ),
    ]
}


def _resolve(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(import_module(module), name)


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
