"""The chat API: conversations, asking (whole and streamed), feedback; each user sees
only their own."""

import asyncio
import json
import urllib.request

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.db import OperationalError, connections
from django.test import AsyncClient, Client

from chat import assistant, services
from chat.assistant import Finished, Searched, Sources, TextDelta
from chat.models import Citation, Conversation, Feedback, Message
from knowledge.demo import loader
from lineled.asgi import application
from lineled.services import create_token
from tests.chat.test_consumer import slow_web_server

pytestmark = pytest.mark.django_db

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"
BASE = "/api/chat"
PIECES = ["Fries ", "cook ", "for ", "three ", "minutes ", "[1]."]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
async def _close_shared_thread_connections():
    """Answers and async tests use a database connection on asgiref's shared thread;
    close it after each test, or PostgreSQL will not drop the test database."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def fryer():
    """The fryer manual, ingested: real passages to cite."""
    return loader.load([FRYER])[0].document


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, data: dict, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def patch(client: Client, url: str, data: dict):
    return client.patch(url, json.dumps(data), content_type="application/json")


def scripted(pieces=PIECES, *, gate=None, fail_at=None):
    """A stand-in ``stream_answer``: ``pieces`` as tokens, waiting on ``gate`` (an
    asyncio.Event) after the first, raising at piece ``fail_at``."""

    async def stream_answer(*, question, history, user, modality="text"):
        yield Searched(question, "", 1.0, 0)
        for index, piece in enumerate(pieces):
            if index == fail_at:
                raise RuntimeError("the model went away")
            if index == 1 and gate is not None:
                await gate.wait()
            yield TextDelta(piece)
        yield Sources([])
        yield Finished(declined=False, model_name="scripted")

    return stream_answer


def conversation_with_turn(user, question: str = "how long do fries cook") -> Conversation:
    conversation = services.create_conversation(user)
    services.answer_now(conversation, user, question)
    return conversation


# --- Conversations -----------------------------------------------------------------------


def test_a_new_conversation_is_listed_first_with_its_count_and_last_message(alice, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    client = signed_in(alice)
    older = conversation_with_turn(alice, "where is the fire extinguisher")
    response = post(client, f"{BASE}/conversations", {"title": "  Closing   checklist "})
    assert response.status_code == 201
    created = response.json()
    assert created | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "title": "Closing checklist",
        "created_at": "",
        "updated_at": "",
        "message_count": 0,
        "last_message": None,
    }

    listed = client.get(f"{BASE}/conversations").json()
    assert listed["count"] == 2
    assert [c["id"] for c in listed["items"]] == [created["id"], older.pk]
    second = listed["items"][1]
    assert second["title"] == "where is the fire extinguisher"
    assert second["message_count"] == 2
    assert second["last_message"] | {"created_at": ""} == {
        "role": "assistant",
        "text": "Fries cook for three minutes [1].",
        "status": "done",
        "created_at": "",
    }
    # Asking in the older one brings it to the top.
    services.answer_now(older, alice, "and the fire blanket?")
    listed = client.get(f"{BASE}/conversations", {"limit": 1}).json()
    assert listed["count"] == 2 and [c["id"] for c in listed["items"]] == [older.pk]
    assert listed["items"][0]["message_count"] == 4


def test_the_list_previews_a_long_message_and_costs_the_same_queries_for_many(
    alice, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(assistant, "stream_answer", scripted(["word " * 100]))
    for _ in range(6):
        conversation_with_turn(alice)
    client = signed_in(alice)
    client.get(f"{BASE}/conversations")  # warm the session and role caches
    with django_assert_max_num_queries(5):  # session, user, role, count, page
        items = client.get(f"{BASE}/conversations").json()["items"]
    assert len(items) == 6
    assert len(items[0]["last_message"]["text"]) == 200


def test_a_user_only_sees_and_touches_their_own_conversations(alice, bob):
    mine = services.create_conversation(alice, "mine")
    theirs = services.create_conversation(bob, "theirs")
    client = signed_in(alice)
    assert [c["title"] for c in client.get(f"{BASE}/conversations").json()["items"]] == ["mine"]
    url = f"{BASE}/conversations/{theirs.pk}"
    for response in (
        client.get(url),
        patch(client, url, {"title": "mine now"}),
        client.delete(url),
        post(client, f"{url}/messages", {"text": "how long do fries cook"}),
        post(client, f"{url}/messages/stream", {"text": "how long do fries cook"}),
    ):
        assert response.status_code == 404
        assert response.json() == {"message": f"no conversation {theirs.pk}"}
    assert client.get(f"{BASE}/conversations/999999").status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "theirs" and not theirs.messages.exists()
    assert client.get(f"{BASE}/conversations/{mine.pk}").status_code == 200


def test_a_conversation_is_shown_with_its_messages_citations_and_my_feedback(alice, fryer):
    conversation = conversation_with_turn(alice)
    answer = conversation.messages.get(role="assistant")
    services.give_feedback(alice, answer.pk, "down", "too vague")
    client = signed_in(alice)
    shown = client.get(f"{BASE}/conversations/{conversation.pk}").json()
    assert shown["id"] == conversation.pk and shown["message_count"] == 2
    question, reply = shown["messages"]
    assert question["role"] == "user" and question["text"] == "how long do fries cook"
    assert question["feedback"] is None and question["citations"] == []
    assert reply["role"] == "assistant" and reply["status"] == "done"
    assert reply["reply_to"] == question["id"]
    assert reply["feedback"] == {"rating": "down", "reason": "too vague"}
    citation = reply["citations"][0]
    assert citation["document_id"] == fryer.pk and citation["filename"] == "hb-eq-101-fryer.pdf"
    assert citation["pages"] and all(isinstance(p, int) for p in citation["pages"])
    assert citation["image_url"].startswith(f"/knowledge/documents/{fryer.pk}/pages/")
    assert set(reply["timings"]) == {"search_ms", "first_token_ms", "answer_ms", "total_ms"}
    assert shown["last_message"]["role"] == "assistant"


def test_showing_a_long_conversation_does_not_query_per_message(
    alice, fryer, django_assert_max_num_queries
):
    conversation = conversation_with_turn(alice)
    for question in ("how hot is the oil", "when do I filter the oil", "how do I boil out"):
        services.answer_now(conversation, alice, question)
    client = signed_in(alice)
    client.get(f"{BASE}/conversations/{conversation.pk}")
    # session, user, role, the conversation, messages, citations, feedback
    with django_assert_max_num_queries(7):
        messages = client.get(f"{BASE}/conversations/{conversation.pk}").json()["messages"]
    assert len(messages) == 8


def test_a_conversation_is_renamed_and_deleted_with_its_messages(alice, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    conversation = conversation_with_turn(alice)
    before = Conversation.objects.get(pk=conversation.pk).updated_at
    client = signed_in(alice)
    url = f"{BASE}/conversations/{conversation.pk}"
    response = patch(client, url, {"title": " Fry  times "})
    assert response.status_code == 200
    assert response.json()["title"] == "Fry times" and response.json()["message_count"] == 2
    assert Conversation.objects.get(pk=conversation.pk).updated_at == before
    blank = patch(client, url, {"title": "   "})
    assert blank.status_code == 400 and blank.json() == {"message": "the title cannot be blank"}
    # A rename sticks: the next question does not re-title it.
    post(client, f"{url}/messages", {"text": "and onion rings?"})
    assert Conversation.objects.get(pk=conversation.pk).title == "Fry times"

    assert client.delete(url).status_code == 204
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.exists()
    assert client.get(url).status_code == 404


# --- Asking --------------------------------------------------------------------------------


def test_asking_returns_the_stored_question_and_answer_with_citations(alice, fryer):
    conversation = services.create_conversation(alice)
    client = signed_in(alice)
    url = f"{BASE}/conversations/{conversation.pk}/messages"
    response = post(client, url, {"text": "how long do fries cook"})
    assert response.status_code == 200
    question, answer = response.json()["question"], response.json()["answer"]
    assert question["text"] == "how long do fries cook" and question["modality"] == "text"
    assert answer["status"] == "done" and answer["text"] and answer["declined"] is False
    assert answer["reply_to"] == question["id"] and answer["feedback"] is None
    assert answer["citations"] and answer["citations"][0]["document_id"] == fryer.pk
    stored = Message.objects.get(pk=answer["id"])
    assert stored.text == answer["text"] and stored.conversation_id == conversation.pk
    assert Citation.objects.filter(message=stored).count() == len(answer["citations"])
    conversation.refresh_from_db()
    assert conversation.title == "how long do fries cook"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" \n\t", "the question is empty; type or say what you want to know"),
        ("x" * 2001, "the question is 2001 characters long; keep it under 2000"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_an_empty_or_huge_question_is_refused_and_nothing_is_stored(alice, text, message, stream):
    conversation = services.create_conversation(alice)
    url = f"{BASE}/conversations/{conversation.pk}/messages" + ("/stream" if stream else "")
    response = post(signed_in(alice), url, {"text": text})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["message"].startswith(message)
    assert not Message.objects.exists()


def test_a_lone_surrogate_or_a_three_megabyte_body_is_refused_clearly_not_a_500(alice):
    conversation = services.create_conversation(alice)
    url = f"{BASE}/conversations/{conversation.pk}/messages"
    response = post(signed_in(alice), url, {"text": "fries \ud800?"})  # sent as "\\ud800"
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the request body could not be read as JSON: "
        "\\ud800 is a lone surrogate, not a character; send valid Unicode"
    )
    # Under uvicorn lineled.edge.BodyLimit answers first; without it Django's own limit.
    response = post(signed_in(alice), url, {"text": "fries " * 500_000})
    assert response.status_code == 413
    assert response.json()["message"] == "the request body is over 2.0 MB, the most accepted"
    assert not Message.objects.exists()


def test_a_failed_answer_comes_back_failed_and_the_question_stays(alice, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted(fail_at=3))
    conversation = services.create_conversation(alice)
    response = post(
        signed_in(alice), f"{BASE}/conversations/{conversation.pk}/messages", {"text": "fries?"}
    )
    assert response.status_code == 200
    question, answer = response.json()["question"], response.json()["answer"]
    assert question["text"] == "fries?" and question["status"] == "done"
    assert answer["status"] == "failed" and answer["text"] == "Fries cook for"
    assert answer["error"] == "the assistant could not finish this answer"  # not the internals
    assert Message.objects.get(pk=answer["id"]).error == "RuntimeError: the model went away"
    assert Message.objects.get(pk=answer["id"]).status == "failed"


def test_a_voice_question_and_a_bad_modality(alice, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    conversation = services.create_conversation(alice)
    client = signed_in(alice)
    url = f"{BASE}/conversations/{conversation.pk}/messages"
    response = post(client, url, {"text": "fries?", "modality": "voice"})
    assert response.json()["answer"]["modality"] == "voice"
    response = post(client, url, {"text": "fries?", "modality": "smoke signals"})
    assert response.status_code == 422 and response.json()["message"].startswith(
        "invalid input: modality:"
    )


# --- Streaming (server-sent events) ---------------------------------------------------------


def parse_events(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.django_db(transaction=True)
async def test_a_streamed_answer_comes_as_server_sent_events(alice, fryer):
    conversation = await Conversation.objects.acreate(user=alice)
    client = AsyncClient()
    await client.aforce_login(alice)
    response = await client.post(
        f"{BASE}/conversations/{conversation.pk}/messages/stream",
        {"text": "how long do fries cook"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    events = parse_events(body)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-2:] == ["citations", "done"]
    assert set(kinds[1:-2]) == {"token"}
    assert all(data["type"] == kind for kind, data in events)
    start, done = events[0][1], events[-1][1]
    answer = await Message.objects.aget(pk=start["message"])
    assert done["message"] == answer.pk and answer.status == "done"
    assert answer.text == "".join(d["text"] for k, d in events if k == "token").strip()
    assert events[-2][1]["citations"][0]["document_id"] == fryer.pk
    # Pushed as the API shows them: the stream's citations and timings are the answer's.
    shown = (await client.get(f"{BASE}/conversations/{conversation.pk}")).json()["messages"][-1]
    assert shown["id"] == answer.pk
    assert events[-2][1]["citations"] == shown["citations"]
    assert done["timings"] == shown["timings"]


@pytest.mark.django_db(transaction=True)
async def test_a_stream_whose_question_cannot_be_stored_ends_with_an_error_event(
    alice, monkeypatch
):
    def database_down(*args):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "_begin", database_down)
    conversation = await Conversation.objects.acreate(user=alice)
    client = AsyncClient()
    await client.aforce_login(alice)
    response = await client.post(
        f"{BASE}/conversations/{conversation.pk}/messages/stream",
        {"text": "how long do fries cook"},
        content_type="application/json",
    )
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert parse_events(body) == [
        ("error", {"type": "error", "message": "the question could not be stored; try again"})
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_stream_dropped_mid_answer_still_stores_the_whole_answer(alice, monkeypatch):
    gate = asyncio.Event()
    monkeypatch.setattr(assistant, "stream_answer", scripted(gate=gate))
    conversation = await Conversation.objects.acreate(user=alice)
    _, token = await create_token_async(alice)
    path = f"{BASE}/conversations/{conversation.pk}/messages/stream"
    http = ApplicationCommunicator(application, http_scope("POST", path, token))
    await http.send_input({"type": "http.request", "body": b'{"text": "fries?"}'})
    started = await http.receive_output(timeout=5)
    assert started["type"] == "http.response.start" and started["status"] == 200
    first = await http.receive_output(timeout=5)
    assert first["body"].startswith(b"event: start\n")
    second = await http.receive_output(timeout=5)
    assert second["body"] == b'event: token\ndata: {"type": "token", "text": "Fries "}\n\n'
    await http.send_input({"type": "http.disconnect"})
    await http.wait(timeout=5)  # the request is over

    gate.set()
    await services.wait_for_answers()
    answer = await Message.objects.aget(conversation=conversation, role="assistant")
    assert answer.status == "done" and answer.text == "".join(PIECES)
    # The answer did not do its database work on a thread started for the finished
    # request (asgiref keeps one per request context, and nothing would stop it).
    assert not dict(SyncToAsync.context_to_thread_executor)


async def create_token_async(user):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(create_token)(user, "test")


def http_scope(method: str, path: str, token: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


# --- Feedback ------------------------------------------------------------------------------


def test_feedback_on_an_answer_is_given_changed_and_shown_to_its_giver(alice, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    conversation = conversation_with_turn(alice)
    question, answer = conversation.messages.order_by("pk")
    client = signed_in(alice)
    url = f"{BASE}/messages/{answer.pk}/feedback"
    response = post(client, url, {"rating": "up"})
    assert response.status_code == 200
    assert response.json() == {"message": answer.pk, "rating": "up", "reason": ""}
    response = post(client, url, {"rating": "down", "reason": "  Table 2 says 3:15  "})
    changed = {"message": answer.pk, "rating": "down", "reason": "Table 2 says 3:15"}
    assert response.json() == changed
    assert Feedback.objects.get().rating == "down"  # changed, not added

    shown = client.get(f"{BASE}/conversations/{conversation.pk}").json()["messages"]
    assert shown[1]["feedback"] == {"rating": "down", "reason": "Table 2 says 3:15"}

    bad = post(client, url, {"rating": "meh"})
    assert bad.status_code == 422
    on_question = post(client, f"{BASE}/messages/{question.pk}/feedback", {"rating": "up"})
    assert on_question.status_code == 404
    assert on_question.json() == {"message": f"no answer {question.pk}"}


def test_nobody_rates_or_sees_the_rating_of_someone_elses_answer(alice, bob, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    conversation = conversation_with_turn(alice)
    answer = conversation.messages.get(role="assistant")
    services.give_feedback(alice, answer.pk, "up")
    response = post(signed_in(bob), f"{BASE}/messages/{answer.pk}/feedback", {"rating": "down"})
    assert response.status_code == 404
    assert Feedback.objects.get().rating == "up"


# --- Who may call ---------------------------------------------------------------------------


def test_the_api_needs_a_signed_in_user_with_a_role(alice, django_user_model):
    conversation = services.create_conversation(alice)
    anonymous = Client()
    for response in (
        anonymous.get(f"{BASE}/conversations"),
        post(anonymous, f"{BASE}/conversations/{conversation.pk}/messages", {"text": "fries?"}),
    ):
        assert response.status_code == 401
        assert response.json()["message"].startswith("authentication required")
    nobody = django_user_model.objects.create_user("nobody", password="nobody-pass-123")
    response = signed_in(nobody).get(f"{BASE}/conversations")
    assert response.status_code == 403
    assert response.json() == {"message": "this needs the crew role"}


def test_a_session_must_send_the_csrf_token_and_a_bearer_token_need_not(alice, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert post(client, f"{BASE}/conversations", {}).status_code == 403
    client.get("/")  # a page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = post(client, f"{BASE}/conversations", {}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201

    _, token = create_token(alice, "tablet")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    conversation_id = response.json()["id"]
    response = post(
        Client(enforce_csrf_checks=True),
        f"{BASE}/conversations/{conversation_id}/messages",
        {"text": "fries?"},
        **bearer,
    )
    assert response.status_code == 200 and response.json()["answer"]["status"] == "done"


def test_the_endpoints_are_documented(charlie):
    schema = signed_in(charlie).get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths[f"{BASE}/conversations"]) == {"get", "post"}
    assert set(paths[f"{BASE}/conversations/{{conversation_id}}"]) == {"get", "patch", "delete"}
    stream = paths[f"{BASE}/conversations/{{conversation_id}}/messages/stream"]["post"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "400" in stream["responses"]
    assert f"{BASE}/messages/{{message_id}}/feedback" in paths
    message = schema["components"]["schemas"]["MessageOut"]["properties"]
    assert {"citations", "feedback", "timings", "status"} <= set(message)


# --- Through a real server ------------------------------------------------------------------


@pytest.fixture
def slow_server(tmp_path):
    with slow_web_server(tmp_path) as base:
        yield base


@pytest.mark.django_db(transaction=True)
def test_through_a_real_server_events_arrive_while_the_answer_is_written(slow_server, alice):
    """The stream is not buffered on the way (the answer is slowed down to see it)."""
    conversation = services.create_conversation(alice)
    _, token = create_token(alice, "tablet")
    request = urllib.request.Request(
        f"{slow_server}{BASE}/conversations/{conversation.pk}/messages/stream",
        data=json.dumps({"text": "how long do fries cook"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        lines = iter(response)
        start = json.loads(next_data(lines, "start"))
        next_data(lines, "token")
        # Not buffered: the first piece is here before the answer is finished.
        assert Message.objects.get(pk=start["message"]).status in ("pending", "streaming")
        rest = b"".join(lines).decode()
    kinds = [kind for kind, _ in parse_events(rest)]
    assert kinds[-2:] == ["citations", "done"]
    assert Message.objects.get(pk=start["message"]).status == "done"

    # The whole-answer endpoint, from the server's own threads.
    request = urllib.request.Request(
        f"{slow_server}{BASE}/conversations/{conversation.pk}/messages",
        data=json.dumps({"text": "how hot is the oil"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        answer = json.loads(response.read())["answer"]
    assert answer["status"] == "done" and answer["text"]
    assert Message.objects.filter(conversation=conversation).count() == 4


def next_data(lines, kind: str) -> str:
    """The data of the next event, which must be of ``kind``."""
    assert next(lines) == f"event: {kind}\n".encode()
    data = next(lines).decode()
    assert next(lines) == b"\n"
    return data.removeprefix("data: ")


# --- Admission -----------------------------------------------------------------------------


def test_asking_faster_than_the_rate_is_refused_at_once_and_stores_nothing(
    alice, bob, settings, monkeypatch
):
    settings.RATE_ASK = "2/m"
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    conversation = services.create_conversation(alice)
    client = signed_in(alice)
    url = f"{BASE}/conversations/{conversation.pk}/messages"
    for _ in range(2):
        assert post(client, url, {"text": "how long do fries cook"}).status_code == 200

    refused = post(client, url, {"text": "how long do fries cook"})
    streamed = post(client, f"{url}/stream", {"text": "how long do fries cook"})

    for response in (refused, streamed):
        assert response.status_code == 429
        assert response.json()["message"].startswith("too many requests: try again in ")
        assert 1 <= int(response["Retry-After"]) <= 60
    assert Message.objects.filter(conversation=conversation).count() == 4  # two turns
    # The rate is the user's: another user asks as usual.
    theirs = services.create_conversation(bob)
    url = f"{BASE}/conversations/{theirs.pk}/messages"
    assert post(signed_in(bob), url, {"text": "fries?"}).status_code == 200


def test_starting_conversations_in_a_loop_is_cut_off(alice, settings):
    settings.RATE_CONVERSATIONS = "3/m"
    client = signed_in(alice)
    codes = [post(client, f"{BASE}/conversations", {}).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    assert Conversation.objects.filter(user=alice).count() == 3
    assert client.get(f"{BASE}/conversations").status_code == 200  # reading goes on
