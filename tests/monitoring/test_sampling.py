"""Sampling: every figure comes from recorded traffic, and quiet is not trouble."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from chat import services as chat
from chat.models import Citation
from monitoring import services
from monitoring.metrics import ALL
from monitoring.models import Alert, MetricSample
from tests.monitoring.conftest import ask, sample, values

pytestmark = pytest.mark.django_db


def test_sampling_a_quiet_store_stores_every_metric_without_inventing_values(fryer):
    result = sample()
    assert {s.name for s in result.samples} == {m.name for m in ALL} - {
        "cross_modal_consistency",
        "context_preservation_rate",
    }
    got = values(result)
    for name in (
        "grounded_answer_rate",
        "decline_rate",
        "answer_latency_p95_ms",
        "voice_roundtrip_p95_ms",
        "assistant_error_rate",
        "feedback_positive_rate",
    ):
        assert got[name] is None, name  # nothing happened: no value, not a zero
    # With nobody searching, a probe search still measures retrieval.
    assert got["retrieval_success_rate"] == 1.0
    assert got["retrieval_latency_p95_ms"] > 0
    assert MetricSample.objects.count() == len(result.samples)


def test_repeated_sampling_of_a_quiet_store_raises_no_alert(fryer):
    start = timezone.now()
    for minute in range(10):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            sample()
    assert not Alert.objects.exists()
    assert services.overall_status().status == "ok"


def test_chatting_produces_real_answer_figures(alice, fryer):
    answered = [ask(alice, "how long do fries cook"), ask(alice, "what temperature is the fryer")]
    declined = ask(alice, "who won the football game last night")
    assert declined.declined and not any(a.declined for a in answered)
    chat.give_feedback(alice, answered[0].pk, "up")
    chat.give_feedback(alice, answered[1].pk, "down", "too long")

    got = values(sample())
    assert got["decline_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert got["grounded_answer_rate"] == 1.0
    slowest = max(a.total_ms for a in answered + [declined])
    assert got["answer_latency_p95_ms"] == pytest.approx(slowest, abs=0.1)
    assert got["assistant_error_rate"] == 0.0
    assert got["feedback_positive_rate"] == 0.5
    assert got["citation_validity"] == 1.0


def test_a_citation_whose_snippet_is_not_on_its_page_lowers_citation_validity(alice, fryer):
    answer = ask(alice, "how long do fries cook")
    citation = answer.citations.first()
    assert values(sample())["citation_validity"] == 1.0
    Citation.objects.filter(pk=citation.pk).update(
        snippet="the fryer is cleaned by unicorns at dawn"
    )
    reading = sample()
    validity = next(s for s in reading.samples if s.name == "citation_validity")
    total = Citation.objects.count()
    assert validity.value == pytest.approx((total - 1) / total, abs=1e-3)
    assert validity.detail["invalid_citations"] == [citation.pk]


def test_traffic_older_than_the_window_no_longer_counts(settings, alice, fryer):
    ask(alice, "who won the football game last night")
    assert values(sample())["decline_rate"] == 1.0
    later = timezone.now() + timedelta(minutes=settings.MONITORING_WINDOW_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        assert values(sample())["decline_rate"] is None


def test_beat_and_the_watchdog_do_not_both_sample_the_same_minute(fryer):
    first = services.sample()
    again = services.sample()
    assert not first.skipped and again.skipped
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert not services.sample().skipped


def test_sample_metrics_prints_every_value_as_json(alice, fryer):
    ask(alice, "how long do fries cook")
    out = StringIO()
    call_command("sample_metrics", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["metrics"]["grounded_answer_rate"]["value"] == 1.0
    assert report["metrics"]["grounded_answer_rate"]["count"] == 1
    assert report["status"] == "ok"
    assert set(report["metrics"]) >= {"worker_heartbeat_age_s", "periodic_tasks_overdue"}


def test_probes_ask_through_text_and_voice_and_leave_no_conversations(fryer):
    from chat.models import Conversation

    result = services.sample(force=True, probes=True)
    got = {s.name: s for s in result.samples}
    context = got["context_preservation_rate"]
    assert context.count == 3 and context.value is not None
    kept = [p for p in context.detail["probes"] if p["in_context"]]
    assert kept, context.detail  # the fryer follow-up at least is answered in context
    cross = got["cross_modal_consistency"]
    assert cross.count == 3
    assert all(p["heard"] for p in cross.detail["probes"])  # real speech was heard
    assert not Conversation.objects.exists()  # probes clean up after themselves
    # and their questions are not counted as the store's traffic
    assert values(sample())["grounded_answer_rate"] is None


def test_the_sampling_period_set_in_the_admin_is_kept_and_disabling_it_stops_sampling(fryer):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    five = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    task = PeriodicTask.objects.create(
        name="sample-metrics", task="monitoring.sample", interval=five
    )
    start = timezone.now()
    assert not services.sample().skipped
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert services.sample().skipped
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert not services.sample().skipped
    task.enabled = False
    task.save()
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert services.sample().skipped
