"""Ragie: keeping its copy of the manuals in step, and searching through it.

The SDK talks to a fake Ragie API (``httpx.MockTransport``) that answers the way
api.ragie.ai does: the routes, methods and JSON bodies of the ``ragie`` SDK's own
models (``documents.create/get/delete``, ``retrievals.retrieve``). The tests assert on
the requests the SDK actually sent. Nothing here reaches the network.
"""

import json
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from knowledge import ragie, services, tasks
from knowledge.models import Document, SearchEvent
from knowledge.search import LocalBackend, Passage, search
from knowledge.search.base import Filters

pytestmark = pytest.mark.django_db

MANUALS = Path(__file__).resolve().parents[2] / "knowledge" / "demo" / "manuals"
FRYER = MANUALS / "hb-eq-101-fryer.pdf"
KEY = "test-ragie-key"
PARTITION = "store-17"
TIMESTAMP = "2025-05-15T19:58:03.483172Z"


class FakeRagie:
    """api.ragie.ai as the SDK sees it: documents, their statuses, and retrievals."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.documents: dict[str, dict] = {}
        self.statuses = ["partitioning", "chunked", "indexed", "ready"]
        self.errors: list[str] = []
        self.scored_chunks: list[dict] = []
        self.failures: list = []  # responses or exceptions for the next requests, in turn

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"detail": "Invalid API key"})
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        path = request.url.path
        if request.method == "POST" and path == "/documents":
            return self._create(request)
        if request.method == "POST" and path == "/retrievals":
            return httpx.Response(200, json={"scored_chunks": self.scored_chunks})
        if path.startswith("/documents/"):
            document = self.documents.get(path.removeprefix("/documents/"))
            if document is None:
                return httpx.Response(404, json={"detail": "Document not found"})
            if request.method == "GET":
                if self.statuses:
                    document["status"] = self.statuses.pop(0)
                return httpx.Response(200, json={**document, "errors": self.errors})
            if request.method == "DELETE":
                del self.documents[document["id"]]
                return httpx.Response(200, json={"status": "deleted"})
        return httpx.Response(404, json={"detail": "Not Found"})

    def _create(self, request: httpx.Request) -> httpx.Response:
        form = multipart(request)
        metadata = json.loads(form["metadata"]["data"])
        document = {
            "status": "pending",
            "id": str(uuid.uuid4()),
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "name": form["name"]["data"].decode(),
            "metadata": metadata,
            "partition": form["partition"]["data"].decode() if "partition" in form else "default",
            "chunk_count": None,
            "external_id": None,
            "page_count": None,
        }
        self.documents[document["id"]] = document
        return httpx.Response(201, json=document)

    def sent(self, method: str, path_start: str) -> list[httpx.Request]:
        return [
            r for r in self.requests if r.method == method and r.url.path.startswith(path_start)
        ]


def multipart(request: httpx.Request) -> dict:
    """The form fields of a multipart request: {name: {"filename", "type", "data"}}."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + request.read())
    return {
        part.get_param("name", header="content-disposition"): {
            "filename": part.get_filename(),
            "type": part.get_content_type(),
            "data": part.get_payload(decode=True),
        }
        for part in message.iter_parts()
    }


