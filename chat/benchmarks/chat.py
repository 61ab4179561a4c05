"""Answer quality and speed, through chat.services as the crew would ask.

The demo manuals are ingested into the sandbox (``--corpus`` adds the Food Code
sections of ../shared/corpus, to answer over a bigger library), then every question of
the set is asked in a real conversation; a follow-up is asked in its parent's
conversation right after it. Figures:

- latency: the answer's total time and time to first token as chat.services records
  them (from the question stored to the answer finished / its first text), p50 and p95;
  also the whole turn as the caller waits for it (``turn_ms``).
- fact recall: the share of the required facts found in the answers (whitespace, case,
  degree signs and citation markers aside), over the questions the manuals answer.
- decline accuracy: the share of off-topic questions answered with the decline; the
  false-decline rate: the share of answerable questions declined.
- follow-up accuracy: the share of follow-ups answered with all their facts (a
  follow-up naming no parent with "after" is asked in a conversation of its own).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection

from chat import services
from chat.assistant import DECLINE, providers
from chat.models import Message
from knowledge.benchmarks import corpus
from knowledge.demo import loader
from knowledge.search import schema

QUESTIONS = Path(__file__).resolve().parent / "questions.json"
TARGETS = {
    "total_p95_ms": 150.0,
    "first_token_p95_ms": 50.0,
    "fact_recall": 0.85,
    "decline_accuracy": 0.95,
    "false_decline_rate": 0.05,
}
WARMUP = "how long do fries cook?"
_MARKER = re.compile(r"\s*\[\d{1,3}\]")


def add_arguments(parser):
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="question set JSON")
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="also ingest ../shared/corpus (the Food Code sections) before asking",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="times to ask the whole set (latency samples)"
    )
    parser.add_argument(
        "--show", action="store_true", help="include every answer in the output, not only misses"
    )


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    questions = load_questions(options.get("questions") or QUESTIONS)
    loaded = loader.load()
    if options.get("corpus"):
        loaded += corpus.ingest(corpus.files(corpus.SHARED_CORPUS))
    schema.analyze(connection)
    log(f"{len(loaded)} documents ingested; asking {len(questions)} questions")
    user = get_user_model().objects.create_user("bench-crew", password=None)
    services.answer_now(services.create_conversation(user), user, WARMUP)  # not timed
    samples, answers = [], []
    for _ in range(max(1, options.get("repeat") or 1)):
        answers = ask_all(questions, user)
        samples += answers
    result = {
        "model": providers.model_name(),
        "database": connection.vendor,
        "documents": len(loaded),
        "questions": len(questions),
        "latency": latency(samples),
        **quality(answers),
        "targets": TARGETS,
    }
    result["meets_targets"] = meets(result)
    result["misses"] = [_short(a) for a in answers if a["missing"] or a["wrong_decline"]]
    if options.get("show"):
        result["answers"] = [_short(a) for a in answers]
    return result


def load_questions(path: Path) -> list[dict]:
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read question set {path}: {exc}") from exc
    ids = {e.get("id") for e in entries if isinstance(e, dict)}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
            raise ValueError(f"{path}: every entry needs a 'question'")
        if entry.get("after") is not None and entry["after"] not in ids:
            raise ValueError(f"{path}: follow-up {entry.get('id')!r} names no earlier question")
    return entries


def ask_all(questions: list[dict], user) -> list[dict]:
    """Ask every question; a follow-up in its parent's conversation."""
    conversations = {}
    answers = []
    for entry in questions:
        parent = entry.get("after")
        if entry.get("kind") == "follow-up" and parent in conversations:
            conversation = conversations[parent]
        else:
            conversation = services.create_conversation(user)
        conversations[entry.get("id")] = conversation
        answers.append(ask(conversation, user, entry))
    return answers


def ask(conversation, user, entry: dict) -> dict:
    started = time.perf_counter()
    events = services.answer_now(conversation, user, entry["question"])
    turn_ms = (time.perf_counter() - started) * 1000
    done = next((e for e in events if e["type"] in ("done", "error")), {})
    message = Message.objects.get(pk=done.get("message") or done.get("message_id"))
    text = "".join(e["text"] for e in events if e["type"] == "token").strip()
    facts = entry.get("facts") or []
    missing = missing_facts(text, facts)
    declined = message.declined or text == DECLINE
    off_topic = entry.get("kind") == "off-topic"
    return {
        "id": entry.get("id"),
        "kind": entry.get("kind"),
        "question": entry["question"],
        "searched": message.search_query,
        "text": text,
        "failed": message.status != Message.Status.DONE,
        "declined": declined,
        "wrong_decline": declined != off_topic,
        "facts": len(facts),
        "missing": missing,
        "total_ms": message.total_ms,
        "first_token_ms": message.first_token_ms,
        "turn_ms": round(turn_ms, 2),
    }


def missing_facts(answer: str, facts: list[str]) -> list[str]:
    """The required facts that ``answer`` does not state (citation markers aside)."""
    said = normalize(_MARKER.sub("", answer))
    return [f for f in facts if normalize(f) not in said]


def normalize(text: str) -> str:
    """Lower case, one kind of degree sign, single spaces."""
    text = text.replace("º", "°").replace("˚", "°").replace("℉", "°f").lower()
    return " ".join(text.split())


def latency(answers: list[dict]) -> dict:
    figures = {}
    for name in ("total_ms", "first_token_ms", "turn_ms"):
        values = sorted(a[name] for a in answers if a[name] is not None)
        stem = name.removesuffix("_ms")
        figures[f"{stem}_p50_ms"] = round(_percentile(values, 50), 2) if values else None
        figures[f"{stem}_p95_ms"] = round(_percentile(values, 95), 2) if values else None
        if name == "total_ms" and values:
            figures["total_mean_ms"] = round(statistics.fmean(values), 2)
    figures["samples"] = len(answers)
    return figures


def quality(answers: list[dict]) -> dict:
    answerable = [a for a in answers if a["kind"] != "off-topic"]
    off_topic = [a for a in answers if a["kind"] == "off-topic"]
    follow_ups = [a for a in answers if a["kind"] == "follow-up"]
    facts = sum(a["facts"] for a in answerable)
    found = facts - sum(len(a["missing"]) for a in answerable)
    by_kind = {}
    for kind in sorted({a["kind"] for a in answerable}):
        group = [a for a in answerable if a["kind"] == kind]
        total = sum(a["facts"] for a in group)
        by_kind[kind] = round((total - sum(len(a["missing"]) for a in group)) / total, 3)
    return {
        "fact_recall": _share(found, facts),
        "fact_recall_by_kind": by_kind,
        "facts": facts,
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


def meets(result: dict) -> dict:
    figures = result["latency"]
    return {
        "total_p95_ms": (figures["total_p95_ms"] or math.inf) <= TARGETS["total_p95_ms"],
        "first_token_p95_ms": (figures["first_token_p95_ms"] or math.inf)
        <= TARGETS["first_token_p95_ms"],
        "fact_recall": (result["fact_recall"] or 0) >= TARGETS["fact_recall"],
        "decline_accuracy": (result["decline_accuracy"] or 0) >= TARGETS["decline_accuracy"],
        "false_decline_rate": (result["false_decline_rate"] or 0) <= TARGETS["false_decline_rate"],
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _short(answer: dict) -> dict:
    return {
        "id": answer["id"],
        "question": answer["question"],
        "searched": answer["searched"],
        "missing": answer["missing"],
        "declined": answer["declined"],
        "answer": answer["text"][:400],
    }
