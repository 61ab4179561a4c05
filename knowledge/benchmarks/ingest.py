"""PDF ingestion speed: pages per second, parsing, page images and indexing included."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from knowledge import services
from knowledge.benchmarks import corpus
from knowledge.demo.loader import MANUALS
from knowledge.models import Document

TARGET_PAGES_PER_SECOND = 20


def add_arguments(parser):
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="PDF files or folders (default: ../shared/corpus/pdf and the demo manuals)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="ingest everything this many times; the first adds, the rest re-ingest (default 3)",
    )


def run(options: dict, log=None) -> dict:
    paths = options.get("paths") or [corpus.SHARED_CORPUS / "pdf", MANUALS]
    pdfs = [p for root in paths for p in corpus.files(root, {".pdf"})]
    if not pdfs:
        raise ValueError("no PDF files found in " + ", ".join(map(str, paths)))
    repeat = options.get("repeat") or 3
    if repeat < 1:
        raise ValueError("--repeat must be at least 1")
    timings = corpus.ingest(pdfs, embed=False)  # round 1: add and ingest (text and images)
    documents = [d for d, _ in timings]
    rounds = [timings]
    for _ in range(repeat - 1):  # later rounds: the same files re-ingested
        rounds.append([(d, _reingest(d)) for d in documents])
    failed = [d for d, _ in rounds[-1] if d.status != Document.Status.READY]
    if failed:
        raise ValueError(f"{failed[0].filename} failed to ingest: {failed[0].error}")
    pages = sum(d.page_count for d in documents)
    speeds = [pages / sum(s for _, s in r) for r in rounds]
    if log:
        for i, speed in enumerate(speeds, 1):
            log(f"round {i}: {pages} pages at {speed:.1f} pages/s")
    per_file = {}
    for i, d in enumerate(documents):
        seconds = statistics.median(r[i][1] for r in rounds)
        per_file[d.filename] = {
            "pages": d.page_count,
            "pages_per_second": _round(d.page_count / seconds),
        }
    return {
        "files": len(documents),
        "pages": pages,
        "chunks": sum(d.chunk_count for d in documents),
        "rounds": repeat,
        "pages_per_second": _round(statistics.median(speeds)),
        "pages_per_second_rounds": [_round(s) for s in speeds],
        "per_file": per_file,
        "target_pages_per_second": TARGET_PAGES_PER_SECOND,
    }


def _reingest(document: Document) -> float:
    started = time.perf_counter()
    services.ingest(document.pk)
    return time.perf_counter() - started


def _round(value: float) -> float:
    return round(value, 1)
