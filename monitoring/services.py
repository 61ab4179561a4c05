"""Sampling, alerting and the read models of the monitoring app.

``sample`` computes every metric from what was recorded, stores the samples and
evaluates the alert rules; the beat task and the watchdog (``sample_metrics
--watch``) both call it, and a claim on the single ``SamplerState`` row keeps them
from sampling the same interval twice. Alerts notify by email and webhook through
``Notification`` rows that a task delivers and retries, so a slow mail server never
holds up sampling.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lineled import notify
from lineled.errors import Conflict, Invalid, NotFound
from lineled.roles import Role
from monitoring import metrics, probes
from monitoring.models import Alert, AlertRule, MetricSample, Notification, SamplerState

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
    _broadcast(
        "monitoring.sampled", {"sampled_at": now.isoformat(), "status": overall_status()["status"]}
    )
    return SamplePass(samples, changed, round(duration, 1))


def _claim(now: datetime, force: bool) -> SamplerState | None:
    state, _ = SamplerState.objects.get_or_create(pk=1)
    if force:
        SamplerState.objects.filter(pk=1).update(last_started_at=now)
        return state
    recent = now - timedelta(seconds=settings.MONITORING_SAMPLE_SECONDS * 0.9)
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
    from knowledge.models import SearchEvent

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


# --- alerts -------------------------------------------------------------------------------


def evaluate(samples: list[MetricSample]) -> list[tuple[Alert, str]]:
    """Apply each enabled rule to its metric's new sample: open, escalate or resolve."""
    by_name = {s.name: s for s in samples}
    changed = []
    for rule in AlertRule.objects.filter(enabled=True, metric__in=by_name).select_for_update():
        change = _apply(rule, by_name[rule.metric])
        if change:
            changed.append(change)
    return changed


def _apply(rule: AlertRule, sample: MetricSample) -> tuple[Alert, str] | None:
    level = rule.level(sample.value)
    if level is None:  # nothing happened: neither bad nor good
        return None
    if level == "ok":
        rule.bad_streak, rule.good_streak = 0, rule.good_streak + 1
    else:
        rule.bad_streak, rule.good_streak = rule.bad_streak + 1, 0
    rule.save(update_fields=["bad_streak", "good_streak"])
    alert = Alert.objects.open().filter(rule=rule).first()
    if alert is None:
        if level != "ok" and rule.bad_streak >= rule.fire_after:
            return _open(rule, sample, level), Notification.Event.OPENED
        return None
    alert.value = sample.value
    if _worse(rule, sample.value, alert.worst):
        alert.worst = sample.value
    if level == Alert.Severity.CRITICAL and alert.severity == Alert.Severity.WARNING:
        alert.severity, alert.escalated_at = level, timezone.now()
        alert.message = _message(rule, sample, level)
        alert.save(update_fields=["value", "worst", "severity", "escalated_at", "message"])
        _changed(alert, Notification.Event.ESCALATED)
        return alert, Notification.Event.ESCALATED
    if level == "ok" and rule.good_streak >= rule.resolve_after:
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["value", "worst", "resolved_at"])
        _changed(alert, Notification.Event.RESOLVED)
        return alert, Notification.Event.RESOLVED
    alert.save(update_fields=["value", "worst"])
    return None


def _worse(rule: AlertRule, value: float, worst: float | None) -> bool:
    if worst is None:
        return True
    return value > worst if rule.direction == AlertRule.Direction.ABOVE else value < worst


def _open(rule: AlertRule, sample: MetricSample, level: str) -> Alert:
    alert = Alert.objects.create(
        rule=rule,
        metric=rule.metric,
        severity=level,
        value=sample.value,
        worst=sample.value,
        message=_message(rule, sample, level),
    )
    _changed(alert, Notification.Event.OPENED)
    return alert


def _message(rule: AlertRule, sample: MetricSample, level: str) -> str:
    metric = metrics.BY_NAME.get(rule.metric)
    label = metric.label if metric else rule.metric
    threshold = rule.critical if level == Alert.Severity.CRITICAL else rule.warning
    word = "above" if rule.direction == AlertRule.Direction.ABOVE else "below"
    value, limit = format_value(rule.metric, sample.value), format_value(rule.metric, threshold)
    text = f"{label} is {value}, {word} the {level} threshold {limit}"
    overdue = sample.detail.get("overdue") if isinstance(sample.detail, dict) else None
    if overdue:
        text += f" (overdue: {', '.join(overdue)})"
    return text[:500]


def format_value(name: str, value: float | None) -> str:
    if value is None:
        return "no data"
    unit = metrics.BY_NAME[name].unit if name in metrics.BY_NAME else ""
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.0f} s"
    return f"{value:g}"


