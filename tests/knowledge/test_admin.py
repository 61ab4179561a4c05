"""The ops console's knowledge pages: documents, pages, chunks and search events."""

from pathlib import Path
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from knowledge import services, tasks
from knowledge.models import Chunk, Document, Page, SearchEvent
from tests.knowledge.samples import ready_document

pytestmark = pytest.mark.django_db

MANUALS = Path(__file__).resolve().parents[2] / "knowledge" / "demo" / "manuals"
DOCUMENTS = "/admin/knowledge/document/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ops(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def test_only_ops_opens_the_knowledge_pages_of_the_console(alice, bob, ops):
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        response = client.get(DOCUMENTS)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert ops.get(DOCUMENTS).status_code == 200
    index = ops.get("/admin/").content.decode()
    for name in ("Documents", "Pages", "Chunks", "Search events"):
        assert name in index


def test_the_document_list_shows_progress_uploader_and_finds_by_checksum(ops, bob):
    document = ready_document(bob)
    other, _ = services.add_document(filename="closing.md", data=b"# Closing\n\nLock up.")
    html = ops.get(DOCUMENTS).content.decode()
    assert "Walk-in manual" in html and "Closing" in html
    assert ">4/4<" in html  # pages done / page count
    assert ">0/0<" in html
    assert ">bob<" in html

    found = ops.get(DOCUMENTS, {"q": document.checksum}).content.decode()
    assert "Walk-in manual" in found and "Closing" not in found
    queued = ops.get(DOCUMENTS, {"status__exact": "queued"}).content.decode()
    assert "Closing" in queued and "Walk-in manual" not in queued
    assert other.pk


def test_ops_edits_a_title_but_not_what_ingestion_recorded(ops):
    document = ready_document()
    url = f"{DOCUMENTS}{document.pk}/change/"
    html = ops.get(url).content.decode()
    assert 'name="title"' in html and 'name="caption"' in html
    for field in ("checksum", "status", "page_count", "size", "original"):
        assert f'name="{field}"' not in html
    assert document.checksum in html
    assert f'href="/knowledge/documents/{document.pk}/original">hb-eq-104-walk-in.pdf<' in html
    assert f'href="/admin/knowledge/page/?document__id__exact={document.pk}">4 pages<' in html
    assert f"?document__id__exact={document.pk}" in html and " chunks<" in html

    response = ops.post(url, {"title": "Walk-in cooler and freezer", "caption": ""})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.title == "Walk-in cooler and freezer" and document.status == "ready"


def test_documents_are_not_added_in_the_console(ops):
    assert ops.get(f"{DOCUMENTS}add/").status_code == 403


def test_the_reingest_action_requeues_and_enqueues_all_but_those_in_progress(
    ops, django_capture_on_commit_callbacks
):
    ready = ready_document()
    busy, _ = services.add_document(filename="closing.md", data=b"# Closing\n\nLock up.")
    Document.objects.filter(pk=busy.pk).update(status=Document.Status.PROCESSING)

    with (
        mock.patch.object(tasks.ingest_document, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = ops.post(
            DOCUMENTS,
            {"action": "reingest", "_selected_action": [ready.pk, busy.pk]},
            follow=True,
        )

    html = response.content.decode()
    assert "Queued 1 document(s) for ingestion." in html
    assert "Skipped 1 being ingested right now." in html
    delay.assert_called_once_with(ready.pk)
    ready.refresh_from_db()
    assert ready.status == "queued"
    assert services.ingest(ready.pk).status == "ready"


def test_delete_with_files_asks_first_then_removes_rows_and_files(ops):
    document = ready_document()
    names = [document.original.name] + [p.image.name for p in document.pages.all()]
    assert all(default_storage.exists(n) for n in names)
    form = {"action": "delete_selected", "_selected_action": [document.pk]}

    actions = ops.get(DOCUMENTS).content.decode()
    assert '<option value="delete_selected">Delete with files</option>' in actions
    confirm = ops.post(DOCUMENTS, form)
    assert confirm.status_code == 200
    assert b"Are you sure" in confirm.content
    assert Document.objects.count() == 1

    done = ops.post(DOCUMENTS, {**form, "post": "yes"}, follow=True)
    assert done.status_code == 200
    assert Document.objects.count() == 0
    assert Page.objects.count() == 0 and Chunk.objects.count() == 0
    assert not any(default_storage.exists(n) for n in names)


def test_the_delete_button_of_a_document_removes_its_files_too(ops):
    document = ready_document()
    name = document.original.name
    response = ops.post(f"{DOCUMENTS}{document.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Document.objects.exists()
    assert not default_storage.exists(name)


def test_pages_are_found_by_document_title_or_text_and_are_read_only(ops):
    document = ready_document()
    page = document.pages.get(number=2)
    with_text = document.pages.filter(text__contains="Facilities Help Desk")
    html = ops.get("/admin/knowledge/page/", {"q": "Facilities Help Desk"}).content.decode()
    for found in document.pages.all():
        assert (f"/admin/knowledge/page/{found.pk}/change/" in html) == (found in with_text)
    assert page in with_text
    by_title = ops.get("/admin/knowledge/page/", {"q": "Walk-in manual"}).content.decode()
    assert by_title.count("/change/") >= 4
    by_document = ops.get("/admin/knowledge/page/", {"document__id__exact": document.pk})
    assert by_document.content.decode().count("Walk-in manual") >= 4
    change = ops.get(f"/admin/knowledge/page/{page.pk}/change/").content.decode()
    assert 'name="text"' not in change and "41°F" in change
    assert f'href="/knowledge/documents/{document.pk}/pages/2/image.png"' in change
    assert ops.get("/admin/knowledge/page/add/").status_code == 403


def test_chunks_are_found_by_heading_or_text_with_their_pages(ops):
    document = ready_document()
    chunk = Chunk.objects.filter(document=document, heading__contains="Runs Warm").first()
    html = ops.get("/admin/knowledge/chunk/", {"q": "Runs Warm"}).content.decode()
    assert f"/admin/knowledge/chunk/{chunk.pk}/change/" in html
    pages = str(chunk.first_page) if chunk.first_page == chunk.last_page else "–"
    assert pages in html
    filtered = ops.get("/admin/knowledge/chunk/", {"document__id__exact": document.pk})
    assert filtered.status_code == 200
    assert f"{document.chunk_count} chunks" in filtered.content.decode()


def test_search_events_are_a_read_only_log(ops):
    event = SearchEvent.objects.create(
        backend="local", query="fryer oil temperature", results=3, latency_ms=4.2
    )
    SearchEvent.objects.create(
        backend="ragie", query="walk-in warm", outcome="fallback", error="timeout"
    )
    html = ops.get("/admin/knowledge/searchevent/").content.decode()
    assert "fryer oil temperature" in html and "walk-in warm" in html
    fallback = ops.get("/admin/knowledge/searchevent/", {"outcome__exact": "fallback"})
    assert "fryer oil temperature" not in fallback.content.decode()
    assert ops.get("/admin/knowledge/searchevent/add/").status_code == 403
    change = ops.get(f"/admin/knowledge/searchevent/{event.pk}/change/").content.decode()
    assert 'name="query"' not in change and "fryer oil temperature" in change
    assert ops.post(f"/admin/knowledge/searchevent/{event.pk}/delete/").status_code == 403
