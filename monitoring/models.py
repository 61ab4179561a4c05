"""Models of the monitoring app: metric samples, alert rules, alerts and the records
that keep them honest (notifications, periodic-task runs, probes).

Every figure is computed from what happened (messages, searches, voice turns, task
runs, probes); a sample with no events behind it has no value, and a rule never
fires on a missing value.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class MetricSample(models.Model):
    """One value of one metric, computed over ``window_s`` seconds before ``sampled_at``."""

    name = models.CharField(max_length=64)
    value = models.FloatField(null=True, blank=True, help_text="Empty when nothing happened.")
    window_s = models.PositiveIntegerField(default=0, help_text="The time the value covers.")
    count = models.PositiveIntegerField(default=0, help_text="Events behind the value.")
    detail = models.JSONField(default=dict, blank=True)
    sampled_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-sampled_at", "name"]
        indexes = [models.Index(fields=["name", "-sampled_at"], name="sample_name_time")]

    def __str__(self) -> str:
        return f"{self.name}={self.value} at {self.sampled_at:%Y-%m-%d %H:%M}"


class AlertRule(models.Model):
    """When a metric is bad enough for long enough, an alert opens."""

    class Direction(models.TextChoices):
        ABOVE = "above", "Above the threshold is bad"
        BELOW = "below", "Below the threshold is bad"

    metric = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=300, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    warning = models.FloatField(null=True, blank=True)
    critical = models.FloatField(null=True, blank=True)
    fire_after = models.PositiveSmallIntegerField(
        default=2, help_text="Consecutive bad samples before the alert opens."
    )
    resolve_after = models.PositiveSmallIntegerField(
        default=2, help_text="Consecutive good samples before it resolves."
    )
    min_count = models.PositiveIntegerField(
        default=1,
        help_text=(
            "Fewer events than this behind a sample: the sample is not judged (three "
            "thumbs down are not a trend). 0 judges every value."
        ),
    )
    enabled = models.BooleanField(default=True)
    # Evaluation state: how many samples in a row were bad (at warning or worse) / good.
    bad_streak = models.PositiveIntegerField(default=0, editable=False)
    good_streak = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["metric"]
        constraints = [
            models.CheckConstraint(
                condition=Q(warning__isnull=False) | Q(critical__isnull=False),
                name="rule_has_a_threshold",
            ),
            models.CheckConstraint(condition=Q(fire_after__gte=1), name="rule_fire_after_1"),
            models.CheckConstraint(condition=Q(resolve_after__gte=1), name="rule_resolve_after_1"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.direction} {self.warning}/{self.critical}"

    def level(self, value: float | None, count: int | None = None) -> str | None:
        """ "critical", "warning" or "ok" for ``value``; None when there is no value, or
        when ``count`` (the events behind it) is under the rule's ``min_count``."""
        if value is None or (count is not None and count < self.min_count):
            return None

        def breached(threshold):
            if threshold is None:
                return False
            return (
                value > threshold if self.direction == self.Direction.ABOVE else value < threshold
            )

        if breached(self.critical):
            return Alert.Severity.CRITICAL
        if breached(self.warning):
            return Alert.Severity.WARNING
        return "ok"


class AlertQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)


class Alert(models.Model):
    """An episode of one rule being breached: opened, maybe escalated, then resolved."""

    class Severity(models.TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    metric = models.CharField(max_length=64, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    value = models.FloatField(null=True, blank=True, help_text="The latest value.")
    worst = models.FloatField(null=True, blank=True, help_text="The worst value seen.")
    message = models.CharField(max_length=500)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when it resolved by itself.",
    )

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_rule",
            )
        ]

    def __str__(self) -> str:
        return f"{self.severity} {self.metric} ({self.state})"

    @property
    def state(self) -> str:
        if self.resolved_at:
            return "resolved"
        return "acknowledged" if self.acknowledged_at else "open"


class Notification(models.Model):
    """One message about an alert to one channel, sent (and retried) by a task."""

    class Event(models.TextChoices):
        OPENED = "opened"
        ESCALATED = "escalated"
        RESOLVED = "resolved"

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed", "Failed (gave up)"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=16, choices=Event.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="Addresses or the webhook URL.")
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} {self.alert_id} by {self.channel}: {self.status}"


class TaskRun(models.Model):
    """The last run of each Celery task, written by the worker that ran it: the
    heartbeat of periodic tasks and the source of the task counters."""

    task = models.CharField(max_length=200, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_duration_ms = models.FloatField(null=True, blank=True)
    successes = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["task"]

    def __str__(self) -> str:
        return self.task


class SamplerState(models.Model):
    """A single row: when sampling last ran, so two samplers (beat's task and the
    watchdog) never sample the same minute twice."""

    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.FloatField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"sampler (last {self.last_finished_at})"


class Probe(models.Model):
    """A question the monitor asks on its own, through the text and the voice paths
    (cross-modal consistency), followed by a follow-up that only makes sense after
    it (context preservation). Seeded for the demo manuals; each store edits its own."""

    question = models.CharField(max_length=300)
    follow_up = models.CharField(
        max_length=300, blank=True, help_text="Asked next in the same conversation."
    )
    follow_up_facts = models.JSONField(
        default=list,
        blank=True,
        help_text='What a follow-up answered in context contains, e.g. ["350"].',
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.question
