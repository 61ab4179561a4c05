import pytest

from knowledge.demo import loader
from validation import services
from validation.clients import InProcessClient
from validation.suite.context import Context


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def demo(db):
    """The seven demo manuals, ingested: the knowledge base the golden cases ask about."""
    return [loaded.document for loaded in loader.load()]


@pytest.fixture
def ops_user(charlie):
    return charlie


@pytest.fixture
def context(demo, ops_user):
    """A run's context on the healthy demo deployment, in this process, with the golden
    cases (seeded again: a transactional test elsewhere may have flushed them)."""
    services.ensure_default_cases()
    return Context(client=InProcessClient(ops_user), cases=services.enabled_cases())


@pytest.fixture
def heard(context, settings, tmp_path_factory):
    """``context`` with the demo manuals' speech vocabulary, built in a folder of its own."""
    from tests.validation.voice_cases import demo_vocabulary

    with demo_vocabulary(settings, tmp_path_factory):
        yield context


@pytest.fixture
def small_suite(monkeypatch):
    """The registry replaced by two small checks whose outcome is known."""
    from tests.validation.test_api import use_small_suite

    return use_small_suite(monkeypatch)


@pytest.fixture
def enqueued(monkeypatch):
    """The run ids handed to the worker's task (the broker is not needed)."""
    from tests.validation.test_api import capture_enqueued

    return capture_enqueued(monkeypatch)
