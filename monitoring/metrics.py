"""The metrics: each one a function of what was recorded in a time window.

A metric function takes the window's start and end and returns a ``Reading``: the
value (None when nothing happened), how many events it rests on, and details worth
showing. Messages, searches and turns of the monitor's own probes are left out of
the traffic figures (they are measured by the probe metrics instead).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django_celery_beat.models import PeriodicTask

from chat.models import Citation, Feedback, Message
from knowledge.models import Document, Page, SearchEvent
from lineled.celery import app
from lineled.services import by_people
from monitoring.models import TaskRun
from validation import readiness
from voice.models import VoiceTurn

LATENCY_ROWS = 10_000  # a p95 over the newest this many events is plenty
CITATION_SAMPLE = 50


@dataclass
class Reading:
    value: float | None
    count: int = 0
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str  # "ms", "ratio", "s", "count"
    description: str
    kind: str = "traffic"  # traffic, probe, operational


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _answers(start: datetime, end: datetime):
    return by_people(
        Message.objects.filter(
            role=Message.Role.ASSISTANT, created_at__gte=start, created_at__lte=end
        )
    )


def _latencies(queryset, column: str) -> list[float]:
    rows = queryset.exclude(**{f"{column}__isnull": True}).order_by("-created_at")
    return list(rows.values_list(column, flat=True)[:LATENCY_ROWS])


# --- traffic ------------------------------------------------------------------------


def retrieval_latency_p95_ms(start, end) -> Reading:
    values = _latencies(
        SearchEvent.objects.filter(created_at__gte=start, created_at__lte=end), "latency_ms"
    )
    return Reading(percentile(values, 95), len(values))


def retrieval_success_rate(start, end) -> Reading:
    counts = SearchEvent.objects.filter(created_at__gte=start, created_at__lte=end).aggregate(
        total=Count("pk"),
        ok=Count("pk", filter=Q(outcome=SearchEvent.Outcome.OK)),
        fallback=Count("pk", filter=Q(outcome=SearchEvent.Outcome.FALLBACK)),
    )
    total = counts["total"]
    # A fallback answered, but from the local index instead of the configured backend:
    # degraded, so it counts half.
    value = _ratio(counts["ok"] * 2 + counts["fallback"], total * 2)
    errors = total - counts["ok"] - counts["fallback"]
    return Reading(
        value, total, {"ok": counts["ok"], "fallback": counts["fallback"], "error": errors}
    )


def grounded_answer_rate(start, end) -> Reading:
    answered = _answers(start, end).filter(status=Message.Status.DONE, declined=False)
    counts = answered.aggregate(
        total=Count("pk", distinct=True),
        cited=Count("pk", filter=Q(citations__isnull=False), distinct=True),
    )
    return Reading(_ratio(counts["cited"], counts["total"]), counts["total"])


def decline_rate(start, end) -> Reading:
    counts = (
        _answers(start, end)
        .filter(status=Message.Status.DONE)
        .aggregate(total=Count("pk"), declined=Count("pk", filter=Q(declined=True)))
    )
    return Reading(_ratio(counts["declined"], counts["total"]), counts["total"])


def answer_latency_p95_ms(start, end) -> Reading:
    done = _answers(start, end).filter(status=Message.Status.DONE, modality=Message.Modality.TEXT)
    values = _latencies(done, "total_ms")
    return Reading(percentile(values, 95), len(values), {"p50": percentile(values, 50)})


def voice_roundtrip_p95_ms(start, end) -> Reading:
    turns = by_people(VoiceTurn.objects.filter(created_at__gte=start, created_at__lte=end))
    values = _latencies(turns, "first_audio_ms")
    return Reading(percentile(values, 95), len(values), {"p50": percentile(values, 50)})


def assistant_error_rate(start, end) -> Reading:
    finished = _answers(start, end).filter(status__in=[Message.Status.DONE, Message.Status.FAILED])
    counts = finished.aggregate(
        total=Count("pk"), failed=Count("pk", filter=Q(status=Message.Status.FAILED))
    )
    return Reading(_ratio(counts["failed"], counts["total"]), counts["total"])


def feedback_positive_rate(start, end) -> Reading:
    counts = Feedback.objects.filter(updated_at__gte=start, updated_at__lte=end).aggregate(
        total=Count("pk"), up=Count("pk", filter=Q(rating=Feedback.Rating.UP))
    )
    return Reading(_ratio(counts["up"], counts["total"]), counts["total"])


def citation_validity(start, end) -> Reading:
    """Of the newest citations (of any age: a quiet store still has some), the share
    whose snippet is really on the page it names."""
    citations = list(
        Citation.objects.filter(document__isnull=False)
        .exclude(snippet="")
        .order_by("-pk")
        .values("pk", "document_id", "pages", "snippet")[:CITATION_SAMPLE]
    )
    wanted = {(c["document_id"], p) for c in citations for p in (c["pages"] or [])}
    texts = {}
    if wanted:
        documents = {d for d, _ in wanted}
        for row in Page.objects.filter(document_id__in=documents).values(
            "document_id", "number", "text"
        ):
            if (row["document_id"], row["number"]) in wanted:
                texts[(row["document_id"], row["number"])] = _flat(row["text"])
    invalid = [
        c["pk"]
        for c in citations
        if not _snippet_on(
            c["snippet"], " ".join(texts.get((c["document_id"], p), "") for p in c["pages"] or [])
        )
    ]
    value = _ratio(len(citations) - len(invalid), len(citations))
    return Reading(value, len(citations), {"invalid_citations": invalid[:20]})


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "")).strip().lower()


def _snippet_on(snippet: str, page_text: str) -> bool:
    """Every piece of the snippet (between the "…" marks of a cut, and a table's cells
    between its " | ": the page lays cells out in its own order) is in the text."""
    if not page_text:
        return False
    plain = _flat(html.unescape(re.sub(r"<[^>]+>", "", snippet)))
    pieces = [p.strip(" .") for p in re.split(r"…|\.\.\.|\s\|\s", plain)]
    pieces = [p for p in pieces if len(p) >= 8]
    return bool(pieces) and all(p in page_text for p in pieces)


# --- operational ---------------------------------------------------------------------


def ingestion_backlog(start, end) -> Reading:
    waiting = Document.objects.filter(
        status__in=[Document.Status.QUEUED, Document.Status.PROCESSING]
    ).count()
    return Reading(float(waiting), waiting)


HEARTBEAT_TASK = "lineled.tasks.heartbeat"


def worker_heartbeat_age_s(start, end) -> Reading:
    """Seconds since a worker last ran beat's heartbeat task (None if it never has)."""
    last = (
        TaskRun.objects.filter(task=HEARTBEAT_TASK)
        .values_list("last_success_at", flat=True)
        .first()
    )
    if last is None:
        return Reading(None, 0, {"note": "no worker has run the heartbeat yet"})
    return Reading(round((end - last).total_seconds(), 1), 1, {"last_heartbeat": last.isoformat()})


