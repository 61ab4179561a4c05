"""The ops console's monitoring pages: samples, rules, alerts, notifications, task runs
and probes list with data; alerts are acknowledged and resolved from the list."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.models import Alert, AlertRule, MetricSample, Notification, Probe, TaskRun

pytestmark = pytest.mark.django_db

ADMIN = "/admin/monitoring"


@pytest.fixture
def ops(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def rule_for(metric: str, **thresholds) -> AlertRule:
    """The metric's rule (the migration seeds one per metric), with these thresholds."""
    rule, _ = AlertRule.objects.update_or_create(
        metric=metric, defaults={"direction": "above", "critical": None, **thresholds}
    )
    return rule


def latency_rule() -> AlertRule:
    return rule_for("answer_latency_p95_ms", warning=8000, critical=20000)


def open_alert(rule: AlertRule, **fields) -> Alert:
    return Alert.objects.create(
        rule=rule,
        metric=rule.metric,
        severity=fields.pop("severity", "warning"),
        value=9100,
        worst=9400,
        message="Answer latency p95 is 9100 ms, above the warning threshold 8000 ms",
        **fields,
    )


@pytest.fixture
def records():
    now = timezone.now()
    rule = latency_rule()
    alert = open_alert(rule)
    MetricSample.objects.create(
        name="answer_latency_p95_ms", value=9100, count=12, window_s=900, sampled_at=now
    )
    MetricSample.objects.create(name="voice_roundtrip_p95_ms", value=None, window_s=900)
    notification = Notification.objects.create(
        alert=alert,
        event="opened",
        channel="email",
        target="ops@example.com",
        status="failed",
        attempts=5,
        last_error="SMTPConnectError: refused",
    )
    TaskRun.objects.create(
        task="monitoring.sample", last_success_at=now, last_duration_ms=41.5, successes=3
    )
    probe = Probe.objects.create(
        question="how long do fries cook", follow_up="and what temperature", follow_up_facts=["350"]
    )
    return {"rule": rule, "alert": alert, "notification": notification, "probe": probe}


def test_every_changelist_lists_its_rows(ops, records):
    expected = {
        "metricsample": ["answer_latency_p95_ms", "9100 ms", "15 min", "no data"],
        "alertrule": ["answer_latency_p95_ms", "warning (open)"],
        "alert": ["Answer latency p95 is 9100 ms", "open"],
        "notification": ["SMTPConnectError", "Failed (gave up)"],
        "taskrun": ["monitoring.sample", "41.5"],
        "probe": ["how long do fries cook", "and what temperature"],
    }
    for model, texts in expected.items():
        response = ops.get(f"{ADMIN}/{model}/")
        assert response.status_code == 200, model
        page = response.content.decode()
        for text in texts:
            assert text in page, (model, text)


def test_every_change_page_opens(ops, records):
    pages = {
        "metricsample": MetricSample.objects.first().pk,
        "alertrule": records["rule"].pk,
        "alert": records["alert"].pk,
        "notification": records["notification"].pk,
        "taskrun": TaskRun.objects.get().pk,
        "probe": records["probe"].pk,
    }
    for model, pk in pages.items():
        assert ops.get(f"{ADMIN}/{model}/{pk}/change/").status_code == 200, model


def test_samples_notifications_task_runs_and_alerts_cannot_be_typed_in(ops, records):
    for model in ("metricsample", "alert", "notification", "taskrun"):
        assert ops.get(f"{ADMIN}/{model}/add/").status_code == 403, model
    form = ops.get(f"{ADMIN}/alert/{records['alert'].pk}/change/").content.decode()
    assert 'name="_save"' not in form


