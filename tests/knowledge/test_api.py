"""The knowledge API: uploading, listing, changing and deleting documents, pages, search."""

import io
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, encode_multipart
from PIL import Image

from knowledge import services, tasks
from knowledge.ingest import detect
from knowledge.models import Chunk, Document, Page
from lineled.services import create_token
from tests.knowledge.samples import WALK_IN, locked_pdf, scanned_pdf, signed_in
from tests.knowledge.samples import ready_document as _ready_document

pytestmark = pytest.mark.django_db

MANUALS = Path(__file__).resolve().parents[2] / "knowledge" / "demo" / "manuals"
MB = 1024 * 1024
DOCUMENTS = "/api/knowledge/documents"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def delay():
    """The Celery task's ``delay``, replaced by a mock: what was enqueued, not run."""
    with mock.patch.object(tasks.ingest_document, "delay") as patched:
        yield patched


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def pdf_upload(name: str = "hb-eq-104-walk-in.pdf", data: bytes | None = None):
    data = WALK_IN.read_bytes() if data is None else data
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def png_bytes(color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def ready_document(user=None, path=WALK_IN, title=""):
    """A manual ingested now, titled from its PDF unless ``title`` is given."""
    return _ready_document(user, path, title)


def upload(client: Client, file, **fields):
    return client.post(DOCUMENTS, {"file": file, **fields})


# --- Upload ---------------------------------------------------------------------


def test_a_manager_uploads_a_pdf_and_it_is_queued_then_ingested_by_the_worker(
    bob, delay, django_capture_on_commit_callbacks
):
    client = signed_in(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, pdf_upload(), title="Walk-in manual")

    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Walk-in manual"
    assert body["filename"] == "hb-eq-104-walk-in.pdf"
    assert body["kind"] == "pdf" and body["status"] == "queued"
    assert body["size"] == WALK_IN.stat().st_size
    assert body["uploaded_by"] == "bob"
    assert body["duplicate"] is False
    assert body["progress"] == 0 and body["chunk_count"] == 0
    assert body["url"] == f"/knowledge/documents/{body['id']}/"
    assert body["original_url"] == f"/knowledge/documents/{body['id']}/original"
    delay.assert_called_once_with(body["id"])

    services.ingest(body["id"])  # what the worker does with it

    ready = client.get(f"{DOCUMENTS}/{body['id']}").json()
    assert ready["status"] == "ready" and ready["error"] == ""
    assert ready["page_count"] == ready["pages_done"] == 4
    assert ready["progress"] == 1
    assert ready["chunk_count"] > 0 and ready["ingested_at"]


def test_the_same_file_uploaded_again_is_the_known_document_marked_duplicate(
    bob, delay, django_capture_on_commit_callbacks
):
    client = signed_in(bob)
    first = upload(client, pdf_upload()).json()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = upload(client, pdf_upload("walk-in copy.pdf"), title="Another title")

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first["id"]
    assert again.json()["title"] == first["title"]
    assert Document.objects.count() == 1
    assert callbacks == [] and not delay.called


@pytest.mark.parametrize(
    ("data", "title"),
    [
        (b"Intro line.\n\n## Steps\n\n# Closing the Store #\n\nLock up.", "Closing the Store"),
        (b"## Steps only\n\nLock the back door.", "closing checklist"),
    ],
)
def test_a_markdown_upload_is_titled_from_its_first_heading_else_its_file_name(
    bob, delay, data, title
):
    file = SimpleUploadedFile("closing_checklist.md", data, content_type="text/markdown")
    response = upload(signed_in(bob), file)
    assert response.status_code == 201
    assert response.json()["title"] == title


def test_a_file_whose_content_does_not_match_its_name_is_rejected_and_nothing_is_kept(
    bob, settings, delay
):
    photo = SimpleUploadedFile("manual.pdf", png_bytes(), content_type="application/pdf")
    response = upload(signed_in(bob), photo)

    assert response.status_code == 400
    assert response.json() == {
        "message": "manual.pdf is named like a PDF but its content is an image"
    }
    assert Document.objects.count() == 0
    assert media_files(settings) == []
    assert not delay.called


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", bytes(range(256)) * 4, "not a file type Line Lead reads"),
        ("manual.odt", b"some text", "unknown extension"),
        ("damaged.pdf", b"%PDF-1.7\n" + b"\x00" * 50, "damaged or not really a PDF"),
        ("locked.pdf", locked_pdf(), "password-protected; upload an unlocked copy"),
        ("scan.pdf", scanned_pdf(), None),
    ],
)
def test_unreadable_files_are_rejected_or_fail_with_a_reason(bob, name, data, message):
    response = upload(signed_in(bob), SimpleUploadedFile(name, data))
    if message is None:
        # A readable PDF without text: accepted, and ingestion says what is wrong.
        assert response.status_code == 201
        document = services.ingest(response.json()["id"])
        assert document.status == "failed" and "no text layer" in document.error
    else:
        assert response.status_code == 400
        assert message in response.json()["message"]
        assert Document.objects.count() == 0