def acknowledge(alert_id: int, user) -> Alert:
    alert = _get_alert(alert_id)
    if alert.resolved_at:
        raise Conflict("this alert is already resolved")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        _changed(alert, "acknowledged", notify_channels=False)
    return alert


def resolve(alert_id: int, user) -> Alert:
    """Close an alert by hand (the rule's streaks start again)."""
    with transaction.atomic():
        alert = _get_alert(alert_id, lock=True)
        if alert.resolved_at:
            raise Conflict("this alert is already resolved")
        alert.resolved_at, alert.resolved_by = timezone.now(), user
        alert.save(update_fields=["resolved_at", "resolved_by"])
        AlertRule.objects.filter(pk=alert.rule_id).update(bad_streak=0, good_streak=0)
        _changed(alert, Notification.Event.RESOLVED)
    return alert


def _get_alert(alert_id, lock: bool = False) -> Alert:
    rows = Alert.objects.select_related("rule", "acknowledged_by", "resolved_by")
    if lock:
        rows = rows.select_for_update(of=("self",))
    alert = rows.filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


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


def alert_json(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "metric": alert.metric,
        "severity": alert.severity,
        "state": alert.state,
        "message": alert.message,
        "value": alert.value,
        "worst": alert.worst,
        "opened_at": alert.opened_at,
        "escalated_at": alert.escalated_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by.username if alert.acknowledged_by else None,
        "resolved_at": alert.resolved_at,
        "resolved_by": alert.resolved_by.username if alert.resolved_by else None,
    }


def rules():
    return AlertRule.objects.all()


def ensure_defaults() -> None:
    """Give every metric of ``defaults.RULES`` its rule, and seed the probes if there
    are none (what migration 0002 does; for a database emptied since)."""
    from monitoring.defaults import PROBES, RULES
    from monitoring.models import Probe

    for metric, direction, warning, critical, fire, resolve, description in RULES:
        AlertRule.objects.get_or_create(
            metric=metric,
            defaults={
                "direction": direction,
                "warning": warning,
                "critical": critical,
                "fire_after": fire,
                "resolve_after": resolve,
                "description": description,
            },
        )
    if not Probe.objects.exists():
        for question, follow_up, facts in PROBES:
            Probe.objects.create(question=question, follow_up=follow_up, follow_up_facts=facts)


RULE_FIELDS = {
    "description",
    "direction",
    "warning",
    "critical",
    "fire_after",
    "resolve_after",
    "enabled",
}


