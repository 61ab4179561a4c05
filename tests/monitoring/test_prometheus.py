"""``GET /metrics``: what Prometheus scrapes, and who may scrape it."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from chat import services as chat
from chat.models import Conversation, Message
from knowledge.models import SearchEvent
from lineled.middleware import REQUESTS
from lineled.services import PROBE_USERNAME, create_token
from monitoring.models import Alert, AlertRule, MetricSample, TaskRun
from voice.models import VoiceTurn

pytestmark = pytest.mark.django_db

TOKEN = "scrape-secret-0123456789"


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.fixture(autouse=True)
async def _close_shared_thread_connections():
    """A chat answer runs on asgiref's shared thread; close its database connection,
    or PostgreSQL will not drop the test database."""
    yield
    await sync_to_async(connections.close_all)()


def scrape(**extra) -> dict:
    """The scraped samples: {(name, ((label, value), ...)): value}."""
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def key(name: str, **labels: str) -> tuple:
    return name, tuple(sorted(labels.items()))


def answer(user, total_ms, *, modality="text", status="done") -> Message:
    conversation = Conversation.objects.create(user=user)
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        modality=modality,
        status=status,
        total_ms=total_ms,
    )


# --- Who may ---------------------------------------------------------------------------------


def test_the_metrics_need_the_scrape_token_or_an_ops_user(alice, charlie):
    anonymous = Client().get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"Authorization: Bearer <METRICS_TOKEN>" in anonymous.content
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert b"neither METRICS_TOKEN nor a valid API token" in wrong.content
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200

    _, ops_token = create_token(charlie, "prometheus")
    _, crew_token = create_token(alice, "tablet")
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {ops_token}").status_code == 200
    crew = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {crew_token}")
    assert crew.status_code == 403 and b"ops role" in crew.content
    for user, status in ((charlie, 200), (alice, 403)):
        client = Client()
        client.force_login(user)
        assert client.get("/metrics").status_code == status


def test_without_a_scrape_token_configured_only_ops_users_get_in(settings, charlie):
    settings.METRICS_TOKEN = ""
    for header in ("Bearer ", f"Bearer {TOKEN}", "Bearer x"):
        assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401
    _, ops_token = create_token(charlie, "prometheus")
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {ops_token}").status_code == 200


# --- What it says ------------------------------------------------------------------------------


def test_a_chat_answer_shows_in_the_answer_and_search_counters(alice):
    before = scrape()
    done = key("lineled_answers_total", modality="text", status="done")
    assert done not in before

    chat.answer_now(chat.create_conversation(alice), alice, "how long do fries cook?")

    after = scrape()
    assert after[done] == 1
    assert after[key("lineled_answer_duration_seconds_count", modality="text")] == 1
    assert after[key("lineled_answer_duration_seconds_sum", modality="text")] > 0
    searched = sum(v for (name, _), v in after.items() if name == "lineled_searches_total")
    assert searched >= 1


def test_durations_are_histograms_in_seconds_and_probe_answers_are_left_out(
    alice, django_user_model
):
    for total_ms in (50, 700, 3000, 45000):
        answer(alice, total_ms)
    answer(alice, 900, modality="voice", status="failed")
    answer(alice, None, status="failed")  # failed before it was timed
    probe = django_user_model.objects.create_user(PROBE_USERNAME)
    answer(probe, 100)
    for latency_ms in (20, 400):
        SearchEvent.objects.create(backend="local", query="fries", latency_ms=latency_ms)
    SearchEvent.objects.create(backend="ragie", query="fries", latency_ms=0, outcome="error")
    turn = VoiceTurn.objects.create(
        conversation=Conversation.objects.create(user=alice),
        status=VoiceTurn.Status.ANSWERED,
        audio_ms=1500,
        stt_engine="pocketsphinx",
        first_audio_ms=800,
    )

    samples = scrape()

    buckets = {
        le: samples[key("lineled_answer_duration_seconds_bucket", modality="text", le=le)]
        for le in ("0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "+Inf")
    }
    assert buckets == {
        "0.1": 1,
        "0.25": 1,
        "0.5": 1,
        "1.0": 2,
        "2.5": 2,
        "5.0": 3,
        "10.0": 3,
        "30.0": 3,
        "+Inf": 4,
    }
    assert samples[key("lineled_answer_duration_seconds_sum", modality="text")] == 48.75
    assert samples[key("lineled_answer_duration_seconds_count", modality="voice")] == 1
    answers = {k[1]: v for k, v in samples.items() if k[0] == "lineled_answers_total"}
    assert answers == {
        (("modality", "text"), ("status", "done")): 4,
        (("modality", "text"), ("status", "failed")): 1,
        (("modality", "voice"), ("status", "failed")): 1,
    }
    assert samples[key("lineled_searches_total", backend="local", outcome="ok")] == 2
    assert samples[key("lineled_searches_total", backend="ragie", outcome="error")] == 1
    assert samples[key("lineled_search_duration_seconds_bucket", backend="local", le="0.1")] == 1
    assert samples[key("lineled_search_duration_seconds_sum", backend="local")] == 0.42
    assert samples[key("lineled_voice_turns_total", status=turn.status)] == 1
    assert samples[key("lineled_voice_first_audio_seconds_bucket", le="0.5")] == 0
    assert samples[key("lineled_voice_first_audio_seconds_bucket", le="1.0")] == 1


def test_a_scrape_costs_the_same_queries_however_many_answers_there_are(alice):
    answer(alice, 500)
    scrape()  # warm caches
    with CaptureQueriesContext(connection) as few:
        scrape()
    for _ in range(20):
        answer(alice, 1500)
    with CaptureQueriesContext(connection) as many:
        scrape()
    assert len(many) == len(few)


def test_the_latest_values_and_open_alerts_are_gauges(charlie):
    MetricSample.objects.create(name="decline_rate", value=0.25, count=8)
    MetricSample.objects.create(name="grounded_answer_rate", value=None)  # nothing happened
    rule = AlertRule.objects.get(metric="assistant_error_rate")
    Alert.objects.create(rule=rule, metric=rule.metric, severity="critical", message="failing")

    samples = scrape()

    assert samples[key("lineled_decline_rate")] == 0.25
    assert key("lineled_grounded_answer_rate") not in samples
    assert samples[key("lineled_open_alerts", severity="critical")] == 1
    assert samples[key("lineled_open_alerts", severity="warning")] == 0


def test_celery_task_runs_are_counted_per_task_and_outcome():
    TaskRun.objects.create(task="monitoring.sample", successes=41, failures=2)
    TaskRun.objects.create(task="lineled.heartbeat", successes=7)

    samples = scrape()

    tasks = {k[1]: v for k, v in samples.items() if k[0] == "lineled_celery_tasks_total"}
    assert tasks == {
        (("outcome", "failure"), ("task", "lineled.heartbeat")): 0,
        (("outcome", "success"), ("task", "lineled.heartbeat")): 7,
        (("outcome", "failure"), ("task", "monitoring.sample")): 2,
        (("outcome", "success"), ("task", "monitoring.sample")): 41,
    }


def test_requests_are_counted_by_method_status_class_and_url_pattern(charlie):
    def count(status, route):
        return scrape().get(
            key("lineled_http_requests_total", method="GET", status=status, route=route), 0
        )

    series = "/api/monitoring/metrics/<name>/series"
    before = {
        (s, r): count(s, r) for s, r in (("2xx", "/healthz"), ("4xx", "unmatched"), ("4xx", series))
    }
    client = Client()
    client.force_login(charlie)

    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page")
    client.get("/api/monitoring/metrics/happiness/series")

    assert count("2xx", "/healthz") == before["2xx", "/healthz"] + 2
    assert count("4xx", "unmatched") == before["4xx", "unmatched"] + 1
    assert count("4xx", series) == before["4xx", series] + 1
    timed = scrape()[
        key("lineled_http_request_duration_seconds_count", method="GET", route="/healthz")
    ]
    assert timed >= 2


async def test_requests_answered_under_asgi_are_counted_too():
    labels = {"method": "GET", "status": "2xx", "route": "/healthz"}
    before = REQUESTS.get_sample_value("lineled_http_requests_total", labels) or 0
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert REQUESTS.get_sample_value("lineled_http_requests_total", labels) == before + 1


def test_the_readiness_gauge_says_what_its_numbers_mean():
    MetricSample.objects.create(name="validation_readiness", value=1, count=1)

    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}

    readiness = families["lineled_validation_readiness"]
    assert readiness.samples[0].value == 1
    assert "2 is Ready, 1 Conditional, 0 Not ready" in readiness.documentation
