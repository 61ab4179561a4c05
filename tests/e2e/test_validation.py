"""Validation in a real browser, run by a real worker: an ops engineer starts a run from
the ops console, its report follows the progress live and then shows the verdict, a
test opens on its evidence; a second run started with the validation page's button
shows in the runs list as it goes, and the trend chart draws both.

The web server and the worker use a queue of their own (and a var folder of their
own), so no other worker takes these runs. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, TABLET
from tests.e2e.test_login import assert_fits_width, nav, sign_in
from tests.support import celery_worker, web_server
from validation import services
from validation.models import Run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FINISHED = 120_000  # ms: the worker picks the run up, then asks the text questions
VERDICT = re.compile(r"^(READY|CONDITIONAL|NOT READY)$")

# Keeps every progress line the report shows, across its reload when the run ends.
WATCH_PROGRESS = """() => {
  const seen = JSON.parse(sessionStorage.getItem("progress") || "[]");
  const note = () => {
    const text = document.getElementById("progress-text")?.textContent.trim();
    if (text && seen.at(-1) !== text) {
      seen.push(text);
      sessionStorage.setItem("progress", JSON.stringify(seen));
    }
  };
  note();
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true,
                                                      characterData: true});
}"""


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    """The web server and a worker on a queue (and var folder) of their own. Yields the
    server's base URL and the folder holding the media and both processes' logs."""
    var = tmp_path_factory.mktemp("validation-var")
    queue = f"e2e-validation-{uuid.uuid4().hex[:8]}"
    env = {
        "LINELED_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "tests.e2e.private_queue_settings",
        "LINELED_TEST_QUEUE": queue,
    }
    with celery_worker(var, queue, **env), web_server(var, DEBUG="false", **env) as base:
        yield base, var


@pytest.fixture(scope="module")
def live_url(stack):
    return stack[0]


def logs(stack) -> str:
    return "\n".join(
        f"--- {name}\n{(stack[1] / name).read_text()[-6000:]}" for name in ("worker.log", "web.log")
    )


def wait_for_verdict(page, stack) -> None:
    try:
        expect(page.locator("#verdict-title")).to_have_text(VERDICT, timeout=FINISHED)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs(stack)}") from None


@pytest.mark.timeout(420)
def test_ops_run_validation_from_the_console_follow_it_live_and_read_the_report(
    page, charlie, manuals, screenshot, stack
):
    services.ensure_default_cases()  # a transactional test before may have flushed them
    sign_in(page, "charlie")
    expect(page).to_have_url(re.compile(r"/$"))
    nav(page).get_by_role("link", name="Validation", exact=True).click()
    expect(page).to_have_url(re.compile(r"/validation/$"))
    expect(page.get_by_role("heading", name="No run yet")).to_be_visible()

    # The ops console: "Run validation now", for the five text tests.
    page.goto("/admin/validation/run/")
    page.get_by_label("Tests").select_option("text")
    page.get_by_role("button", name="Run validation now").click()
    message = page.locator(".messagelist .success")
    expect(message).to_contain_text("started (the text tests): a worker runs it now.")
    run = Run.objects.get()
    assert (run.trigger, run.category, run.started_by) == ("admin", "text", charlie)

    # Its report follows along, then shows the verdict when the worker is done.
    message.get_by_role("link", name="Follow it on its report").click()
    expect(page).to_have_url(re.compile(rf"/validation/runs/{run.pk}/$"))
    page.evaluate(WATCH_PROGRESS)
    wait_for_verdict(page, stack)
    run.refresh_from_db()
    assert run.status == "done" and run.tests_done == run.tests_total == 5
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('progress') || '[]')")
    assert seen and all(re.fullmatch(r"[0-5] tests done of 5", s) for s in seen), seen
    if settings.REDIS_URL:  # the worker's progress reached the browser over the socket
        assert any(re.fullmatch(r"[1-4] tests done of 5", s) for s in seen), seen

    expect(page.locator("#verdict-title")).to_have_text(run.readiness)
    expect(page.locator(".val-figures")).to_contain_text(f"{run.score:.1f}/100")
    expect(page.locator(".val-figures")).to_contain_text(
        f"{run.results.filter(passed=True).count()} of 5"
    )
    tests = page.locator("details.val-test")
    expect(tests).to_have_count(5)
    failed = list(run.results.filter(passed=False).order_by("order"))
    expect(page.locator(".val-rec")).to_have_count(len(failed))
    opened = failed[0] if failed else run.results.order_by("order").first()

    # Open one test on its evidence, from the list of what to fix when it failed.
    test = page.locator(f'details[id="test-{opened.test_id}"]')
    expect(test).not_to_have_attribute("open", "")
    if failed:
        page.locator(".val-recs").get_by_role("link", name=opened.name).click()
    else:
        test.locator("summary").click()
    expect(test).to_have_attribute("open", "")
    evidence = test.locator(".val-evidence")
    expect(evidence).to_be_visible()
    expect(evidence).to_contain_text(f"Score {opened.score:.1f} of 100")
    expect(evidence.locator(".val-dl").first).to_be_visible()
    if failed:
        expect(evidence.locator(".val-failed")).to_contain_text(opened.summary[:60])
    assert_fits_width(page)
    screenshot(page, "validation-report")
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    screenshot(page, "validation-report-phone")
    page.set_viewport_size(TABLET)

    # A second run, from the validation page's own button: its row shows it going.
    page.goto("/validation/")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    expect(page.locator("#trend-scope")).to_have_text("Text-only runs (no whole-suite run yet)")
    expect(page.locator("#trend .chart-mark")).to_have_count(1)
    page.get_by_label("Tests").select_option("text")
    page.get_by_role("button", name="Run validation", exact=True).click()
    expect(page.locator("#val-message")).to_contain_text("queued: a worker runs it now.")
    second = Run.objects.exclude(pk=run.pk).get()
    assert (second.trigger, second.started_by) == ("browser", charlie)
    row = page.locator(f'tr[data-run="{second.pk}"]')
    expect(page.locator("#runs tbody tr").first).to_have_attribute("data-run", str(second.pk))
    expect(row.locator('[data-field="readiness"]')).to_have_text(VERDICT, timeout=FINISHED)
    expect(row).to_have_attribute("data-status", "done")
    expect(page.locator("#val-message")).to_contain_text(f"Run {second.pk} finished")
    expect(page.locator("#trend .chart-mark")).to_have_count(2)  # joined the chart live
    assert_fits_width(page)
    screenshot(page, "validation-runs")

    # Its report: both runs on the trend chart, this one marked.
    row.get_by_role("link", name=f"Run {second.pk}").click()
    expect(page.locator("#verdict-title")).to_have_text(VERDICT)
    expect(page.locator(".lead")).to_contain_text("from the browser by Charlie")
    expect(page.locator("#trend .chart-mark")).to_have_count(2)
    expect(page.locator("#trend .chart-mark.is-current")).to_have_count(1)
    expect(page.locator("#trend .chart-summary")).to_contain_text("Score of the last 2 runs")
    page.get_by_role("button", name="Expand all").click()
    expect(page.locator("details.val-test[open]")).to_have_count(5)
    assert_fits_width(page)
    screenshot(page, "validation-report-expanded")


# The banner's colours (app.css): green for good news, amber for a warning.
GREEN, AMBER = "rgb(220, 252, 231)", "rgb(254, 243, 199)"


def test_a_run_that_ends_conditional_is_announced_in_amber_not_in_green(page, charlie):
    run = Run.objects.create(
        trigger="browser", started_by=charlie, category="text", status="running", tests_total=5
    )
    sign_in(page, "charlie")
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/validation/")
    expect(page.locator(f'tr[data-run="{run.pk}"]')).to_have_attribute("data-status", "running")

    # The worker finishes it (written here): the page notices on its next look.
    Run.objects.filter(pk=run.pk).update(
        status="done", tests_done=5, score=81.5, success_rate=0.8, readiness="CONDITIONAL"
    )
    message = page.locator("#val-message")
    expect(message).to_have_text(f"Run {run.pk} finished: CONDITIONAL, score 81.5.", timeout=30_000)
    expect(message).to_have_class(re.compile(r"\bis-warning\b"))
    assert message.evaluate("el => getComputedStyle(el).backgroundColor") == AMBER != GREEN