def celery_queue_length(start, end) -> Reading:
    """Messages waiting in the default queue of the broker."""
    queue = app.conf.task_default_queue or "celery"
    try:
        with app.connection_for_read() as connection:
            waiting = connection.default_channel.queue_declare(
                queue=queue, passive=True
            ).message_count
    except Exception as exc:  # an unreachable broker is a reading, not a crash
        return Reading(None, 0, {"error": f"{type(exc).__name__}: {exc}"[:300], "queue": queue})
    return Reading(float(waiting), waiting, {"queue": queue})


def periodic_tasks_overdue(start, end) -> Reading:
    """Periodic tasks (beat's schedule) that have not run within their period plus the
    grace time: each names itself in the details."""
    tasks = PeriodicTask.objects.filter(enabled=True, interval__isnull=False).select_related(
        "interval"
    )
    runs = dict(TaskRun.objects.values_list("task", "last_success_at"))
    grace = timedelta(seconds=settings.MONITORING_TASK_GRACE_SECONDS)
    overdue, ages = [], {}
    for task in tasks:
        if task.task.startswith("celery."):
            continue
        period = timedelta(seconds=task.interval.every * UNIT_SECONDS[task.interval.period])
        since = runs.get(task.task) or task.start_time or task.date_changed
        if since is None:
            continue
        age = end - since
        ages[task.name] = round(age.total_seconds(), 1)
        if age > period + grace:
            overdue.append(task.name)
    return Reading(float(len(overdue)), len(ages), {"overdue": sorted(overdue), "age_s": ages})


