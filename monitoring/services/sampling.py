"""Sampling: every metric computed from what was recorded, stored, then judged.

``sample`` is called by beat's task and by the watchdog (``sample_metrics --watch``);
a claim on the single ``SamplerState`` row keeps them from sampling one interval twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from knowledge.models import SearchEvent
from monitoring import metrics, probes
from monitoring.models import Alert, MetricSample, SamplerState
from monitoring.schemas import SampledOut
from monitoring.services.alerts import broadcast, evaluate
from monitoring.services.notifications import deliver_due
from monitoring.services.reads import overall_status, sample_every

logger = logging.getLogger(__name__)


TRAFFIC = [
    metrics.retrieval_latency_p95_ms,
    metrics.retrieval_success_rate,
    metrics.grounded_answer_rate,
    metrics.decline_rate,
    metrics.answer_latency_p95_ms,
    metrics.voice_roundtrip_p95_ms,
    metrics.assistant_error_rate,
    metrics.citation_validity,
    metrics.feedback_positive_rate,
    metrics.worker_heartbeat_age_s,
    metrics.celery_queue_length,
    metrics.ingestion_backlog,
    metrics.periodic_tasks_overdue,
    metrics.validation_readiness,
]
PROBES = [probes.cross_modal_consistency, probes.context_preservation_rate]


@dataclass
class SamplePass:
    samples: list[MetricSample] = field(default_factory=list)
    changed: list[tuple[Alert, str]] = field(default_factory=list)
    duration_ms: float = 0.0
    skipped: bool = False


# --- sampling ---------------------------------------------------------------------------


def sample(*, force: bool = False, probes: bool | None = None) -> SamplePass:
    """Sample every metric now and evaluate the rules.

    Unless ``force``, nothing happens when another sampler started less than 90% of
    the interval ago. ``probes`` None runs the probe metrics when they are due.
    """
    started = time.perf_counter()
    state = _claim(timezone.now(), force)
    if state is None:
        return SamplePass(skipped=True)
    _search_if_idle()
    now = timezone.now()
    due = probes if probes is not None else _probes_due(state, now)
    try:
        samples = _measure(now, due)
        with transaction.atomic():
            MetricSample.objects.bulk_create(samples)
            changed = evaluate(samples)
    except Exception as exc:
        SamplerState.objects.filter(pk=state.pk).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    duration = (time.perf_counter() - started) * 1000
    fields = {
        "last_finished_at": timezone.now(),
        "last_duration_ms": round(duration, 1),
        "last_error": "",
    }
    if due:
        fields["last_probe_at"] = now
    SamplerState.objects.filter(pk=state.pk).update(**fields)
    broadcast("monitoring.sampled", SampledOut(sampled_at=now, status=overall_status().status))
    return SamplePass(samples, changed, round(duration, 1))


def _claim(now: datetime, force: bool) -> SamplerState | None:
    state, _ = SamplerState.objects.get_or_create(pk=1)
    if force:
        SamplerState.objects.filter(pk=1).update(last_started_at=now)
        return state
    every = sample_every()
    if every is None:  # ops turned sampling off in the admin
        return None
    recent = now - timedelta(seconds=every * 0.9)
    claimed = (
        SamplerState.objects.filter(pk=1)
        .filter(Q(last_started_at__isnull=True) | Q(last_started_at__lt=recent))
        .update(last_started_at=now)
    )
    return state if claimed else None


def _probes_due(state: SamplerState, now: datetime) -> bool:
    every = timedelta(minutes=settings.MONITORING_PROBE_MINUTES)
    return state.last_probe_at is None or now - state.last_probe_at >= every


def _measure(now: datetime, with_probes: bool) -> list[MetricSample]:
    window = timedelta(minutes=settings.MONITORING_WINDOW_MINUTES)
    start = now - window
    readings = [(f.__name__, _safely(f, start, now)) for f in TRAFFIC]
    if with_probes:
        readings += [(f.__name__, _safely(f)) for f in PROBES]
    return [
        MetricSample(
            name=name,
            value=reading.value,
            count=reading.count,
            detail=reading.detail,
            window_s=int(window.total_seconds()),
            sampled_at=now,
        )
        for name, reading in readings
    ]


def _search_if_idle() -> None:
    """With no search in the window, one probe search: retrieval is still measured."""
    start = timezone.now() - timedelta(minutes=settings.MONITORING_WINDOW_MINUTES)
    if not SearchEvent.objects.filter(created_at__gte=start).exists():
        _safely(probes.idle_search)


def _safely(function, *args) -> metrics.Reading:
    """A metric that cannot be computed is recorded as such; the others go on."""
    try:
        return function(*args)
    except Exception as exc:
        logger.exception("metric %s failed", function.__name__)
        return metrics.Reading(None, 0, {"error": f"{type(exc).__name__}: {exc}"[:500]})


def sample_if_due() -> SamplePass:
    """For the watchdog: sample unless a sampler already did this interval, then
    deliver notifications the worker has not (it may be the thing that is down)."""
    result = sample()
    deliver_due()
    return result


def prune(days: int | None = None) -> int:
    before = timezone.now() - timedelta(days=days or settings.MONITORING_KEEP_DAYS)
    deleted, _ = MetricSample.objects.filter(sampled_at__lt=before).delete()
    return deleted