def scored_chunk(document: Document, text: str, *, score=0.8, pages=None, metadata=True):
    """A scored chunk as POST /retrievals returns it (Ragie keeps numbers as floats)."""
    chunk = {
        "text": text,
        "score": score,
        "id": str(uuid.uuid4()),
        "index": 0,
        "document_id": document.ragie_id or str(uuid.uuid4()),
        "document_name": document.filename,
        "document_metadata": (
            {
                "lineled_document_id": float(document.pk),
                "title": document.title,
                "kind": document.kind,
                "document_type": "pdf",
            }
            if metadata
            else {"document_type": "pdf"}
        ),
        "links": {
            "self": {
                "href": f"https://api.ragie.ai/documents/{document.ragie_id}/chunks/1",
                "type": "application/json",
            },
        },
    }
    if pages:
        chunk["metadata"] = {"start_page": pages[0], "end_page": pages[-1]}
    return chunk


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(self, request):
        raise AssertionError(f"the tests tried to reach {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api(settings, monkeypatch):
    """Ragie configured with a key and a partition, answered by a FakeRagie."""
    settings.RAGIE_API_KEY = KEY
    settings.RAGIE_PARTITION = PARTITION
    settings.SEARCH_BACKEND = "ragie"
    fake = FakeRagie()
    monkeypatch.setattr(ragie, "HTTP_CLIENT", fake.client())
    return fake


@pytest.fixture
def fryer():
    document, _ = services.add_document(filename=FRYER.name, data=FRYER.read_bytes())
    document = services.ingest(document.pk)
    assert document.status == Document.Status.READY, document.error
    return document


@pytest.fixture
def eager(monkeypatch):
    """Enqueued Ragie tasks run at once, in this process (retries included)."""
    for name in ("ragie_upload_document", "ragie_delete_document"):
        task = getattr(tasks, name)
        monkeypatch.setattr(task, "delay", lambda *args, task=task: task.apply(args=args))


def uploaded(document: Document, fake: FakeRagie) -> Document:
    ragie.upload(document)
    fake.requests.clear()
    return document


# --- Uploading, polling, deleting --------------------------------------------------------


def test_upload_sends_the_original_pdf_in_hi_res_mode_with_our_metadata(api, fryer):
    created = ragie.upload(fryer)

    [request] = api.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.ragie.ai/documents"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    form = multipart(request)
    assert form["file"]["filename"] == "hb-eq-101-fryer.pdf"
    assert form["file"]["type"] == "application/pdf"
    assert form["file"]["data"] == FRYER.read_bytes()
    assert json.loads(form["mode"]["data"]) == "hi_res"
    assert json.loads(form["metadata"]["data"]) == {
        "lineled_document_id": fryer.pk,
        "title": fryer.title,
        "kind": "pdf",
    }
    assert form["name"]["data"] == b"hb-eq-101-fryer.pdf"
    assert form["partition"]["data"] == PARTITION.encode()
    assert created.status == "pending"
    fryer.refresh_from_db()
    assert fryer.ragie_id == created.id and created.id in api.documents


def test_other_kinds_upload_in_fast_mode_and_without_a_partition_when_none_is_set(api, settings):
    settings.RAGIE_PARTITION = ""
    document, _ = services.add_document(filename="closing.md", data=b"# Closing\n\nMop.\n")
    ragie.upload(document)
    form = multipart(api.requests[-1])
    assert json.loads(form["mode"]["data"]) == "fast"
    assert json.loads(form["metadata"]["data"])["kind"] == "markdown"
    assert "partition" not in form


def test_poll_follows_ragies_status_until_ready(api, fryer):
    uploaded(fryer, api)
    seen = [ragie.poll(fryer) for _ in range(4)]
    assert seen == ["partitioning", "chunked", "indexed", "ready"]
    request = api.requests[-1]
    assert request.method == "GET"
    assert request.url.path == f"/documents/{fryer.ragie_id}"
    assert request.headers["partition"] == PARTITION


def test_poll_can_wait_until_ragie_is_done(api, fryer):
    uploaded(fryer, api)
    assert ragie.poll(fryer, wait=5, interval=0) == "ready"
    assert len(api.sent("GET", "/documents/")) == 4


def test_a_document_ragie_fails_keeps_its_reason_and_stays_ready_here(api, fryer):
    uploaded(fryer, api)
    api.statuses = ["failed"]
    api.errors = ["The file could not be partitioned"]
    assert ragie.poll(fryer) == "failed"
    fryer.refresh_from_db()
    assert fryer.status == Document.Status.READY
    assert fryer.error == "Ragie: The file could not be partitioned"


def test_delete_removes_ragies_copy_and_a_404_means_already_gone(api, fryer):
    uploaded(fryer, api)
    assert ragie.delete(fryer) is True
    request = api.requests[-1]
    assert request.method == "DELETE"
    assert request.url.path == f"/documents/{fryer.ragie_id}"
    assert request.headers["partition"] == PARTITION
    assert not api.documents
    assert ragie.delete(fryer.ragie_id) is False  # Ragie answers 404 now
    assert ragie.delete("") is False


def test_other_delete_errors_are_raised(api, fryer):
    uploaded(fryer, api)
    api.failures = [httpx.Response(401, json={"detail": "Invalid API key"})]
    with pytest.raises(ragie.RagieError, match="HTTP 401: Invalid API key"):
        ragie.delete(fryer)


# --- The hooks and tasks -----------------------------------------------------------------


def ragie_only(callbacks: list) -> list:
    """The on-commit work besides the voice app's (it rebuilds its speech vocabulary
    whenever the manuals change) and the embeddings' (a follow-on task of every ingest)."""
    others = ("rebuild_vocabulary", "embed_document")
    return [c for c in callbacks if not any(name in repr(c) for name in others)]


def test_ingest_sends_the_document_to_ragie_after_commit_and_polls_until_ready(
    api, eager, django_capture_on_commit_callbacks
):
    document, _ = services.add_document(filename=FRYER.name, data=FRYER.read_bytes())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        document = services.ingest(document.pk)
    assert len(ragie_only(callbacks)) == 1
    document.refresh_from_db()
    assert document.status == Document.Status.READY and document.error == ""
    assert api.documents[document.ragie_id]["status"] == "ready"
    assert len(api.sent("POST", "/documents")) == 1
    assert len(api.sent("GET", "/documents/")) == 4  # rescheduled until ready
    assert document.pages.count() == 6 and document.chunks.exists()  # local index intact


def test_a_failing_ragie_upload_is_recorded_and_the_document_stays_ready(
    api, eager, fryer, settings
):
    api.failures = [httpx.Response(402, json={"detail": "Payment required"})]
    tasks.ragie_upload_document.delay(fryer.pk)
    fryer.refresh_from_db()
    assert fryer.status == Document.Status.READY
    assert fryer.error == "Ragie: HTTP 402: Payment required"
    assert fryer.ragie_id == ""
    settings.SEARCH_BACKEND = "local"
    assert search("how long do fries cook")[0].document_id == fryer.pk


def test_transient_ragie_errors_are_retried(api, eager, fryer):
    api.failures = [
        httpx.Response(503, text="upstream unavailable"),
        httpx.ConnectTimeout("timed out"),
    ]
    tasks.ragie_upload_document.delay(fryer.pk)
    fryer.refresh_from_db()
    assert fryer.ragie_id in api.documents and fryer.error == ""
    assert len(api.sent("POST", "/documents")) == 3


def test_ragie_still_processing_after_every_check_is_recorded(api, eager, fryer, monkeypatch):
    monkeypatch.setattr(tasks.ragie_upload_document, "max_retries", 2)
    tasks.ragie_upload_document.delay(fryer.pk)
    fryer.refresh_from_db()
    assert fryer.error == "Ragie: still indexed after 2 checks"
    assert fryer.status == Document.Status.READY


def test_a_document_ragie_lost_is_uploaded_again(api, eager, fryer):
    fryer.ragie_id = "gone-from-ragie"
    Document.objects.filter(pk=fryer.pk).update(ragie_id="gone-from-ragie")
    tasks.ragie_upload_document.delay(fryer.pk)
    fryer.refresh_from_db()
    assert fryer.ragie_id in api.documents


def test_deleting_a_document_deletes_ragies_copy_after_commit(
    api, eager, fryer, django_capture_on_commit_callbacks
):
    uploaded(fryer, api)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.delete_document(fryer)
    assert len(ragie_only(callbacks)) == 1
    assert not api.documents
    assert api.requests[-1].method == "DELETE"


def test_a_deletion_stands_when_the_broker_refuses_ragies_copy(
    api, fryer, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    uploaded(fryer, api)

    def refused(*args, **kwargs):
        raise OperationalError("the broker is down")

    monkeypatch.setattr(tasks.ragie_delete_document, "delay", refused)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_document(fryer)

    assert not Document.objects.filter(pk=fryer.pk).exists()
    assert "ragie_delete_document" in caplog.text  # logged, for ops to see


def test_without_a_key_nothing_is_sent_to_ragie(settings, django_capture_on_commit_callbacks):
    settings.RAGIE_API_KEY = ""
    document, _ = services.add_document(filename=FRYER.name, data=FRYER.read_bytes())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        document = services.ingest(document.pk)
        services.delete_document(document)
    assert ragie_only(callbacks) == []


# --- Searching through Ragie ---------------------------------------------------------------


def ragie_text(chunk) -> str:
    """A local chunk's text as Ragie's own chunker might render it."""
    return f"## {chunk.heading_path[-1]}\n\n" + chunk.text.replace(". ", ".\n")


def test_retrieve_sends_reranked_top_k_in_our_partition(api, fryer):
    uploaded(fryer, api)
    search("how long do fries cook", top_k=3)
    [request] = api.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.ragie.ai/retrievals"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "query": "how long do fries cook",
        "top_k": 3,
        "rerank": True,
        "max_chunks_per_document": 4,
        "partition": PARTITION,
        "recency_bias": False,
    }


def test_scored_chunks_become_passages_citing_local_chunks(api, fryer):
    uploaded(fryer, api)
    chunks = list(fryer.chunks.order_by("order"))
    safety = next(c for c in chunks if c.heading.endswith("2.3 Fryer fire"))  # page 2
    startup = next(c for c in chunks if c.first_page != c.last_page)  # over a page break
    assert (safety.first_page, safety.last_page) == (2, 2)
    spanned = [startup.first_page, startup.last_page]
    api.scored_chunks = [
        scored_chunk(fryer, ragie_text(safety), score=0.91, pages=[2, 2]),
        scored_chunk(fryer, ragie_text(startup), score=0.62, pages=spanned),
    ]

    passages = search("oil fire suppression", top_k=5)

    assert [p.chunk_id for p in passages] == [safety.pk, startup.pk]
    first = passages[0]
    assert isinstance(first, Passage)
    assert first.document_id == fryer.pk
    assert first.title == fryer.title
    assert first.filename == "hb-eq-101-fryer.pdf"
    assert first.pages == [2]
    assert first.heading == safety.heading_path
    assert first.text == ragie_text(safety)
    assert first.score == 0.91
    assert first.boxes == {2: safety.boxes["2"]}
    assert "<mark>fire</mark>" in first.snippet and "<mark>oil</mark>" in first.snippet
    assert first.links["self"]["type"] == "application/json"
    assert passages[1].pages == list(range(spanned[0], spanned[1] + 1))
    assert set(passages[1].boxes) <= set(passages[1].pages)
    assert set(first.as_json()) == {
        "chunk_id",
        "document_id",
        "title",
        "filename",
        "pages",
        "heading",
        "snippet",
        "score",
    }


def test_chunks_without_page_numbers_are_placed_by_the_local_page_text(api, fryer):
    uploaded(fryer, api)
    chunk = fryer.chunks.filter(first_page=2, last_page=2).first()
    api.scored_chunks = [scored_chunk(fryer, chunk.text, pages=None, metadata=False)]
    [passage] = search("smoking oil")  # found by ragie_id, without our metadata
    assert passage.pages == [2]
    assert passage.chunk_id == chunk.pk
    assert passage.heading == chunk.heading_path


def test_a_chunk_unlike_any_local_text_still_cites_a_local_chunk_on_its_page(api, fryer):
    uploaded(fryer, api)
    api.scored_chunks = [scored_chunk(fryer, "Zebra quantum lullaby xylophone.", pages=[3, 3])]
    [passage] = search("zebra")
    chunk = fryer.chunks.get(pk=passage.chunk_id)
    assert chunk.first_page <= 3 <= chunk.last_page
    assert passage.pages == [3]
    assert passage.heading == [] and passage.boxes == {}
    assert "<mark>Zebra</mark>" in passage.snippet


def test_chunks_of_documents_not_ready_here_or_unknown_are_dropped(api, fryer):
    uploaded(fryer, api)
    stranger = Document(pk=987654, title="Elsewhere", filename="x.pdf", kind="pdf")
    api.scored_chunks = [
        scored_chunk(stranger, "Fries are cooked for three minutes.", pages=[1]),
        scored_chunk(fryer, fryer.chunks.get(order=6).text, pages=[2]),
    ]
    assert [p.document_id for p in search("fries smoking")] == [fryer.pk]
    Document.objects.filter(pk=fryer.pk).update(status=Document.Status.PROCESSING)
    assert search("fries smoking") == []


def test_filters_become_ragie_metadata_filters(api, fryer):
    uploaded(fryer, api)
    search("fries", filters={"document_ids": [fryer.pk, 99], "kinds": ["pdf"]})
    search("fries", filters={"kinds": ["pdf", "markdown"]})
    search("fries", filters={"document_ids": [fryer.pk]})
    bodies = [json.loads(r.content) for r in api.sent("POST", "/retrievals")]
    assert bodies[0]["filter"] == {
        "$and": [
            {"lineled_document_id": {"$in": [fryer.pk, 99]}},
            {"kind": {"$in": ["pdf"]}},
        ]
    }
    assert bodies[1]["filter"] == {"kind": {"$in": ["pdf", "markdown"]}}
    assert bodies[2]["filter"] == {"lineled_document_id": {"$in": [fryer.pk]}}
    assert search("fries", filters={"document_ids": []}) == []
    assert len(api.sent("POST", "/retrievals")) == 3  # an empty filter asks nobody


def test_questions_with_nothing_searchable_do_not_reach_ragie(api, fryer):
    assert search("the and of") == []
    assert search("   ") == []
    assert api.requests == []
    with pytest.raises(ValueError):
        search("fries", top_k=0)
    with pytest.raises(ValueError):
        search("fries", filters={"colour": ["red"]})


# --- Falling back and recording ----------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.Response(500, json={"detail": "Internal Server Error"}), "500"),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), "502"),
        (httpx.ReadTimeout("read timed out"), "ReadTimeout"),
        (httpx.ConnectError("connection refused"), "ConnectError"),
    ],
)
def test_when_ragie_fails_the_local_index_answers_and_a_fallback_is_recorded(
    api, fryer, failure, expected
):
    api.failures = [failure]
    local = LocalBackend().search("how long do fries cook", top_k=5, filters=Filters())
    assert local
    assert search("how long do fries cook") == local
    event = SearchEvent.objects.get()
    assert event.backend == "ragie"
    assert event.outcome == SearchEvent.Outcome.FALLBACK
    assert expected in event.error
    assert event.results == len(local)
    assert event.top_k == 5 and event.latency_ms > 0


