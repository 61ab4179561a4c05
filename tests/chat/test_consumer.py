"""The chat websocket: asking, streamed answers, refusals, and answers that outlive the
socket; through the real ASGI app, and once through a real uvicorn server."""

import asyncio
import contextlib
import json
import sys
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import OperationalError, connections
from django.test import Client

from chat import assistant, services
from chat.assistant import Finished, Searched, Sources, TextDelta
from chat.models import Citation, Conversation, Message
from knowledge.demo import loader
from knowledge.models import Chunk, Document
from knowledge.search import search
from lineled.asgi import application
from tests.support import child_env, free_port, running, wait_for_http

pytestmark = pytest.mark.django_db(transaction=True)

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"
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


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


_opened: list[WebsocketCommunicator] = []


def socket(path: str, cookie: str = "", origin: bytes = b"http://localhost"):
    headers = [(b"origin", origin), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    ws = WebsocketCommunicator(application, path, headers=headers)
    _opened.append(ws)
    return ws


@pytest.fixture(autouse=True)
async def _disconnect_every_socket():
    """Each test's sockets end as a browser's do, with a disconnect. A consumer left
    waiting on the Redis channel layer when the test's event loop closes stalls the
    loop's teardown."""
    yield
    while _opened:
        ws = _opened.pop()
        with contextlib.suppress(Exception):
            await ws.disconnect(timeout=2)


async def open_chat(cookie: str, conversation_id) -> WebsocketCommunicator:
    ws = socket(f"/ws/chat/{conversation_id}/", cookie)
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_json_from() == {"type": "ready", "conversation": conversation_id}
    return ws


async def frames_until_end(ws, timeout: float = 10) -> list[dict]:
    """Frames up to and including ``done`` or an answer's ``error``."""
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] == "done" or (frame["type"] == "error" and "message_id" in frame):
            return frames


def scripted(pieces=PIECES, passages=(), *, gate=None, fail_at=None):
    """A stand-in ``stream_answer``: ``pieces`` as tokens, waiting on ``gate`` (an
    asyncio.Event) after the first, raising at piece ``fail_at``."""

    async def stream_answer(*, question, history, user, modality="text"):
        yield Searched(question, "equipment", 1.5, len(passages))
        for index, piece in enumerate(pieces):
            if index == fail_at:
                raise RuntimeError("the model went away")
            if index == 1 and gate is not None:
                await gate.wait()
            yield TextDelta(piece)
        yield Sources(list(passages))
        yield Finished(declined=False, model_name="scripted")

    return stream_answer


@pytest.fixture
def alice_chat(alice):
    """Alice's session cookie and an empty conversation of hers."""
    return session_cookie(alice), services.create_conversation(alice).pk


def stored(conversation_id) -> list[Message]:
    return list(Message.objects.filter(conversation=conversation_id).order_by("created_at", "pk"))


# --- Asking ----------------------------------------------------------------------------


async def test_an_answer_streams_as_tokens_then_citations_then_done_and_is_stored(
    alice_chat, fryer
):
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook", "modality": "text"})
    frames = await frames_until_end(ws)
    await ws.disconnect()

    kinds = [f["type"] for f in frames]
    assert kinds[0] == "start" and kinds[-2:] == ["citations", "done"]
    assert set(kinds[1:-2]) == {"token"} and len(kinds) > 4
    start, citations, done = frames[0], frames[-2]["citations"], frames[-1]
    assert start["conversation"] == conversation_id
    assert done["message"] == start["message"] and done["declined"] is False
    assert done["timings"]["total_ms"] > 0

    question, answer = await database_sync_to_async(stored)(conversation_id)
    assert (question.pk, question.role, question.text) == (
        start["question"],
        "user",
        "how long do fries cook",
    )
    assert answer.pk == start["message"] and answer.status == "done"
    assert answer.text == "".join(f["text"] for f in frames if f["type"] == "token").strip()
    assert citations and {c["document_id"] for c in citations} == {fryer.pk}
    assert citations[0]["image_url"].startswith(f"/knowledge/documents/{fryer.pk}/pages/")
    count = await Citation.objects.filter(message=answer).acount()
    assert count == len(citations)
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.title == "how long do fries cook"


