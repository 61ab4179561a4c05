"""Tables in PDFs come out of ingestion whole: the header row, then one row a line with
its cells between " | ", each wrapped cell joined back together, and the table's lines
highlighted when it is cited. Pages without a table read as they always did."""

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from knowledge import services
from knowledge.demo.loader import MANUALS
from knowledge.ingest import pdf, pdftables
from knowledge.ingest.pdf import Line
from knowledge.ingest.pdftables import Segment
from knowledge.reading import read
from tools.demo import build

FRYER = MANUALS / "hb-eq-101-fryer.pdf"
FOOD_CODE = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pdf"


def parsed(source: Path | bytes) -> list[pdf.PdfPage]:
    data = source.read_bytes() if isinstance(source, Path) else source
    return pdf.read_pages(pdf.open_pdf(data))


def tables(blocks) -> list:
    return [b for b in blocks if b.kind == "table"]


def cells(table) -> list[list[str]]:
    return [row.split(" | ") for row in table.text.split("\n")]


def table_pdf(rows: list[list[str]], *, caption: str = "", widths=None) -> bytes:
    """A letter page of prose, a reportlab table (its header repeated on every page it
    runs onto) and more prose."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    body = getSampleStyleSheet()["BodyText"]
    story = [Paragraph("The hold cabinet keeps cooked food hot until it is served.", body)]
    if caption:
        story.append(Paragraph(caption, body))
    table = Table(
        [[Paragraph(cell, body) for cell in row] for row in rows], colWidths=widths, repeatRows=1
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [table, Paragraph("Throw away food that is past its hold time.", body)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=letter).build(story)
    return buffer.getvalue()


@pytest.mark.django_db
def test_the_fryer_cook_times_are_one_chunk_of_rows_under_their_column_names(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    document, _ = services.add_document(filename=FRYER.name, data=FRYER.read_bytes())
    document = services.ingest(document.pk)
    chunk = next(c for c in document.chunks.all() if "Cook time" in c.text and "fries" in c.text)
    rows = [b for b in read(chunk.text) if b.kind == "row"]
    assert [r.cells[0] for r in rows] == [
        "French fries (frozen, 3/8 in cut)",  # its label wraps onto a second line
        "Chicken nuggets (raw, breaded, frozen)",
        "Crispy chicken fillet (raw, 4.5 oz)",
        "Onion rings (frozen, battered)",
        "Fish fillet (breaded cod, 3.5 oz)",
    ]
    fries = dict(zip(rows[0].header, rows[0].cells, strict=True))
    assert fries["Oil temp"] == "350°F"
    assert fries["Cook time"] == "3 min 00 s"
    assert fries["Done when"] == "Golden and crisp; shake at 30 s"
    assert fries["Hold time"] == "7 min"  # a header cell that wraps too
    assert rows[0].caption.startswith("Fryer cook times, temperatures and hold times")

    # the citation highlights the whole table, wrapped lines and last row included
    page = pdfium.PdfDocument(FRYER)[2]
    width, height = page.get_size()
    text = page.get_textpage()
    for words in ("cut)", "shake at 30 s", "6 fillets Internal 145°F"):
        start = text.get_text_range().index(words)
        left, bottom, right, top = text.get_charbox(start)
        x, y = (left + right) / 2 / width, 1 - (top + bottom) / 2 / height
        assert any(r[0] <= x <= r[2] and r[1] <= y <= r[3] for r in chunk.boxes["3"]), words


@pytest.mark.parametrize("manual", build.load_manuals(), ids=lambda m: m.filename)
def test_every_demo_table_reads_back_as_the_rows_it_was_written_with(manual):
    written = [
        [[build.plain(cell) for cell in row] for row in block.rows]
        for block in manual.blocks
        if block.kind == "table"
    ]
    blocks = pdf.blocks(parsed(MANUALS / manual.filename))
    assert [cells(t) for t in tables(blocks)] == written
    for i, block in enumerate(blocks):
        if block.kind == "table":  # its caption is a paragraph of its own, just before it
            assert blocks[i - 1].kind == "para" and blocks[i - 1].text.startswith("Table ")


def food_code_pdfs() -> list[Path]:
    return sorted(FOOD_CODE.glob("*.pdf")) if FOOD_CODE.is_dir() else []


@pytest.mark.parametrize(
    "path", [*sorted(MANUALS.glob("*.pdf")), *food_code_pdfs()], ids=lambda p: p.name
)
def test_pages_without_a_table_give_the_blocks_they_always_did(path, monkeypatch):
    pages = parsed(path)
    found = pdf.blocks(pages)
    with monkeypatch.context() as m:
        m.setattr(pdf, "find_tables", lambda lines: [])
        plain = pdf.blocks(pages)
    with_tables = {p for b in tables(found) for p in range(b.page, b.last_page + 1)}

    def elsewhere(blocks):
        return [
            (b.kind, b.text, b.page, b.last_page, b.level, b.spans)
            for b in blocks
            if b.page not in with_tables and b.last_page not in with_tables
        ]

    assert elsewhere(found) == elsewhere(plain)
    if len(with_tables) < len(pages):
        assert elsewhere(found)
    if path.parent == FOOD_CODE:
        assert found == plain  # prose set justified: its wide word gaps are not columns


def test_a_diagrams_labels_in_columns_are_not_a_table():
    blocks = pdf.blocks(parsed(MANUALS / "hb-eq-105-dish-machine.pdf"))
    sink = [b for b in blocks if b.page == 3]
    assert not tables(sink)
    assert "Detergent solution Water at least 110°F Scrub off all soil" in [b.text for b in sink]


def test_a_table_without_a_caption_is_found_by_its_columns_and_its_wrapped_cells_joined():
    rows = [
        ["Item", "Hold time", "Notes"],
        ["Fries", "7 min", "Salt right after they leave the oil, never over the vat"],
        ["Nuggets", "15 min", "Keep in the heated cabinet"],
        ["Onion rings", "10 min", "Hold on a rack so they stay crisp"],
    ]
    blocks = pdf.blocks(parsed(table_pdf(rows, widths=[100, 80, 150])))
    assert [b.kind for b in blocks] == ["para", "table", "para"]
    assert cells(blocks[1]) == rows
    assert blocks[2].text == "Throw away food that is past its hold time."


def test_a_table_running_onto_the_next_page_is_one_table_with_one_header():
    header = ["Day", "Task", "Who"]
    rows = [[f"Day {n}", f"Clean hood filter {n}", "Closer"] for n in range(1, 81)]
    blocks = pdf.blocks(parsed(table_pdf([header, *rows], caption="Table 1. Cleaning plan")))
    (table,) = tables(blocks)
    assert cells(table) == [header, *rows]
    assert table.last_page > table.page == 1
    assert {span.page for span in table.spans} == set(range(1, table.last_page + 1))


def test_finding_tables_takes_time_in_proportion_to_the_lines(monkeypatch):
    calls = []
    placed = pdftables._placed
    monkeypatch.setattr(pdftables, "_placed", lambda *a: calls.append(1) or placed(*a))

    def page(count: int) -> list[Line]:
        """Lines of three words far apart, never quite in the same columns."""
        lines = []
        for n in range(count):
            top, shift = 10.0 * n, (n % 7) * 3.0
            words = [
                Segment(x + shift, x + shift + 30, top, top + 9, "word") for x in (50, 200, 350)
            ]
            lines.append(Line(1, "word word word", 0, 0, 9.0, False, top, 9.0, words))
        return lines

    assert pdftables.find_tables(page(3000)) == []
    assert len(calls) <= 3000
