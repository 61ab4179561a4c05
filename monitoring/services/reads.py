"""Read models for the API, the dashboard and ``/metrics``, as the API's schemas; and the
reads the other services share (how often sampling runs, the overall status)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from knowledge.models import Chunk, Document, SearchEvent
from knowledge.search import get_backend, search
from lineled.errors import Invalid, NotFound
from monitoring import metrics, probes
from monitoring.gaps import declined_groups
from monitoring.models import Alert, AlertRule, MetricSample, SamplerState
from monitoring.schemas import (
    DashboardOut,
    GapOut,
    MetricOut,
    OpenAlertsOut,
    RetrievalCheckOut,
    RetrievalOut,
    RuleSummaryOut,
    SampleOut,
    StatusOut,
    ValidationOut,
)
from validation import readiness

SAMPLE_TASK = "sample-metrics"


def latest() -> list[MetricOut]:
    rules_by_metric = {r.metric: r for r in AlertRule.objects.all()}
    out = []
    for metric in metrics.ALL:
        row = MetricSample.objects.filter(name=metric.name).order_by("-sampled_at").first()
        rule = rules_by_metric.get(metric.name)
        value = row.value if row else None
        out.append(
            MetricOut(
                name=metric.name,
                label=metric.label,
                unit=metric.unit,
                description=metric.description,
                kind=metric.kind,
                value=value,
                count=row.count if row else 0,
                window_s=row.window_s if row else 0,
                sampled_at=row.sampled_at if row else None,
                detail=row.detail if row else {},
                level=rule.level(value, row.count) if rule and rule.enabled and row else None,
                rule=RuleSummaryOut.from_orm(rule) if rule else None,
            )
        )
    return out


def rules():
    return AlertRule.objects.all()


def alerts(
    state: str | None = None,
    severity: str | None = None,
    metric: str | None = None,
    limit: int = 100,
):
    rows = Alert.objects.select_related("acknowledged_by", "resolved_by")
    if state == "open":
        rows = rows.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)
    elif state == "acknowledged":
        rows = rows.filter(resolved_at__isnull=True, acknowledged_at__isnull=False)
    elif state == "resolved":
        rows = rows.filter(resolved_at__isnull=False)
    elif state == "active":
        rows = rows.filter(resolved_at__isnull=True)
    elif state:
        raise Invalid("state must be open, acknowledged, active or resolved")
    if severity:
        if severity not in Alert.Severity.values:
            raise Invalid("severity must be warning or critical")
        rows = rows.filter(severity=severity)
    if metric:
        rows = rows.filter(metric=metric)
    return rows[: max(1, min(limit, 1000))]


def series(
    name: str, since: datetime | None = None, until: datetime | None = None, step: int = 0
) -> list[SampleOut]:
    """The samples of ``name`` in the range, oldest first; with ``step`` (seconds), one
    point per step instead: the mean of the values there were, the events summed."""
    if step and not 60 <= step <= 86400:
        raise Invalid("step is 60 to 86400 seconds")
    if name not in metrics.BY_NAME:
        raise NotFound(f"no metric {name!r}; known: {', '.join(metrics.BY_NAME)}")
    until = until or timezone.now()
    since = since or until - timedelta(hours=24)
    if since >= until:
        raise Invalid("since must be before until")
    if until - since > timedelta(days=90):
        raise Invalid("a series covers at most 90 days")
    rows = list(
        MetricSample.objects.filter(name=name, sampled_at__gte=since, sampled_at__lte=until)
        .order_by("sampled_at")
        .only("value", "count", "sampled_at", "name", "window_s")[:20000]
    )
    if step:
        return _bucketed(rows, since, step)
    return [SampleOut.from_orm(row) for row in rows]


def _bucketed(rows: list[MetricSample], since: datetime, step: int) -> list[SampleOut]:
    buckets: dict[int, list[MetricSample]] = {}
    for row in rows:
        buckets.setdefault(int((row.sampled_at - since).total_seconds() // step), []).append(row)
    points = []
    for _, group in sorted(buckets.items()):
        known = [r.value for r in group if r.value is not None]
        points.append(
            SampleOut(
                name=group[-1].name,
                value=round(sum(known) / len(known), 4) if known else None,
                count=sum(r.count for r in group),
                window_s=group[-1].window_s,
                sampled_at=group[-1].sampled_at,
                samples=len(group),
            )
        )
    return points


def sample_every() -> float | None:
    """Seconds between samples: the beat schedule's, as edited in the admin (None when
    ops disabled it there), or the setting before beat has written its schedule."""
    task = PeriodicTask.objects.filter(name=SAMPLE_TASK).select_related("interval").first()
    if task is None or task.interval is None:
        return settings.MONITORING_SAMPLE_SECONDS
    if not task.enabled:
        return None
    return task.interval.every * metrics.UNIT_SECONDS[task.interval.period]


def overall_status() -> StatusOut:
    state = SamplerState.objects.filter(pk=1).first()
    last = state.last_finished_at if state else None
    open_alerts = Alert.objects.open()
    counts = {s: open_alerts.filter(severity=s).count() for s in Alert.Severity.values}
    every = sample_every() or settings.MONITORING_SAMPLE_SECONDS
    if counts["critical"]:
        status = "critical"
    elif counts["warning"]:
        status = "warning"
    elif last is None:
        status = "unknown"
    elif timezone.now() - last > timedelta(seconds=every * 3 + 60):
        status = "stale"
    else:
        status = "ok"
    return StatusOut(
        status=status,
        open_alerts=OpenAlertsOut(**counts),
        last_sampled_at=last,
        sample_every_s=every,
    )


def retrieval_health(check: bool = False) -> RetrievalOut:
    hour = timezone.now() - timedelta(hours=1)
    events = SearchEvent.objects.filter(created_at__gte=hour)
    by_outcome = {o: events.filter(outcome=o).count() for o in SearchEvent.Outcome.values}
    return RetrievalOut(
        backend=get_backend().name,
        ragie_configured=bool(getattr(settings, "RAGIE_API_KEY", "")),
        local={
            "documents_ready": Document.objects.filter(status=Document.Status.READY).count(),
            "chunks": Chunk.objects.count(),
        },
        last_hour={"searches": sum(by_outcome.values()), **by_outcome},
        last_error=events.exclude(error="").values("created_at", "backend", "error").first(),
        check=_check_search() if check else None,
    )


def _check_search() -> RetrievalCheckOut:
    """A test search now, timed, and how it was recorded (ok, fallback or error)."""
    started = time.perf_counter()
    try:
        found = search(probes.IDLE_SEARCH, top_k=3)
        result = {"ok": True, "results": len(found)}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return RetrievalCheckOut(
        **result,
        ms=round((time.perf_counter() - started) * 1000, 1),
        outcome=SearchEvent.objects.order_by("-pk").values_list("outcome", flat=True).first(),
    )


def knowledge_gaps(days: int = 30, limit: int = 20) -> list[GapOut]:
    if not 1 <= days <= 365 or not 1 <= limit <= 200:
        raise Invalid("days is 1-365 and limit 1-200")
    return [
        GapOut(**group) for group in declined_groups(timezone.now() - timedelta(days=days), limit)
    ]


def last_validation() -> ValidationOut | None:
    """The newest validation run, whatever its state, as the dashboard shows it."""
    run = readiness.latest_run()
    return ValidationOut.from_orm(run) if run else None


def dashboard() -> DashboardOut:
    return DashboardOut(
        status=overall_status(),
        metrics=latest(),
        alerts=list(alerts(state="active")),
        gaps=knowledge_gaps(limit=5),
        validation=last_validation(),
    )
