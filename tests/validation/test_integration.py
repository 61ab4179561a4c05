"""The integration checks: they pass on a healthy deployment and fail, saying why, on a
broken one (no manuals, no worker, a model that fails, monitoring never sampled)."""

import pytest
from pydantic_ai.models.function import AgentInfo, FunctionModel

from chat.assistant import providers
from knowledge.ingest import textdocs
from knowledge.search import RagieBackend
from lineled.celery import app
from monitoring import services as monitoring
from tests.support import celery_worker
from validation import services
from validation.clients import InProcessClient
from validation.suite import integration
from validation.suite.context import Context


@pytest.fixture
def sampled(db):
    """A monitoring pass has just run, with the default rules (as beat does every minute)."""
    monitoring.ensure_defaults()
    monitoring.sample(force=True, probes=False)


@pytest.mark.django_db
def test_retrieval_ingestion_errors_and_monitoring_pass_on_the_demo_deployment(context, sampled):
    checks = {
        integration.retrieval: 80,
        integration.ingestion: 100,
        integration.errors: 100,
        integration.monitoring: 100,
    }
    for check, pass_mark in checks.items():
        outcome = check(context)
        assert outcome.score >= pass_mark, (check.__name__, outcome.summary, outcome.details)
        assert outcome.summary and not outcome.recommendation

    found = integration.retrieval(context).details
    assert found["backend"] == "local" and found["ms"]["p50"] > 0
    assert all(row["rank"] <= integration.TOP_K for row in found["cases"])


@pytest.mark.django_db
def test_the_upload_round_trip_leaves_nothing_behind(context):
    outcome = integration.ingestion(context)
    details = outcome.details
    assert details["steps"] == dict.fromkeys(details["steps"], True), details
    assert details["word"] in details["answer"]["text"]
    document_id = details["upload"]["id"]
    assert context.client.document(document_id) is None
    left = context.client.search(details["word"])["results"]  # others may come by meaning
    assert all(r["document_id"] != document_id for r in left)


@pytest.mark.django_db
def test_bad_input_gets_a_clear_error_or_a_stored_safe_answer(context):
    probes = integration.errors(context).details["probes"]
    assert "empty" in probes["empty"]["error"]
    assert "20019 characters" in probes["20,000 characters"]["error"]
    assert probes["binary garbage"]["reply_to"]  # stored, then answered
    injection = probes["prompt injection"]
    assert injection["reply_to"] and "900" not in injection["answer"]


@pytest.mark.django_db
def test_with_ragie_configured_the_local_fallback_is_checked_too(context, settings, monkeypatch):
    settings.SEARCH_BACKEND = "ragie"

    def down(self, query, **kwargs):
        raise ConnectionError("Ragie is unreachable")

    monkeypatch.setattr(RagieBackend, "search", down)
    outcome = integration.retrieval(context)
    assert outcome.score >= 80 and "local fallback: 20 of 20" in outcome.summary
    assert all(row["local_rank"] for row in outcome.details["cases"])


@pytest.mark.django_db
def test_without_manuals_retrieval_fails_but_an_upload_still_round_trips(ops_user):
    services.ensure_default_cases()
    empty = Context(client=InProcessClient(ops_user), cases=services.enabled_cases())
    found = integration.retrieval(empty)
    assert found.score == 0 and found.summary.startswith("expected manual in the top 5 for 0 of")
    assert "ingested and indexed" in found.recommendation
    assert integration.ingestion(empty).score == 100


@pytest.mark.django_db
def test_a_document_that_fails_to_ingest_fails_the_round_trip(context, monkeypatch):
    monkeypatch.setattr(textdocs, "markdown_blocks", lambda text: [])
    outcome = integration.ingestion(context)
    assert outcome.score < 100
    assert "failed: ingested, cites the new document, states the fact" in outcome.summary
    assert "no text" in outcome.summary  # the ingestion error, named
    assert outcome.details["upload"]["status"] == "failed"
    assert "Uploads are not ingested" in outcome.recommendation


async def broken_model(messages, info: AgentInfo):
    raise RuntimeError("the model provider is down")
    yield ""  # an async generator, as PydanticAI's stream functions are


@pytest.mark.django_db
def test_when_the_model_fails_odd_questions_are_not_handled(context, settings, monkeypatch):
    settings.LINELED_MODEL = "test:broken"
    model = FunctionModel(stream_function=broken_model, model_name="broken")
    monkeypatch.setattr(providers, "model", lambda: model)
    outcome = integration.errors(context)
    assert outcome.score == 50  # the empty and the over-long question still get clear errors
    assert "binary garbage (answer failed" in outcome.summary
    assert outcome.details["probes"]["prompt injection"]["reply_to"]  # stored all the same
    assert outcome.recommendation


@pytest.mark.django_db
def test_monitoring_that_never_sampled_fails_the_monitoring_check(ops_user):
    monitoring.ensure_defaults()
    outcome = integration.monitoring(Context(client=InProcessClient(ops_user), cases=[]))
    assert outcome.score < 100
    assert "failing: sampled recently (never sampled)" in outcome.summary
    assert "beat" in outcome.recommendation


@pytest.mark.django_db(transaction=True)
def test_the_celery_check_passes_with_a_worker_and_fails_without_one(
    tmp_path, ops_user, monkeypatch
):
    ctx = Context(client=InProcessClient(ops_user), cases=[])
    with celery_worker(tmp_path, app.conf.task_default_queue):
        answered = integration.celery(ctx)
    assert answered.score == 100, ((tmp_path / "worker.log").read_text(), answered.details)
    assert answered.details["detail"]["note"] == "validation"
    assert answered.summary.startswith("a worker answered the ping in")

    monkeypatch.setattr(integration, "PING_TIMEOUT_S", 2.0)
    silent = integration.celery(ctx)
    assert silent.score == 0 and silent.summary.startswith("no worker answered")
    assert "Start a Celery worker" in silent.recommendation
