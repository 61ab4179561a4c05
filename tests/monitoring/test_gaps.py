"""Knowledge gaps: what crews asked that the manuals could not answer, grouped."""

import pytest

from monitoring import services
from tests.monitoring.conftest import ask

pytestmark = pytest.mark.django_db


def test_declined_questions_are_grouped_by_wording_with_counts(alice, bob, fryer):
    for user, question in [
        (alice, "what is the guest wifi password"),
        (bob, "guest wifi password?"),
        (alice, "What's the wifi password for guests"),
        (bob, "how do i book vacation days"),
        (alice, "how long do fries cook"),  # answered: not a gap
    ]:
        ask(user, question)
    gaps = services.knowledge_gaps()
    assert [g.count for g in gaps] == [3, 1]
    assert gaps[0].question == "What's the wifi password for guests"  # the newest wording
    assert set(gaps[0].examples) == {
        "what is the guest wifi password",
        "guest wifi password?",
        "What's the wifi password for guests",
    }
    assert gaps[1].question == "how do i book vacation days"
    assert all("fries" not in g.question for g in gaps)


def test_knowledge_gaps_reject_an_unreasonable_range():
    from lineled.errors import Invalid

    with pytest.raises(Invalid):
        services.knowledge_gaps(days=0)
