"""Alert rules applied to new samples, and what ops do with alerts.

An alert opens after ``fire_after`` bad samples in a row, escalates from warning to
critical, and resolves after ``resolve_after`` good ones; a missing value (nothing
happened) is neither, and so is a value on fewer events than the rule's
``min_count``. Every change is broadcast to ops browsers and notified.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from ninja import Schema

from lineled import notify
from lineled.errors import Conflict, Invalid, NotFound
from lineled.roles import Role
from monitoring import metrics
from monitoring.defaults import seed_probes, seed_rules
from monitoring.models import Alert, AlertRule, MetricSample, Notification, Probe
from monitoring.schemas import AlertEventOut
from monitoring.services import notifications


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
    level = rule.level(sample.value, sample.count)
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
    if unit == "level":
        names = {v: k for k, v in metrics.READINESS_LEVELS.items()}
        return names.get(value, f"{value:g}")
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


def ensure_defaults() -> None:
    """Give every metric of ``defaults.RULES`` its rule, and seed the probes if there
    are none (what migration 0002 does; for a database emptied since)."""
    seed_rules(AlertRule)
    seed_probes(Probe)


RULE_FIELDS = {
    "description",
    "direction",
    "warning",
    "critical",
    "fire_after",
    "resolve_after",
    "min_count",
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
    if rule.min_count is None or rule.min_count < 0:
        raise Invalid("min_count is 0 or more")


def _changed(alert: Alert, event: str, *, notify_channels: bool = True) -> None:
    if notify_channels:
        notifications.notify(alert, event)
    change = AlertEventOut(
        id=alert.pk, metric=alert.metric, severity=alert.severity, state=alert.state, event=event
    )
    broadcast("monitoring.alert", change)


def broadcast(kind: str, payload: Schema) -> None:
    """Tell ops browsers, once the transaction commits (a failed push is only logged)."""
    notify.send(notify.role_group(Role.OPS), kind, payload.model_dump(mode="json"))
