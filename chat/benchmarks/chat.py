"""Answer quality and speed, through chat.services as the crew would ask.

The store is made in the sandbox: the demo manuals (unless ``--no-demo``) and whatever
``--corpus`` names (files or folders; alone, ../shared/corpus, the Food Code sections),
embeddings included. Then every question of the set (``--questions``, either format
``chat.judging`` reads) is asked in a real conversation: a follow-up after its
``history`` turns, or in its parent's (``after``) conversation right after it. Answers
are judged by ``chat.judging``, as validation's text tests judge them. Figures, overall
and per kind of question:

- latency: the answer's total time and time to first token as chat.services records
  them (from the question stored to the answer finished / its first text), p50 and p95;
  also the whole turn as the caller waits for it (``turn_ms``).
- fact recall: the share of the required facts the answers state, over the answerable
  questions; ``correct``: the share of answerable questions with every fact and a
  citation of where the answer is; ``cited``: the share citing that place.
- decline accuracy: the share of off-topic questions answered with the decline; the
  false-decline rate: the share of answerable questions declined.
- follow-up accuracy: the share of follow-ups answered with all their facts.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection

from chat import judging, services
from chat.assistant import DECLINE, providers
from chat.models import Message
from knowledge.benchmarks import corpus
from knowledge.demo import loader
from knowledge.models import Chunk
from knowledge.search import schema

QUESTIONS = Path(__file__).resolve().parent / "questions.json"
TARGETS = {
    "total_p95_ms": 150.0,
    "first_token_p95_ms": 50.0,
    "fact_recall": 0.85,
    "section_cited": 0.90,
    "decline_accuracy": 0.95,
    "false_decline_rate": 0.05,
    "follow_up_accuracy": 0.80,
}
WARMUP = "how long do fries cook?"


def add_arguments(parser):
    parser.add_argument(
        "--questions",
        type=Path,
        default=QUESTIONS,
        help="question set JSON (this project's format or shared/eval's)",
    )
    parser.add_argument(
        "--corpus",
        nargs="*",
        type=Path,
        default=None,
        metavar="PATH",
        help="files or folders to ingest as well (given alone: ../shared/corpus, its chapter "
        "PDFs and the Markdown sections of the other chapters)",
    )
    parser.add_argument(
        "--no-demo", action="store_true", help="leave the demo manuals out of the store"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="times to ask the whole set (latency samples)"
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=0,
        help="grow the store with copies of the corpus' text documents to this many chunks "
        "first (for latency: the copies crowd the answers, so quality figures drop)",
    )
    parser.add_argument(
        "--show", action="store_true", help="include every answer in the output, not only misses"
    )


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    questions = load_questions(options.get("questions") or QUESTIONS)
    roots = _corpus_roots(options.get("corpus"))
    loaded = build_store(options, log)
    sections = judging.SectionPages.find(roots)
    log(f"{len(loaded)} documents ingested; asking {len(questions)} questions")
    user = get_user_model().objects.create_user("bench-crew", password=None)
    services.answer_now(services.create_conversation(user), user, WARMUP)  # not timed
    samples, answers = [], []
    for _ in range(max(1, options.get("repeat") or 1)):
        answers = ask_all(questions, user, sections)
        samples += answers
    result = {
        "model": providers.model_name(),
        "database": connection.vendor,
        "documents": len(loaded),
        "failed_documents": [d.filename for d, _ in loaded if d.status != "ready"],
        "questions": len(questions),
        "chunks": Chunk.objects.count(),
        "question_set": str(options.get("questions") or QUESTIONS),
        "latency": latency(samples),
        **quality(answers),
        "by_kind": by_kind(answers),
        "targets": TARGETS,
    }
    result["meets_targets"] = meets(result)
    result["misses"] = [_short(a) for a in answers if _missed(a)]
    if options.get("show"):
        result["answers"] = [_short(a) for a in answers]
    return result


def build_store(options: dict, log) -> list:
    """Ingest (with embeddings) what the options name; (document, seconds) for each."""
    roots = _corpus_roots(options.get("corpus"))
    loaded = [] if options.get("no_demo") else [(item.document, 0.0) for item in loader.load()]
    if roots:
        paths = _corpus_paths(options.get("corpus"))
        log(f"ingesting {len(paths)} files")
        loaded += corpus.ingest(paths)
    if not loaded:
        raise ValueError("nothing to answer from: --no-demo and no --corpus")
    if options.get("chunks"):
        log(f"growing the store to {options['chunks']} chunks")
        corpus.grow(_corpus_paths(options.get("corpus") or []) or [], options["chunks"])
    schema.analyze(connection)
    return loaded


def _corpus_roots(corpus_option) -> list[Path]:
    if corpus_option is None:
        return []
    return list(corpus_option) or [corpus.SHARED_CORPUS]


def _corpus_paths(corpus_option) -> list[Path]:
    """The files ``--corpus`` names; alone, the Food Code as its question set expects it
    (chapter PDFs and the Markdown sections of the other chapters)."""
    if not corpus_option:
        return corpus.food_code()
    return [p for root in corpus_option for p in corpus.files(root)]


def load_questions(path: Path) -> list[dict]:
    """The question set as dicts of ``judging.Case`` fields."""
    return [asdict(case) for case in judging.read_cases(path)]


def ask_all(questions: list[dict], user, sections: judging.SectionPages | None = None):
    """Ask every question; a follow-up after its history, or in its parent's
    conversation."""
    sections = sections or judging.SectionPages()
    conversations = {}
    answers = []
    for entry in questions:
        parent = entry.get("after")
        if entry.get("kind") == "follow-up" and parent in conversations:
            conversation = conversations[parent]
        else:
            conversation = services.create_conversation(user)
            for earlier in entry.get("history") or []:
                services.answer_now(conversation, user, earlier)
        conversations[entry.get("id")] = conversation
        answers.append(ask(conversation, user, entry, sections))
    return answers


def ask(conversation, user, entry: dict, sections: judging.SectionPages) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    events = services.answer_now(conversation, user, entry["question"])
    turn_ms = (time.perf_counter() - started) * 1000
    cpu_ms = (time.process_time() - cpu) * 1000  # every thread of this process: the answer's
    done = next((e for e in events if e["type"] in ("done", "error")), {})
    key = "message_id" if done.get("type") == "error" else "message"
    message = Message.objects.get(pk=done.get(key) or done.get("message_id"))
    text = "".join(e["text"] for e in events if e["type"] == "token").strip()
    facts = entry.get("facts") or []
    declined = message.declined or text == DECLINE
    answerable = entry.get("answerable", entry.get("kind") != "off-topic")
    case = judging.case_from(entry)
    cited = [
        judging.Cited(c.filename, tuple(c.pages), c.heading)
        for c in message.citations.order_by("rank")
    ]
    return {
        "id": entry.get("id"),
        "kind": entry.get("kind"),
        "question": entry["question"],
        "searched": message.search_query,
        "text": text,
        "failed": message.status != Message.Status.DONE,
        "answerable": answerable,
        "declined": declined,
        "wrong_decline": declined == answerable,
        "facts": len(facts),
        "missing": judging.missing_facts(text, facts) if not declined else list(facts),
        "cited": judging.cites_expected(case, cited, sections) if answerable else None,
        "citations": [f"{c.filename} p.{','.join(map(str, c.pages))}" for c in cited],
        "total_ms": message.total_ms,
        "first_token_ms": message.first_token_ms,
        "turn_ms": round(turn_ms, 2),
        "cpu_ms": round(cpu_ms, 2),
    }


def latency(answers: list[dict]) -> dict:
    figures = {}
    for name in ("total_ms", "first_token_ms", "turn_ms", "cpu_ms"):
        values = sorted(a[name] for a in answers if a[name] is not None)
        stem = name.removesuffix("_ms")
        figures[f"{stem}_p50_ms"] = round(_percentile(values, 50), 2) if values else None
        figures[f"{stem}_p95_ms"] = round(_percentile(values, 95), 2) if values else None
        if name == "total_ms" and values:
            figures["total_mean_ms"] = round(statistics.fmean(values), 2)
    figures["samples"] = len(answers)
    return figures


def _answerable(answer: dict) -> bool:
    return answer.get("answerable", answer.get("kind") != "off-topic")


def quality(answers: list[dict]) -> dict:
    answers = [{"cited": None, **a, "answerable": _answerable(a)} for a in answers]
    answerable = [a for a in answers if a["answerable"]]
    off_topic = [a for a in answers if not a["answerable"]]
    follow_ups = [a for a in answerable if a["kind"] == "follow-up"]
    judged = [a for a in answerable if a["cited"] is not None]
    facts = sum(a["facts"] for a in answerable)
    found = facts - sum(len(a["missing"]) for a in answerable)
    return {
        "fact_recall": _share(found, facts),
        "fact_recall_by_kind": {k: v["fact_recall"] for k, v in by_kind(answers).items()},
        "facts": facts,
        "correct": _share(sum(_correct(a) for a in judged), len(judged)),
        "section_cited": _share(sum(bool(a["cited"]) for a in judged), len(judged)),
        "decline_accuracy": _share(sum(a["declined"] for a in off_topic), len(off_topic)),
        "false_decline_rate": _share(sum(a["declined"] for a in answerable), len(answerable)),
        "follow_up_accuracy": _share(
            sum(not a["missing"] and not a["declined"] for a in follow_ups), len(follow_ups)
        ),
        "failed": sum(a["failed"] for a in answers),
        "counts": {
            "answerable": len(answerable),
            "off_topic": len(off_topic),
            "follow_ups": len(follow_ups),
        },
    }


def by_kind(answers: list[dict]) -> dict:
    """The figures of each kind of question."""
    answers = [{"cited": None, **a, "answerable": _answerable(a)} for a in answers]
    kinds = {}
    for kind in sorted({a["kind"] for a in answers}):
        group = [a for a in answers if a["kind"] == kind]
        answerable = [a for a in group if a["answerable"]]
        judged = [a for a in answerable if a["cited"] is not None]
        facts = sum(a["facts"] for a in answerable)
        kinds[kind] = {
            "count": len(group),
            "fact_recall": _share(facts - sum(len(a["missing"]) for a in answerable), facts),
            "cited": _share(sum(bool(a["cited"]) for a in judged), len(judged)),
            "correct": _share(sum(_correct(a) for a in judged), len(judged)),
            "declined": _share(sum(a["declined"] for a in group), len(group)),
        }
    return kinds


def _correct(answer: dict) -> bool:
    return not answer["declined"] and not answer["missing"] and bool(answer["cited"])


def _missed(answer: dict) -> bool:
    return bool(answer["missing"] or answer["wrong_decline"] or answer["cited"] is False)


def meets(result: dict) -> dict:
    figures = result["latency"]
    at_most = {"total_p95_ms", "first_token_p95_ms", "false_decline_rate"}
    met = {}
    for name, target in TARGETS.items():
        value = figures.get(name) if name.endswith("_ms") else result.get(name)
        if value is None:
            met[name] = None  # nothing measured (no off-topic questions, say)
        elif name in at_most:
            met[name] = value <= target
        else:
            met[name] = value >= target
    return met


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _short(answer: dict) -> dict:
    return {
        "id": answer["id"],
        "kind": answer["kind"],
        "question": answer["question"],
        "searched": answer["searched"],
        "missing": answer["missing"],
        "declined": answer["declined"],
        "cited": answer["cited"],
        "citations": answer["citations"],
        "answer": answer["text"][:600],
    }