READINESS_LEVELS = {"READY": 2.0, "CONDITIONAL": 1.0, "NOT READY": 0.0}


def validation_readiness(start, end) -> Reading:
    """The newest finished validation run's verdict: 2 READY, 1 CONDITIONAL, 0 NOT
    READY (None before the first run)."""
    run = readiness.latest_verdict()
    if run is None:
        return Reading(None, 0, {"note": "no full validation run has finished"})
    return Reading(
        READINESS_LEVELS.get(run.readiness),
        1,
        {
            "run": run.pk,
            "readiness": run.readiness,
            "score": run.score,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
    )


UNIT_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "microseconds": 1e-6}


# --- the registry ---------------------------------------------------------------------

ALL = [
    Metric(
        "retrieval_latency_p95_ms",
        "Retrieval latency p95",
        "ms",
        "95th percentile of search time over recorded searches (a probe search when idle).",
    ),
    Metric(
        "retrieval_success_rate",
        "Retrieval success",
        "ratio",
        "Searches without a backend error; a fallback to the local index counts half.",
    ),
    Metric(
        "grounded_answer_rate",
        "Grounded answers",
        "ratio",
        "Answers (not declines) that carry at least one citation.",
    ),
    Metric("decline_rate", "Decline rate", "ratio", "Questions the assistant declined."),
    Metric(
        "answer_latency_p95_ms",
        "Answer latency p95",
        "ms",
        "95th percentile of the time to a whole text answer.",
    ),
    Metric(
        "voice_roundtrip_p95_ms",
        "Voice round trip p95",
        "ms",
        "95th percentile from the end of speech to the first audio byte of the answer.",
    ),
    Metric("assistant_error_rate", "Assistant errors", "ratio", "Failed answers over all answers."),
    Metric(
        "citation_validity",
        "Citation validity",
        "ratio",
        "Of the newest citations, those whose snippet is really on the cited page.",
    ),
    Metric(
        "cross_modal_consistency",
        "Text/voice consistency",
        "ratio",
        "Probe questions asked by text and by voice that give the same facts and citations.",
        "probe",
    ),
    Metric(
        "context_preservation_rate",
        "Context preservation",
        "ratio",
        "Probe follow-ups answered in the context of the question before them.",
        "probe",
    ),
    Metric(
        "feedback_positive_rate",
        "Positive feedback",
        "ratio",
        "Thumbs up over all feedback given in the window.",
    ),
    Metric(
        "worker_heartbeat_age_s",
        "Worker heartbeat age",
        "s",
        "Seconds since a Celery worker last ran beat's heartbeat task.",
        "operational",
    ),
    Metric(
        "celery_queue_length",
        "Queue length",
        "count",
        "Tasks waiting in the broker's default queue.",
        "operational",
    ),
    Metric(
        "ingestion_backlog",
        "Ingestion backlog",
        "count",
        "Documents queued or being ingested.",
        "operational",
    ),
    Metric(
        "validation_readiness",
        "Validation readiness",
        "level",
        "Verdict of the newest full validation run: Ready, Conditional or Not ready.",
        "operational",
    ),
    Metric(
        "periodic_tasks_overdue",
        "Overdue periodic tasks",
        "count",
        "Periodic tasks that have not run within their period plus the grace time.",
        "operational",
    ),
]
BY_NAME = {metric.name: metric for metric in ALL}
