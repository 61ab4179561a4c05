"""The runs page (/validation/) and a run's report (/validation/runs/<id>/): the verdict
and what to fix at the top, the categories with their tests, each test's evidence, the
trend across runs, and progress while a run is under way."""

import json
import re

import pytest
from django.test import Client

from validation import services
from validation.models import Run
from validation.suite import Outcome
from validation.suite import Test as Check  # not collected as a test class

from .test_api import finished_run

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_of(user, url: str) -> str:
    response = signed_in(user).get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def report_url(run: Run) -> str:
    return f"/validation/runs/{run.pk}/"


ROWS = "/validation/rows/"


def rows_of(html: str) -> dict[int, str]:
    """The run rows in ``html``, by run id."""
    found = re.finditer(r'<tr data-run="(\d+)".*?</tr>', html, re.S)
    return {int(m.group(1)): m.group(0) for m in found}


def trend_on(page: str) -> list[dict]:
    """The trend chart's points, as the page hands them to validation.js (and charts.js)."""
    return json.loads(re.search(r'id="trend-data"[^>]*>(.*?)</script>', page, re.S).group(1))


def test_the_report_puts_the_verdict_the_blocking_failure_and_what_to_fix_at_the_top(
    charlie, small_suite
):
    run = finished_run(charlie, category="text")
    page = page_of(charlie, report_url(run))
    assert f"<title>Validation run {run.pk}: NOT READY · Line Lead</title>" in page
    verdict = page[
        page.index('id="verdict"') : page.index("</section>", page.index('id="verdict"'))
    ]
    assert 'data-readiness="critical"' in verdict
    assert ">NOT READY</h2>" in verdict
    assert "Short of READY: the score 70 is below 80; 50% of the tests passed, below 80%" in verdict
    assert "Below CONDITIONAL too" in verdict
    assert re.search(r"Blocking test failed:</strong>\s*<a href=\"#test-text.cites\"", verdict)
    assert "70.0<span" in verdict and "1 of 2" in verdict and "50%" in verdict
    assert "In-process" in verdict
    fix = page.index(">What to fix</h2>")
    assert fix < page.index("<details")  # the recommendations come before the tests
    assert "Re-ingest the fryer manual: its page images are missing." in page[fix:]
    assert "Text tests only" in page and "from manage.py validate" in page


def test_each_category_lists_its_tests_with_pass_or_fail_score_and_blocking_marker(
    charlie, small_suite
):
    run = finished_run(charlie, category="text")
    page = page_of(charlie, report_url(run))
    assert '<h3 class="val-category-title" id="category-text-title">Text</h3>' in page
    assert "1 of 2 passed · score 70" in page
    tests = re.findall(r'<details class="val-test" id="test-([\w.]+)" data-passed="(\w+)"', page)
    assert tests == [("text.search", "true"), ("text.cites", "false")]
    search, cites = page.split('<details class="val-test"')[1:3]
    assert ">Pass</span>" in search and "Blocking" not in search
    assert ">Fail</span>" in cites and ">Blocking</span>" in cites
    assert 'style="width: 40%"' in cites and 'style="left: 90%"' in cites  # score, pass mark
    assert "Score 40.0 of 100 · pass mark 90" in cites
    assert "<strong>What failed:</strong> 2 of 5 citations verified on their pages" in cites
    assert "<strong>To fix:</strong> Re-ingest the fryer manual" in cites
    # The evidence: every key of details, readable.
    assert '<dt>Query</dt><dd><span class="val-text">fryer oil temperature</span>' in search
    assert '<dt>Search</dt><dd><span class="val-num">4.20\u00a0ms</span>' not in search
    assert '<dt>Search</dt><dd><span class="val-num">4\u00a0ms</span>' in search
    assert "How long do fries cook?" in cites


def asks_about_fries(ctx) -> Outcome:
    """A check as the real ones are written: a golden question typed through the client,
    the answer kept as evidence."""
    case = next(c for c in ctx.cases if c.question.startswith("How much oil"))
    answer = ctx.typed(case)
    return Outcome(
        100.0 if answer["citations"] else 0.0,
        f"{len(answer['citations'])} citations",
        {"question": case.question, "answer": answer, "elapsed_ms": answer["elapsed_ms"]},
    )