def update_rule(rule_id: int, changes: dict) -> AlertRule:
    rule = AlertRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"no alert rule {rule_id}")
    unknown = set(changes) - RULE_FIELDS
    if unknown:
        raise Invalid(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(rule, name, value)
    check_rule(rule)
    rule.save(update_fields=[*changes, "updated_at"])
    return rule


def check_rule(rule: AlertRule) -> None:
    if rule.direction not in AlertRule.Direction.values:
        raise Invalid("direction must be above or below")
    if rule.warning is None and rule.critical is None:
        raise Invalid("a rule needs a warning or a critical threshold (or both)")
    if rule.warning is not None and rule.critical is not None:
        above = rule.direction == AlertRule.Direction.ABOVE
        if (rule.critical < rule.warning) if above else (rule.critical > rule.warning):
            raise Invalid("the critical threshold must be beyond the warning threshold")
    if rule.fire_after < 1 or rule.resolve_after < 1:
        raise Invalid("fire_after and resolve_after are at least 1")


# --- notifications ------------------------------------------------------------------------


def _changed(alert: Alert, event: str, *, notify_channels: bool = True) -> None:
    if notify_channels:
        for notification in _notifications(alert, event):
            transaction.on_commit(lambda pk=notification.pk: _enqueue(pk))
    _broadcast(
        "monitoring.alert",
        {
            "id": alert.pk,
            "metric": alert.metric,
            "severity": alert.severity,
            "state": alert.state,
            "event": event,
        },
    )


def _notifications(alert: Alert, event: str) -> list[Notification]:
    wanted = []
    if settings.ALERT_EMAILS:
        wanted.append((Notification.Channel.EMAIL, ", ".join(settings.ALERT_EMAILS)))
    if settings.ALERT_WEBHOOK_URL:
        wanted.append((Notification.Channel.WEBHOOK, settings.ALERT_WEBHOOK_URL))
    return [
        Notification.objects.create(alert=alert, event=event, channel=channel, target=target)
        for channel, target in wanted
    ]


def _enqueue(notification_id: int) -> None:
    from monitoring.tasks import deliver_notification

    try:
        deliver_notification.delay(notification_id)
    except Exception:  # the broker is down: the watchdog delivers it later
        logger.warning(
            "could not queue notification %s; it stays pending", notification_id, exc_info=True
        )


def deliver(notification_id: int) -> str:
    """Send one notification if it is due; returns its status afterwards.

    A failure is recorded on the row with the time of the next attempt (backing off);
    after ``ALERT_NOTIFY_ATTEMPTS`` tries it is marked failed.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(minutes=5), attempts=F("attempts") + 1)
    notification = Notification.objects.select_related("alert").filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(f"no notification {notification_id}")
    if not claimed:
        return notification.status
    try:
        _send(notification)
    except Exception as exc:
        gave_up = notification.attempts >= settings.ALERT_NOTIFY_ATTEMPTS
        notification.status = Notification.Status.FAILED if gave_up else Notification.Status.PENDING
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        notification.next_attempt_at = now + timedelta(
            seconds=30 * 2 ** (notification.attempts - 1)
        )
        notification.save(update_fields=["status", "last_error", "next_attempt_at"])
        logger.warning(
            "notification %s failed (attempt %s): %s", notification.pk, notification.attempts, exc
        )
        return notification.status
    notification.status, notification.sent_at = Notification.Status.SENT, timezone.now()
    notification.save(update_fields=["status", "sent_at"])
    return notification.status


def deliver_due() -> int:
    """Send every pending notification whose time has come (the watchdog's backstop)."""
    due = Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:50]
    return sum(deliver(pk) == Notification.Status.SENT for pk in list(due))


def retry_notification(notification_id: int) -> str:
    Notification.objects.filter(pk=notification_id).exclude(status=Notification.Status.SENT).update(
        status=Notification.Status.PENDING, next_attempt_at=timezone.now()
    )
    return deliver(notification_id)


def notification_payload(notification: Notification) -> dict:
    alert = notification.alert
    return {
        "event": notification.event,
        "alert": {
            **alert_json(alert),
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "escalated_at": alert.escalated_at.isoformat() if alert.escalated_at else None,
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        },
        "text": f"[Line Lead] {notification.event}: {alert.message}",
    }


def _send(notification: Notification) -> None:
    payload = notification_payload(notification)
    alert = notification.alert
    if notification.channel == Notification.Channel.EMAIL:
        from django.core.mail import send_mail

        send_mail(
            subject=f"[Line Lead] {alert.severity} alert {notification.event}: {alert.metric}",
            message=payload["text"],
            from_email=None,
            recipient_list=[a.strip() for a in notification.target.split(",") if a.strip()],
        )
    else:
        import httpx

        response = httpx.post(notification.target, json=payload, timeout=10)
        response.raise_for_status()


# --- read models ----------------------------------------------------------------------------


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
                "level": rule.level(value) if rule and rule.enabled else None,
                "rule": _rule_json(rule) if rule else None,
            }
        )
    return out


def _rule_json(rule: AlertRule) -> dict:
    return {
        "id": rule.pk,
        "metric": rule.metric,
        "description": rule.description,
        "direction": rule.direction,
        "warning": rule.warning,
        "critical": rule.critical,
        "fire_after": rule.fire_after,
        "resolve_after": rule.resolve_after,
        "enabled": rule.enabled,
    }


def series(name: str, since: datetime | None = None, until: datetime | None = None):
    if name not in metrics.BY_NAME:
        raise NotFound(f"no metric {name!r}; known: {', '.join(metrics.BY_NAME)}")
    until = until or timezone.now()
    since = since or until - timedelta(hours=24)
    if since >= until:
        raise Invalid("since must be before until")
    if until - since > timedelta(days=90):
        raise Invalid("a series covers at most 90 days")
    return list(
        MetricSample.objects.filter(name=name, sampled_at__gte=since, sampled_at__lte=until)
        .order_by("sampled_at")
        .only("value", "count", "sampled_at", "name", "window_s")[:20000]
    )


def overall_status() -> dict:
    state = SamplerState.objects.filter(pk=1).first()
    last = state.last_finished_at if state else None
    open_alerts = Alert.objects.open()
    counts = {s: open_alerts.filter(severity=s).count() for s in Alert.Severity.values}
    every = settings.MONITORING_SAMPLE_SECONDS
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


def _broadcast(kind: str, payload: dict) -> None:
    try:
        notify.send(notify.role_group(Role.OPS), kind, payload)
    except Exception:  # the dashboard refreshes on its own; never fail sampling for it
        logger.warning("could not broadcast %s", kind, exc_info=True)
