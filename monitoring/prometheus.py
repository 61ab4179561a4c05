"""``GET /metrics``: the monitoring figures in Prometheus' text format.

Readable with ``Authorization: Bearer <METRICS_TOKEN>``, or as an ops user (an API
token or the session). Exported:

- gauges: the latest sample of every metric (``lineled_<name>``; a metric with no
  value is left out), the open alerts by severity and when sampling last ran;
- counters and histograms of answers, searches, voice turns and Celery tasks, counted
  by the database at scrape time, so every web process answers the same totals.
  They are counts of stored rows: pruning old searches or deleting a conversation
  lowers them, which Prometheus' ``rate()`` reads as a counter reset;
- the HTTP requests of the web processes (``lineled.middleware``): of the process that
  answers, or of every web process when ``PROMETHEUS_MULTIPROC_DIR`` names a folder they
  share (``serve --web N`` sets one; prometheus_client's multiprocess mode).

Answers and voice turns of the monitor's own probes are left out, as in the metrics.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

from chat.models import Message
from knowledge.models import SearchEvent
from lineled.middleware import REQUESTS
from lineled.roles import Role, has_role
from lineled.services import by_people, user_for_token
from monitoring import services
from monitoring.models import TaskRun
from voice.models import VoiceTurn

BUCKETS_S = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def _counter(name: str, doc: str, rows: QuerySet, labels: list[str]) -> CounterMetricFamily:
    """Rows counted per combination of ``labels``, in one query."""
    family = CounterMetricFamily(name, doc, labels=labels)
    for row in rows.values(*labels).annotate(n=Count("pk")).order_by(*labels):
        family.add_metric([str(row[label]) for label in labels], row["n"])
    return family


def _histogram(
    name: str, doc: str, rows: QuerySet, column: str, label: str | None = None
) -> HistogramMetricFamily:
    """A histogram in seconds of ``column`` (milliseconds), per ``label``: the database
    counts each bucket in one aggregate query."""
    counts = {
        f"le_{i}": Count("pk", filter=Q(**{f"{column}__lte": bound * 1000}))
        for i, bound in enumerate(BUCKETS_S)
    }
    counts.update(n=Count("pk"), total=Sum(column))
    rows = rows.filter(**{f"{column}__isnull": False})
    if label:
        results = rows.values(label).annotate(**counts).order_by(label)
    else:
        results = [rows.aggregate(**counts)]
    family = HistogramMetricFamily(name, doc, labels=[label] if label else [])
    for row in results:
        buckets = [(floatToGoString(b), row[f"le_{i}"]) for i, b in enumerate(BUCKETS_S)]
        buckets.append(("+Inf", row["n"]))
        family.add_metric([str(row[label])] if label else [], buckets, (row["total"] or 0) / 1000)
    return family


class LatestValues:
    """The latest sample of every metric, the open alerts and the sampler's last run."""

    def collect(self):
        for metric in services.latest():
            if metric.value is not None:
                doc = f"{metric.label} ({metric.unit}): {metric.description}"
                if metric.unit == "level":  # the charts name the levels; a scrape has numbers
                    doc += " 2 is Ready, 1 Conditional, 0 Not ready."
                yield GaugeMetricFamily(f"lineled_{metric.name}", doc, value=metric.value)
        status = services.overall_status()
        alerts = GaugeMetricFamily(
            "lineled_open_alerts", "Alerts not yet resolved, by severity.", labels=["severity"]
        )
        for severity, count in sorted(status.open_alerts.model_dump().items()):
            alerts.add_metric([severity], count)
        yield alerts
        if status.last_sampled_at is not None:
            yield GaugeMetricFamily(
                "lineled_last_sample_timestamp_seconds",
                "When the metrics were last sampled (Unix time).",
                value=status.last_sampled_at.timestamp(),
            )


class StoredEvents:
    """Counters and histograms of what the database recorded."""

    def collect(self):
        answers = by_people(Message.objects.filter(role=Message.Role.ASSISTANT))
        yield _counter(
            "lineled_answers", "Answers, by status and modality.", answers, ["status", "modality"]
        )
        yield _histogram(
            "lineled_answer_duration_seconds",
            "Time from the question to the whole answer, by modality.",
            answers,
            "total_ms",
            "modality",
        )
        searches = SearchEvent.objects.all()
        yield _counter(
            "lineled_searches",
            "Searches of the manuals, by the backend asked and outcome.",
            searches,
            ["backend", "outcome"],
        )
        yield _histogram(
            "lineled_search_duration_seconds",
            "Time a search took, by backend.",
            searches,
            "latency_ms",
            "backend",
        )
        turns = by_people(VoiceTurn.objects.all())
        yield _counter("lineled_voice_turns", "Spoken questions, by status.", turns, ["status"])
        yield _histogram(
            "lineled_voice_first_audio_seconds",
            "Time from the end of speech to the first byte of the spoken answer.",
            turns,
            "first_audio_ms",
        )
        yield from self.tasks()

    @staticmethod
    def tasks():
        runs = GaugeMetricFamily(
            "lineled_celery_task_last_success_timestamp_seconds",
            "When each Celery task last succeeded (Unix time).",
            labels=["task"],
        )
        outcomes = CounterMetricFamily(
            "lineled_celery_tasks",
            "Celery task runs, by task and outcome.",
            labels=["task", "outcome"],
        )
        for run in TaskRun.objects.order_by("task"):
            outcomes.add_metric([run.task, "success"], run.successes)
            outcomes.add_metric([run.task, "failure"], run.failures)
            if run.last_success_at is not None:
                runs.add_metric([run.task], run.last_success_at.timestamp())
        yield outcomes
        yield runs


REGISTRY = CollectorRegistry()
REGISTRY.register(LatestValues())
REGISTRY.register(StoredEvents())
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    MultiProcessCollector(REGISTRY)  # every web process's counts, added up
else:
    REGISTRY.register(REQUESTS)


@require_safe
@never_cache
def metrics_view(request):
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def _refusal(request) -> HttpResponse | None:
    """None when the caller may read the metrics, otherwise the answer saying why not."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        expected = settings.METRICS_TOKEN
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return None
        user = user_for_token(token)
        if user is None:
            return _unauthorized("the bearer token is neither METRICS_TOKEN nor a valid API token")
    else:
        user = request.user
        if not user.is_authenticated:
            return _unauthorized(
                "authentication required: send Authorization: Bearer <METRICS_TOKEN> "
                "(or an ops user's API token), or sign in as an ops user"
            )
    if not has_role(user, Role.OPS):
        return HttpResponse(
            "the metrics need the ops role\n", status=403, content_type="text/plain"
        )
    return None


def _unauthorized(reason: str) -> HttpResponse:
    response = HttpResponse(f"{reason}\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