def test_a_tests_evidence_shows_the_answer_its_citations_with_page_thumbnails_and_timings(
    charlie, demo, monkeypatch
):
    suite = [Check("text.fries", "text", "Fryer question", asks_about_fries)]
    monkeypatch.setattr(services, "all_tests", lambda: suite)
    services.ensure_default_cases()
    run = services.execute(Run.objects.create(category="text").pk)
    answer = run.results.get().details["answer"]
    assert answer["citations"], answer
    client = signed_in(charlie)
    page = client.get(report_url(run)).content.decode()
    evidence = page[page.index('<div class="val-evidence">') :]
    assert "<dt>Question</dt>" in evidence and "How much oil does each fryer vat hold?" in evidence
    words = answer["text"][:40].replace("'", "&#x27;").replace('"', "&quot;")
    assert f'<blockquote class="val-answer">{words}' in evidence
    assert "<dt>Declined</dt>" in evidence
    first = answer["citations"][0]
    assert f'<a class="citation-card" href="{first["image_url"]}"' in evidence
    assert f'<img src="{first["thumbnail_url"]}"' in evidence
    assert "<mark>" in evidence  # the snippet's highlight survives, nothing else unescaped
    assert re.search(r"<dt>Elapsed</dt><dd><span class=\"val-num\">[\d,]+\u00a0ms</span>", evidence)
    # The thumbnail the report shows is a real image an ops browser can load.
    thumbnail = client.get(first["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"].startswith("image/")


def test_evidence_is_escaped_and_a_live_runs_page_links_point_at_that_deployment(
    charlie, monkeypatch
):
    def hostile(ctx) -> Outcome:
        return Outcome(
            50.0,
            "<script>alert(1)</script>",
            {
                "answer": "<img src=x onerror=alert(1)>",
                "citations": [
                    {
                        "filename": "fryer.pdf",
                        "pages": [2],
                        "snippet": "oil <mark>350</mark> <b>hot</b>",
                        "thumbnail_url": "/knowledge/documents/1/pages/2/thumbnail",
                        "image_url": "javascript:alert(1)",
                    }
                ],
            },
        )

    monkeypatch.setattr(services, "all_tests", lambda: [Check("text.x", "text", "X", hostile)])
    run = Run.objects.create(category="text", target="https://store.example.com")
    services.execute(run.pk, client=object(), cases=[])  # the check never touches it
    page = page_of(charlie, report_url(run))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror" in page
    assert "oil <mark>350</mark> &lt;b&gt;hot&lt;/b&gt;" in page
    assert "javascript:" not in page
    assert '<img src="https://store.example.com/knowledge/documents/1/pages/2/thumbnail"' in page
    assert "live against <strong>https://store.example.com</strong>" in page


def test_a_text_run_of_the_real_checks_on_the_demo_manuals_renders_every_result(charlie, demo):
    services.ensure_default_cases()
    run = services.execute(Run.objects.create(trigger="admin", category="text").pk)
    assert run.status == "done", run.error
    results = list(run.results.all())
    assert results, "the text category has checks"
    page = page_of(charlie, report_url(run))
    assert f">{run.readiness}</h2>" in page
    assert page.count('<details class="val-test"') == len(results)
    for result in results:
        assert f'id="test-{result.test_id}"' in page
        assert result.name in page
    for result in (r for r in results if not r.passed):
        assert f'<a href="#test-{result.test_id}" data-open="test-{result.test_id}">' in page


def test_a_run_under_way_shows_how_many_tests_are_done_of_how_many(charlie, enqueued):
    run = services.start(trigger="api", user=charlie)
    page = page_of(charlie, report_url(run))
    assert "Waiting for a worker" in page
    assert f'<span id="progress-text">0 tests done of {len(services.all_tests())}</span>' in page
    assert 'data-status="queued"' in page and 'id="live"' in page
    assert "<details" not in page and "What to fix" not in page

    Run.objects.filter(pk=run.pk).update(status="running", tests_done=7, tests_total=25)
    page = page_of(charlie, report_url(run))
    assert '<span id="progress-text">7 tests done of 25</span>' in page
    assert '<progress class="val-verdict-progress" id="progress" max="25" value="7">' in page


def test_a_run_that_failed_says_why(charlie):
    run = Run.objects.create(status="failed", error="OperationalError: the database is gone")
    page = page_of(charlie, report_url(run))
    assert ">Run failed</h2>" in page
    assert "OperationalError: the database is gone" in page


def test_the_trend_holds_the_finished_runs_of_the_same_scope_oldest_first(charlie, small_suite):
    first = finished_run(charlie, category="text")
    finished_run(charlie)  # the whole suite: another chart
    second = finished_run(charlie, category="text")
    Run.objects.create(category="text")  # not finished: no point
    points = trend_on(page_of(charlie, report_url(first)))
    assert [(p["run"], p["current"]) for p in points] == [(first.pk, True)]  # none before it
    page = page_of(charlie, report_url(second))
    points = trend_on(page)
    assert [(p["run"], p["current"]) for p in points] == [(first.pk, False), (second.pk, True)]
    assert points[1]["score"] == 70.0 and points[1]["readiness"] == "NOT READY"
    assert 'data-ready="80" data-conditional="60"' in page
    assert "Text-only runs" in page


def test_the_runs_page_charts_whole_suite_runs_or_until_there_is_one_the_last_category(
    charlie, small_suite
):
    text = finished_run(charlie, category="text")
    page = page_of(charlie, "/validation/")
    assert [p["run"] for p in trend_on(page)] == [text.pk]
    assert 'data-scope="text"' in page and "Text-only runs (no whole-suite run yet)" in page
    whole = finished_run(charlie)
    finished_run(charlie, category="text")
    page = page_of(charlie, "/validation/")
    assert [p["run"] for p in trend_on(page)] == [whole.pk]
    assert 'data-scope=""' in page and ">Whole-suite runs</span>" in page


def test_the_runs_page_lists_runs_with_their_verdicts_and_a_button_to_start_one(
    charlie, small_suite, enqueued
):
    done = finished_run(charlie, category="text")
    queued = services.start(trigger="admin", user=charlie)
    page = page_of(charlie, "/validation/")
    assert "<h1>Validation</h1>" in page
    assert re.search(r'<button class="button button-primary" type="submit" id="start">', page)
    assert '<option value="">All 2 tests</option>' in page
    assert '<option value="integration">Integration only</option>' in page
    rows = re.findall(r'<tr data-run="(\d+)" data-status="(\w+)"', page)
    assert rows == [(str(queued.pk), "queued"), (str(done.pk), "done")]
    assert "0 tests done of 2" in page
    assert '<span class="level level-critical">NOT READY</span>' in page
    assert f'href="/validation/runs/{done.pk}/"' in page
    assert "Ops console, charlie" in page
    assert 'name="csrfmiddlewaretoken"' in page  # api.js sends it with the POST
    for script in (
        "js/api.js",
        "vendor/uplot/uPlot.iife.min.js",
        "js/charts.js",
        "js/validation.js",
    ):
        assert f"/static/{script}" in page
    assert 'data-api="/api/validation"' in page and 'data-socket="/ws/notifications/"' in page
    assert "/static/vendor/htmx/htmx.min.js" in page and f'data-rows="{ROWS}"' in page
    assert "<template" not in page  # no second drawing of a row for JS to fill


def test_a_row_alone_is_the_row_the_page_draws_and_asks_again_while_under_way(
    charlie, small_suite, enqueued
):
    done = finished_run(charlie, category="text")
    going = services.start(trigger="admin", user=charlie)
    Run.objects.filter(pk=going.pk).update(status="running", tests_done=1, tests_total=2)
    client = signed_in(charlie)
    page = rows_of(page_of(charlie, "/validation/"))

    response = client.get(ROWS, {"id": [going.pk, done.pk]})
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]  # asked again and again: never stale
    rows = rows_of(response.content.decode())
    assert rows == {going.pk: page[going.pk], done.pk: page[done.pk]}  # one drawing of a row

    row = rows[going.pk]
    assert 'data-status="running"' in row and "1 tests done of 2" in row
    assert f'hx-get="{ROWS}?id={going.pk}"' in row and 'hx-swap="outerHTML"' in row
    assert (
        'hx-trigger="every 2s [!document.hidden && !LineLeadValidation.live], '
        'every 10s [!document.hidden], refresh"'
    ) in row
    row = rows[done.pk]
    assert 'hx-trigger="refresh"' in row  # ended: asked again only on an event
    assert 'data-score="70.0" data-success-rate="0.5" data-readiness="NOT READY"' in row
    assert '<span class="level level-critical">NOT READY</span>' in row
    assert f'href="/validation/runs/{done.pk}/"' in row

    # Finished since: the row no longer asks by itself, and shows the verdict.
    Run.objects.filter(pk=going.pk).update(
        status="done", tests_done=2, score=81.5, success_rate=1.0, readiness="CONDITIONAL"
    )
    row = rows_of(client.get(ROWS, {"id": going.pk}).content.decode())[going.pk]
    assert 'data-status="done"' in row and 'hx-trigger="refresh"' in row
    assert '<span class="level level-warning">CONDITIONAL</span>' in row and ">81.5<" in row


