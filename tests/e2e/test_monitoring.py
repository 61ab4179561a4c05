"""The ops monitoring dashboard in a real browser, on real traffic: questions asked
through the chat, a sample taken with the page's button, an alert that opens, is
acknowledged and resolved by clicking, and a second open dashboard that follows
along over the notifications websocket. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from monitoring import metrics, services
from monitoring.models import Alert, AlertRule, MetricSample
from tests.e2e.conftest import PHONE, TABLET
from tests.e2e.test_login import assert_fits_width, nav, sign_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("answers_finished"),
]

ANSWERED = 30_000  # ms
SAMPLED = 30_000  # ms: every metric is computed in the request
QUESTIONS = [
    "how long do fries cook?",
    "What is the capital of France?",
    "what temperature should the walk-in cooler be?",
    "what is the capital city of France",
]

# Charts are drawn at their box's width: true once they were redrawn after a resize.
CHARTS_FIT = """() => [...document.querySelectorAll('.mon-chart canvas')].every(
  (canvas) => canvas.offsetWidth <= canvas.closest('.mon-chart').clientWidth)"""


@pytest.fixture(scope="module")
def live_url(stack):
    return stack[0]


def server_log(stack) -> str:
    return (stack[1] / "web.log").read_text()


def open_dashboard(page) -> None:
    page.goto("/monitoring/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Monitoring")
    expect(page.locator("#monitoring")).to_have_attribute("data-state", "ready")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")


def ask_in_chat(page, question: str) -> None:
    page.goto("/chat/")
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")
    answer = page.locator(".msg-answer .answer").last
    expect(answer).to_have_attribute("data-state", "done", timeout=ANSWERED)


def strict_rules() -> None:
    """The decline rate alerts on the first bad sample, however few the answers; no other
    rule fires in the test."""
    AlertRule.objects.update_or_create(
        metric="decline_rate",
        defaults={
            "direction": "above",
            "warning": 0.3,
            "critical": 0.9,
            "fire_after": 1,
            "resolve_after": 1,
            "min_count": 1,
            "enabled": True,
        },
    )
    AlertRule.objects.update_or_create(
        metric="answer_latency_p95_ms",
        defaults={"direction": "above", "warning": 8000, "critical": 20000},
    )
    AlertRule.objects.exclude(metric="decline_rate").update(fire_after=1000)


def card(page, name: str):
    return page.locator(f'.mon-metric[data-name="{name}"]')


def test_ops_sample_real_traffic_see_the_charts_and_handle_the_alert(
    page, browser, live_url, manuals, charlie, screenshot, stack
):
    # Nothing measured yet: every part of the page says so, nothing breaks.
    services.ensure_defaults()  # the migration's rules, if an earlier test emptied the database
    sign_in(page, "charlie")
    expect(page).to_have_url(re.compile(r"/$"))
    nav(page).get_by_role("link", name="Monitoring", exact=True).click()
    expect(page).to_have_url(re.compile(r"/monitoring/$"))
    expect(nav(page).get_by_role("link", name="Monitoring")).to_have_attribute(
        "aria-current", "page"
    )
    open_dashboard(page)
    expect(page.locator("#status-label")).to_have_text("No data yet")
    expect(page.get_by_role("heading", name="No samples yet")).to_be_visible()
    expect(page.get_by_text("No open alerts")).to_be_visible()
    expect(page.get_by_text("No declined questions.")).to_be_visible()
    expect(page.get_by_text("No validation run yet.")).to_be_visible()
    expect(page.locator(".mon-metric")).to_have_count(len(metrics.ALL))
    expect(page.locator(".chart-empty").first).to_have_text("No samples in this period")
    assert_fits_width(page)
    screenshot(page, "monitoring-empty")

    # Real traffic: four questions through the chat, two of them about France.
    for question in QUESTIONS:
        ask_in_chat(page, question)
    strict_rules()

    # A second ops screen stays open, to see the first one's actions arrive live.
    watcher_context = browser.new_context(base_url=live_url, viewport=TABLET)
    watcher_context.set_default_timeout(10_000)
    watcher = watcher_context.new_page()
    sign_in(watcher, "charlie")
    expect(watcher).to_have_url(re.compile(r"/$"))
    open_dashboard(watcher)
    expect(watcher.locator(".mon-alert")).to_have_count(0)

    # Sample now: the figures, the alert, the knowledge gap.
    open_dashboard(page)
    page.get_by_role("button", name="Sample now").click()
    try:
        expect(page.locator("#mon-message")).to_have_text(
            re.compile(r"^Sampled at \d\d:\d\d\.$"), timeout=SAMPLED
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{server_log(stack)}") from None
    expect(page.locator("#status-label")).to_have_text("Warning")
    expect(page.locator("#status-detail")).to_contain_text("1 warning alert open.")
    alert = page.locator(".mon-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Decline rate")
    expect(alert).to_contain_text("Decline rate is 50.0%, above the warning threshold 30.0%")
    expect(alert.locator(".mon-alert-state")).to_have_text("Open")
    declines = card(page, "decline_rate")
    expect(declines.locator(".mon-value")).to_have_text("50%")
    expect(declines.locator(".level")).to_have_text("Warning")
    expect(declines.locator(".mon-count")).to_have_text("(4 events in 15\u00a0min)")
    expect(declines.locator(".chart-threshold-label-warning")).to_have_text("warning 30%")
    expect(declines.locator(".chart-threshold-label-critical")).to_have_text("critical 90%")
    latency = card(page, "answer_latency_p95_ms")
    expect(latency.locator(".mon-value")).to_have_text(re.compile(r"^[\d,]+(\.\d{1,2})?\u00a0ms$"))
    voice = card(page, "voice_roundtrip_p95_ms")  # nobody spoke: no value, not zero
    expect(voice.locator(".mon-value")).to_have_text("No data")
    expect(voice.locator(".chart-empty")).to_have_text("Nothing to measure in this period")
    expect(voice.locator(".chart-summary")).to_contain_text("the last 24 hours: no values.")
    gap = page.locator("#gaps tbody tr")
    expect(gap).to_have_count(1)
    expect(gap.locator("td").nth(0)).to_contain_text("capital")
    expect(gap.locator("td").nth(0)).to_contain_text("Also asked as")
    expect(gap.locator("td").nth(1)).to_have_text("2")
    assert Alert.objects.get().state == "open"

    # The watching screen heard it over the websocket, with no reload.
    expect(watcher.locator("#status-label")).to_have_text("Warning")
    expect(watcher.locator(".mon-alert")).to_contain_text("Decline rate is 50.0%")

    # A second sample: the one point per chart becomes a line.
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Sample now").click()
    expect(declines.locator(".mon-chart-note")).to_have_text(
        "2 samples in the last 24 hours.", timeout=SAMPLED
    )
    expect(declines.locator(".chart-summary")).to_contain_text("2 values, latest 50%")
    assert MetricSample.objects.filter(name="decline_rate").count() == 2
    expect(declines.locator(".chart-readout")).to_be_hidden()
    declines.locator(".u-over").hover()
    expect(declines.locator(".chart-readout")).to_contain_text("50%")

    # Acknowledge by clicking: the page and the watcher both show who is on it.
    alert.get_by_role("button", name="Acknowledge the Decline rate alert").click()
    expect(alert.locator(".mon-alert-state")).to_have_text("Acknowledged")
    expect(alert.locator(".mon-alert-meta")).to_contain_text("acknowledged by charlie")
    expect(alert.get_by_role("button", name=re.compile("^Acknowledge"))).to_be_hidden()
    expect(alert.get_by_role("button", name="Resolve the Decline rate alert")).to_be_focused()
    expect(page.locator("#mon-message")).to_have_text("Decline rate alert acknowledged.")
    acknowledged = Alert.objects.get()
    assert acknowledged.acknowledged_by == charlie and acknowledged.resolved_at is None
    expect(watcher.locator(".mon-alert .mon-alert-state")).to_have_text("Acknowledged")
    watcher_context.close()

    assert_fits_width(page)
    screenshot(page, "monitoring")
    page.set_viewport_size(PHONE)
    page.wait_for_function(CHARTS_FIT)  # redrawn at the new width
    assert_fits_width(page)
    screenshot(page, "monitoring-phone")
    page.set_viewport_size(TABLET)

    # The week view: the same samples on a 7-day axis, as 15-minute means (one point).
    page.get_by_role("button", name="Last 7 days").click()
    expect(page.get_by_role("button", name="Last 7 days")).to_have_attribute("aria-pressed", "true")
    expect(declines.locator(".mon-chart-note")).to_have_text("2 samples in the last 7 days.")
    expect(declines.locator(".chart-summary")).to_contain_text("1 value, latest 50%")

    # Resolve: the alert leaves the list and the status is OK again.
    alert.get_by_role("button", name="Resolve the Decline rate alert").click()
    expect(page.locator(".mon-alert")).to_have_count(0)
    expect(page.get_by_text("No open alerts")).to_be_visible()
    expect(page.locator("#status-label")).to_have_text("OK")
    expect(page.locator("#alerts-title")).to_be_focused()
    resolved = Alert.objects.get()
    assert resolved.state == "resolved" and resolved.resolved_by == charlie
