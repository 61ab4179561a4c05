"""Citation markers are shown in order of first use, whatever the assistant numbered."""

import pytest

from chat import assistant, services
from chat.assistant import Finished, Searched, Sources, TextDelta
from knowledge.search import Passage

pytestmark = pytest.mark.django_db


def passage(n: int) -> Passage:
    return Passage(
        chunk_id=1000 + n,
        document_id=2000 + n,
        title=f"Manual {n}",
        filename=f"manual-{n}.pdf",
        pages=[n],
        heading=[f"Section {n}"],
        text=f"Text {n}",
        snippet=f"Text {n}",
        score=1.0 / n,
    )


def test_markers_are_renumbered_as_they_stream_and_citations_follow(alice, monkeypatch):
    async def fake(*, question, history, user, modality):
        yield Searched(question, "equipment", 1.0, 3)
        for piece in ["Heat the oil to 350°F ", "[", "3]. Filter it daily [2", "]. ", "Done [3]."]:
            yield TextDelta(piece)
        yield Sources([passage(1), passage(2), passage(3)])
        yield Finished(declined=False, model_name="fake")

    monkeypatch.setattr(assistant, "stream_answer", fake)
    conversation = services.create_conversation(alice)
    events = services.answer_now(conversation, alice, "how hot is the oil?")
    streamed = "".join(e["text"] for e in events if e["type"] == "token")
    assert streamed == "Heat the oil to 350°F [1]. Filter it daily [2]. Done [1]."
    answer = conversation.messages.get(role="assistant")
    assert answer.text == streamed
    cited = [(c.rank, c.title, c.pages) for c in answer.citations.all()]
    assert cited == [(1, "Manual 3", [3]), (2, "Manual 2", [2])]
    [shown] = [e for e in events if e["type"] == "citations"]
    assert [c["rank"] for c in shown["citations"]] == [1, 2]