async def test_markers_are_numbered_in_order_of_first_use_even_split_across_tokens(
    alice_chat, fryer, monkeypatch
):
    passages = await database_sync_to_async(search)("fries cook time", top_k=2)
    assert len(passages) == 2
    pieces = ["Fries cook 3 min [", "2]; shake at 1 min [1", "]. Drain [2]."]
    monkeypatch.setattr(assistant, "stream_answer", scripted(pieces, passages))
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    frames = await frames_until_end(ws)
    await ws.disconnect()

    tokens = [f["text"] for f in frames if f["type"] == "token"]
    assert tokens == ["Fries cook 3 min ", "[1]; shake at 1 min ", "[2]. Drain [1]."]
    cited = [(c["rank"], c["chunk_id"]) for c in frames[-2]["citations"]]
    assert cited == [(1, passages[1].chunk_id), (2, passages[0].chunk_id)]


async def test_a_voice_question_is_stored_as_voice_and_a_ping_is_answered(alice_chat, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.send_json_to({"type": "ask", "text": "fries?", "modality": "voice"})
    assert (await frames_until_end(ws))[-1]["type"] == "done"
    await ws.disconnect()
    modalities = {m.modality for m in await database_sync_to_async(stored)(conversation_id)}
    assert modalities == {"voice"}


async def test_a_second_question_waits_for_the_first_answer(alice_chat, monkeypatch):
    gate = asyncio.Event()
    monkeypatch.setattr(assistant, "stream_answer", scripted(gate=gate))
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    assert (await ws.receive_json_from())["type"] == "start"
    assert await ws.receive_json_from() == {"type": "token", "text": "Fries "}
    await ws.send_json_to({"type": "ask", "text": "and onion rings?"})
    assert await ws.receive_json_from() == {
        "type": "error",
        "message": "wait for the current answer to finish",
        "code": "busy",
    }
    gate.set()
    assert (await frames_until_end(ws))[-1]["type"] == "done"
    # Once done, the next question is taken.
    await ws.send_json_to({"type": "ask", "text": "and onion rings?"})
    assert (await frames_until_end(ws))[-1]["type"] == "done"
    await ws.disconnect()
    texts = [m.text for m in await database_sync_to_async(stored)(conversation_id)]
    assert texts[0] == "how long do fries cook" and texts[2] == "and onion rings?"
    assert len(texts) == 4


async def test_a_failing_answer_keeps_the_question_and_the_text_so_far(alice_chat, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted(fail_at=2))
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    frames = await frames_until_end(ws)
    assert [f["type"] for f in frames] == ["start", "token", "token", "error"]
    assert frames[-1] == {
        "type": "error",
        "message": "The assistant could not finish this answer. Try asking again.",
        "message_id": frames[0]["message"],
    }
    # The socket is still usable.
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()

    question, answer = await database_sync_to_async(stored)(conversation_id)
    assert question.text == "how long do fries cook" and question.status == "done"
    assert answer.status == "failed" and answer.text == "Fries cook"
    assert answer.error == "RuntimeError: the model went away"
    assert answer.finished_at is not None


# --- Leaving mid-answer -----------------------------------------------------------------


async def ask_held(alice_chat, monkeypatch, passages=()):
    """Ask with a scripted answer held after its first token: (the socket, the gate
    that lets the rest come, the start event)."""
    gate = asyncio.Event()
    monkeypatch.setattr(assistant, "stream_answer", scripted(passages=passages, gate=gate))
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    start = await ws.receive_json_from()
    assert await ws.receive_json_from() == {"type": "token", "text": "Fries "}
    return ws, gate, start


async def test_closing_the_socket_mid_answer_still_finishes_and_stores_it(
    alice_chat, fryer, monkeypatch
):
    passages = await database_sync_to_async(search)("fries cook time", top_k=2)
    ws, gate, start = await ask_held(alice_chat, monkeypatch, passages)
    await ws.disconnect()

    answer = await Message.objects.aget(pk=start["message"])
    assert answer.status in ("pending", "streaming")  # the client left mid-answer
    gate.set()
    await services.wait_for_answers()
    answer = await Message.objects.aget(pk=start["message"])
    assert answer.status == "done" and answer.text == "".join(PIECES)
    ranks = [c.rank async for c in Citation.objects.filter(message=answer)]
    assert ranks == [1]  # the one passage the text cites


@pytest.mark.parametrize("deleted", ["the manual", "its passage (re-ingested)"])
async def test_what_is_deleted_while_it_is_cited_loses_its_link_not_the_citation(
    alice_chat, fryer, monkeypatch, deleted
):
    passages = await database_sync_to_async(search)("fries cook time", top_k=1)
    ws, gate, _ = await ask_held(alice_chat, monkeypatch, passages)
    if deleted == "the manual":
        await Document.objects.filter(pk=fryer.pk).adelete()
    else:
        await Chunk.objects.filter(pk=passages[0].chunk_id).adelete()
    gate.set()
    cited = (await frames_until_end(ws))[-2]["citations"]
    document = None if deleted == "the manual" else fryer.pk
    assert [(c["title"], c["document_id"], c["chunk_id"]) for c in cited] == [
        (fryer.title, document, None)
    ]


@pytest.mark.parametrize(
    ("interval", "mid_answer"),
    [
        (0, ("streaming", "Fries ")),  # slower than the interval: a reload shows it so far
        (60, ("pending", "")),  # quicker: stored once, whole, not per piece
    ],
)
async def test_an_answer_is_stored_as_it_streams_only_when_it_is_slow(
    alice_chat, monkeypatch, interval, mid_answer
):
    monkeypatch.setattr(services, "SAVE_EVERY_SECONDS", interval)
    _, gate, start = await ask_held(alice_chat, monkeypatch)
    for _ in range(100):  # its save, if any, follows the token (slower on a busy machine)
        answer = await Message.objects.aget(pk=start["message"])
        if answer.status != "pending":
            break
        await asyncio.sleep(0.02)
    assert (answer.status, answer.text) == mid_answer
    gate.set()
    await services.wait_for_answers()
    answer = await Message.objects.aget(pk=start["message"])
    assert answer.status == "done" and answer.text == "".join(PIECES)


async def test_a_conversation_deleted_while_open_is_not_asked_in(alice_chat, monkeypatch):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await Conversation.objects.filter(pk=conversation_id).adelete()
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    assert await ws.receive_json_from() == {
        "type": "error",
        "message": f"no conversation {conversation_id}",
        "code": "not_found",
    }
    assert await ws.receive_output() == {"type": "websocket.close", "code": 4404}
    assert await Message.objects.acount() == 0


async def test_deleting_the_conversation_mid_answer_drops_the_answer_quietly(
    alice_chat, monkeypatch, caplog
):
    gate = asyncio.Event()
    monkeypatch.setattr(assistant, "stream_answer", scripted(gate=gate))
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    start = await ws.receive_json_from()
    await ws.receive_json_from()  # the first token
    await Conversation.objects.filter(pk=conversation_id).adelete()
    gate.set()
    frames = await frames_until_end(ws)
    assert frames[-1] == {
        "type": "error",
        "message": "The assistant could not finish this answer. Try asking again.",
        "message_id": start["message"],
    }
    await ws.disconnect()
    assert await Message.objects.acount() == 0  # not written back
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_question_that_cannot_be_stored_is_refused_and_the_socket_stays(
    alice_chat, monkeypatch
):
    def database_down(*args):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "_begin", database_down)
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    assert await ws.receive_json_from() == {
        "type": "error",
        "message": "the question could not be stored; try again shortly",
        "code": "unavailable",
    }
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