def test_a_successful_ragie_search_is_recorded_as_ok(api, fryer):
    uploaded(fryer, api)
    api.scored_chunks = [scored_chunk(fryer, fryer.chunks.get(order=6).text, pages=[2])]
    search("smoking oil", top_k=4)
    event = SearchEvent.objects.get()
    assert (event.backend, event.outcome, event.results, event.top_k) == ("ragie", "ok", 1, 4)
    assert event.error == ""


def test_local_searches_are_recorded(settings, fryer):
    settings.SEARCH_BACKEND = "local"
    found = search("how long do fries cook", top_k=3)
    search("x" * 900)
    first, second = SearchEvent.objects.order_by("pk")
    assert (first.backend, first.outcome, first.results, first.top_k) == ("local", "ok", 3, 3)
    assert first.query == "how long do fries cook" and len(found) == 3
    assert first.latency_ms > 0 and first.error == ""
    assert len(second.query) == 500


def test_a_failing_local_search_is_recorded_as_an_error_and_raised(settings, fryer, monkeypatch):
    settings.SEARCH_BACKEND = "local"

    def broken(self, *args, **kwargs):
        raise RuntimeError("index is gone")

    monkeypatch.setattr(LocalBackend, "search", broken)
    with pytest.raises(RuntimeError):
        search("fries")
    event = SearchEvent.objects.get()
    assert event.outcome == SearchEvent.Outcome.ERROR
    assert "RuntimeError: index is gone" in event.error


