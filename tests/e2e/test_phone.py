"""The ops screens on a phone (390 px wide): every menu link in sight, nothing laid out
wider than the screen, and Monitoring a list of values to scan rather than a wall of
charts. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from monitoring import metrics, services
from monitoring.models import AlertRule, MetricSample
from tests.e2e.conftest import PHONE
from tests.e2e.test_login import assert_fits_width, nav, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OPS_MENU = ["Chat", "Home", "Library", "Team", "System", "Monitoring", "Validation", "Admin"]


def on_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def laid_out_for_the_phone(page) -> None:
    """The page is drawn at the phone's width (not at 980 px and shrunk) and fits it."""
    assert page.evaluate("document.documentElement.clientWidth") == PHONE["width"]
    assert_fits_width(page)


def test_the_ops_menu_and_the_system_tables_fit_a_phone(phone_page, screenshot, charlie):
    page = phone_page
    sign_in(page, "charlie")
    expect(page).to_have_url(re.compile(r"/$"))
    nav(page).get_by_role("link", name="System", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("System status")

    # Every link of the long ops menu is on screen, none cut off at the edge.
    for name in [*OPS_MENU, "API"]:
        link = nav(page).get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        assert on_screen(link), f"the {name} link runs off the screen"

    # Each dependency is one entry: its name and status, then its backend and latency.
    dependencies = page.get_by_role("region", name="Dependencies")
    for cell in ("td:first-child", "td[data-label=Backend]", "td[data-label=Latency]"):
        first = dependencies.locator(cell).first
        expect(first).to_be_visible()
        assert on_screen(first), f"{cell} is cut off"
    laid_out_for_the_phone(page)
    screenshot(page, "system-phone")


def test_the_api_docs_fit_a_phone(phone_page, screenshot, alice):
    page = phone_page
    sign_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/api/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_role("link", name="Back to Line Lead")).to_be_visible()
    laid_out_for_the_phone(page)
    screenshot(page, "api-docs-phone")


def test_monitoring_on_a_phone_lists_the_values_and_opens_the_one_in_trouble(
    phone_page, screenshot, charlie
):
    services.ensure_defaults()
    AlertRule.objects.filter(metric="celery_queue_length").update(min_count=0)
    for metric in metrics.ALL:
        MetricSample.objects.create(name=metric.name, value=None, window_s=900)
    MetricSample.objects.create(name="celery_queue_length", value=2500, count=1, window_s=900)

    page = phone_page
    sign_in(page, "charlie")
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/monitoring/")
    cards = page.locator(".mon-metric")
    expect(cards).to_have_count(len(metrics.ALL))

    # The queue is in trouble: its card is open on its chart. The others are one short
    # entry each, their charts a tap away.
    queue = page.locator('.mon-metric[data-name="celery_queue_length"]')
    expect(queue).to_have_attribute("open", "")
    expect(queue.locator(".level")).to_have_text("Critical")
    expect(queue.locator(".mon-chart canvas")).to_be_visible()
    closed = page.locator(".mon-metric:not([open])")
    expect(closed).to_have_count(len(metrics.ALL) - 1)
    for index in range(closed.count()):
        assert closed.nth(index).bounding_box()["height"] < 100
    laid_out_for_the_phone(page)
    screenshot(page, "monitoring-phone-list")

    name = closed.first.get_attribute("data-name")
    other = page.locator(f'.mon-metric[data-name="{name}"]')
    other.locator("summary").click()
    chart = other.locator(".mon-chart canvas")
    expect(chart).to_be_visible()
    assert on_screen(chart)
    assert_fits_width(page)
