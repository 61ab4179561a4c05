"""Monitoring endpoints (ops only): the health figures, their history, alerts and
their rules, knowledge gaps, sampling on demand and the retrieval backend's health."""

from datetime import datetime
from typing import Literal

from django.utils import timezone
from ninja import Query, Router

from lineled.auth import require_role
from lineled.roles import Role
from lineled.schemas import ErrorOut
from monitoring import services
from monitoring.schemas import (
    AlertOut,
    DashboardOut,
    GapOut,
    MetricOut,
    RetrievalOut,
    RuleOut,
    RulePatch,
    SamplePassOut,
    SeriesOut,
    StatusOut,
)

router = Router(tags=["monitoring"])

DENIED = {403: ErrorOut}
CHANGE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _ops(request):
    require_role(request, Role.OPS)
    return request.auth


def _aware(moment: datetime | None) -> datetime | None:
    """A time sent without a zone is in the server's time zone."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


@router.get("/status", response={200: StatusOut, **DENIED}, summary="Overall health")
def status(request):
    """``critical`` or ``warning`` while an alert of that severity is open; otherwise
    ``ok``, ``stale`` when sampling has stopped, or ``unknown`` before the first sample."""
    _ops(request)
    return services.overall_status()


@router.get("/metrics", response={200: list[MetricOut], **DENIED}, summary="Every metric, now")
def latest(request):
    """The latest sample of every metric, with its rule and the level the rule gives
    it. A null value means nothing happened in the window: no alert fires on it."""
    _ops(request)
    return services.latest()


@router.get(
    "/metrics/{name}/series",
    response={200: SeriesOut, 400: ErrorOut, **DENIED, 404: ErrorOut},
    summary="A metric's history",
)
def series(
    request,
    name: str,
    since: datetime | None = None,
    until: datetime | None = None,
    step: int = Query(
        0, ge=0, le=86400, description="Seconds per averaged point; 0: every sample."
    ),
):
    """The samples of one metric between ``since`` and ``until`` (ISO 8601; the last
    24 hours by default; at most 90 days), oldest first; with ``step``, one point per
    ``step`` seconds (the mean value, the events summed). Send the zone as ``Z`` or an
    encoded ``%2B01:00``; without one the server's time zone is meant."""
    _ops(request)
    since, until = _aware(since), _aware(until)
    samples = services.series(name, since, until, step)
    return SeriesOut(metric=name, since=since, until=until, samples=samples)


@router.get(
    "/alerts",
    response={200: list[AlertOut], 400: ErrorOut, **DENIED},
    summary="Alerts, newest first",
)
def alerts(
    request,
    state: Literal["open", "acknowledged", "active", "resolved"] | None = None,
    severity: Literal["warning", "critical"] | None = None,
    metric: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
):
    """``state=active`` is open and acknowledged together."""
    _ops(request)
    return services.alerts(state=state, severity=severity, metric=metric, limit=limit)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertOut, **CHANGE_ERRORS},
    summary="Acknowledge an alert",
)
def acknowledge(request, alert_id: int):
    """Says someone is on it; the alert stays until its metric recovers or it is
    resolved. Acknowledging again changes nothing; a resolved alert answers 409."""
    return services.acknowledge(alert_id, _ops(request))


@router.post(
    "/alerts/{alert_id}/resolve",
    response={200: AlertOut, **CHANGE_ERRORS},
    summary="Resolve an alert by hand",
)
def resolve(request, alert_id: int):
    """Closes the alert (notifying as when it resolves by itself); the rule counts its
    bad samples from zero again. An already resolved alert answers 409."""
    return services.resolve(alert_id, _ops(request))


@router.get("/rules", response={200: list[RuleOut], **DENIED}, summary="Alert rules")
def rules(request):
    """One rule per metric: the thresholds, and how many samples in a row open and
    resolve an alert."""
    _ops(request)
    return services.rules()


@router.patch(
    "/rules/{rule_id}",
    response={200: RuleOut, 400: ErrorOut, **DENIED, 404: ErrorOut},
    summary="Change an alert rule",
)
def update_rule(request, rule_id: int, body: RulePatch):
    """Only the fields sent change. A rule keeps at least one threshold, and its
    critical threshold lies beyond the warning one."""
    _ops(request)
    return services.update_rule(rule_id, body.model_dump(exclude_unset=True))


@router.get(
    "/knowledge-gaps",
    response={200: list[GapOut], 400: ErrorOut, **DENIED},
    summary="Questions the manuals do not answer",
)
def knowledge_gaps(request, days: int = 30, limit: int = 20):
    """Declined questions of the last ``days`` (1 to 365), grouped by similar wording,
    the most asked first (at most ``limit``, 1 to 200)."""
    _ops(request)
    return services.knowledge_gaps(days, limit)


@router.post("/sample", response={200: SamplePassOut, **DENIED}, summary="Sample every metric now")
def sample(request, probes: bool = False):
    """Computes every metric and evaluates the rules at once, whenever the last pass
    ran. With ``probes=true`` the probe questions are asked too (slower: they go
    through the assistant and the voice path)."""
    _ops(request)
    return services.sample(force=True, probes=probes)


@router.get("/retrieval", response={200: RetrievalOut, **DENIED}, summary="Retrieval health")
def retrieval(request, check: bool = False):
    """The search backend in use, the local index and the last hour's searches; with
    ``check=true`` a test search is run now and timed."""
    _ops(request)
    return services.retrieval_health(check)


@router.get("/dashboard", response={200: DashboardOut, **DENIED}, summary="The dashboard's data")
def dashboard(request):
    """Status, every metric, the active alerts, the top knowledge gaps and the latest
    validation verdict, in one answer."""
    _ops(request)
    return services.dashboard()
