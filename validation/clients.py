"""How the suite reaches the system: in this process, or a live deployment over HTTP.

Both clients answer with the REST API's own shapes (``chat.services.message_out``
for answers, ``voice.services.ask_with_recording`` for spoken turns), so a test reads
the same evidence whichever way it ran. The in-process client calls the services
the API endpoints call; the live client calls the endpoints with a bearer token.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import httpx
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import services as chat
from knowledge import services as knowledge
from knowledge.models import Document
from knowledge.search import search
from lineled.errors import DomainError, Invalid
from lineled.system import rss_mb, task_state
from lineled.tasks import ping
from monitoring import services as monitoring
from voice import services as voice

ASK_TIMEOUT_S = 60.0
CHECK_TIMEOUT_S = 10.0
INGEST_TIMEOUT_S = 120.0
BUSY_WAIT_S = 60.0  # the longest a live request waits out the server's 429s in all


@dataclass
class Spoken:
    """A spoken turn: what was heard, the answer, the answer's audio and the timings."""

    transcript: str = ""
    answer: dict | None = None
    audio: bytes | None = None
    turn: dict = field(default_factory=dict)
    error: str = ""


class Client:
    mode = ""

    def conversation(self) -> int:
        raise NotImplementedError

    def ask(self, conversation: int, text: str) -> dict:
        """The answer (``MessageOut``'s JSON) to a typed question."""
        raise NotImplementedError

    def ask_spoken(self, conversation: int, wav: bytes) -> Spoken:
        raise NotImplementedError

    def get(self, url: str) -> tuple[int, str, bytes]:
        """A page of the app (e.g. a citation's image): status, content type, body."""
        raise NotImplementedError

    def search(self, query: str, top_k: int = 5) -> dict:
        """``{"results": [...], "ms": float}`` as ``GET /api/knowledge/search`` gives."""
        raise NotImplementedError

    def upload(self, filename: str, data: bytes) -> dict:
        """Add a document and wait until it is ingested (or failed); the document."""
        raise NotImplementedError

    def delete(self, document_id: int) -> None:
        raise NotImplementedError

    def document(self, document_id: int) -> dict | None:
        raise NotImplementedError

    def ping_worker(self, timeout: float = 15.0) -> dict:
        """A task through the broker to a worker and back: ``{"ok", "ms", "detail"}``."""
        raise NotImplementedError

    def monitoring(self) -> dict:
        """The monitoring dashboard's data (``monitoring.services.dashboard``)."""
        raise NotImplementedError

    def memory_mb(self) -> float | None:
        """Resident memory of the process serving the requests, if it can be read."""
        raise NotImplementedError


class InProcessClient(Client):
    """The services behind the API, called in this process as ``user``."""

    mode = "in-process"

    def __init__(self, user):
        self.user = user

    def conversation(self) -> int:
        return chat.create_conversation(self.user).pk

    def ask(self, conversation: int, text: str) -> dict:
        owned = chat.get_conversation(self.user, conversation)
        start = chat.answer_now(owned, self.user, text)[0]
        message = chat.messages_for(self.user, ids=[start["message"]]).get()
        return chat.message_out(message).model_dump(mode="json")

    def ask_spoken(self, conversation: int, wav: bytes) -> Spoken:
        upload = SimpleUploadedFile("question.wav", wav, content_type="audio/wav")
        try:
            result = voice.ask_with_recording(self.user, conversation, upload, speak=True)
        except DomainError as exc:
            return Spoken(error=exc.message)
        return _spoken(result.model_dump(mode="json"))

    def get(self, url: str) -> tuple[int, str, bytes]:
        # Django's test client signs in without a password; loaded only when a run needs it.
        from django.test import Client as DjangoClient

        browser = DjangoClient()
        browser.force_login(self.user)
        response = browser.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, response.get("Content-Type", ""), body

    def search(self, query: str, top_k: int = 5) -> dict:
        started = time.perf_counter()
        passages = search(query, top_k=top_k)
        ms = (time.perf_counter() - started) * 1000
        return {
            "results": [{**p.as_json(), "text": p.text} for p in passages],
            "ms": ms,
        }

    def upload(self, filename: str, data: bytes) -> dict:
        document, _ = knowledge.add_document(filename=filename, data=data, uploaded_by=self.user)
        document = knowledge.ingest(document.pk)
        return self.document(document.pk)

    def delete(self, document_id: int) -> None:
        document = Document.objects.filter(pk=document_id).first()
        if document is not None:
            knowledge.delete_document(document)

    def document(self, document_id: int) -> dict | None:
        row = (
            Document.objects.filter(pk=document_id)
            .values("id", "status", "error", "filename")
            .first()
        )
        return row

    def ping_worker(self, timeout: float = 15.0) -> dict:
        """Send the ping and watch the result store for the worker's answer, as the
        system API does: this also works when the run itself is a task in a worker
        (where waiting on a result with ``get()`` is not allowed)."""
        started = time.perf_counter()
        try:
            sent = ping.delay("validation")
        except Exception as exc:
            return {
                "ok": False,
                "ms": (time.perf_counter() - started) * 1000,
                "detail": f"the broker refused the task: {type(exc).__name__}: {exc}"[:300],
            }
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = task_state(sent.id)
            if state["status"] == "SUCCESS":
                ms = (time.perf_counter() - started) * 1000
                return {"ok": True, "ms": ms, "detail": state["result"]}
            time.sleep(0.1)
        return {
            "ok": False,
            "ms": (time.perf_counter() - started) * 1000,
            "detail": f"no worker answered within {timeout:g} s",
        }

    def monitoring(self) -> dict:
        return monitoring.dashboard().model_dump(mode="json")

    def memory_mb(self) -> float | None:
        return rss_mb()


