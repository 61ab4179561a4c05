"""The assistant with a model it does not control (``LINELED_MODEL=openai:...`` etc.),
without network: PydanticAI FunctionModels standing in for a remote model, and an
OpenAI-compatible server on an httpx MockTransport answering in the real streaming
chat-completions shape. Same agent, same tools, same citation contract."""

import json
import re

import httpx2
import pytest
from django.test import Client
from pydantic_ai.messages import ModelRequest, RetryPromptPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel

from chat import services
from chat.assistant import DECLINE, providers
from chat.assistant.agent import SAFETY_STYLE, VOICE_STYLE
from chat.models import Message
from knowledge.demo import loader

pytestmark = pytest.mark.django_db

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"
GOOD = "Fries cook 3 min 00 s at 350°F [1]. Shake the basket at 30 seconds [1]."


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def fryer():
    return loader.load([FRYER])[0].document


class StandIn:
    """A remote model stand-in: searches, then gives its scripted replies in turn (the
    last one again if asked more often), recording what it was sent."""

    def __init__(self, *replies: str, then_open_page: int | None = None):
        self.replies = list(replies)
        self.seen: list[list] = []
        self.instructions: list[str] = []
        self.then_open_page = then_open_page

    async def stream(self, messages, info: AgentInfo):
        self.seen.append(list(messages))
        self.instructions.append(info.instructions or "")
        returns = [p for m in messages if isinstance(m, ModelRequest) for p in m.parts]
        tools = [p.tool_name for p in returns if isinstance(p, ToolReturnPart)]
        if "search_manuals" not in tools:
            args = json.dumps({"query": "how long do fries cook"})
            yield {0: DeltaToolCall(name="search_manuals", json_args=args)}
            return
        if self.then_open_page and "open_page" not in tools:
            document = next(
                p.content["passages"][0]["document_id"]
                for p in returns
                if isinstance(p, ToolReturnPart) and p.tool_name == "search_manuals"
            )
            args = json.dumps({"document_id": document, "page": self.then_open_page})
            yield {0: DeltaToolCall(name="open_page", json_args=args)}
            return
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        opened = [p.content["n"] for p in returns if getattr(p, "tool_name", "") == "open_page"]
        if opened:
            reply = reply.replace("[page]", f"[{opened[-1]}]")
        for word in re.findall(r"\s*\S+", reply):
            yield word

    def retry_prompts(self) -> list[str]:
        """What the agent sent back about rejected answers (the last request's view)."""
        return [
            str(p.content)
            for m in self.seen[-1]
            if isinstance(m, ModelRequest)
            for p in m.parts
            if isinstance(p, RetryPromptPart)
            or (
                isinstance(p, UserPromptPart) and "failed the application's validation" in p.content
            )
        ]


@pytest.fixture
def remote(settings, monkeypatch):
    """Install a stand-in as the configured remote model."""
    settings.LINELED_MODEL = "test:stand-in"

    def install(stand_in: StandIn):
        model = FunctionModel(stream_function=stand_in.stream, model_name="stand-in")
        monkeypatch.setattr(providers, "model", lambda: model)
        return stand_in

    return install


def ask(user, question="how long do fries cook?"):
    conversation = services.create_conversation(user)
    events = services.answer_now(conversation, user, question)
    return conversation.messages.get(role="assistant"), events


def tokens(events) -> str:
    return "".join(e["text"] for e in events if e["type"] == "token")


def test_a_good_remote_answer_is_stored_with_its_citations(alice, fryer, remote):
    remote(StandIn(GOOD))
    answer, events = ask(alice)
    assert answer.status == Message.Status.DONE and answer.text == GOOD
    assert answer.model_name == "test:stand-in"
    assert answer.search_query == "how long do fries cook"
    assert [c.rank for c in answer.citations.all()] == [1]
    assert answer.citations.get().filename == "hb-eq-101-fryer.pdf"
    assert answer.input_tokens and answer.output_tokens  # reported by the model