def test_an_upload_without_a_file_or_with_an_empty_one_says_what_is_missing(bob):
    client = signed_in(bob)
    response = client.post(DOCUMENTS, {"title": "no file"})
    assert response.status_code == 400
    assert "choose a file" in response.json()["message"]

    response = upload(client, SimpleUploadedFile("empty.pdf", b""))
    assert response.status_code == 400
    assert response.json()["message"] == "empty.pdf is empty"
    assert Document.objects.count() == 0


def test_a_file_over_its_kinds_limit_is_refused_with_413_without_being_read(
    bob, monkeypatch, settings
):
    monkeypatch.setitem(detect.SIZE_LIMITS, "text", 1 * MB)
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("big.txt", b"a" * 2 * MB)})
    with mock.patch.object(InMemoryUploadedFile, "read", side_effect=AssertionError("read")):
        multipart = f"multipart/form-data; boundary={BOUNDARY}"
        response = signed_in(bob).post(DOCUMENTS, body, content_type=multipart)

    assert response.status_code == 413
    assert response.json()["message"] == "big.txt is 2.0 MB; plain text may be at most 1 MB"
    assert Document.objects.count() == 0
    assert media_files(settings) == []


def test_an_image_is_uploaded_with_its_caption_and_the_caption_is_searchable(bob, delay):
    photo = SimpleUploadedFile("fryer-panel.png", png_bytes(), content_type="image/png")
    response = upload(signed_in(bob), photo, caption="Fryer control panel: the filter pump switch")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "image"
    assert body["caption"] == "Fryer control panel: the filter pump switch"

    services.ingest(body["id"])
    found = signed_in(bob).get("/api/knowledge/search", {"q": "filter pump switch"}).json()
    assert [r["document_id"] for r in found["results"]] == [body["id"]]


