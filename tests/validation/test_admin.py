"""The ops console's validation pages: golden cases (edit, filter, export, import) and
runs (read-only, their results inline, "Run validation now" starts one)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from validation.models import Case, Run

from .test_api import finished_run

pytestmark = pytest.mark.django_db


ADMIN = "/admin/validation"


@pytest.fixture
def ops(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- Cases ----------------------------------------------------------------------------------


def test_the_cases_list_shows_the_demo_set_and_filters_by_kind_answerable_and_enabled(ops):
    page = text(ops.get(f"{ADMIN}/case/"))
    assert "How much oil does each fryer vat hold?" in page
    assert f"{Case.objects.count()} cases" in page
    for name in ("kind", "answerable", "enabled"):
        assert f"?{name}__exact=" in page, name
    off_topic = text(ops.get(f"{ADMIN}/case/?kind__exact=off-topic"))
    assert "How much oil does each fryer vat hold?" not in off_topic
    assert f"{Case.objects.filter(kind='off-topic').count()} cases" in off_topic
    found = text(ops.get(f"{ADMIN}/case/?q=tartar+sauce"))
    assert "Once a tub of tartar sauce is opened" in found
    assert "How much oil does each fryer vat hold?" not in found
    assert "Export selected as JSON" in page and "Import JSON" in page


def test_a_case_opens_for_editing(ops):
    case = Case.objects.first()
    page = text(ops.get(f"{ADMIN}/case/{case.pk}/change/"))
    assert case.question in page and 'name="facts"' in page and 'name="history"' in page


def test_selected_cases_are_exported_as_a_json_file_import_takes_back(ops):
    chosen = list(Case.objects.filter(kind="safety").order_by("pk"))
    response = ops.post(
        f"{ADMIN}/case/",
        {"action": "export_json", "_selected_action": [c.pk for c in chosen]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="validation-cases.json"'
    exported = json.loads(response.content)
    assert [c["question"] for c in exported] == [c.question for c in chosen]
    assert set(exported[0]) == {
        "question",
        "history",
        "answerable",
        "facts",
        "document",
        "pages",
        "sections",
        "kind",
    }

    upload = SimpleUploadedFile("cases.json", response.content, content_type="application/json")
    response = ops.post(f"{ADMIN}/case/import/", {"file": upload, "replace": "on"}, follow=True)
    assert f"Imported {len(chosen)} case(s)." in text(response)
    assert list(Case.objects.values_list("question", flat=True)) == [c.question for c in chosen]


def test_a_bad_import_file_is_refused_with_the_reason_and_changes_nothing(ops):
    before = Case.objects.count()
    page = text(ops.get(f"{ADMIN}/case/import/"))
    assert "Import validation cases" in page and 'type="file"' in page
    bad = json.dumps([{"question": "Where is the mop sink?"}, {"question": "Q?", "kind": "gossip"}])
    upload = SimpleUploadedFile("cases.json", bad.encode(), content_type="application/json")
    page = text(ops.post(f"{ADMIN}/case/import/", {"file": upload, "replace": "on"}))
    assert "case 2: kind must be one of" in page
    assert Case.objects.count() == before
    assert not Case.objects.filter(question="Where is the mop sink?").exists()


# --- Runs -----------------------------------------------------------------------------------


def test_the_runs_list_shows_progress_score_and_a_coloured_readiness_that_says_it(
    ops, charlie, small_suite, enqueued
):
    done = finished_run(charlie, category="text")
    Run.objects.create(trigger="api", status="running", tests_done=7, tests_total=25)
    page = text(ops.get(f"{ADMIN}/run/"))
    assert "7/25" in page and "2/2" in page
    assert "70.0" in page and "50%" in page
    assert '<span style="padding:1px 8px;border-radius:6px;font-weight:700;' in page
    assert 'background:#fee4e2;color:#b42318">NOT READY</span>' in page
    assert f'<a href="/validation/runs/{done.pk}/">Report</a>' in page
    for name in ("status__exact", "readiness__exact", "trigger__exact", "category"):
        assert f"?{name}=" in page, name
    assert "Add run" not in page  # runs are made by running, not typed in


def test_a_run_opens_read_only_with_its_results_inline(ops, charlie, small_suite):
    run = finished_run(charlie, category="text")
    page = text(ops.get(f"{ADMIN}/run/{run.pk}/change/"))
    assert "Search answers" in page and "Citations check out" in page
    assert "2 of 5 citations verified on their pages" in page
    assert 'name="score"' not in page and "Save" not in page  # nothing to edit


def test_run_validation_now_queues_a_run_for_a_worker_and_says_so(
    ops, charlie, enqueued, django_capture_on_commit_callbacks
):
    page = text(ops.get(f"{ADMIN}/run/"))
    assert 'value="Run validation now"' in page
    assert '<option value="text">Text only</option>' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(f"{ADMIN}/run/start/", {"category": "text"}, follow=True)
    run = Run.objects.get()
    assert (run.trigger, run.status, run.category) == ("admin", "queued", "text")
    assert run.started_by == charlie
    assert enqueued == [run.pk]
    page = text(response)
    assert f"Validation run {run.pk} started (the text tests): a worker runs it now." in page
    assert f'<a href="/validation/runs/{run.pk}/">Follow it on its report</a>' in page


def test_run_validation_now_refuses_a_get_and_an_unknown_category(ops, enqueued):
    assert ops.get(f"{ADMIN}/run/start/").status_code == 405
    page = text(ops.post(f"{ADMIN}/run/start/", {"category": "vibes"}, follow=True))
    assert "Unknown category &#x27;vibes&#x27;; one of text, voice" in page
    assert not Run.objects.exists() and enqueued == []


def test_crew_and_managers_cannot_reach_the_validation_console(alice, bob, enqueued):
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        for url in (f"{ADMIN}/case/", f"{ADMIN}/run/", f"{ADMIN}/case/import/"):
            assert client.get(url).status_code == 302, url  # to the admin's sign-in
        client.post(f"{ADMIN}/run/start/", {"category": "text"})
    assert not Run.objects.exists() and enqueued == []
