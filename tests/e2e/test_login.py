"""Signing in and out in a real browser, against the real ASGI server.

Each test leaves a full-page screenshot in test-artifacts/e2e/ for a person to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIRST_NAME = {"alice": "Alice", "bob": "Bob", "charlie": "Charlie"}
ROLE = {"alice": "crew", "bob": "manager", "charlie": "ops"}


def sign_in(page, username: str, password: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or f"{username}-pass-123")
    page.get_by_role("button", name="Sign in").click()


def signed_in_home(page, username: str) -> None:
    sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {FIRST_NAME[username]}")


def nav(page):
    return page.get_by_role("navigation", name="Main")


def assert_fits_width(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the viewport"


def on_a_phone_too(page, screenshot, name: str) -> None:
    """The same page at phone width: nothing sticks out sideways."""
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    screenshot(page, f"{name}-phone")


def test_a_stranger_opening_the_start_page_lands_on_the_login_page(page, screenshot):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page).to_have_title("Sign in · Line Lead")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_focused()
    expect(nav(page)).to_have_count(0)
    screenshot(page, "login")


def test_the_login_page_fits_a_phone_screen(phone_page, screenshot):
    phone_page.goto("/")
    button = phone_page.get_by_role("button", name="Sign in")
    expect(button).to_be_visible()
    assert button.bounding_box()["height"] >= 44, "touch target too small"
    assert_fits_width(phone_page)
    screenshot(phone_page, "login-phone")


def test_a_wrong_password_shows_the_error_message_and_keeps_the_username(page, screenshot, alice):
    sign_in(page, "alice", "not-her-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please enter a correct username and password")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_label("Username")).to_have_value("alice")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()
    screenshot(page, "login-wrong-password")


@pytest.mark.parametrize("username", ["alice", "bob", "charlie"])
def test_the_right_password_lands_on_home_greeting_by_first_name_with_the_role_badge(
    request, page, screenshot, username
):
    request.getfixturevalue(username)
    signed_in_home(page, username)
    role = ROLE[username]
    expect(page.locator(".who .badge")).to_have_text(role)
    expect(page.locator(".lead")).to_contain_text(f"You are signed in as {role}")
    expect(nav(page).get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    assert_fits_width(page)
    screenshot(page, f"home-{role}")
    on_a_phone_too(page, screenshot, f"home-{role}")


def test_a_crew_member_sees_no_team_system_or_ops_console_links(page, screenshot, alice):
    signed_in_home(page, "alice")
    for href in ("/team/", "/system/", "/admin/"):
        expect(page.locator(f'a[href="{href}"]')).to_have_count(0)
    for name in ("Team", "System", "Admin"):
        expect(nav(page).get_by_role("link", name=name, exact=True)).to_have_count(0)

    # Typing the address anyway shows the app's own "not allowed" page.
    response = page.goto("/team/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_text("This page needs the manager role.")).to_be_visible()
    screenshot(page, "forbidden-crew-on-team")


def test_a_manager_sees_the_team_link_and_the_team_page(page, screenshot, bob, alice):
    signed_in_home(page, "bob")
    expect(nav(page).get_by_role("link", name="System", exact=True)).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    nav(page).get_by_role("link", name="Team", exact=True).click()

    expect(page).to_have_url(re.compile(r"/team/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="alice")).to_contain_text("crew")
    expect(rows.filter(has_text="bob")).to_contain_text("manager")
    expect(nav(page).get_by_role("link", name="Team")).to_have_attribute("aria-current", "page")
    assert_fits_width(page)
    screenshot(page, "team-manager")
    on_a_phone_too(page, screenshot, "team-manager")


def test_ops_sees_system_and_ops_console_and_every_dependency_check_is_ok(
    page, screenshot, charlie
):
    signed_in_home(page, "charlie")
    expect(nav(page).get_by_role("link", name="Team", exact=True)).to_be_visible()
    expect(nav(page).get_by_role("link", name="Admin", exact=True)).to_have_attribute(
        "href", "/admin/"
    )
    nav(page).get_by_role("link", name="System", exact=True).click()

    expect(page).to_have_url(re.compile(r"/system/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("System status")
    dependencies = page.get_by_role("region", name="Dependencies")
    rows = dependencies.locator("tbody tr")
    expect(rows).to_have_count(3)
    for name in ("database", "broker", "channel_layer"):
        row = rows.filter(has=page.get_by_role("cell", name=name, exact=True))
        expect(row.locator(".status")).to_have_text("ok")
    expect(page.locator(".lead .status")).to_have_text("Ready")
    assert_fits_width(page)
    screenshot(page, "system-ops")
    on_a_phone_too(page, screenshot, "system-ops")


def test_signing_out_returns_to_the_login_page(page, screenshot, bob):
    signed_in_home(page, "bob")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "signed-out")
    # The session is gone: home sends us back to sign in.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


def test_an_unknown_address_shows_the_not_found_page(page, screenshot, alice):
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(nav(page)).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", "/accounts/login/")
    screenshot(page, "not-found-stranger")

    signed_in_home(page, "alice")
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator(".who .badge")).to_have_text("crew")
    screenshot(page, "not-found-crew")
    page.get_by_role("link", name="Back to the start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice")
