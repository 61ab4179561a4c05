"""Ninja schemas of the monitoring app: the API's answers, and what its services push to
ops browsers and webhooks (``model_dump(mode="json")``), fields listed explicitly."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema


class OpenAlertsOut(Schema):
    warning: int
    critical: int


class StatusOut(Schema):
    status: str  # ok, warning, critical, stale (sampling stopped) or unknown (never sampled)
    open_alerts: OpenAlertsOut
    last_sampled_at: datetime | None
    sample_every_s: float


class RuleSummaryOut(Schema):
    id: int
    metric: str
    description: str
    direction: str
    warning: float | None
    critical: float | None
    fire_after: int
    resolve_after: int
    min_count: int  # fewer events behind a sample than this: it is not judged
    enabled: bool


class RuleOut(RuleSummaryOut):
    bad_streak: int
    good_streak: int
    updated_at: datetime


class RulePatch(Schema):
    """Only the fields sent change. A threshold may be null (none at that level), but
    not both; the other fields take a value, never null."""

    warning: float | None = None
    critical: float | None = None
    direction: Literal["above", "below"] = Field(None)
    fire_after: int = Field(None, ge=1, le=1000)
    resolve_after: int = Field(None, ge=1, le=1000)
    min_count: int = Field(None, ge=0, le=100000)
    enabled: bool = Field(None)
    description: str = Field(None, max_length=300)


class MetricOut(Schema):
    name: str
    label: str
    unit: str  # ms, s, ratio (0 to 1) or count
    description: str
    kind: str  # traffic, probe or operational
    value: float | None  # null when nothing happened in the window (or never sampled)
    count: int  # the events behind the value
    window_s: int
    sampled_at: datetime | None
    detail: dict
    level: str | None  # ok, warning or critical by the metric's rule; null without one
    rule: RuleSummaryOut | None


class SampleOut(Schema):
    name: str
    value: float | None
    count: int
    window_s: int
    sampled_at: datetime
    samples: int = 1  # with ``step``: how many samples the point averages


class SeriesOut(Schema):
    metric: str
    since: datetime | None
    until: datetime | None
    samples: list[SampleOut]


class AlertOut(Schema):
    id: int
    metric: str
    severity: str
    state: str  # open, acknowledged or resolved
    message: str
    value: float | None
    worst: float | None
    opened_at: datetime
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None  # a username
    resolved_at: datetime | None
    resolved_by: str | None  # null when it resolved by itself

    # From an Alert: the user's name. From an AlertOut (a schema nesting one validates
    # it again): the name it already holds.
    @staticmethod
    def resolve_acknowledged_by(alert) -> str | None:
        return getattr(alert.acknowledged_by, "username", alert.acknowledged_by)

    @staticmethod
    def resolve_resolved_by(alert) -> str | None:
        return getattr(alert.resolved_by, "username", alert.resolved_by)


class AlertChangeOut(Schema):
    event: str  # opened, escalated or resolved
    alert: AlertOut


class SamplePassOut(Schema):
    skipped: bool
    duration_ms: float
    samples: list[SampleOut]
    changed: list[AlertChangeOut]

    @staticmethod
    def resolve_changed(result) -> list[dict]:
        return [{"event": event, "alert": alert} for alert, event in result.changed]


class AlertEventOut(Schema):
    """Pushed to ops browsers as ``monitoring.alert`` when an alert changes."""

    id: int
    metric: str
    severity: str
    state: str
    event: str  # opened, escalated, acknowledged or resolved


class SampledOut(Schema):
    """Pushed to ops browsers as ``monitoring.sampled`` after each sampling pass."""

    sampled_at: datetime
    status: str


class NotificationOut(Schema):
    """The body of an alert's webhook notification (its ``text`` is the email's)."""

    event: str
    alert: AlertOut
    text: str


class GapOut(Schema):
    question: str  # the newest wording of the group
    count: int
    examples: list[str]
    last_asked: datetime


class LocalIndexOut(Schema):
    documents_ready: int
    chunks: int


class LastHourOut(Schema):
    searches: int
    ok: int
    fallback: int
    error: int


class SearchErrorOut(Schema):
    created_at: datetime
    backend: str
    error: str


class RetrievalCheckOut(Schema):
    ok: bool
    results: int | None = None
    error: str | None = None
    ms: float
    outcome: str | None  # how the check's search was recorded: ok, fallback or error


class RetrievalOut(Schema):
    backend: str
    ragie_configured: bool
    local: LocalIndexOut
    last_hour: LastHourOut
    last_error: SearchErrorOut | None
    check: RetrievalCheckOut | None  # only with check=true


class ValidationOut(Schema):
    id: int
    readiness: str | None
    score: float | None
    success_rate: float | None
    finished_at: datetime | None


class DashboardOut(Schema):
    status: StatusOut
    metrics: list[MetricOut]
    alerts: list[AlertOut]  # open and acknowledged
    gaps: list[GapOut]
    validation: ValidationOut | None
