"""Ingestion: real PDFs become pages with images and chunks that cite the right pages."""

import io
import json
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from knowledge import services
from knowledge.demo import loader
from knowledge.ingest import detect as detect_module
from knowledge.ingest.detect import Rejected
from knowledge.models import Chunk, Document, Page

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
PDFS = CORPUS / "pdf"
needs_corpus = pytest.mark.skipif(
    not PDFS.is_dir(), reason="../shared/corpus is not beside the project"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def add_and_ingest(path: Path) -> Document:
    document, _ = services.add_document(filename=path.name, data=path.read_bytes())
    return services.ingest(document.pk)


@needs_corpus
def test_the_food_code_pdfs_ingest_with_an_image_per_page_and_chunks_on_the_right_pages():
    expected_pages = json.loads((PDFS / "pages.json").read_text())
    covered = set()
    for name, count in (
        ("fda-food-code-2022-chapter-2.pdf", 16),
        ("fda-food-code-2022-chapter-3.pdf", 31),
    ):
        document = add_and_ingest(PDFS / name)
        assert document.status == "ready", document.error
        assert document.page_count == count
        pages = list(document.pages.all())
        assert [p.number for p in pages] == list(range(1, count + 1))
        for page in pages:
            with default_storage.open(page.image.name, "rb") as image:
                assert image.read(8) == b"\x89PNG\r\n\x1a\n"
            assert default_storage.exists(page.thumbnail.name)
        for chunk in document.chunks.all():
            ids = [m.group(0) for h in chunk.heading_path if (m := re.match(r"\d-\d{3}\.\d+", h))]
            if not ids:
                continue
            covered.add(ids[-1])
            assert set(chunk.pages) <= set(expected_pages[ids[-1]]), (ids[-1], chunk.pages)
            for rects in chunk.boxes.values():
                assert all(0 <= v <= 1 for rect in rects for v in rect)
            assert str(chunk.first_page) in chunk.boxes
    assert covered == set(expected_pages)


def test_the_same_file_twice_is_one_document():
    path = Path(loader.__file__).parent / "manuals" / "hb-eq-101-fryer.pdf"  # a short one
    first = add_and_ingest(path)
    again, created = services.add_document(filename="copy.pdf", data=path.read_bytes())
    assert not created and again.pk == first.pk
    call_command("ingest", str(path), stdout=io.StringIO())
    assert Document.objects.count() == 1
    assert Chunk.objects.count() == first.chunk_count


def blank_pdf() -> bytes:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(612, 792)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("empty.pdf", b"", "empty.pdf is empty"),
        (
            "photo.pdf",
            b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
            "named like a PDF but its content is an image",
        ),
        ("notes.txt", bytes(range(256)) * 4, "not a file type Line Lead reads"),
        ("manual.exe", b"MZ\x90\x00" + b"\0" * 100, "not a file type Line Lead reads"),
        ("manual.odt", b"some text", "unknown extension"),
    ],
)
def test_unreadable_uploads_are_rejected_with_a_reason(filename, data, message):
    with pytest.raises(Rejected, match=message):
        services.add_document(filename=filename, data=data)
    assert Document.objects.count() == 0


def test_oversized_files_are_rejected(monkeypatch):
    monkeypatch.setitem(detect_module.SIZE_LIMITS, "text", 1024 * 1024)
    with pytest.raises(Rejected, match=r"big.txt is 2.0 MB; plain text may be at most 1 MB"):
        services.add_document(filename="big.txt", data=b"a" * (2 * 1024 * 1024))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (blank_pdf(), "no text layer"),
    ],
)
def test_a_pdf_that_cannot_be_read_fails_with_a_reason_and_keeps_the_original(data, reason):
    document, _ = services.add_document(filename="broken.pdf", data=data)
    document = services.ingest(document.pk)
    assert document.status == "failed"
    assert reason in document.error
    assert Page.objects.count() == 0 and Chunk.objects.count() == 0
    assert default_storage.exists(document.original.name)


MANUAL = """# Fryer manual

## 3. Filtering the oil

Filter the oil every day after the lunch rush. Wear the face shield and the long gloves.

To filter:

1. Turn the fryer off and let the oil cool to 300°F.
2. Open the drain valve slowly.
3. Run the filter pump for 5 minutes.
4. Close the valve and refill to the fill line.

| Product | Time | Temperature |
| --- | --- | --- |
| Fries | 3:00 | 350°F |
| Nuggets | 3:30 | 350°F |

## 4. Boil-out

Boil out the vat every week.
"""


def test_markdown_chunks_follow_headings_and_keep_steps_and_tables_whole():
    document, _ = services.add_document(filename="fryer.md", data=MANUAL.encode())
    document = services.ingest(document.pk)
    assert document.status == "ready"
    chunks = list(document.chunks.all())
    steps = next(c for c in chunks if "Open the drain valve" in c.text)
    assert steps.heading_path == ["Fryer manual", "3. Filtering the oil"]
    assert all(f"{n}." in steps.text for n in (1, 2, 3, 4))
    assert "To filter:" in steps.text
    table = next(c for c in chunks if "Nuggets" in c.text)
    assert "Fries | 3:00 | 350°F" in table.text
    boil = next(c for c in chunks if "Boil out" in c.text)
    assert boil.heading_path == ["Fryer manual", "4. Boil-out"]
    assert "Filter" not in boil.text


def test_a_failed_document_is_reingested_after_a_fix(monkeypatch):
    document, _ = services.add_document(filename="sop.md", data=MANUAL.encode())

    def explode(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_replace_index", explode)
    document = services.ingest(document.pk)
    assert document.status == "failed" and "disk full" in document.error
    monkeypatch.undo()
    services.requeue(document)
    document = services.ingest(document.pk)
    assert document.status == "ready" and document.chunk_count > 0


def test_deleting_a_document_removes_its_files_pages_and_chunks():
    document, _ = services.add_document(filename="sop.md", data=MANUAL.encode())
    services.ingest(document.pk)
    name = document.original.name
    services.delete_document(document)
    assert not default_storage.exists(name)
    assert Chunk.objects.count() == 0 and Page.objects.count() == 0


def test_the_ingest_command_prints_one_json_object_per_document(tmp_path):
    (tmp_path / "a.md").write_text(MANUAL)
    (tmp_path / "b.txt").write_text("OPENING\n\n1. Unlock the back door.\n2. Turn on the hoods.\n")
    (tmp_path / "skip.bin").write_bytes(b"\0\1")
    out = io.StringIO()
    call_command("ingest", str(tmp_path), "--json", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["filename"] for r in rows] == ["a.md", "b.txt"]
    for row in rows:
        assert set(row) == {"id", "title", "filename", "status", "pages", "chunks", "embedded"}
        assert row["status"] == "ready" and row["pages"] == 1 and row["chunks"] >= 1
        assert row["embedded"] == row["chunks"]  # searchable by meaning as well


def test_the_ingest_command_reports_rejected_files_and_fails(tmp_path):
    (tmp_path / "fake.pdf").write_bytes(b"GIF89a....")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("ingest", str(tmp_path / "fake.pdf"), "--json", stdout=out)
    assert json.loads(out.getvalue())["status"] == "rejected"
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest", str(tmp_path / "missing.pdf"))
