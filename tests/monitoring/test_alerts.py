"""Induced faults open the right alert, which escalates and then resolves by itself."""

import time
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from knowledge import ragie
from knowledge.search import LocalBackend
from lineled.errors import Conflict, Invalid
from monitoring import services
from monitoring.models import Alert, Notification, SamplerState
from monitoring.tasks import prune
from tests.monitoring.conftest import ask, rule, sample, values

pytestmark = pytest.mark.django_db


class Clock:
    """Sampling minute after minute, with traffic in between."""

    def __init__(self):
        self.now = timezone.now()

    def minutes(self, n: float):
        self.now += timedelta(minutes=n)
        return time_machine.travel(self.now, tick=False)


def ragie_answering(status: int):
    """Ragie's retrieval endpoint as the SDK sees it: an error or an empty result."""

    def answer(request: httpx.Request) -> httpx.Response:
        if status != 200:
            return httpx.Response(status, json={"detail": "Service Unavailable"})
        return httpx.Response(200, json={"scored_chunks": []})

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_a_failing_retrieval_backend_fires_a_critical_alert_that_resolves_when_it_recovers(
    settings, monkeypatch, alice, fryer
):
    settings.RAGIE_API_KEY, settings.SEARCH_BACKEND = "test-key", "ragie"
    settings.RAGIE_TIMEOUT_SECONDS = 2
    monkeypatch.setattr(ragie, "HTTP_CLIENT", ragie_answering(503))
    rule("retrieval_success_rate", min_count=1)  # one search a sample here
    clock = Clock()
    for _ in range(2):
        with clock.minutes(1):
            answer = ask(alice, "how long do fries cook")
            assert answer.citations.exists()  # crews still get answers from the local index
            result = sample()
    assert values(result)["retrieval_success_rate"] == 0.5  # every search degraded
    alert = Alert.objects.get(metric="retrieval_success_rate")
    assert alert.severity == "critical" and alert.state == "open"
    assert "Retrieval success is 50.0%" in alert.message

    monkeypatch.setattr(ragie, "HTTP_CLIENT", ragie_answering(200))
    with clock.minutes(settings.MONITORING_WINDOW_MINUTES + 1):
        ask(alice, "how long do fries cook")
        sample()
    assert Alert.objects.get(pk=alert.pk).resolved_at is None  # one good sample is not enough
    with clock.minutes(1):
        ask(alice, "how long do fries cook")
        assert values(sample())["retrieval_success_rate"] == 1.0
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_by is None


def test_slow_answers_raise_the_latency_alert_and_it_escalates_then_resolves(
    monkeypatch, alice, fryer
):
    rule(
        "answer_latency_p95_ms",
        warning=400,
        critical=1000,
        fire_after=1,
        resolve_after=1,
        min_count=1,
    )
    search = LocalBackend.search
    delay = {"s": 0.5}

    def slow_search(self, *args, **kwargs):
        time.sleep(delay["s"])
        return search(self, *args, **kwargs)

    monkeypatch.setattr(LocalBackend, "search", slow_search)
    clock = Clock()
    with clock.minutes(1):
        ask(alice, "how long do fries cook")
        sample()
    alert = Alert.objects.get(metric="answer_latency_p95_ms")
    assert alert.severity == "warning"

    delay["s"] = 1.1
    with clock.minutes(1):
        ask(alice, "how long do fries cook")
        sample()
    alert.refresh_from_db()
    assert alert.severity == "critical" and alert.escalated_at is not None
    assert Alert.objects.open().count() == 1  # escalated, not a second alert

    delay["s"] = 0
    with clock.minutes(20):
        ask(alice, "how long do fries cook")
        sample()
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert alert.worst >= 1100


def test_a_periodic_task_that_stops_running_is_an_alert_until_it_runs_again(settings):
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name="prune-metric-samples", task="monitoring.prune", interval=every
    )
    clock = Clock()
    with clock.minutes(1):
        assert values(sample())["periodic_tasks_overdue"] == 0  # just scheduled
    with clock.minutes(1 + settings.MONITORING_TASK_GRACE_SECONDS / 60):
        result = sample()
    assert values(result)["periodic_tasks_overdue"] == 1
    alert = Alert.objects.get(metric="periodic_tasks_overdue")
    assert "overdue: prune-metric-samples" in alert.message

    with clock.minutes(1):
        prune.apply()  # a worker runs it; the run is recorded by the task signals
        sample()
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert task.enabled


def test_an_ops_user_acknowledges_and_resolves_an_alert(charlie, alice, fryer):
    rule("decline_rate", warning=0.1, critical=0.9, fire_after=1, min_count=1)
    ask(alice, "who won the football game last night")
    ask(alice, "how long do fries cook")
    sample()
    alert = Alert.objects.get(metric="decline_rate")
    assert alert.severity == "warning"

    services.acknowledge(alert.pk, charlie)
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == charlie
    services.resolve(alert.pk, charlie)
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_by == charlie
    with pytest.raises(Conflict):
        services.resolve(alert.pk, charlie)


