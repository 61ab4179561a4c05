"""Ingestion is bounded: a small file that would cost a worker gigabytes or minutes is
refused with the reason, or stopped and failed, leaving no files behind. The bombs are those
``bench abuse`` uploads (knowledge.benchmarks.bombs), made small here, against limits
lowered for the test."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from knowledge import services
from knowledge.benchmarks.bombs import big_page_pdf, paragraphs, understated, word_document
from knowledge.ingest.detect import Rejected
from knowledge.models import Document, Page
from tests.knowledge.samples import signed_in, text_pdf

pytestmark = pytest.mark.django_db
DOCUMENTS = "/api/knowledge/documents"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def files_under(root) -> list[Path]:
    root = Path(root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(user, name: str, data: bytes):
    return signed_in(user).post(DOCUMENTS, {"file": SimpleUploadedFile(name, data)})


def add(name: str, data: bytes) -> Document:
    return services.add_document(filename=name, data=data)[0]


def test_a_600_byte_pdf_with_a_200_inch_page_is_refused_at_upload_with_the_reason(bob):
    bomb = big_page_pdf(14400)
    assert len(bomb) < 700
    response = upload(bob, "poster.pdf", bomb)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "page 1 of the PDF is 200 × 200 in; pages may be at most 100 in on a side"
    )
    assert Document.objects.count() == 0


def test_a_page_over_the_limits_set_after_upload_fails_at_ingestion_with_the_reason(bob, settings):
    document = add("poster.pdf", big_page_pdf(1440))
    settings.INGEST_MAX_PAGE_POINTS = 720  # lowered since the upload
    services.ingest(document.pk)
    shown = signed_in(bob).get(f"{DOCUMENTS}/{document.pk}").json()
    assert shown["status"] == "failed"
    assert shown["error"] == "page 1 of the PDF is 20 × 20 in; pages may be at most 10 in on a side"
    assert not files_under(Path(settings.MEDIA_ROOT) / "pages")


def test_a_large_page_is_rendered_within_the_pixel_budget(settings):
    settings.INGEST_MAX_PAGE_PIXELS = 250_000
    document = services.ingest(add("plan.pdf", big_page_pdf(2000)).pk)
    assert document.status == "ready", document.error
    with Image.open(document.pages.get().image.path) as image:
        width, height = image.size
    assert width * height <= 250_000 and width >= 490  # 1.5 px/pt would be 3000 × 3000
    assert "walk-in cooler" in document.chunks.get().text.lower()


def test_a_pdf_with_more_pages_than_the_limit_is_refused(settings):
    settings.INGEST_MAX_PAGES = 2
    with pytest.raises(Rejected, match="the PDF has 3 pages; at most 2 are read"):
        add("long.pdf", text_pdf(["one"], ["two"], ["three"]))


ZEROS = {"word/media/zeros.bin": bytes(2 * 1024 * 1024)}


def test_a_word_document_unpacking_past_the_limit_is_refused_from_its_zip_directory(bob, settings):
    settings.INGEST_MAX_UNZIPPED_MB = 1
    bomb = word_document(paragraphs("Fryer safety"), ZEROS)
    assert len(bomb) < 10_000  # 2 MB of zeros pack small
    response = upload(bob, "fryer.docx", bomb)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the Word document unpacks to 2 MB; at most 1 MB are read"
    )
    settings.INGEST_MAX_UNZIPPED_MB = 100
    settings.INGEST_MAX_ZIP_PARTS = 3
    with pytest.raises(Rejected, match="the Word document holds 4 parts; at most 3 are read"):
        add("fryer.docx", bomb)


def test_a_word_document_whose_directory_understates_a_part_is_refused_as_damaged():
    bomb = understated(word_document(paragraphs("Fryer safety"), ZEROS), "word/media/zeros.bin")
    with pytest.raises(Rejected, match="the Word document is damaged"):
        add("fryer.docx", bomb)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "steps.docx",
            word_document(paragraphs(*(f"Step {n}" for n in range(1200)))),
            "the Word document has more than 1,000 paragraphs, the most that are read",
        ),
        (
            "steps.txt",
            "\n\n".join(f"Step {n}." for n in range(1200)).encode(),
            "the document has 1,200 paragraphs; at most 1,000 are read",
        ),
    ],
)
def test_a_document_with_more_paragraphs_than_the_limit_fails_at_once(
    bob, settings, name, data, reason
):
    settings.INGEST_MAX_PARAGRAPHS = 1000
    document = add(name, data)
    services.ingest(document.pk)  # a minute and more were it read: python-docx's lookups
    shown = signed_in(bob).get(f"{DOCUMENTS}/{document.pk}").json()
    assert shown["status"] == "failed"
    assert shown["error"] == f"{reason}: split it into smaller documents"


def test_a_word_body_with_too_many_xml_elements_fails_before_it_is_parsed(settings):
    settings.INGEST_MAX_XML_ELEMENTS = 1000
    runs = b"<w:p>" + b"<w:r><w:t>a</w:t></w:r>" * 600 + b"</w:p>"
    document = services.ingest(add("runs.docx", word_document(runs)).pk)
    assert document.status == "failed"
    assert document.error.startswith("the Word document has more than 1,000 XML elements")


def test_an_ingestion_past_its_time_limit_is_stopped_failed_and_leaves_no_files(settings):
    document = add("long.pdf", text_pdf(["one"], ["two"], ["three"]))
    settings.INGEST_MAX_SECONDS = 0.001  # over once the first page image is written
    document = services.ingest(document.pk)
    assert document.status == "failed"
    assert document.error.startswith("reading the file took longer than 0.001 s and was stopped")
    assert Page.objects.count() == 0
    assert files_under(settings.MEDIA_ROOT) == [Path(document.original.path)]