def test_a_citation_of_a_passage_never_found_is_sent_back_and_never_shown(alice, fryer, remote):
    stand_in = remote(StandIn("Fries cook 3 min 00 s [42].", GOOD))
    answer, events = ask(alice)
    assert answer.text == GOOD and not answer.declined
    assert "[42]" not in tokens(events)  # the rejected answer never reached the crew
    (prompt,) = stand_in.retry_prompts()
    assert "[42] is not among the passages" in prompt


def test_an_answer_without_citations_is_sent_back(alice, fryer, remote):
    stand_in = remote(StandIn("Fries take about three minutes.", GOOD))
    answer, events = ask(alice)
    assert answer.text == GOOD
    assert "three minutes" not in tokens(events)
    assert "Cite the passage" in stand_in.retry_prompts()[0]


def test_a_model_that_keeps_breaking_the_contract_fails_clearly(alice, fryer, remote):
    stand_in = remote(StandIn("Fries cook 3 min 00 s [77]."))
    answer, events = ask(alice)
    assert answer.status == Message.Status.FAILED
    assert "citation rules" in answer.error and "retries" in answer.error
    assert events[-1]["type"] == "error"
    assert len(stand_in.retry_prompts()) >= 2  # bounded: the retries, then the failure
    assert "[77]" not in answer.text


def test_a_remote_decline_is_passed_on_without_citations(alice, fryer, remote):
    remote(StandIn(DECLINE))
    answer, _ = ask(alice, "what's the wifi password?")
    assert answer.text == DECLINE and answer.declined
    assert not answer.citations.exists()


def test_a_page_opened_by_the_model_can_be_cited(alice, fryer, remote):
    remote(StandIn("The cook times are in Table 2 [page].", then_open_page=3))
    answer, _ = ask(alice)
    citation = answer.citations.get()
    assert f"[{citation.rank}]" in answer.text and citation.pages == [3]
    assert citation.filename == "hb-eq-101-fryer.pdf"


def test_remote_text_is_released_as_its_citations_check_out(alice, fryer, remote):
    remote(StandIn(GOOD))
    _, events = ask(alice)
    pieces = [e["text"] for e in events if e["type"] == "token"]
    assert len(pieces) >= 2 and pieces[0].endswith("[1]")
    assert "".join(pieces) == GOOD


def test_the_model_is_told_about_voice_safety_and_the_follow_up(alice, fryer, remote):
    stand_in = remote(StandIn("Cool the burn under cool running water [1]."))
    conversation = services.create_conversation(alice)
    services.answer_now(conversation, alice, "how long do fries cook?")
    services.answer_now(conversation, alice, "and onion rings?", modality="voice")
    services.answer_now(conversation, alice, "i burned my arm on the fryer")
    plain, voice, burn = (
        stand_in.instructions[0],
        stand_in.instructions[-3],
        stand_in.instructions[-1],
    )
    assert "[2]" in plain and DECLINE in plain  # the citation contract, for every model
    assert VOICE_STYLE in voice and VOICE_STYLE not in plain
    assert "on its own: how long do onion rings cook" in voice
    assert SAFETY_STYLE in burn and SAFETY_STYLE not in plain


# --- An OpenAI-compatible server, on a mock transport --------------------------------


class ChatCompletions:
    """Answers POST /v1/chat/completions like an OpenAI-compatible server streaming SSE:
    a search_manuals tool call first, then (once a tool result is in the messages) text
    citing passage 1, with token usage in the last chunk."""

    def __init__(self):
        self.answers = [GOOD]  # the last one is given again when asked more often
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        if any(m.get("role") == "tool" for m in body["messages"]):
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            chunks = [self._chunk({"role": "assistant", "content": ""})]
            chunks += [self._chunk({"content": w}) for w in re.findall(r"\s*\S+", answer)]
            chunks.append(self._chunk({}, finish="stop"))
        else:
            call = {"index": 0, "id": "call_1", "type": "function"}
            chunks = [
                self._chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {**call, "function": {"name": "search_manuals", "arguments": ""}}
                        ],
                    }
                ),
                self._chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "function": {"arguments": '{"query": "fries cook time"}'}}
                        ]
                    }
                ),
                self._chunk({}, finish="tool_calls"),
            ]
        chunks.append(self._chunk(None, usage={"prompt_tokens": 321, "completion_tokens": 45}))
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=sse.encode()
        )

    @staticmethod
    def _chunk(delta, finish=None, usage=None) -> dict:
        chunk = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": "gpt-line-test",
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            chunk["usage"] = {**usage, "total_tokens": sum(usage.values())}
        return chunk