def _spoken(result: dict) -> Spoken:
    audio = result.get("audio_wav_base64")
    question = result.get("question") or {}
    return Spoken(
        transcript=question.get("text", "") or result.get("voice_turn", {}).get("transcript", ""),
        answer=result.get("answer"),
        audio=base64.b64decode(audio) if audio else None,
        turn=result.get("voice_turn") or {},
    )


class LiveClient(Client):
    """A running deployment at ``base`` (``https://host``), as an ops user's token.

    Requests that fail at the HTTP level raise ``RuntimeError`` with the server's
    message; a spoken question the server refused comes back as ``Spoken(error=...)``,
    as in process.
    """

    mode = "live"

    def __init__(self, base: str, token: str, *, transport: httpx.BaseTransport | None = None):
        self.base = base.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=ASK_TIMEOUT_S,
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )

    def check(self) -> dict:
        """The token's user, once the deployment has answered and the token is an ops
        user's; otherwise ``Invalid`` saying what is wrong (before a run is recorded)."""
        try:
            response = self.http.get("/api/me", timeout=CHECK_TIMEOUT_S)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Invalid(f"cannot reach {self.base}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 401:
            raise Invalid(f"{self.base} refused the token: {_message(response)}")
        me = _body(response)
        if response.status_code != 200 or not isinstance(me, dict) or "role" not in me:
            raise Invalid(
                f"{self.base}/api/me answered HTTP {response.status_code}, not a Line Lead "
                f"user: is the URL the deployment's? ({_message(response)[:200]})"
            )
        if me["role"] != "ops":
            raise Invalid(
                f"the token is {me.get('username')}'s, whose role is {me['role'] or 'none'}; "
                "validation needs an ops user's token"
            )
        return me

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """The request, sent again after the server's Retry-After while it answers 429
        (the deployment's admission limits hold for the token's user too), up to
        BUSY_WAIT_S; then its last answer."""
        deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            response = self.http.request(method, path, **kwargs)
            wait = _retry_after(response)
            if wait is None or time.monotonic() + wait > deadline:
                return response
            time.sleep(wait)

    def _json(self, method: str, path: str, **kwargs):
        response = self._request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(
                f"{method} {path}: HTTP {response.status_code}: {_message(response)}"[:500]
            )
        return response.json() if response.content else None

    def conversation(self) -> int:
        return self._json("POST", "/api/chat/conversations", json={})["id"]

    def ask(self, conversation: int, text: str) -> dict:
        path = f"/api/chat/conversations/{conversation}/messages"
        return self._json("POST", path, json={"text": text})["answer"]

    def ask_spoken(self, conversation: int, wav: bytes) -> Spoken:
        path = f"/api/voice/conversations/{conversation}/ask"
        response = self._request(
            "POST",
            path,
            params={"speak": "true"},
            files={"audio": ("question.wav", wav, "audio/wav")},
        )
        if response.status_code >= 400:
            return Spoken(error=f"HTTP {response.status_code}: {_message(response)}"[:500])
        return _spoken(response.json())

    def get(self, url: str) -> tuple[int, str, bytes]:
        response = self.http.get(url)
        return response.status_code, response.headers.get("content-type", ""), response.content

    def search(self, query: str, top_k: int = 5) -> dict:
        started = time.perf_counter()
        found = self._json("GET", "/api/knowledge/search", params={"q": query, "top_k": top_k})
        return {"results": found.get("results", []), "ms": (time.perf_counter() - started) * 1000}

    def upload(self, filename: str, data: bytes) -> dict:
        """Needs the deployment's worker: ingestion is its job. Waits up to two minutes."""
        document = self._json("POST", "/api/knowledge/documents", files={"file": (filename, data)})
        deadline = time.monotonic() + INGEST_TIMEOUT_S
        while document and document.get("status") in ("queued", "processing"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
            document = self.document(document["id"])
        return document

    def delete(self, document_id: int) -> None:
        self._json("DELETE", f"/api/knowledge/documents/{document_id}")

    def document(self, document_id: int) -> dict | None:
        response = self.http.get(f"/api/knowledge/documents/{document_id}")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise RuntimeError(f"document {document_id}: HTTP {response.status_code}")
        return response.json()

    def ping_worker(self, timeout: float = 15.0) -> dict:
        started = time.perf_counter()
        sent = self._json("POST", "/api/system/ping", json={"note": "validation"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self._json("GET", f"/api/system/tasks/{sent['task_id']}")
            if state.get("status") in ("SUCCESS", "FAILURE"):
                ok = state["status"] == "SUCCESS"
                return {"ok": ok, "ms": (time.perf_counter() - started) * 1000, "detail": state}
            time.sleep(0.25)
        return {
            "ok": False,
            "ms": (time.perf_counter() - started) * 1000,
            "detail": f"no worker answered within {timeout:g} s",
        }

    def monitoring(self) -> dict:
        return self._json("GET", "/api/monitoring/dashboard")

    def memory_mb(self) -> float | None:
        """The resident memory of the server process that answered (with several web
        processes behind a balancer, whichever one did)."""
        status = self._json("GET", "/api/system/status")
        return ((status or {}).get("process") or {}).get("rss_mb")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before asking again, for a 429 that says so."""
    if response.status_code != 429:
        return None
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _body(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    """The API's ``{"message"}``, or the start of whatever else the server sent."""
    body = _body(response)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.text.strip()[:300] or response.reason_phrase
