"""Retrieval quality and speed: hit@1/hit@4 on question sets whose answers we know,
and search latency p50/p95, at the corpus' own size and grown to --chunks chunks.

A question set is a JSON list. An entry is judged by ``sections`` (a passage hits when
one of those section ids is in its heading, title or file name: the Food Code set) or by
``manual`` and ``pages`` (a passage hits when it is from that file and shares a page:
the demo set). Entries with neither (off-topic questions) and follow-ups, which need
the conversation, are left out of the hit rates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.db import connection

from knowledge.benchmarks import corpus
from knowledge.demo.loader import MANUALS
from knowledge.models import Chunk, Document
from knowledge.search import bench, schema, search

HERE = Path(__file__).resolve().parent
FOOD_CODE_QUESTIONS = HERE / "food_code_questions.json"
DEMO_QUESTIONS = MANUALS.parent / "questions.json"
TARGETS = {"hit_at_4": 0.9, "p95_ms": 15.0, "chunks": 5000}


def add_arguments(parser):
    parser.add_argument(
        "corpus",
        nargs="*",
        type=Path,
        help="files or folders to ingest (default: ../shared/corpus and the demo manuals)",
    )
    parser.add_argument(
        "--questions",
        type=Path,
        action="append",
        help="question set JSON (repeatable; default: the Food Code set and the demo set)",
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=TARGETS["chunks"],
        help="grow the index to at least this many chunks for the second latency figure",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed searches per question (default 5)"
    )


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    roots = options.get("corpus") or [corpus.SHARED_CORPUS]
    question_files = options.get("questions") or [FOOD_CODE_QUESTIONS]
    sets = {path.stem: (load_questions(path), None) for path in question_files}
    paths = [p for root in roots for p in corpus.files(root)]
    if not paths:
        raise ValueError("nothing to ingest in " + ", ".join(map(str, roots)))
    log(f"ingesting {len(paths)} files")
    ingested = corpus.ingest(paths)
    if not options.get("questions"):
        # The demo manuals and their questions ride along, judged within their own
        # documents (as the corpus' questions are within the corpus).
        own = [d.pk for d, _ in ingested]
        demo = [d.pk for d, _ in corpus.ingest(corpus.files(MANUALS))]
        ingested += [(d, 0.0) for d in Document.objects.filter(pk__in=demo)]
        sets = {
            FOOD_CODE_QUESTIONS.stem: (sets[FOOD_CODE_QUESTIONS.stem][0], own),
            "demo_questions": (load_questions(DEMO_QUESTIONS), demo),
        }
    failed = [d.filename for d, _ in ingested if d.status != "ready"]
    _analyze()

    result = {
        "documents": len(ingested),
        "failed": failed,
        "chunks": Chunk.objects.count(),
        "backend": "local",
        "database": connection.vendor,
        "sets": {},
    }
    judged = []
    for name, (questions, documents) in sets.items():
        scores = evaluate(questions, documents)
        result["sets"][name] = scores
        judged += scores.pop("_ranks")
        log(f"{name}: hit@1 {scores['hit_at_1']} hit@4 {scores['hit_at_4']} of {scores['count']}")
    result.update(_rates(judged))

    repeat = options.get("repeat") or 5
    queries = [q["question"] for questions, _ in sets.values() for q in questions]
    result["latency"] = bench.latency(queries, repeat=repeat, top_k=4)
    target = options.get("chunks") or 0
    if target > result["chunks"]:
        log(f"growing the index to {target} chunks")
        corpus.grow(paths, target)
        _analyze()
        grown = bench.latency(queries, repeat=repeat, top_k=4)
        result["latency_grown"] = {"chunks": Chunk.objects.count(), **grown}
    result["targets"] = TARGETS
    return result


def load_questions(path: Path) -> list[dict]:
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read question set {path}: {exc}") from exc
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("question"), str) for e in entries
    ):
        raise ValueError(f"{path} must be a JSON list of objects with a 'question'")
    return entries


def judgeable(entry: dict) -> bool:
    return entry.get("kind") != "follow-up" and bool(entry.get("sections") or entry.get("manual"))


def hits(entry: dict, passage) -> bool:
    """Whether ``passage`` is from the place ``entry`` says answers it."""
    if entry.get("sections"):
        where = " ".join([*passage.heading, passage.title, Path(passage.filename).stem])
        return any(_section_pattern(s).search(where) for s in entry["sections"])
    return passage.filename == entry["manual"] and bool(set(passage.pages) & set(entry["pages"]))


def evaluate(questions: list[dict], documents: list[int] | None = None) -> dict:
    """hit@1, hit@4 and mean reciprocal rank (within 4) over the judgeable questions,
    searching only ``documents`` when given, with the misses (what came first instead)
    to look at."""
    ranks, misses = [], []
    filters = {"document_ids": documents} if documents is not None else None
    for entry in filter(judgeable, questions):
        passages = search(entry["question"], top_k=4, filters=filters)
        rank = next((i for i, p in enumerate(passages, 1) if hits(entry, p)), None)
        ranks.append(rank)
        if rank is None:
            first = passages[0] if passages else None
            misses.append(
                {
                    "question": entry["question"],
                    "expected": entry.get("sections") or [entry["manual"], entry["pages"]],
                    "first": [" › ".join(first.heading) or first.title, first.filename]
                    if first
                    else None,
                }
            )
    return {**_rates(ranks), "misses": misses, "_ranks": ranks}


def _rates(ranks: list[int | None]) -> dict:
    count = len(ranks)
    if not count:
        return {"count": 0, "hit_at_1": None, "hit_at_4": None, "mrr_at_4": None}
    return {
        "count": count,
        "hit_at_1": round(sum(r == 1 for r in ranks) / count, 3),
        "hit_at_4": round(sum(r is not None for r in ranks) / count, 3),
        "mrr_at_4": round(sum(1 / r for r in ranks if r) / count, 3),
    }


def _section_pattern(section: str) -> re.Pattern:
    return re.compile(rf"(?<![\d.-]){re.escape(section)}(?![\d])")


def _analyze() -> None:
    """Fresh planner statistics, as after a real ingestion."""
    schema.analyze(connection)
