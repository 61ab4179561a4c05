"""Every accepted format becomes pages and chunks; locked PDFs fail with a reason.
(``ingest --queue`` and a real worker: test_ingest_recovery.)"""

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from docx import Document as WordDocument
from PIL import Image

from knowledge import services
from knowledge.ingest.detect import Rejected
from knowledge.models import Document
from knowledge.search import search
from tests.knowledge.samples import locked_pdf


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (locked_pdf(), "password-protected"),
        (b"%PDF-1.7\n this is not really a pdf", "damaged or not really a PDF"),
    ],
)
def test_a_locked_or_damaged_pdf_is_refused_at_upload(media, data, reason):
    with pytest.raises(Rejected, match=reason):
        services.add_document(filename="manual.pdf", data=data)
    assert Document.objects.count() == 0
    assert not default_storage.exists("documents")


@pytest.mark.django_db
def test_a_document_left_processing_by_a_dead_worker_can_be_ingested_again(media, settings):
    document, _ = services.add_document(filename="close.md", data=b"# Close\n\nLock up.")
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    Document.objects.filter(pk=document.pk).update(status="processing", updated_at=long_ago)
    document.refresh_from_db()
    assert not services.is_busy(document)
    assert services.ingest(document.pk).status == "ready"
    Document.objects.filter(pk=document.pk).update(status="processing", updated_at=timezone.now())
    document.refresh_from_db()
    assert services.is_busy(document)
    assert services.ingest(document.pk).status == "processing"  # someone is on it


def docx_bytes() -> bytes:
    word = WordDocument()
    word.add_heading("Drive-Thru Headset Care", level=1)
    word.add_paragraph("Charge every headset battery at the end of each shift.")
    word.add_heading("Cleaning the ear cushions", level=2)
    for step in (
        "Remove the cushion from the headset.",
        "Wipe it with a damp cloth and mild soap.",
        "Let it air dry for 20 minutes before refitting.",
    ):
        word.add_paragraph(step, style="List Number")
    word.add_heading("Battery swap", level=2)
    table = word.add_table(rows=3, cols=2)
    for row, cells in zip(  # noqa: B905 - three rows, three tuples
        table.rows, [("Battery", "Swap after"), ("BP-10", "8 hours"), ("BP-20", "12 hours")]
    ):
        row.cells[0].text, row.cells[1].text = cells
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_word_document_is_chunked_by_its_headings_with_steps_kept_together(media):
    document, _ = services.add_document(filename="headsets.docx", data=docx_bytes())
    document = services.ingest(document.pk)
    assert (document.status, document.kind, document.page_count) == ("ready", "docx", 1)
    chunks = {c.heading: c.text for c in document.chunks.all()}
    cushions = chunks["Drive-Thru Headset Care › Cleaning the ear cushions"]
    assert "Remove the cushion" in cushions and "air dry for 20 minutes" in cushions
    assert "BP-20" in chunks["Drive-Thru Headset Care › Battery swap"]
    found = search("how long do headset cushions dry", top_k=1)[0]
    assert found.heading == ["Drive-Thru Headset Care", "Cleaning the ear cushions"]


def png_bytes(size=(320, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_an_image_is_a_one_page_document_found_through_its_caption(media):
    caption = "Allergen chart posted by the walk-in door: sesame is in the brioche bun."
    document, _ = services.add_document(
        filename="allergen-chart.png", data=png_bytes(), caption=caption
    )
    document = services.ingest(document.pk)
    assert (document.status, document.kind, document.page_count) == ("ready", "image", 1)
    page = document.pages.get()
    assert (page.width, page.height) == (320, 200)
    assert page.image.name == document.original.name
    assert search("is there sesame in the bun", top_k=1)[0].document_id == document.pk


@pytest.mark.django_db
def test_an_image_without_a_caption_is_stored_but_not_searchable(media):
    document, _ = services.add_document(filename="diagram.jpg", data=_jpeg())
    document = services.ingest(document.pk)
    assert document.status == "ready" and document.chunk_count == 0


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_failed_reingest_keeps_the_pages_people_are_looking_at(media, monkeypatch):
    from knowledge.demo.loader import MANUALS
    from knowledge.ingest import pdf

    path = MANUALS / "hb-eq-105-dish-machine.pdf"
    document, _ = services.add_document(filename=path.name, data=path.read_bytes())
    assert document.title == "Harbor Burger Co. Dish Machine (HB-EQ-105)"  # from the PDF
    document = services.ingest(document.pk)
    before = list(document.pages.values_list("image", "thumbnail"))
    assert all(default_storage.exists(name) for pair in before for name in pair)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(pdf, "page_boxes", broken)  # fails after every page is rendered
    document = services.ingest(document.pk)
    assert document.status == "failed" and "renderer crashed" in document.error
    assert list(document.pages.values_list("image", "thumbnail")) == before
    assert all(default_storage.exists(name) for pair in before for name in pair)

    monkeypatch.undo()
    document = services.ingest(document.pk)
    after = list(document.pages.values_list("image", "thumbnail"))
    assert document.status == "ready" and len(after) == len(before)
    assert all(default_storage.exists(name) for pair in after for name in pair)
    assert not any(default_storage.exists(name) for pair in before for name in pair)


@pytest.mark.django_db
def test_old_searches_are_pruned_daily(settings):
    from knowledge.models import SearchEvent
    from knowledge.tasks import prune_search_events
    from lineled.celery import app

    assert app.conf.beat_schedule["prune-search-events"]["task"] == "knowledge.prune_search_events"
    settings.SEARCH_EVENT_DAYS = 30
    now = timezone.now()
    old = SearchEvent.objects.create(backend="local", query="old", created_at=now - timedelta(31))
    recent = SearchEvent.objects.create(
        backend="local", query="new", created_at=now - timedelta(29)
    )
    assert prune_search_events() == {"deleted": 1}
    assert list(SearchEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not SearchEvent.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_housekeeping_that_fails_after_the_new_index_is_live_undoes_nothing(media, monkeypatch):
    """ANALYZE (or a cache, or a queue) failing once the new pages are in use must not
    delete those pages and mark the document failed: it is ready, and stays so."""
    from knowledge.demo.loader import MANUALS
    from knowledge.search import schema

    path = MANUALS / "hb-eq-105-dish-machine.pdf"
    document, _ = services.add_document(filename=path.name, data=path.read_bytes())
    before = list(services.ingest(document.pk).pages.values_list("image", flat=True))

    def refused(connection):
        raise RuntimeError("could not ANALYZE: the database went read-only")

    monkeypatch.setattr(schema, "analyze", refused)
    document = services.ingest(document.pk)
    after = list(document.pages.values_list("image", flat=True))
    assert document.status == "ready" and document.error == ""
    assert after and all(default_storage.exists(name) for name in after)
    assert not any(default_storage.exists(name) for name in before)  # the old ones went
    assert search("dish machine", top_k=1)  # and the new index answers
