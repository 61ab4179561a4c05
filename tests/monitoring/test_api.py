"""The monitoring API: ops read the health figures and their history, sample on
demand, acknowledge and resolve alerts, tune the rules and see the knowledge gaps."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chat.models import Conversation, Message
from lineled.services import create_token
from monitoring import metrics
from monitoring.models import Alert, AlertRule, MetricSample

pytestmark = pytest.mark.django_db

BASE = "/api/monitoring"
PATHS = [
    "/status",
    "/metrics",
    "/metrics/{name}/series",
    "/alerts",
    "/alerts/{alert_id}/acknowledge",
    "/alerts/{alert_id}/resolve",
    "/rules",
    "/rules/{rule_id}",
    "/knowledge-gaps",
    "/sample",
    "/retrieval",
    "/dashboard",
]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, method: str, url: str, data: dict | None = None, **extra):
    """A request with a JSON body (none for a GET)."""
    if method == "get":
        return client.get(url, **extra)
    body = json.dumps(data or {})
    return getattr(client, method)(url, body, content_type="application/json", **extra)


def answered(user, question: str, *, declined: bool = False, status: str = "done") -> Message:
    """A question and its answer, as the chat stores them."""
    conversation = Conversation.objects.create(user=user, title=question)
    asked = Message.objects.create(conversation=conversation, role="user", text=question)
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        reply_to=asked,
        text="" if declined else "Fries cook for three minutes [1].",
        status=status,
        declined=declined,
        total_ms=1200,
    )


@pytest.fixture
def alert() -> Alert:
    """An open critical alert on failing answers."""
    rule = AlertRule.objects.get(metric="assistant_error_rate")
    return Alert.objects.create(
        rule=rule,
        metric=rule.metric,
        severity="critical",
        value=0.3,
        worst=0.3,
        message="Assistant errors is 30.0%, above the critical threshold 20.0%",
    )


def every_endpoint(alert: Alert):
    rule = AlertRule.objects.get(metric="decline_rate")
    return [
        ("get", "/status"),
        ("get", "/metrics"),
        ("get", "/metrics/decline_rate/series"),
        ("get", "/alerts"),
        ("post", f"/alerts/{alert.pk}/acknowledge"),
        ("post", f"/alerts/{alert.pk}/resolve"),
        ("get", "/rules"),
        ("patch", f"/rules/{rule.pk}"),
        ("get", "/knowledge-gaps"),
        ("post", "/sample"),
        ("get", "/retrieval"),
        ("get", "/dashboard"),
    ]


# --- Who may ------------------------------------------------------------------------------


def test_crew_managers_and_strangers_are_kept_out_and_change_nothing(alice, bob, alert):
    for method, path in every_endpoint(alert):
        response = send(Client(), method, BASE + path, {"enabled": False})
        assert response.status_code == 401, path
        assert response.json()["message"].startswith("authentication required")
        for user in (alice, bob):
            response = send(signed_in(user), method, BASE + path, {"enabled": False})
            assert response.status_code == 403, (path, user)
            assert response.json() == {"message": "this needs the ops role"}
    alert.refresh_from_db()
    assert alert.state == "open"
    assert AlertRule.objects.get(metric="decline_rate").enabled
    assert not MetricSample.objects.exists()


def test_ops_reach_every_endpoint_by_session_or_by_token(charlie, alert):
    _, token = create_token(charlie, "prometheus box")
    for client, extra in (
        (signed_in(charlie), {}),
        (Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
    ):
        for method, path in every_endpoint(alert):
            if path.endswith("/resolve"):
                continue  # resolving twice is a conflict, tested below
            response = send(client, method, BASE + path, {}, **extra)
            assert response.status_code == 200, (path, response.content)


def test_the_api_schema_documents_every_monitoring_endpoint(charlie):
    schema = signed_in(charlie).get("/api/openapi.json").json()
    monitoring = {
        p[len("/api/monitoring") :]: ops for p, ops in schema["paths"].items() if p.startswith(BASE)
    }
    assert sorted(monitoring) == sorted(PATHS)
    for path, operations in monitoring.items():
        for operation in operations.values():
            assert operation["tags"] == ["monitoring"]
            assert operation["summary"] and operation["description"], path


# --- Status, metrics and their history ------------------------------------------------------


def test_a_sample_on_demand_shows_in_the_metrics_and_the_status(charlie):
    answered(charlie, "how long do fries cook")
    answered(charlie, "what is the wifi password", declined=True)
    client = signed_in(charlie)
    assert client.get(f"{BASE}/status").json()["status"] == "unknown"

    taken = client.post(f"{BASE}/sample").json()
    assert taken["skipped"] is False and taken["duration_ms"] > 0
    probes = {m.name for m in metrics.ALL if m.kind == "probe"}
    assert {s["name"] for s in taken["samples"]} == set(metrics.BY_NAME) - probes
    assert taken["changed"] == []

    status = client.get(f"{BASE}/status").json()
    assert status["status"] == "ok" and status["open_alerts"] == {"warning": 0, "critical": 0}
    assert status["last_sampled_at"] and status["sample_every_s"] > 0
    shown = {m["name"]: m for m in client.get(f"{BASE}/metrics").json()}
    assert list(shown) == [m.name for m in metrics.ALL]
    declines = shown["decline_rate"]
    assert declines["value"] == 0.5 and declines["count"] == 2
    # One decline in two answers is too few to judge the store by.
    assert declines["level"] is None and declines["rule"]["min_count"] == 10
    assert declines["rule"]["warning"] == 0.4 and declines["rule"]["critical"] == 0.7
    rule = declines["rule"]["id"]
    assert send(client, "patch", f"{BASE}/rules/{rule}", {"min_count": 2}).status_code == 200
    declines = {m["name"]: m for m in client.get(f"{BASE}/metrics").json()}["decline_rate"]
    assert declines["level"] == "warning" and declines["unit"] == "ratio"
    assert shown["cross_modal_consistency"]["value"] is None  # probes were not asked


def test_a_rule_tuned_to_fire_at_once_opens_an_alert_on_the_next_sample(charlie):
    answered(charlie, "what is the wifi password", declined=True)
    client = signed_in(charlie)
    rule = AlertRule.objects.get(metric="decline_rate")
    tuned = {"fire_after": 1, "min_count": 1}
    assert send(client, "patch", f"{BASE}/rules/{rule.pk}", tuned).status_code == 200

    changed = client.post(f"{BASE}/sample").json()["changed"]
    assert [(c["event"], c["alert"]["metric"], c["alert"]["severity"]) for c in changed] == [
        ("opened", "decline_rate", "critical")
    ]
    status = client.get(f"{BASE}/status").json()
    assert status["status"] == "critical" and status["open_alerts"]["critical"] == 1
    listed = client.get(f"{BASE}/alerts", {"state": "open"}).json()
    assert [a["id"] for a in listed] == [changed[0]["alert"]["id"]]
    assert "above the critical threshold" in listed[0]["message"]


def test_a_series_is_the_last_day_by_default_and_can_be_any_span(charlie):
    now = timezone.now()
    for hours, value in ((30, 0.1), (2, 0.2), (1, 0.3)):
        MetricSample.objects.create(
            name="decline_rate",
            value=value,
            count=4,
            window_s=900,
            sampled_at=now - timedelta(hours=hours),
        )
    MetricSample.objects.create(name="grounded_answer_rate", value=0.9, sampled_at=now)
    client = signed_in(charlie)
    url = f"{BASE}/metrics/decline_rate/series"

    recent = client.get(url).json()
    assert recent["metric"] == "decline_rate"
    assert [s["value"] for s in recent["samples"]] == [0.2, 0.3]  # oldest first
    assert recent["samples"][0] | {"sampled_at": ""} == {
        "name": "decline_rate",
        "value": 0.2,
        "count": 4,
        "window_s": 900,
        "sampled_at": "",
        "samples": 1,
    }
    span = {
        "since": (now - timedelta(hours=31)).isoformat(),
        "until": (now - timedelta(hours=29)).isoformat(),
    }
    assert [s["value"] for s in client.get(url, span).json()["samples"]] == [0.1]
    # A time without a zone is the server's (UTC here).
    naive = (now - timedelta(hours=3)).replace(tzinfo=None).isoformat()
    assert [s["value"] for s in client.get(url, {"since": naive}).json()["samples"]] == [0.2, 0.3]


def test_a_long_series_can_come_as_means_per_step(charlie):
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(hours=1)
    for minute, value in enumerate([0.1, 0.3, None, 0.5]):
        MetricSample.objects.create(
            name="decline_rate",
            value=value,
            count=2,
            sampled_at=start + timedelta(minutes=minute),
        )
    client = signed_in(charlie)
    url = f"{BASE}/metrics/decline_rate/series"
    steps = client.get(url, {"since": start.isoformat(), "step": 120}).json()["samples"]
    assert [(s["value"], s["count"]) for s in steps] == [(0.2, 4), (0.5, 4)]
    assert client.get(url, {"step": 5}).status_code == 400  # under a minute


def test_a_series_of_an_unknown_metric_or_a_backwards_span_is_refused(charlie):
    client = signed_in(charlie)
    response = client.get(f"{BASE}/metrics/happiness/series")
    assert response.status_code == 404
    assert response.json()["message"].startswith("no metric 'happiness'")
    now = timezone.now()
    backwards = {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}
    response = client.get(f"{BASE}/metrics/decline_rate/series", backwards)
    assert response.status_code == 400
    assert response.json() == {"message": "since must be before until"}
    response = client.get(f"{BASE}/metrics/decline_rate/series", {"since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["message"].startswith("invalid input: since:")


# --- Alerts -----------------------------------------------------------------------------------


def test_alerts_are_listed_newest_first_and_filtered(charlie, alert):
    older = Alert.objects.create(
        rule=AlertRule.objects.get(metric="decline_rate"),
        metric="decline_rate",
        severity="warning",
        value=0.5,
        message="Decline rate is 50.0%, above the warning threshold 40.0%",
        opened_at=timezone.now() - timedelta(days=2),
        resolved_at=timezone.now() - timedelta(days=1),
    )
    client = signed_in(charlie)

    def ids(**query):
        response = client.get(f"{BASE}/alerts", query)
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()]

    assert ids() == [alert.pk, older.pk]
    assert ids(state="open") == [alert.pk]
    assert ids(state="resolved") == [older.pk]
    assert ids(state="acknowledged") == []
    assert ids(severity="warning") == [older.pk]
    assert ids(metric="assistant_error_rate") == [alert.pk]
    assert ids(limit=1) == [alert.pk]
    shown = client.get(f"{BASE}/alerts").json()[0]
    assert shown | {"id": 0, "opened_at": ""} == {
        "id": 0,
        "metric": "assistant_error_rate",
        "severity": "critical",
        "state": "open",
        "message": "Assistant errors is 30.0%, above the critical threshold 20.0%",
        "value": 0.3,
        "worst": 0.3,
        "opened_at": "",
        "escalated_at": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
    }
    assert client.get(f"{BASE}/alerts", {"state": "closed"}).status_code == 422


def test_ops_acknowledge_then_resolve_an_alert_once(charlie, alert):
    client = signed_in(charlie)
    acknowledged = client.post(f"{BASE}/alerts/{alert.pk}/acknowledge").json()
    assert acknowledged["state"] == "acknowledged" and acknowledged["acknowledged_by"] == "charlie"
    again = client.post(f"{BASE}/alerts/{alert.pk}/acknowledge").json()
    assert again["acknowledged_at"] == acknowledged["acknowledged_at"]
    assert [a["id"] for a in client.get(f"{BASE}/alerts", {"state": "acknowledged"}).json()] == [
        alert.pk
    ]

    resolved = client.post(f"{BASE}/alerts/{alert.pk}/resolve").json()
    assert resolved["state"] == "resolved" and resolved["resolved_by"] == "charlie"
    assert client.get(f"{BASE}/status").json()["open_alerts"] == {"warning": 0, "critical": 0}
    for action in ("resolve", "acknowledge"):
        response = client.post(f"{BASE}/alerts/{alert.pk}/{action}")
        assert response.status_code == 409
        assert response.json() == {"message": "this alert is already resolved"}


def test_acknowledging_or_resolving_an_unknown_alert_is_a_404(charlie):
    client = signed_in(charlie)
    for action in ("acknowledge", "resolve"):
        response = client.post(f"{BASE}/alerts/999999/{action}")
        assert response.status_code == 404
        assert response.json() == {"message": "no alert 999999"}


# --- Rules -----------------------------------------------------------------------------------


def test_ops_see_one_rule_per_metric_and_change_only_what_they_send(charlie):
    client = signed_in(charlie)
    listed = client.get(f"{BASE}/rules").json()
    assert sorted(r["metric"] for r in listed) == sorted(metrics.BY_NAME)
    rule = next(r for r in listed if r["metric"] == "answer_latency_p95_ms")
    assert (rule["direction"], rule["warning"], rule["critical"]) == ("above", 8000, 20000)

    changed = send(
        client, "patch", f"{BASE}/rules/{rule['id']}", {"warning": 6000, "critical": None}
    ).json()
    assert (changed["warning"], changed["critical"]) == (6000, None)
    assert changed["fire_after"] == rule["fire_after"] and changed["enabled"] is True
    stored = AlertRule.objects.get(pk=rule["id"])
    assert (stored.warning, stored.critical, stored.description) == (
        6000,
        None,
        rule["description"],
    )
    disabled = send(client, "patch", f"{BASE}/rules/{rule['id']}", {"enabled": False}).json()
    assert disabled["enabled"] is False and disabled["warning"] == 6000


@pytest.mark.parametrize(
    "changes, status, message",
    [
        ({"warning": "high"}, 422, "invalid input: warning: Input should be a valid number"),
        ({"warning": None, "critical": None}, 400, "a rule needs a warning or a critical"),
        ({"critical": 100}, 400, "the critical threshold must be beyond the warning threshold"),
        ({"direction": "sideways"}, 422, "invalid input: direction:"),
        ({"fire_after": 0}, 422, "invalid input: fire_after:"),
        ({"enabled": None}, 422, "invalid input: enabled:"),
    ],
)
def test_a_rule_change_that_makes_no_sense_is_refused_and_changes_nothing(
    charlie, changes, status, message
):
    rule = AlertRule.objects.get(metric="answer_latency_p95_ms")
    response = send(signed_in(charlie), "patch", f"{BASE}/rules/{rule.pk}", changes)
    assert response.status_code == status
    assert response.json()["message"].startswith(message)
    fresh = AlertRule.objects.get(pk=rule.pk)
    assert (fresh.warning, fresh.critical, fresh.direction, fresh.fire_after, fresh.enabled) == (
        8000,
        20000,
        "above",
        rule.fire_after,
        True,
    )


def test_changing_an_unknown_rule_is_a_404(charlie):
    response = send(signed_in(charlie), "patch", f"{BASE}/rules/999999", {"enabled": False})
    assert response.status_code == 404
    assert response.json() == {"message": "no alert rule 999999"}


# --- Knowledge gaps, retrieval, the dashboard ----------------------------------------------------


def test_declined_questions_are_grouped_most_asked_first(charlie, alice):
    answered(alice, "where is the mop sink", declined=True)
    answered(alice, "how do I reset the ice machine", declined=True)
    answered(charlie, "how to reset the ice machine?", declined=True)
    answered(alice, "how long do fries cook")  # answered: no gap
    client = signed_in(charlie)

    gaps = client.get(f"{BASE}/knowledge-gaps").json()
    assert [(g["question"], g["count"]) for g in gaps] == [
        ("how to reset the ice machine?", 2),
        ("where is the mop sink", 1),
    ]
    assert gaps[0]["examples"] == [
        "how to reset the ice machine?",
        "how do I reset the ice machine",
    ]
    assert len(client.get(f"{BASE}/knowledge-gaps", {"limit": 1}).json()) == 1
    response = client.get(f"{BASE}/knowledge-gaps", {"days": 0})
    assert response.status_code == 400
    assert response.json() == {"message": "days is 1-365 and limit 1-200"}


def test_retrieval_health_shows_the_backend_and_checks_it_on_request(charlie):
    client = signed_in(charlie)
    health = client.get(f"{BASE}/retrieval").json()
    assert health["backend"] == "local" and health["check"] is None
    assert health["last_hour"] == {"searches": 0, "ok": 0, "fallback": 0, "error": 0}

    checked = client.get(f"{BASE}/retrieval", {"check": "true"}).json()
    assert checked["check"]["ok"] is True and checked["check"]["ms"] >= 0
    assert checked["check"]["outcome"] == "ok"
    # The check is a real search: it is recorded like any other.
    assert client.get(f"{BASE}/retrieval").json()["last_hour"] == {
        "searches": 1,
        "ok": 1,
        "fallback": 0,
        "error": 0,
    }


def test_the_dashboard_has_the_status_metrics_active_alerts_and_gaps_in_one_answer(charlie, alert):
    answered(charlie, "where is the mop sink", declined=True)
    board = signed_in(charlie).get(f"{BASE}/dashboard").json()
    assert board["status"]["status"] == "critical"
    assert [m["name"] for m in board["metrics"]] == [m.name for m in metrics.ALL]
    assert [a["id"] for a in board["alerts"]] == [alert.pk]
    assert [g["question"] for g in board["gaps"]] == ["where is the mop sink"]
    assert board["validation"] is None