# --- Refusals ---------------------------------------------------------------------------


async def test_bad_frames_are_answered_with_an_error_and_the_socket_stays_open(
    alice_chat, monkeypatch
):
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)

    async def refusal(**frame) -> dict:
        await ws.send_to(**frame)
        reply = await ws.receive_json_from()
        assert reply["type"] == "error"
        return reply

    assert (await refusal(text_data="how long do fries cook"))["code"] == "invalid_json"
    assert (await refusal(text_data="[1, 2]"))["code"] == "invalid_json"
    reply = await refusal(bytes_data=b"\x00\x01binary")
    assert reply == {
        "type": "error",
        "message": "send JSON text frames, not binary ones",
        "code": "invalid_json",
    }
    reply = await refusal(text_data=json.dumps({"type": "question", "text": "fries?"}))
    assert reply["code"] == "unknown_type" and "'question'" in reply["message"]
    reply = await refusal(text_data=json.dumps({"text": "fries?"}))
    assert reply["code"] == "unknown_type"

    empty = await refusal(text_data=json.dumps({"type": "ask", "text": "  \n "}))
    assert empty == {
        "type": "error",
        "message": "the question is empty; type or say what you want to know",
        "code": "invalid",
    }
    missing = await refusal(text_data=json.dumps({"type": "ask"}))
    assert missing["code"] == "invalid" and missing["message"] == "the question must be text"
    lone = await refusal(text_data=json.dumps({"type": "ask", "text": "fries \ud800?"}))
    assert lone == {
        "type": "error",
        "message": "the question holds \\ud800, a lone surrogate, not a character; retype it",
        "code": "invalid",
    }
    huge = await refusal(text_data=json.dumps({"type": "ask", "text": "fries " * 400}))
    assert huge["code"] == "invalid" and "keep it under 2000" in huge["message"]
    modality = await refusal(text_data=json.dumps({"type": "ask", "text": "a", "modality": "x"}))
    assert modality["message"] == "modality must be one of: text, voice"
    frame = json.dumps({"type": "ask", "text": "é" * 40_000}, ensure_ascii=False)  # 78 KB
    too_large = await refusal(text_data=frame)
    assert too_large == {
        "type": "error",
        "message": "the frame is 78 KB; frames may be at most 64 KB",
        "code": "too_large",
    }

    assert await Message.objects.acount() == 0  # nothing stored for any of them
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    assert (await frames_until_end(ws))[-1]["type"] == "done"
    await ws.disconnect()


