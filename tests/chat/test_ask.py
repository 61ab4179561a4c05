"""``manage.py ask``: a question from the command line, answered and stored as in the chat."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chat import assistant
from chat.assistant import Finished, Searched, Sources, TextDelta
from chat.models import Conversation, Message
from chat.schemas import MessageOut
from knowledge.demo import loader
from lineled.services import ensure_demo_users
from tests.support import child_env, run_python

pytestmark = pytest.mark.django_db

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def fryer():
    """The fryer manual, ingested: real passages to cite."""
    return loader.load([FRYER])[0].document


def ask(*args: str) -> str:
    out = StringIO()
    call_command("ask", *args, stdout=out)
    return out.getvalue()


def ask_json(*args: str) -> dict:
    return json.loads(ask(*args, "--json"))  # one JSON object, nothing else


def test_json_gives_the_answer_as_the_api_shows_it_with_citations_and_timings(charlie, fryer):
    result = ask_json("how long do fries cook")
    assert set(result) == set(MessageOut.model_fields)
    answer = Message.objects.get(pk=result["id"])
    assert answer.conversation_id == result["conversation"] and answer.status == "done"
    assert answer.conversation.user == charlie
    assert result["role"] == "assistant" and result["reply_to"] == answer.reply_to_id
    assert result["text"] == answer.text and result["text"]
    assert result["declined"] is False
    assert result["citations"]
    for citation in result["citations"]:
        assert {
            "rank",
            "document_id",
            "title",
            "filename",
            "pages",
            "snippet",
            "score",
            "image_url",
        } <= set(citation)
        assert citation["document_id"] == fryer.pk
        assert citation["pages"] and all(isinstance(p, int) for p in citation["pages"])
        assert citation["image_url"].startswith(f"/knowledge/documents/{fryer.pk}/pages/")
    ranks = [c["rank"] for c in result["citations"]]
    assert ranks == sorted(ranks)
    timings = result["timings"]
    assert {"search_ms", "answer_ms", "total_ms"} <= set(timings)
    assert timings["total_ms"] > 0


def test_a_question_the_manuals_do_not_cover_is_declined(charlie):
    result = ask_json("can my dog come in the back")  # no documents at all
    assert result["declined"] is True and result["citations"] == []
    assert result["text"]


def test_the_plain_answer_lists_numbered_sources(charlie, fryer):
    text = ask("how long do fries cook")
    answer = Message.objects.get(role="assistant")
    assert text.startswith(answer.text)
    first = answer.citations.order_by("rank").first()
    assert f"\nSources:\n  [{first.rank}] Harbor Burger Co. Open-Well Fryer (HB-EQ-101), p" in text
    assert "(hb-eq-101-fryer.pdf)" in text and "<mark>" not in text
    assert f"Conversation {answer.conversation_id}, answer {answer.pk}" in text


def test_the_default_user_is_the_first_ops_user_else_the_demo_crew_user(alice, charlie):
    ask_json("how long do fries cook")
    assert Conversation.objects.get().user == charlie

    charlie.delete()
    ensure_demo_users()  # crew, manager and ops: ops comes first now
    ask_json("how long do fries cook")
    assert Conversation.objects.order_by("-pk").first().user.username == "ops"


def test_without_ops_the_demo_crew_user_asks(alice, django_user_model):
    ensure_demo_users()
    django_user_model.objects.filter(username="ops").delete()
    ask_json("how long do fries cook")
    assert Conversation.objects.get().user.username == "crew"


def test_without_a_user_to_ask_as_it_says_how_to_create_one(alice):
    with pytest.raises(CommandError, match="manage.py setup_demo"):
        ask("how long do fries cook")
    assert not Conversation.objects.exists()


def test_a_named_user_continues_their_own_conversation_only(alice, bob):
    first = ask_json("how long do fries cook", "--user", "alice")
    conversation = Conversation.objects.get(pk=first["conversation"])
    assert conversation.user == alice
    second = ask_json("and onion rings?", "--user", "alice", "--conversation", str(conversation.pk))
    assert second["conversation"] == conversation.pk
    assert conversation.messages.count() == 4

    with pytest.raises(CommandError, match=f"no conversation {conversation.pk}"):
        ask("and nuggets?", "--user", "bob", "--conversation", str(conversation.pk))
    with pytest.raises(CommandError, match="no conversation 999999"):
        ask("and nuggets?", "--user", "alice", "--conversation", "999999")
    with pytest.raises(CommandError, match="no active user 'zed'"):
        ask("and nuggets?", "--user", "zed")
    assert conversation.messages.count() == 4


def test_an_empty_question_is_refused_and_nothing_is_stored(charlie):
    with pytest.raises(CommandError, match="the question is empty"):
        ask("   ")
    with pytest.raises(CommandError, match="keep it under 2000"):
        ask("fries " * 500)
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_failed_answer_exits_with_the_reason_and_the_question_stays(charlie, monkeypatch):
    async def failing(*, question, history, user, modality="text"):
        yield Searched(question, "", 1.0, 0)
        yield TextDelta("Fries ")
        raise RuntimeError("the model went away")
        yield Sources([])  # never reached
        yield Finished(declined=False, model_name="failing")

    monkeypatch.setattr(assistant, "stream_answer", failing)
    with pytest.raises(CommandError, match="could not answer .*RuntimeError: the model went away"):
        ask("how long do fries cook", "--json")
    question, answer = Message.objects.order_by("pk")
    assert question.text == "how long do fries cook"
    assert answer.status == "failed" and answer.text == "Fries"


def test_the_command_exits_non_zero_with_the_reason():
    done = run_python(["manage.py", "ask", " ", "--json"], child_env())
    assert done.returncode == 1 and done.stdout == ""
    assert "the question is empty" in done.stderr