def test_a_deleted_run_has_no_row_and_a_bad_id_is_refused(charlie):
    gone = Run.objects.create().pk
    Run.objects.filter(pk=gone).delete()
    client = signed_in(charlie)
    response = client.get(ROWS, {"id": gone})
    assert response.status_code == 200
    assert response.content.decode().strip() == ""  # the swap removes the row
    for query in ({}, {"id": "seven"}, {"id": [gone, ""]}, {"id": "-1"}):
        assert client.get(ROWS, query).status_code == 400, query
    assert client.post(ROWS, {"id": gone}).status_code == 405


def test_with_no_run_yet_the_runs_page_says_how_to_start_one(charlie):
    page = page_of(charlie, "/validation/")
    assert "No run yet" in page
    assert "No finished run of the whole suite yet" in page


def test_ops_find_validation_in_the_menu_and_others_do_not(alice, charlie):
    link = re.compile(r'<a href="/validation/"\s*(aria-current="page")?>Validation</a>')
    assert link.search(page_of(charlie, "/validation/")).group(1) == 'aria-current="page"'
    assert link.search(page_of(charlie, "/")).group(1) is None
    assert not link.search(page_of(alice, "/"))


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_crew_and_managers_are_refused_both_pages(who, request):
    user = request.getfixturevalue(who)
    run = Run.objects.create()
    for url in ("/validation/", report_url(run), f"{ROWS}?id={run.pk}"):
        response = signed_in(user).get(url)
        assert response.status_code == 403
        assert b"This page needs the ops role." in response.content


def test_a_stranger_is_sent_to_sign_in_and_an_unknown_run_is_not_found(client, charlie):
    run = Run.objects.create()
    for url in ("/validation/", f"{ROWS}?id={run.pk}"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in(charlie).get("/validation/runs/999999/").status_code == 404