def test_when_both_fail_the_error_names_both(api, fryer, monkeypatch):
    api.failures = [httpx.Response(500, json={"detail": "Internal Server Error"})]
    monkeypatch.setattr(LocalBackend, "search", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        search("fries")
    event = SearchEvent.objects.get()
    assert event.outcome == SearchEvent.Outcome.ERROR
    assert "HTTP 500: Internal Server Error" in event.error
    assert "ZeroDivisionError" in event.error


def test_recording_can_fail_without_breaking_search(settings, fryer, monkeypatch):
    settings.SEARCH_BACKEND = "local"

    def refuse(self, *args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(SearchEvent, "save", refuse)
    assert search("how long do fries cook")


def test_no_event_is_written_inside_a_broken_transaction(settings, fryer, monkeypatch):
    settings.SEARCH_BACKEND = "local"

    def broken(self, *args, **kwargs):
        raise RuntimeError("the search failed")

    monkeypatch.setattr(LocalBackend, "search", broken)
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(RuntimeError, match="the search failed"):  # not masked
            search("fries")
    assert not SearchEvent.objects.exists()


def test_an_event_written_inside_a_transaction_cannot_doom_it(settings, fryer, monkeypatch):
    settings.SEARCH_BACKEND = "local"
    monkeypatch.setattr(SearchEvent._meta, "db_table", "no_such_table")
    with transaction.atomic():
        assert search("how long do fries cook")  # the INSERT fails in its savepoint
        assert Document.objects.filter(pk=fryer.pk).exists()  # still usable


def test_an_empty_question_is_not_recorded(settings):
    settings.SEARCH_BACKEND = "local"
    assert search("") == []
    assert not SearchEvent.objects.exists()
