"""The validation API: ops start runs (a worker runs them once the request commits),
list them and read one with its evidence, and export or import the golden cases."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lineled.services import create_token
from validation import report, services
from validation.clients import InProcessClient
from validation.models import Case, Run
from validation.services import RUN_TIME_LIMIT_S
from validation.suite import Outcome
from validation.suite import Test as Check  # not collected as a test class
from validation.tasks import execute_run

pytestmark = pytest.mark.django_db

BASE = "/api/validation"
PATHS = ["/runs", "/runs/{run_id}", "/cases"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, data=None, **extra):
    body = "" if data is None else json.dumps(data)
    return client.post(url, body, content_type="application/json", **extra)


# Two small checks that go through the client like the real ones: one passes, one (a
# blocking one) fails with its evidence and what to do about it.
def searches(ctx) -> Outcome:
    found = ctx.client.search("fryer oil temperature")
    return Outcome(
        100.0,
        "search answered",
        {"query": "fryer oil temperature", "results": len(found["results"]), "search_ms": 4.2},
    )


def cites(ctx) -> Outcome:
    return Outcome(
        40.0,
        "2 of 5 citations verified on their pages",
        {"cases": [{"question": "How long do fries cook?", "verified": 2, "citations": 5}]},
        "Re-ingest the fryer manual: its page images are missing.",
    )


SMALL_SUITE = [
    Check("text.search", "text", "Search answers", searches, pass_mark=80),
    Check("text.cites", "text", "Citations check out", cites, pass_mark=90, blocking=True),
]


def use_small_suite(monkeypatch) -> list:
    """The registry replaced by SMALL_SUITE, for runs whose outcome is known."""
    monkeypatch.setattr(services, "all_tests", lambda: SMALL_SUITE)
    monkeypatch.setattr(report, "all_tests", lambda: SMALL_SUITE)
    return SMALL_SUITE


def capture_enqueued(monkeypatch) -> list[int]:
    """The run ids handed to the worker's task (the broker is not needed here)."""
    sent = []
    monkeypatch.setattr(execute_run, "delay", lambda run_id: sent.append(run_id))
    return sent


def finished_run(user, **fields) -> Run:
    """A run of the small suite, executed in this process through the real services."""
    run = Run.objects.create(trigger="cli", **fields)
    return services.execute(run.pk, client=InProcessClient(user), cases=[])


# --- Who may ------------------------------------------------------------------------------


def every_endpoint(run: Run):
    return [
        ("post", "/runs", {"category": "text"}),
        ("get", "/runs", None),
        ("get", f"/runs/{run.pk}", None),
        ("get", "/cases", None),
        ("post", "/cases", [{"question": "Where is the mop sink?"}]),
    ]


def test_strangers_crew_and_managers_are_kept_out_and_start_nothing(alice, bob, enqueued):
    run = Run.objects.create()
    for method, path, data in every_endpoint(run):
        anonymous = (
            Client().get(BASE + path) if method == "get" else post(Client(), BASE + path, data)
        )
        assert anonymous.status_code == 401, path
        for user in (alice, bob):
            client = signed_in(user)
            response = (
                client.get(BASE + path) if method == "get" else post(client, BASE + path, data)
            )
            assert response.status_code == 403, (path, user)
            assert response.json() == {"message": "this needs the ops role"}
    assert list(Run.objects.values_list("pk", flat=True)) == [run.pk]
    assert not Case.objects.filter(question="Where is the mop sink?").exists()
    assert enqueued == []


