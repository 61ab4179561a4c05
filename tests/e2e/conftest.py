"""Browser tests: one real web server and one Chromium per test module.

Playwright's sync API keeps an asyncio loop running in this thread, so Django
refuses ORM calls (fixtures, the flush after each test) while the browser is
up. The escape hatch is set for the e2e modules only and removed afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import ROOT, web_server

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True, scope="module")
def _orm_allowed_beside_playwright():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def live_url(django_db_setup, tmp_path_factory):
    """Base URL of the real ASGI app (uvicorn, in its own process) on the test database.

    DEBUG is off, as in production, so error pages are the app's own templates.
    """
    with web_server(tmp_path_factory.mktemp("web"), DEBUG="false") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_url):
    """A fresh browser context (no cookies) sized like a kitchen tablet."""
    context = browser.new_context(base_url=live_url, viewport=TABLET)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser, live_url):
    context = browser.new_context(
        base_url=live_url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` saves a full-page PNG under test-artifacts/e2e/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    """A web server on a var folder of its own, for modules that load manuals: its media
    folder holds their page images. Yields the base URL and the folder. A module using
    it points ``live_url`` at ``stack[0]``."""
    var = tmp_path_factory.mktemp("stack-var")
    with web_server(var, DEBUG="false", LINELED_VAR_DIR=str(var)) as base:
        yield base, var


@pytest.fixture
def manuals(stack, settings):
    """The demo manuals, ingested here into the server's media folder."""
    from knowledge.demo import loader

    settings.MEDIA_ROOT = stack[1] / "media"
    loaded = loader.load()
    assert {item.document.status for item in loaded} == {"ready"}
    return loaded


@pytest.fixture
def answers_finished():
    """The server keeps writing an answer after the page moves on; flushing the
    database under it deadlocks on PostgreSQL. A test using this ends when its
    answers do."""
    from chat.models import Message

    yield
    deadline = time.monotonic() + 20
    unfinished = Message.objects.filter(status__in=["pending", "streaming"])
    while unfinished.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