def test_a_rule_rejects_thresholds_that_make_no_sense():
    decline = rule("decline_rate")
    with pytest.raises(Invalid, match="warning or a critical"):
        services.update_rule(decline.pk, {"warning": None, "critical": None})
    with pytest.raises(Invalid, match="beyond the warning"):
        services.update_rule(decline.pk, {"warning": 0.5, "critical": 0.2})
    with pytest.raises(Invalid, match="cannot be changed"):
        services.update_rule(decline.pk, {"bad_streak": 3})
    decline.refresh_from_db()
    assert (decline.warning, decline.critical) == (0.4, 0.7)  # nothing half-written


def test_alerts_send_email_and_a_webhook_and_a_failed_send_is_retried(
    settings, monkeypatch, mailoutbox, alice, fryer, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ALERT_WEBHOOK_URL = "https://chat.example.com/hooks/lineled"
    posted, replies = [], [httpx.ConnectError("connection refused"), httpx.Response(200)]

    def post(url, json, timeout):
        posted.append((url, json))
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        reply.request = httpx.Request("POST", url)
        return reply

    monkeypatch.setattr(httpx, "post", post)
    rule("decline_rate", warning=0.1, critical=0.9, fire_after=1, min_count=1)
    ask(alice, "who won the football game last night")
    with django_capture_on_commit_callbacks(execute=False):
        sample()
    email, hook = (
        Notification.objects.get(channel="email"),
        Notification.objects.get(channel="webhook"),
    )
    assert services.deliver(email.pk) == "sent"
    assert mailoutbox[0].to == ["ops@example.com"]
    assert "decline_rate" in mailoutbox[0].subject and "opened" in mailoutbox[0].subject

    assert services.deliver(hook.pk) == "pending"
    hook.refresh_from_db()
    assert hook.attempts == 1 and "connection refused" in hook.last_error
    with time_machine.travel(hook.next_attempt_at + timedelta(seconds=1), tick=False):
        assert services.deliver_due() == 1
    hook.refresh_from_db()
    assert hook.status == "sent" and hook.attempts == 2
    url, payload = posted[-1]
    assert url == settings.ALERT_WEBHOOK_URL
    assert payload["event"] == "opened" and payload["alert"]["metric"] == "decline_rate"
    assert payload["text"].startswith("[Line Lead] opened: Decline rate is 100.0%")


def test_a_validation_readiness_drop_opens_an_alert(fryer):
    from validation.models import Run

    def finished(readiness: str, score: float) -> Run:
        return Run.objects.create(
            status="done", readiness=readiness, score=score, finished_at=timezone.now()
        )

    clock = Clock()
    finished("READY", 97.0)
    with clock.minutes(1):
        assert values(sample())["validation_readiness"] == 2
    assert not Alert.objects.filter(metric="validation_readiness").exists()

    finished("CONDITIONAL", 71.5)
    with clock.minutes(1):
        sample()
    alert = Alert.objects.get(metric="validation_readiness")
    assert alert.severity == "warning"
    assert alert.message == ("Validation readiness is CONDITIONAL, below the warning threshold 1.5")
    finished("NOT READY", 40.0)
    with clock.minutes(1):
        sample()
    alert.refresh_from_db()
    assert alert.severity == "critical"


def test_a_handful_of_thumbs_down_is_not_an_alert_but_a_trend_is(alice, fryer):
    """A new store's first few ratings say little: the feedback rule waits for ten."""
    from chat.services import give_feedback

    answers = [ask(alice, "how long do fries cook") for _ in range(12)]
    for answer in answers[:2]:
        give_feedback(alice, answer.pk, "down")
    give_feedback(alice, answers[2].pk, "up")
    clock = Clock()
    for _ in range(3):  # the rule fires after three bad samples in a row
        with clock.minutes(1):
            result = sample()
    assert round(values(result)["feedback_positive_rate"], 2) == 0.33  # measured, shown...
    assert not Alert.objects.filter(metric="feedback_positive_rate").exists()  # ...not judged

    for answer in answers[3:]:
        give_feedback(alice, answer.pk, "down")
    for _ in range(3):
        with clock.minutes(1):
            sample()
    alert = Alert.objects.get(metric="feedback_positive_rate")
    assert alert.severity == "critical" and alert.state == "open"


def test_a_sampling_pass_stands_when_the_channel_layer_is_down(
    settings, alice, fryer, django_capture_on_commit_callbacks
):
    """The push to ops browsers runs after the pass commits: a Redis outage there must
    not turn a pass whose samples and alert are saved into a failed one."""
    rule("decline_rate", warning=0.1, critical=0.9, fire_after=1, min_count=1)
    ask(alice, "who won the football game last night")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "lineled.channel_layer.ChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens there
        }
    }
    with django_capture_on_commit_callbacks(execute=True) as pushed:
        result = sample()
    assert pushed  # the alert and the pass were to be pushed...
    assert values(result)["decline_rate"] == 1.0  # ...and the pass stands without them
    assert Alert.objects.get(metric="decline_rate").state == "open"
    assert SamplerState.objects.get().last_error == ""