async def test_a_stranger_or_a_user_without_a_role_is_turned_away(alice_chat, django_user_model):
    _, conversation_id = alice_chat
    ws = socket(f"/ws/chat/{conversation_id}/")
    assert await ws.connect() == (False, 4401)
    await ws.disconnect()  # as a browser does: the refused consumer then stops

    nobody = await django_user_model.objects.acreate(username="nobody")
    cookie = await database_sync_to_async(session_cookie)(nobody)
    ws = socket(f"/ws/chat/{conversation_id}/", cookie)
    assert await ws.connect() == (False, 4401)
    await ws.disconnect()


@pytest.mark.parametrize("which", ["someone else's", "missing", "not a number"])
async def test_someone_elses_or_a_missing_conversation_is_not_found(alice_chat, bob, which):
    cookie, _ = alice_chat
    conversation_id = {
        "someone else's": lambda: services.create_conversation(bob).pk,
        "missing": lambda: 999_999,
        "not a number": lambda: "abc",
    }[which]
    conversation_id = await database_sync_to_async(conversation_id)()
    ws = socket(f"/ws/chat/{conversation_id}/", cookie)
    connected, _ = await ws.connect()
    assert connected  # accepted, so that the browser can read why it is closed
    expected = repr(conversation_id) if which == "not a number" else conversation_id
    assert await ws.receive_json_from() == {
        "type": "error",
        "message": f"no conversation {expected}",
        "code": "not_found",
    }
    assert await ws.receive_output() == {"type": "websocket.close", "code": 4404}


async def test_a_page_from_another_site_cannot_open_the_socket(alice_chat):
    cookie, conversation_id = alice_chat
    ws = socket(f"/ws/chat/{conversation_id}/", cookie, origin=b"https://evil.example")
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


# --- Admission ------------------------------------------------------------------------------


async def new_conversations(user, count: int) -> list[int]:
    def create():
        return [services.create_conversation(user).pk for _ in range(count)]

    return await database_sync_to_async(create)()


