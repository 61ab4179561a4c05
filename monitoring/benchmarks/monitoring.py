"""The cost of one sampling pass on a store with a long history.

The sandbox database is filled with ``--messages`` chat messages (questions and
answers, one citation per answer), as many search events as questions, feedback on
one answer in ten and a voice turn for one question in twenty, spread over the last
30 days with a busy last window. Then the full sampling pass (every metric but the
probes, and the rule evaluation) runs ``--repeat`` times; each metric is also timed on
its own, and the dashboard's read model (``services.dashboard``) once.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from chat.models import Citation, Conversation, Feedback, Message
from knowledge.demo import loader
from knowledge.models import Page, SearchEvent
from monitoring import services
from voice.models import VoiceTurn

BATCH = 5000
TARGET_MS = 1000.0


def add_arguments(parser):
    parser.add_argument("--messages", type=int, default=100_000, help="chat messages to create")
    parser.add_argument("--repeat", type=int, default=5, help="sampling passes to time")


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    total = max(2, int(options.get("messages") or 100_000))
    repeat = max(1, int(options.get("repeat") or 5))
    loaded = loader.load(loader.manual_paths()[:1])
    started = time.perf_counter()
    _fill(total, loaded[0].document)
    fill_s = time.perf_counter() - started
    log(f"{Message.objects.count()} messages written in {fill_s:.1f} s")

    passes = []
    for _ in range(repeat):
        result = services.sample(force=True, probes=False)
        passes.append(result.duration_ms)
    now = timezone.now()
    start = now - timedelta(minutes=15)
    per_metric = {}
    for function in services.TRAFFIC:
        began = time.perf_counter()
        function(start, now)
        per_metric[function.__name__] = round((time.perf_counter() - began) * 1000, 1)
    began = time.perf_counter()
    services.dashboard()
    dashboard_ms = (time.perf_counter() - began) * 1000
    return {
        "database": connection.vendor,
        "messages": Message.objects.count(),
        "search_events": SearchEvent.objects.count(),
        "fill_s": round(fill_s, 1),
        "sampling_pass_ms": {
            "p50": round(statistics.median(passes), 1),
            "max": round(max(passes), 1),
            "runs": [round(p, 1) for p in passes],
        },
        "per_metric_ms": per_metric,
        "dashboard_ms": round(dashboard_ms, 1),
        "target_ms": TARGET_MS,
        "meets_target": max(passes) <= TARGET_MS,
    }


def _fill(total: int, document) -> None:
    """``total`` messages: a question and its answer per conversation turn."""
    rng = random.Random(7)
    user = get_user_model().objects.create_user("bench-monitoring", password=None)
    page = Page.objects.filter(document=document).order_by("number").first()
    snippet = " ".join(page.text.split()[:12]) if page else ""
    now = timezone.now()
    turns = total // 2
    for offset in range(0, turns, BATCH):
        count = min(BATCH, turns - offset)
        times = [_when(rng, now) for _ in range(count)]
        conversations = Conversation.objects.bulk_create(
            [Conversation(user=user, title="bench", created_at=t, updated_at=t) for t in times]
        )
        questions = Message.objects.bulk_create(
            [
                Message(conversation=c, role="user", text="how long do fries cook", created_at=t)
                for c, t in zip(conversations, times, strict=True)
            ]
        )
        answers = Message.objects.bulk_create(
            [
                Message(
                    conversation=q.conversation,
                    role="assistant",
                    reply_to=q,
                    text="Fries cook for 3 minutes at 350°F [1].",
                    status="failed" if rng.random() < 0.01 else "done",
                    declined=rng.random() < 0.1,
                    total_ms=rng.uniform(80, 900),
                    created_at=q.created_at,
                )
                for q in questions
            ]
        )
        Citation.objects.bulk_create(
            [
                Citation(
                    message=a,
                    rank=1,
                    document=document,
                    title=document.title,
                    pages=[page.number if page else 1],
                    snippet=snippet,
                )
                for a in answers
                if not a.declined
            ]
        )
        SearchEvent.objects.bulk_create(
            [
                SearchEvent(
                    backend="local",
                    query="fries",
                    results=3,
                    latency_ms=rng.uniform(2, 60),
                    created_at=t,
                )
                for t in times
            ]
        )
        Feedback.objects.bulk_create(
            [
                Feedback(message=a, user=user, rating="up" if rng.random() < 0.8 else "down")
                for a in answers[::10]
            ]
        )
        spoken = questions[::20]
        voiced = VoiceTurn.objects.bulk_create(
            [
                VoiceTurn(
                    conversation=q.conversation,
                    question=q,
                    status="answered",
                    transcript=q.text,
                    audio_ms=1800,
                    stt_engine="pocketsphinx",
                    first_audio_ms=rng.uniform(300, 800),
                )
                for q in spoken
            ]
        )
        for turn, question in zip(voiced, spoken, strict=True):
            turn.created_at = question.created_at  # auto_now_add set it to now
        VoiceTurn.objects.bulk_update(voiced, ["created_at"], batch_size=1000)


def _when(rng: random.Random, now):
    """One turn in fifty in the last 15 minutes, the rest over 30 days."""
    if rng.random() < 0.02:
        return now - timedelta(seconds=rng.uniform(0, 900))
    return now - timedelta(seconds=rng.uniform(900, 30 * 86400))
