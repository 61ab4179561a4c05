import pytest

from chat import services as chat
from chat.models import Message
from knowledge.demo import loader
from monitoring import services
from monitoring.models import AlertRule

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _default_rules(request):
    """The seeded rules and probes: a transactional test elsewhere may have flushed them."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    services.ensure_defaults()


@pytest.fixture
def fryer():
    """The fryer manual, ingested: real passages to answer from and cite."""
    return loader.load([FRYER])[0].document


def ask(user, question: str) -> Message:
    """One typed question through the real chat path; its answer."""
    conversation = chat.create_conversation(user)
    chat.answer_now(conversation, user, question)
    return conversation.messages.filter(role=Message.Role.ASSISTANT).get()


def sample(**kwargs):
    """A sampling pass with the probes off (they have tests of their own)."""
    return services.sample(force=True, probes=kwargs.pop("probes", False), **kwargs)


def values(result) -> dict:
    return {s.name: s.value for s in result.samples}


def rule(metric: str, **changes) -> AlertRule:
    rule = AlertRule.objects.get(metric=metric)
    return services.update_rule(rule.pk, changes) if changes else rule
