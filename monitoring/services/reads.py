"""Read models for the API, the dashboard and ``/metrics``."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from lineled.errors import Invalid, NotFound
from monitoring import metrics, probes
from monitoring.models import Alert, AlertRule, MetricSample, SamplerState
from monitoring.services.alerts import alert_json, alerts
from monitoring.services.sampling import sample_every

logger = logging.getLogger(__name__)


def latest() -> list[dict]:
    rules_by_metric = {r.metric: r for r in AlertRule.objects.all()}
    out = []
    for metric in metrics.ALL:
        row = MetricSample.objects.filter(name=metric.name).order_by("-sampled_at").first()
        rule = rules_by_metric.get(metric.name)
        value = row.value if row else None
        out.append(
            {
                "name": metric.name,
                "label": metric.label,
                "unit": metric.unit,
                "description": metric.description,
                "kind": metric.kind,
                "value": value,
                "count": row.count if row else 0,
                "window_s": row.window_s if row else 0,
                "sampled_at": row.sampled_at if row else None,
                "detail": row.detail if row else {},
                "level": rule.level(value, row.count) if rule and rule.enabled and row else None,
                "rule": rule_json(rule) if rule else None,
            }
        )
    return out


def rule_json(rule: AlertRule) -> dict:
    return {
        "id": rule.pk,
        "metric": rule.metric,
        "description": rule.description,
        "direction": rule.direction,
        "warning": rule.warning,
        "critical": rule.critical,
        "fire_after": rule.fire_after,
        "resolve_after": rule.resolve_after,
        "min_count": rule.min_count,
        "enabled": rule.enabled,
    }


def series(
    name: str, since: datetime | None = None, until: datetime | None = None, step: int = 0
) -> list:
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
    return _bucketed(rows, since, step) if step else rows


def _bucketed(rows: list[MetricSample], since: datetime, step: int) -> list[dict]:
    buckets: dict[int, list[MetricSample]] = {}
    for row in rows:
        buckets.setdefault(int((row.sampled_at - since).total_seconds() // step), []).append(row)
    points = []
    for _, group in sorted(buckets.items()):
        known = [r.value for r in group if r.value is not None]
        points.append(
            {
                "name": group[-1].name,
                "value": round(sum(known) / len(known), 4) if known else None,
                "count": sum(r.count for r in group),
                "window_s": group[-1].window_s,
                "sampled_at": group[-1].sampled_at,
                "samples": len(group),
            }
        )
    return points


def overall_status() -> dict:
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
    return {
        "status": status,
        "open_alerts": counts,
        "last_sampled_at": last,
        "sample_every_s": every,
    }


def retrieval_health(check: bool = False) -> dict:
    from knowledge.models import Chunk, Document, SearchEvent
    from knowledge.search import get_backend, search

    hour = timezone.now() - timedelta(hours=1)
    events = SearchEvent.objects.filter(created_at__gte=hour)
    by_outcome = {o: events.filter(outcome=o).count() for o in SearchEvent.Outcome.values}
    last_error = events.exclude(error="").values("created_at", "backend", "error").first()
    result = {
        "backend": get_backend().name,
        "ragie_configured": bool(getattr(settings, "RAGIE_API_KEY", "")),
        "local": {
            "documents_ready": Document.objects.filter(status=Document.Status.READY).count(),
            "chunks": Chunk.objects.count(),
        },
        "last_hour": {"searches": sum(by_outcome.values()), **by_outcome},
        "last_error": last_error,
        "check": None,
    }
    if check:
        started = time.perf_counter()
        try:
            found = search(probes.IDLE_SEARCH, top_k=3)
            result["check"] = {"ok": True, "results": len(found)}
        except Exception as exc:
            result["check"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        result["check"]["ms"] = round((time.perf_counter() - started) * 1000, 1)
        fell_back = SearchEvent.objects.order_by("-pk").values_list("outcome", flat=True).first()
        result["check"]["outcome"] = fell_back
    return result


def knowledge_gaps(days: int = 30, limit: int = 20) -> list[dict]:
    from monitoring.gaps import declined_groups

    if not 1 <= days <= 365 or not 1 <= limit <= 200:
        raise Invalid("days is 1-365 and limit 1-200")
    return declined_groups(timezone.now() - timedelta(days=days), limit)


def last_validation() -> dict | None:
    """The newest validation run's verdict, once the validation app records runs."""
    from django.apps import apps

    try:
        run_model = apps.get_model("validation", "Run")
    except LookupError:
        return None
    run = run_model.objects.order_by("-pk").first()
    if run is None:
        return None
    return {
        f: getattr(run, f, None)
        for f in ("id", "readiness", "score", "success_rate", "finished_at")
    }


def dashboard() -> dict:
    return {
        "status": overall_status(),
        "metrics": latest(),
        "alerts": [alert_json(a) for a in alerts(state="active")],
        "gaps": knowledge_gaps(limit=5),
        "validation": last_validation(),
    }