async def test_one_user_asking_on_many_sockets_gets_a_few_answers_and_the_rest_refused_at_once(
    alice, bob, settings, monkeypatch
):
    """The crew session that opened 200 asks at once: now a few are answered, the rest
    told at once to try again, and none is left streaming. A full server refuses
    everyone else at once too."""
    settings.ANSWERS_PER_USER = 2
    settings.ANSWERS_PER_PROCESS = 2
    gate = asyncio.Event()
    monkeypatch.setattr(assistant, "stream_answer", scripted(gate=gate))
    cookie = await database_sync_to_async(session_cookie)(alice)
    sockets = [await open_chat(cookie, pk) for pk in await new_conversations(alice, 5)]
    for ws in sockets:
        await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    first = [await ws.receive_json_from(timeout=2) for ws in sockets]

    answering = [ws for ws, frame in zip(sockets, first, strict=True) if frame["type"] == "start"]
    refused = [frame for frame in first if frame["type"] == "error"]
    assert len(answering) == 2 and len(refused) == 3
    assert refused[0] == {
        "type": "error",
        "message": "you already have 2 answers being written: try again when one is done",
        "code": "try_again",
        "retry_after": 2,
    }
    bobs = await open_chat(
        await database_sync_to_async(session_cookie)(bob), (await new_conversations(bob, 1))[0]
    )
    await bobs.send_json_to({"type": "ask", "text": "where is the mop sink"})
    reply = await bobs.receive_json_from(timeout=2)
    assert reply["code"] == "try_again" and reply["message"].startswith("the assistant is busy")

    gate.set()
    for ws in answering:
        assert (await frames_until_end(ws))[-1]["type"] == "done"
    # The finished answers gave their places back.
    retry = next(ws for ws, frame in zip(sockets, first, strict=True) if frame["type"] == "error")
    await retry.send_json_to({"type": "ask", "text": "and onion rings?"})
    assert (await frames_until_end(retry))[-1]["type"] == "done"
    await bobs.send_json_to({"type": "ask", "text": "where is the mop sink"})
    assert (await frames_until_end(bobs))[-1]["type"] == "done"
    statuses = [m.status async for m in Message.objects.filter(role="assistant")]
    assert statuses == ["done"] * 4


async def test_socket_and_api_asks_share_one_rate(alice_chat, alice, settings, monkeypatch):
    settings.RATE_ASK = "1/m"
    monkeypatch.setattr(assistant, "stream_answer", scripted())
    cookie, conversation_id = alice_chat
    ws = await open_chat(cookie, conversation_id)
    await ws.send_json_to({"type": "ask", "text": "how long do fries cook"})
    assert (await frames_until_end(ws))[-1]["type"] == "done"
    await ws.send_json_to({"type": "ask", "text": "and onion rings?"})
    reply = await ws.receive_json_from()
    assert reply["code"] == "try_again" and reply["message"].startswith("too many requests")
    assert 1 <= reply["retry_after"] <= 60

    def ask_by_api():
        client = Client()
        client.force_login(alice)
        url = f"/api/chat/conversations/{conversation_id}/messages"
        return client.post(url, {"text": "fries?"}, content_type="application/json")

    assert (await database_sync_to_async(ask_by_api)()).status_code == 429
    assert await Message.objects.acount() == 2  # the one turn answered


# --- Access follows the role ------------------------------------------------------------------


async def test_a_chat_socket_is_closed_when_its_users_access_ends(
    alice, bob, charlie, django_user_model, monkeypatch
):
    """Deactivated, or the role taken away: the open socket is closed at once. A change
    no signal announced (a bulk update, another process) is caught at the next ask."""
    monkeypatch.setattr(assistant, "stream_answer", scripted())

    async def chat_of(user):
        cookie = await database_sync_to_async(session_cookie)(user)
        return await open_chat(cookie, (await new_conversations(user, 1))[0])

    deactivated, demoted, quietly = [await chat_of(u) for u in (alice, bob, charlie)]

    def end_access():
        alice.is_active = False
        alice.save()
        bob.groups.clear()
        django_user_model.objects.filter(pk=charlie.pk).update(is_active=False)

    await database_sync_to_async(end_access)()
    for ws in (deactivated, demoted):
        assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await quietly.send_json_to({"type": "ask", "text": "how long do fries cook"})
    assert await quietly.receive_json_from() == {
        "type": "error",
        "message": "you are signed out, or your role no longer includes chat",
        "code": "signed_out",
    }
    assert await quietly.receive_output() == {"type": "websocket.close", "code": 4401}
    assert await Message.objects.acount() == 0