def test_a_managers_token_uploads_without_a_session(bob, delay):
    _, token = create_token(bob, "back-office laptop")
    client = Client(enforce_csrf_checks=True)
    response = client.post(DOCUMENTS, {"file": pdf_upload()}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201
    assert response.json()["uploaded_by"] == "bob"


# --- Roles ------------------------------------------------------------------------


def test_crew_can_read_the_library_but_not_change_it(alice, bob, delay):
    document = ready_document(bob)
    client = signed_in(alice)
    assert client.get(DOCUMENTS).status_code == 200
    assert client.get(f"{DOCUMENTS}/{document.pk}").status_code == 200
    assert client.get(f"{DOCUMENTS}/{document.pk}/pages/1").status_code == 200

    attempts = [
        upload(client, pdf_upload("other.pdf", b"%PDF-1.7 other")),
        client.patch(
            f"{DOCUMENTS}/{document.pk}", {"title": "mine"}, content_type="application/json"
        ),
        client.post(f"{DOCUMENTS}/{document.pk}/reingest"),
        client.delete(f"{DOCUMENTS}/{document.pk}"),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert response.json() == {"message": "this needs the manager role"}
    document.refresh_from_db()
    assert document.title != "mine" and document.status == "ready"
    assert Document.objects.count() == 1
    assert not delay.called


def test_a_stranger_gets_401_json(client):
    for response in (
        client.get(DOCUMENTS),
        client.post(DOCUMENTS),
        client.get("/api/knowledge/search", {"q": "fryer"}),
    ):
        assert response.status_code == 401
        assert "sign in" in response.json()["message"]


# --- List and detail ----------------------------------------------------------------


def test_the_list_filters_by_status_kind_and_title_and_pages_through(alice, bob):
    ready = ready_document(bob, title="Walk-in manual")
    services.add_document(
        filename="closing.md", data=b"# Closing\n\nLock the back door.", title="Closing"
    )
    services.add_document(filename="opening.txt", data=b"OPENING\n\nUnlock it.", title="Opening")
    client = signed_in(alice)

    everything = client.get(DOCUMENTS).json()
    assert everything["count"] == 3
    assert [d["title"] for d in everything["items"]] == ["Closing", "Opening", "Walk-in manual"]
    assert everything["items"][2]["uploaded_by"] == "bob"
    assert everything["items"][0]["uploaded_by"] is None

    def titles(**query):
        return [d["title"] for d in client.get(DOCUMENTS, query).json()["items"]]

    assert titles(status="ready") == [ready.title]
    assert titles(status="queued") == ["Closing", "Opening"]
    assert titles(kind="markdown") == ["Closing"]
    assert titles(q="WALK") == [ready.title]
    assert titles(limit=1, offset=1) == ["Opening"]

    bad = client.get(DOCUMENTS, {"status": "lost"})
    assert bad.status_code == 422
    assert bad.json()["message"].startswith("invalid input: status")


def test_the_list_does_not_query_per_document(alice, bob, django_assert_max_num_queries):
    for n in range(5):
        services.add_document(filename=f"sop-{n}.txt", data=f"Step {n}".encode(), uploaded_by=bob)
    client = signed_in(alice)
    with django_assert_max_num_queries(6):
        assert len(client.get(DOCUMENTS).json()["items"]) == 5


def test_an_unknown_document_is_a_404_json(alice):
    response = signed_in(alice).get(f"{DOCUMENTS}/999")
    assert response.status_code == 404
    assert response.json() == {"message": "no document with id 999"}


# --- Edit, re-ingest, delete -----------------------------------------------------------


def test_a_manager_renames_a_document_without_re_ingesting_it(bob, delay):
    document = ready_document(bob)
    client = signed_in(bob)
    response = client.patch(
        f"{DOCUMENTS}/{document.pk}",
        {"title": "  Walk-in cooler manual  "},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Walk-in cooler manual"
    assert response.json()["status"] == "ready"
    assert not delay.called

    blank = client.patch(
        f"{DOCUMENTS}/{document.pk}", {"title": "   "}, content_type="application/json"
    )
    assert blank.status_code == 400
    assert blank.json()["message"] == "the title cannot be blank"


def test_a_new_caption_on_an_image_re_ingests_it(bob, delay, django_capture_on_commit_callbacks):
    document, _ = services.add_document(
        filename="label.png", data=png_bytes(), caption="Sanitizer bucket label"
    )
    services.ingest(document.pk)
    client = signed_in(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            f"{DOCUMENTS}/{document.pk}",
            {"caption": "Quat sanitizer test strip chart"},
            content_type="application/json",
        )
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert response.json()["caption"] == "Quat sanitizer test strip chart"
    delay.assert_called_once_with(document.pk)

    services.ingest(document.pk)
    found = client.get("/api/knowledge/search", {"q": "test strip"}).json()["results"]
    assert [r["document_id"] for r in found] == [document.pk]


def test_a_caption_cannot_change_while_the_image_is_being_ingested(bob, delay):
    document, _ = services.add_document(filename="label.png", data=png_bytes())
    Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING)
    response = signed_in(bob).patch(
        f"{DOCUMENTS}/{document.pk}", {"caption": "new"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "being ingested" in response.json()["message"]
    document.refresh_from_db()
    assert document.caption == ""


def test_reingest_queues_the_document_again_and_refuses_while_it_is_processing(
    bob, delay, django_capture_on_commit_callbacks
):
    document = ready_document(bob)
    client = signed_in(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{DOCUMENTS}/{document.pk}/reingest")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    delay.assert_called_once_with(document.pk)
    assert services.ingest(document.pk).status == "ready"

    Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING)
    busy = client.post(f"{DOCUMENTS}/{document.pk}/reingest")
    assert busy.status_code == 409
    assert "being ingested" in busy.json()["message"]
    assert delay.call_count == 1


def test_deleting_a_document_removes_it_its_files_and_its_search_results(bob, settings):
    document = ready_document(bob)
    client = signed_in(bob)
    assert client.get("/api/knowledge/search", {"q": "walk-in cooler"}).json()["results"]
    assert media_files(settings)

    response = client.delete(f"{DOCUMENTS}/{document.pk}")
    assert response.status_code == 204
    assert client.get(f"{DOCUMENTS}/{document.pk}").status_code == 404
    assert Page.objects.count() == 0 and Chunk.objects.count() == 0
    assert media_files(settings) == []
    assert client.get("/api/knowledge/search", {"q": "walk-in cooler"}).json()["results"] == []
    assert client.delete(f"{DOCUMENTS}/{document.pk}").status_code == 404


# --- Pages ----------------------------------------------------------------------------


def test_a_page_comes_with_its_text_image_urls_and_the_passages_on_it(alice, bob):
    document = ready_document(bob)
    response = signed_in(alice).get(f"{DOCUMENTS}/{document.pk}/pages/2")
    assert response.status_code == 200
    page = response.json()
    assert page["number"] == 2 and page["page_count"] == 4
    assert page["document_id"] == document.pk
    assert "41°F" in page["text"]
    assert page["width"] > 0 and page["height"] > 0
    assert page["image_url"] == f"/knowledge/documents/{document.pk}/pages/2/image.png"
    assert page["thumbnail_url"] == f"/knowledge/documents/{document.pk}/pages/2/thumbnail.png"
    expected = list(
        Chunk.objects.filter(document=document, first_page__lte=2, last_page__gte=2).values_list(
            "id", flat=True
        )
    )
    assert [c["id"] for c in page["chunks"]] == expected and expected
    for chunk in page["chunks"]:
        assert set(chunk) == {"id", "order", "heading", "text", "first_page", "last_page"}
        assert chunk["first_page"] <= 2 <= chunk["last_page"]
        assert isinstance(chunk["heading"], list)
    assert any("Walk-In Runs Warm" in " ".join(c["heading"]) for c in page["chunks"])


def test_an_unknown_page_or_document_is_a_404_json(alice, bob):
    document = ready_document(bob)
    client = signed_in(alice)
    response = client.get(f"{DOCUMENTS}/{document.pk}/pages/5")
    assert response.status_code == 404
    assert response.json() == {"message": f"{document.title} has no page 5"}
    response = client.get(f"{DOCUMENTS}/999/pages/1")
    assert response.status_code == 404
    assert response.json() == {"message": "no document with id 999"}


# --- Search -----------------------------------------------------------------------------


def test_search_returns_passages_with_page_images_that_highlight_them(alice, bob):
    document = ready_document(bob)
    response = signed_in(alice).get(
        "/api/knowledge/search", {"q": "walk-in cooler above 41", "top_k": 3}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "walk-in cooler above 41"
    assert 1 <= len(body["results"]) <= 3
    for passage in body["results"]:
        assert set(passage) == {
            "chunk_id",
            "document_id",
            "title",
            "filename",
            "pages",
            "heading",
            "snippet",
            "score",
            "url",
            "image_url",
            "thumbnail_url",
        }
        first = passage["pages"][0]
        base = f"/knowledge/documents/{document.pk}/pages/{first}"
        assert passage["image_url"] == f"{base}/image.png?chunk={passage['chunk_id']}"
        assert passage["thumbnail_url"] == f"{base}/thumbnail.png?chunk={passage['chunk_id']}"
        assert passage["url"] == f"{base}/?chunk={passage['chunk_id']}"
        assert passage["filename"] == "hb-eq-104-walk-in.pdf"
    assert "<mark>" in body["results"][0]["snippet"]


def test_search_with_a_bad_top_k_is_a_400_and_a_query_with_no_words_finds_nothing(alice):
    client = signed_in(alice)
    response = client.get("/api/knowledge/search", {"q": "fryer", "top_k": 0})
    assert response.status_code == 400
    assert response.json() == {"message": "top_k must be an integer from 1 to 50"}
    assert client.get("/api/knowledge/search", {"q": "  "}).json()["results"] == []


def test_the_openapi_schema_documents_the_knowledge_endpoints(alice):
    schema = signed_in(alice).get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths[DOCUMENTS]) == {"get", "post"}
    assert set(paths[DOCUMENTS + "/{document_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths[DOCUMENTS + "/{document_id}/reingest"]
    assert "get" in paths[DOCUMENTS + "/{document_id}/pages/{number}"]
    assert "get" in paths["/api/knowledge/search"]
    upload_op = paths[DOCUMENTS]["post"]
    assert {"200", "201", "400", "403", "413"} <= set(upload_op["responses"])
    form = upload_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "title", "caption"} <= set(form["properties"])
    fields = schema["components"]["schemas"]["DocumentOut"]["properties"]
    assert {"progress", "uploaded_by", "url", "original_url", "chunk_count"} <= set(fields)
