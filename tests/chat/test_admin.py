"""The ops console's chat pages: conversations, messages, citations and feedback, to
read (and delete) but not to change."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from chat import assistant, services
from chat.assistant import Finished, Searched, Sources, TextDelta
from chat.models import Citation, Conversation, Feedback, Message
from knowledge.demo import loader

pytestmark = pytest.mark.django_db

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"
ADMIN = "/admin/chat"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def fryer():
    return loader.load([FRYER])[0].document


@pytest.fixture
def ops(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def failing_assistant():
    async def stream_answer(*, question, history, user, modality="text"):
        yield Searched(question, "", 1.0, 0)
        yield TextDelta("Half an answer")
        raise RuntimeError("the model went away")
        yield Sources([])  # never reached
        yield Finished(declined=False, model_name="failing")

    return stream_answer


@pytest.fixture
def turns(alice, bob, fryer, monkeypatch):
    """Alice's answered question (with feedback) and Bob's failed one."""
    fries = services.create_conversation(alice)
    services.answer_now(fries, alice, "how long do fries cook")
    answer = fries.messages.get(role="assistant")
    services.give_feedback(alice, answer.pk, "down", "Table 2 says otherwise")
    monkeypatch.setattr(assistant, "stream_answer", failing_assistant())
    walk_in = services.create_conversation(bob, "Walk-in alarm")
    services.answer_now(walk_in, bob, "the walk-in reads 45F", modality="voice")
    return fries, walk_in


def shown(message: Message) -> str:
    """The start of a message's text as a page shows it."""
    return escape(message.text[:40])


def html(client: Client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_only_ops_opens_the_chat_pages_of_the_console(alice, bob, ops):
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        response = client.get(f"{ADMIN}/conversation/")
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    index = html(ops, "/admin/")
    for name in ("Conversations", "Messages", "Citations", "Feedback"):
        assert name in index


def test_conversations_show_user_title_and_message_count_and_are_searchable(ops, turns):
    fries, walk_in = turns
    page = html(ops, f"{ADMIN}/conversation/")
    assert "how long do fries cook" in page and "Walk-in alarm" in page
    assert ">alice<" in page and ">bob<" in page
    assert '<td class="field-message_count">2</td>' in page
    assert "Walk-in alarm" not in html(ops, f"{ADMIN}/conversation/", q="alice")
    assert "how long do fries cook" not in html(ops, f"{ADMIN}/conversation/", q="walk-in")


def test_a_conversation_shows_its_messages_read_only(ops, turns):
    fries, _ = turns
    page = html(ops, f"{ADMIN}/conversation/{fries.pk}/change/")
    assert "how long do fries cook" in page
    answer = fries.messages.get(role="assistant")
    assert shown(answer) in page
    assert 'name="_save"' not in page and 'name="messages-0-text"' not in page
    assert 'name="title"' not in page  # shown, not editable


def test_messages_are_filtered_searched_and_shown_with_citations(ops, turns, fryer):
    fries, walk_in = turns
    answer = fries.messages.get(role="assistant")
    failed = walk_in.messages.get(role="assistant")

    page = html(ops, f"{ADMIN}/message/", status__exact="failed")
    assert "Half an answer" in page and shown(answer) not in page
    page = html(ops, f"{ADMIN}/message/", modality__exact="voice", role__exact="user")
    assert "the walk-in reads 45F" in page and "how long do fries cook" not in page
    page = html(ops, f"{ADMIN}/message/", model_name__exact=answer.model_name)
    assert shown(answer) in page and "Half an answer" not in page
    page = html(ops, f"{ADMIN}/message/", declined__exact="0", q="fries")
    assert "how long do fries cook" in page and "walk-in" not in page

    detail = html(ops, f"{ADMIN}/message/{failed.pk}/change/")
    assert "RuntimeError: the model went away" in detail
    detail = html(ops, f"{ADMIN}/message/{answer.pk}/change/")
    assert fryer.title in detail  # the citation inline
    assert f"/admin/chat/conversation/{fries.pk}/change/" in detail
    assert 'name="_save"' not in detail
    assert ops.get(f"{ADMIN}/message/add/").status_code == 403


def test_citations_and_feedback_are_listed(ops, turns, fryer):
    fries, _ = turns
    answer = fries.messages.get(role="assistant")
    citation = Citation.objects.filter(message=answer).first()
    page = html(ops, f"{ADMIN}/citation/")
    assert fryer.title in page
    assert 'name="_save"' not in html(ops, f"{ADMIN}/citation/{citation.pk}/change/")

    page = html(ops, f"{ADMIN}/feedback/")
    assert "Table 2 says otherwise" in page and ">alice<" in page
    assert f"/admin/chat/message/{answer.pk}/change/" in page
    assert "Table 2 says otherwise" in html(ops, f"{ADMIN}/feedback/", rating__exact="down")
    assert "Table 2 says otherwise" not in html(ops, f"{ADMIN}/feedback/", rating__exact="up")


def test_ops_may_delete_a_conversation_with_its_messages(ops, turns):
    fries, _ = turns
    response = ops.post(f"{ADMIN}/conversation/{fries.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Conversation.objects.filter(pk=fries.pk).exists()
    assert not Message.objects.filter(conversation=fries.pk).exists()
    assert not Feedback.objects.exists()


def test_the_lists_do_not_query_per_row(ops, turns, alice, monkeypatch):
    def queries() -> dict[str, int]:
        counts = {}
        for model in ("conversation", "message", "citation", "feedback"):
            html(ops, f"{ADMIN}/{model}/")
            with CaptureQueriesContext(connection) as context:
                html(ops, f"{ADMIN}/{model}/")
            counts[model] = len(context.captured_queries)
        return counts

    before = queries()
    monkeypatch.undo()  # the real assistant again: answers with citations
    for _ in range(3):
        conversation = services.create_conversation(alice)
        services.answer_now(conversation, alice, "how long do fries cook")
        answer = conversation.messages.get(role="assistant")
        services.give_feedback(alice, answer.pk, "up")
    assert Citation.objects.count() >= 4
    assert queries() == before