def serve_model(settings, monkeypatch, server) -> None:
    """Make ``server`` (a MockTransport handler) the configured OpenAI-compatible model."""
    settings.LINELED_MODEL = "openai:gpt-line-test"
    settings.LINELED_MODEL_BASE_URL = "http://llm.test/v1"
    settings.LINELED_MODEL_API_KEY = "sk-test-key"
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(server))
    monkeypatch.setattr(providers, "http_client", lambda: client)
    providers.reset()


@pytest.fixture
def openai_server(settings, monkeypatch):
    server = ChatCompletions()
    serve_model(settings, monkeypatch, server)
    yield server
    providers.reset()


def test_an_openai_compatible_server_answers_through_the_same_agent(alice, fryer, openai_server):
    answer, events = ask(alice)
    assert answer.status == Message.Status.DONE, answer.error
    assert answer.text == GOOD and tokens(events) == GOOD
    assert answer.model_name == "openai:gpt-line-test"
    assert answer.search_query == "fries cook time"
    assert answer.citations.get().filename == "hb-eq-101-fryer.pdf"
    assert answer.input_tokens == 2 * 321 and answer.output_tokens == 2 * 45

    first, second = openai_server.requests
    assert str(first.url) == "http://llm.test/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer sk-test-key"
    sent = json.loads(first.content)
    assert sent["model"] == "gpt-line-test" and sent["stream"] is True
    assert {t["function"]["name"] for t in sent["tools"]} == {"search_manuals", "open_page"}
    assert "Cite only passage numbers" in json.dumps(sent["messages"])
    tool_result = next(m for m in json.loads(second.content)["messages"] if m["role"] == "tool")
    passages = json.loads(tool_result["content"])["passages"]
    assert passages[0]["n"] == 1 and "text" in passages[0]


def test_a_bad_citation_from_the_server_is_retried(alice, fryer, openai_server):
    openai_server.answers = ["Fries cook 3 min 00 s [99].", GOOD]
    answer, events = ask(alice)
    assert answer.text == GOOD and "[99]" not in tokens(events)
    assert len(openai_server.requests) == 3
    retry = json.dumps(json.loads(openai_server.requests[-1].content)["messages"])
    assert "[99] is not among the passages" in retry


BAD_KEY = "Incorrect API key provided: sk-proj-4xQ2****************Zt9A."


def refuse_the_key(request: httpx2.Request) -> httpx2.Response:
    error = {"message": BAD_KEY, "type": "invalid_request_error", "code": "invalid_api_key"}
    return httpx2.Response(401, json={"error": error})


def test_a_provider_refusal_is_told_plainly_to_the_crew_and_in_full_to_ops(
    alice, charlie, settings, monkeypatch, caplog
):
    serve_model(settings, monkeypatch, refuse_the_key)
    try:
        answer, events = ask(alice)
    finally:
        providers.reset()
    assert answer.status == Message.Status.FAILED
    assert events[-1]["message"] == (
        "The assistant could not finish this answer: the model provider refused the request."
    )
    crew = Client()
    crew.force_login(alice)
    screen = crew.get(f"/api/chat/conversations/{answer.conversation_id}")
    assert screen.json()["messages"][-1]["error"] == "the model provider refused the request"
    assert "sk-proj" not in json.dumps(events) + screen.content.decode()

    ops = Client()
    ops.force_login(charlie)
    console = ops.get(f"/admin/chat/message/{answer.pk}/change/").content.decode()
    assert "Incorrect API key provided: sk-proj-4xQ2" in console
    assert f"answering message {answer.pk} failed" in caplog.text and BAD_KEY in caplog.text