def test_ops_reach_every_endpoint_by_session_or_by_token(charlie, enqueued):
    run = Run.objects.create(status="done")
    _, token = create_token(charlie, "ci box")
    for client, extra in (
        (signed_in(charlie), {}),
        (Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
    ):
        Run.objects.filter(status="queued").update(status="done")  # one run at a time
        for method, path, data in every_endpoint(run):
            if method == "get":
                response = client.get(BASE + path, **extra)
            else:
                response = post(client, BASE + path, data, **extra)
            assert response.status_code in (200, 202), (path, response.content)


def test_the_api_schema_documents_every_validation_endpoint(charlie):
    schema = signed_in(charlie).get("/api/openapi.json").json()
    paths = {p[len(BASE) :]: ops for p, ops in schema["paths"].items() if p.startswith(BASE)}
    assert sorted(paths) == sorted(PATHS)
    for path, operations in paths.items():
        for operation in operations.values():
            assert operation["tags"] == ["validation"]
            assert operation["summary"] and operation["description"], path
    assert "requestBody" in paths["/cases"]["post"]  # the import's JSON list is documented


# --- Starting a run -----------------------------------------------------------------------


def test_starting_a_run_answers_202_with_a_queued_run_sent_to_a_worker_after_commit(
    charlie, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(signed_in(charlie), f"{BASE}/runs", {"category": "integration"})
    assert response.status_code == 202
    body = response.json()
    run = Run.objects.get()
    assert body["run"] == run.pk
    assert body["status"] == "queued" and body["tests_done"] == 0
    assert body["trigger"] == "browser" and body["mode"] == "in-process"
    assert body["category"] == "integration"
    assert body["readiness"] == "" and body["score"] is None
    assert "tests" not in body
    assert run.started_by == charlie
    assert enqueued == []  # nothing reaches the broker before the run row is committed
    for callback in callbacks:
        callback()
    assert enqueued == [run.pk]


def test_a_run_says_where_it_was_started_the_validation_page_or_a_token(charlie, enqueued):
    # The Validation page calls the API with the browser session; a script with a token.
    post(signed_in(charlie), f"{BASE}/runs", {"category": "text"})
    from_page = Run.objects.get()
    report_page = signed_in(charlie).get(f"/validation/runs/{from_page.pk}/").content.decode()
    assert "from the browser by Charlie" in report_page
    assert "REST API" not in report_page
    assert "Browser, charlie" in signed_in(charlie).get("/validation/").content.decode()

    Run.objects.all().delete()
    _, token = create_token(charlie, "nightly script")
    post(Client(), f"{BASE}/runs", {"category": "text"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    from_script = Run.objects.get()
    assert from_script.trigger == "api"
    report_page = signed_in(charlie).get(f"/validation/runs/{from_script.pk}/").content.decode()
    assert "from the REST API by Charlie" in report_page


def test_a_run_started_without_a_body_runs_the_whole_suite(charlie, enqueued):
    response = signed_in(charlie).post(f"{BASE}/runs", content_type="application/json")
    assert response.status_code == 202, response.content
    assert response.json()["category"] == ""
    assert Run.objects.get().category == ""


def test_an_unknown_category_is_refused_and_nothing_is_queued(charlie, enqueued):
    response = post(signed_in(charlie), f"{BASE}/runs", {"category": "vibes"})
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("unknown category 'vibes'")
    assert "text, voice, cross-modal, integration, performance" in message
    assert not Run.objects.exists()
    assert enqueued == []


def test_one_run_at_a_time_a_second_start_is_refused_until_the_first_is_done(charlie, enqueued):
    client = signed_in(charlie)
    first = post(client, f"{BASE}/runs", {"category": "text"}).json()["run"]
    codes = []
    for _ in range(4):  # back to back, as a script or an impatient click would
        refused = post(client, f"{BASE}/runs", {"category": "integration"})
        codes.append(refused.status_code)
    assert codes == [409] * 4
    assert refused.json()["message"] == (
        f"validation run {first} is queued; one run at a time: follow it, "
        "and start another when it is done"
    )
    assert list(Run.objects.values_list("pk", flat=True)) == [first]

    Run.objects.filter(pk=first).update(status="done")
    assert post(client, f"{BASE}/runs", {}).status_code == 202
    # A run a dead worker left behind holds nothing back after the time limit.
    Run.objects.update(created_at=timezone.now() - timedelta(seconds=RUN_TIME_LIMIT_S + 1))
    assert post(client, f"{BASE}/runs", {}).status_code == 202


# --- Reading runs -------------------------------------------------------------------------


def test_the_list_shows_runs_newest_first_without_their_evidence(charlie, small_suite):
    older = finished_run(charlie, category="text")
    newer = Run.objects.create(trigger="api", started_by=charlie)
    response = signed_in(charlie).get(f"{BASE}/runs")
    assert response.status_code == 200
    rows = response.json()
    assert [r["run"] for r in rows] == [newer.pk, older.pk]
    assert rows[0]["status"] == "queued" and rows[0]["readiness"] == ""
    done = rows[1]
    assert done["status"] == "done"
    assert (done["tests_done"], done["tests_total"]) == (2, 2)
    assert done["score"] == 70.0 and done["success_rate"] == 0.5
    assert done["readiness"] == "NOT READY"
    assert done["blocking_failed"] == ["text.cites"]
    assert done["duration_s"] is not None and done["finished_at"]
    assert all("tests" not in r for r in rows)
    assert len(signed_in(charlie).get(f"{BASE}/runs?limit=1").json()) == 1


def test_a_run_is_read_with_each_tests_score_evidence_and_recommendation(charlie, small_suite):
    run = finished_run(charlie, category="text")
    response = signed_in(charlie).get(f"{BASE}/runs/{run.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["run"] == run.pk and body["readiness"] == "NOT READY"
    search, cites = body["tests"]
    assert search["id"] == "text.search" and search["passed"] is True
    assert search["score"] == 100.0 and search["blocking"] is False
    assert search["details"]["query"] == "fryer oil temperature"
    assert search["duration_ms"] >= 0
    assert cites["id"] == "text.cites" and cites["passed"] is False and cites["blocking"] is True
    assert cites["summary"] == "2 of 5 citations verified on their pages"
    assert cites["details"]["recommendation"].startswith("Re-ingest the fryer manual")
    assert cites["details"]["cases"][0]["verified"] == 2


def test_an_unknown_run_is_a_404(charlie):
    response = signed_in(charlie).get(f"{BASE}/runs/999999")
    assert response.status_code == 404
    assert response.json() == {"message": "no validation run 999999"}


# --- Golden cases -------------------------------------------------------------------------

CASES = [
    {
        "question": "How long do fries cook?",
        "facts": ["3 minutes"],
        "document": "hb-eq-101-fryer.pdf",
        "pages": [2],
        "kind": "fact",
    },
    {
        "question": "And at what temperature?",
        "history": ["How long do fries cook?"],
        "facts": ["350"],
        "kind": "follow-up",
    },
    {"question": "What is the capital of France?", "kind": "off-topic"},
]


def test_the_export_holds_every_case_the_demo_set_included(charlie):
    exported = signed_in(charlie).get(f"{BASE}/cases").json()
    assert len(exported) == Case.objects.count() > 0
    assert {c["kind"] for c in exported} >= {"fact", "procedure", "safety", "off-topic"}


def test_cases_exported_import_back_the_same(charlie):
    client = signed_in(charlie)
    response = post(client, f"{BASE}/cases?replace=true", CASES)
    assert response.status_code == 200
    assert response.json() == {"imported": 3, "total": 3}
    exported = client.get(f"{BASE}/cases").json()
    assert [c["question"] for c in exported] == [c["question"] for c in CASES]
    assert exported[1]["history"] == ["How long do fries cook?"]
    assert exported[2]["answerable"] is False  # off-topic unless said otherwise
    assert exported[0] == {
        "question": "How long do fries cook?",
        "history": [],
        "answerable": True,
        "facts": ["3 minutes"],
        "document": "hb-eq-101-fryer.pdf",
        "pages": [2],
        "sections": [],
        "kind": "fact",
    }
    again = post(client, f"{BASE}/cases?replace=true", exported)
    assert again.json() == {"imported": 3, "total": 3}
    assert client.get(f"{BASE}/cases").json() == exported


def test_importing_adds_to_the_cases_unless_told_to_replace_them(charlie):
    client = signed_in(charlie)
    post(client, f"{BASE}/cases?replace=true", CASES)
    post(client, f"{BASE}/cases", [{"question": "Where is the first-aid kit?"}])
    assert Case.objects.count() == 4
    response = post(client, f"{BASE}/cases?replace=true", [{"question": "Who opens the store?"}])
    assert response.json() == {"imported": 1, "total": 1}
    assert list(Case.objects.values_list("question", flat=True)) == ["Who opens the store?"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json at all", "the cases are not JSON"),
        ("{}", "the cases must be a non-empty JSON list"),
        ("[]", "the cases must be a non-empty JSON list"),
        (json.dumps([CASES[0], {"facts": ["350"]}]), "case 2: a question is required"),
        (json.dumps([CASES[0], {"question": "Q?", "kind": "gossip"}]), "case 2: kind must be"),
        (json.dumps([{"question": "Q?", "pages": ["two"]}]), "case 1: pages are page numbers"),
        (json.dumps([{"question": "Q?", "facts": "350"}]), "case 1: facts must be a list"),
    ],
)
def test_bad_cases_are_refused_with_the_reason_and_nothing_is_half_written(charlie, body, message):
    client = signed_in(charlie)
    post(client, f"{BASE}/cases?replace=true", [{"question": "Where is the mop sink?"}])
    for replace in ("", "?replace=true"):
        response = client.post(f"{BASE}/cases{replace}", body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["message"].startswith(message)
    assert list(Case.objects.values_list("question", flat=True)) == ["Where is the mop sink?"]