# --- Through a real server ----------------------------------------------------------------


def slow_application():
    """uvicorn ``--factory``: the real app with the real assistant writing each piece
    20 ms apart, so a test can leave in the middle of an answer."""
    real = assistant.stream_answer

    async def slowly(**kwargs):
        async for event in real(**kwargs):
            if isinstance(event, TextDelta):
                await asyncio.sleep(0.02)
            yield event

    assistant.stream_answer = slowly
    return application


# Django first: this module's imports need it set up.
SERVE_SLOWLY = (
    "import sys, django, uvicorn; django.setup(); "
    "uvicorn.run('tests.chat.test_consumer:slow_application', factory=True, "
    "port=int(sys.argv[1]), ws='websockets-sansio', lifespan='off')"
)


@contextlib.contextmanager
def slow_web_server(tmp_path):
    """The real ASGI app under uvicorn on a free port, answering slowly; its base URL."""
    port = free_port()
    env = child_env(DJANGO_SETTINGS_MODULE="lineled.settings")
    log = tmp_path / "web.log"
    with running([sys.executable, "-c", SERVE_SLOWLY, str(port)], env, log) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{base}/healthz", timeout=30, process=process)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{log.read_text()}") from None
        yield base


@pytest.fixture
def slow_server(tmp_path):
    with slow_web_server(tmp_path) as base:
        yield base


def wait_until_finished(message_id: int, timeout: float = 20) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.get(pk=message_id)
        if message.status in ("done", "failed"):
            return message
        time.sleep(0.1)
    raise AssertionError(f"message {message_id} still {message.status} after {timeout}s")


def test_through_a_real_server_an_answer_left_mid_way_is_finished_and_stored(
    slow_server, alice_chat, fryer
):
    import websockets.sync.client as ws_client

    cookie, conversation_id = alice_chat
    url = slow_server.replace("http://", "ws://") + f"/ws/chat/{conversation_id}/"
    headers = {"Cookie": cookie, "Origin": slow_server}  # a page of the server itself
    with ws_client.connect(url, additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=10)) == {"type": "ready", "conversation": conversation_id}
        ws.send(json.dumps({"type": "ask", "text": "how long do fries cook"}))
        start = json.loads(ws.recv(timeout=10))
        assert start["type"] == "start"
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "token"
    # Gone after the first piece; the server goes on writing.
    assert Message.objects.get(pk=start["message"]).status in ("pending", "streaming")
    answer = wait_until_finished(start["message"])
    assert answer.status == "done" and answer.text.startswith(first["text"].strip())
    assert len(answer.text) > len(first["text"])
    assert answer.citations.filter(document=fryer).exists()


def test_through_a_real_server_a_whole_answer_streams_to_the_browser(
    slow_server, alice_chat, fryer
):
    import websockets.sync.client as ws_client

    cookie, conversation_id = alice_chat
    url = slow_server.replace("http://", "ws://") + f"/ws/chat/{conversation_id}/"
    with ws_client.connect(url, additional_headers={"Cookie": cookie, "Origin": slow_server}) as ws:
        ws.recv(timeout=10)
        ws.send(b"\x00binary")
        assert json.loads(ws.recv(timeout=10))["code"] == "invalid_json"
        ws.send(json.dumps({"type": "ask", "text": "how long do fries cook"}))
        frames = []
        while not frames or frames[-1]["type"] not in ("done", "error"):
            frames.append(json.loads(ws.recv(timeout=10)))
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "start" and kinds[-2:] == ["citations", "done"]
    answer = Message.objects.get(pk=frames[0]["message"])
    assert answer.text == "".join(f["text"] for f in frames if f["type"] == "token").strip()