def test_the_filters_narrow_the_alerts_by_state_and_severity(ops, records):
    rule = records["rule"]
    records["alert"].resolved_at = timezone.now() - timedelta(hours=1)
    records["alert"].save(update_fields=["resolved_at"])
    critical = open_alert(rule, severity="critical", acknowledged_at=timezone.now())
    listing = ops.get(f"{ADMIN}/alert/?state=acknowledged").context["cl"]
    assert [a.pk for a in listing.result_list] == [critical.pk]
    listing = ops.get(f"{ADMIN}/alert/?state=resolved").context["cl"]
    assert [a.pk for a in listing.result_list] == [records["alert"].pk]
    listing = ops.get(f"{ADMIN}/alert/?severity__exact=warning").context["cl"]
    assert [a.pk for a in listing.result_list] == [records["alert"].pk]
    assert ops.get(f"{ADMIN}/metricsample/?name=answer_latency_p95_ms").status_code == 200


def test_the_alert_list_takes_the_same_queries_however_many_alerts(ops, records, charlie):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert ops.get(f"{ADMIN}/alert/").status_code == 200
        return len(captured)

    records["alert"].acknowledged_at, records["alert"].acknowledged_by = timezone.now(), charlie
    records["alert"].resolved_at, records["alert"].resolved_by = timezone.now(), charlie
    records["alert"].save()
    one = queries()
    for metric in ("decline_rate", "assistant_error_rate", "grounded_answer_rate"):
        rule = rule_for(metric, warning=0.5)
        open_alert(rule, acknowledged_at=timezone.now(), acknowledged_by=charlie)
    assert queries() == one


def test_ops_acknowledge_an_alert_from_the_list(ops, records, charlie):
    alert = records["alert"]
    response = ops.post(
        f"{ADMIN}/alert/",
        {"action": "acknowledge", "_selected_action": [alert.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Acknowledged 1 alert(s)." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == charlie and alert.acknowledged_at is not None
    assert alert.resolved_at is None


def test_ops_resolve_alerts_and_a_resolved_one_is_said_to_be_left_alone(ops, records, charlie):
    alert = records["alert"]
    other = open_alert(rule_for("decline_rate", warning=1))
    other.resolved_at = timezone.now()
    other.save(update_fields=["resolved_at"])
    response = ops.post(
        f"{ADMIN}/alert/",
        {"action": "resolve", "_selected_action": [alert.pk, other.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Resolved 1 alert(s)." in page
    assert f"#{other.pk}: this alert is already resolved" in page
    alert.refresh_from_db()
    assert alert.resolved_by == charlie and alert.state == "resolved"


def test_thresholds_are_edited_in_the_list_and_checked(ops, records):
    rule = records["rule"]
    form = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(rule.pk),
        "form-0-warning": "6000",
        "form-0-critical": "15000",
        "form-0-fire_after": "3",
        "form-0-resolve_after": "2",
        "form-0-min_count": "25",
        "form-0-enabled": "on",
        "_save": "Save",
    }
    assert ops.post(f"{ADMIN}/alertrule/", form).status_code == 302
    rule.refresh_from_db()
    assert (rule.warning, rule.critical, rule.fire_after, rule.min_count) == (6000, 15000, 3, 25)

    backwards = ops.post(f"{ADMIN}/alertrule/", {**form, "form-0-critical": "100"})
    assert backwards.status_code == 200
    assert "the critical threshold must be beyond the warning threshold" in (
        backwards.content.decode()
    )
    rule.refresh_from_db()
    assert rule.critical == 15000


def test_a_failed_notification_is_retried_now(ops, records, mailoutbox):
    notification = records["notification"]
    response = ops.post(
        f"{ADMIN}/notification/",
        {"action": "retry_now", "_selected_action": [notification.pk]},
        follow=True,
    )
    assert "Sent 1 of 1 notification(s)." in response.content.decode()
    notification.refresh_from_db()
    assert notification.status == "sent"
    assert mailoutbox[0].to == ["ops@example.com"]


def test_probes_are_edited_here(ops, records):
    probe = records["probe"]
    response = ops.post(
        f"{ADMIN}/probe/{probe.pk}/change/",
        {
            "question": "how long do fries cook",
            "follow_up": "and at what temperature",
            "follow_up_facts": '["350"]',
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    probe.refresh_from_db()
    assert probe.follow_up == "and at what temperature"


def test_crew_and_managers_cannot_open_the_monitoring_admin(alice, bob, records):
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        assert client.get(f"{ADMIN}/alert/").status_code in (302, 403)
