"""PDF pages: text with character positions, structure from fonts, and page images."""

from __future__ import annotations

import ctypes
import io
import re
from collections import Counter
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from knowledge.ingest.blocks import ITEM_RE, Block, Span, heading_level
from knowledge.ingest.detect import Rejected
from knowledge.ingest.pdftables import Segment, Table, find_tables, segments

RENDER_SCALE = 1.5  # 108 dpi: legible on a tablet, light enough to ingest fast
THUMB_WIDTH = 180
DIGITS = re.compile(r"\d+")


@dataclass
class Line:
    page: int
    text: str
    start: int
    end: int
    size: float
    bold: bool
    top: float  # distance from the page top, points
    height: float
    segments: list[Segment] = field(default_factory=list)


@dataclass
class PdfPage:
    number: int
    text: str
    width: float
    height: float
    lines: list[Line]


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Rejected("the PDF is password-protected; upload an unlocked copy") from None
        raise Rejected("the PDF is damaged or not really a PDF") from None
    if len(pdf) == 0:
        raise Rejected("the PDF has no pages")
    return pdf


def metadata_title(data: bytes) -> str:
    """The Title in a PDF's metadata ("" if none, or if the file cannot be opened)."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return ""
    try:
        return " ".join((document.get_metadata_dict().get("Title") or "").split())
    finally:
        document.close()


def _lines(textpage, number: int, page_height: float) -> list[Line]:
    text = textpage.get_text_range()
    lines, pos = [], 0
    for raw in text.split("\r\n"):
        start, end = pos, pos + len(raw)
        pos = end + 2
        stripped = raw.strip()
        if not stripped:
            continue
        first = start + (len(raw) - len(raw.lstrip()))
        left, bottom, right, top = textpage.get_charbox(first)
        lines.append(
            Line(
                page=number,
                text=" ".join(stripped.split()),
                start=start,
                end=end,
                size=round(pdfium_c.FPDFText_GetFontSize(textpage.raw, first), 1),
                bold=all(_is_bold(textpage, i) for i in _samples(raw, start)),
                top=page_height - top,
                height=max(top - bottom, 1.0),
            )
        )
        lines[-1].segments = segments(textpage, raw, start, lines[-1].size, page_height)
    return lines


def _samples(raw: str, start: int) -> list[int]:
    """Text-page indexes of the first, middle and last visible characters of a line:
    a bold step number or label does not make the whole line bold."""
    visible = [i for i, ch in enumerate(raw) if not ch.isspace()]
    picks = {visible[0], visible[len(visible) // 2], visible[-1]}
    return [start + i for i in sorted(picks)]


def _is_bold(textpage, index: int) -> bool:
    """Bold by weight, or by the font's name when it gives no weight (the standard
    14 fonts, e.g. Helvetica-Bold, often report none)."""
    if pdfium_c.FPDFText_GetFontWeight(textpage.raw, index) >= 600:
        return True
    size = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, None, 0, None)
    if size <= 0:
        return False
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, size, None)
    name = buffer.value.decode("utf-8", "replace").lower()
    return any(word in name for word in ("bold", "black", "heavy", "semibold"))


def read_page(pdf: pdfium.PdfDocument, index: int) -> PdfPage:
    page = pdf[index]
    width, height = page.get_size()
    textpage = page.get_textpage()
    text = textpage.get_text_range()
    return PdfPage(
        index + 1, text.replace("\r\n", "\n"), width, height, _lines(textpage, index + 1, height)
    )


def read_pages(pdf: pdfium.PdfDocument) -> list[PdfPage]:
    return [read_page(pdf, index) for index in range(len(pdf))]


def render(pdf: pdfium.PdfDocument, index: int, scale: float = RENDER_SCALE) -> tuple[bytes, bytes]:
    """PNG bytes of the page image (``scale`` pixels per point) and of its thumbnail."""
    image = pdf[index].render(scale=scale).to_pil()
    full = io.BytesIO()
    image.save(full, format="PNG", optimize=False, compress_level=3)
    ratio = THUMB_WIDTH / image.width
    thumb = image.resize((THUMB_WIDTH, max(1, round(image.height * ratio))))
    small = io.BytesIO()
    thumb.save(small, format="PNG", compress_level=6)
    return full.getvalue(), small.getvalue()


def page_boxes(pdf: pdfium.PdfDocument, spans: list[Span], sizes: dict[int, tuple[float, float]]):
    """Highlight rectangles of text spans, as fractions of the page, origin top left."""
    boxes: dict[str, list[list[float]]] = {}
    textpages = {}
    for span in spans:
        if span.end <= span.start:
            continue
        tp = textpages.get(span.page) or textpages.setdefault(
            span.page, pdf[span.page - 1].get_textpage()
        )
        width, height = sizes[span.page]
        count = tp.count_rects(span.start, span.end - span.start)
        for i in range(count):
            left, bottom, right, top = tp.get_rect(i)
            boxes.setdefault(str(span.page), []).append(
                [
                    round(left / width, 4),
                    round(1 - top / height, 4),
                    round(right / width, 4),
                    round(1 - bottom / height, 4),
                ]
            )
    return boxes


EDGE = 0.08  # share of the page height at the top and bottom where headers and footers sit


def _at_edge(page: PdfPage, line: Line) -> bool:
    """In the page's top or bottom margin band (by position: PDF text order is not
    reading order, a header is often extracted after the body)."""
    return line.top < page.height * EDGE or line.top + line.height > page.height * (1 - EDGE)


def _running_lines(pages: list[PdfPage]) -> set[str]:
    """Headers and footers: edge lines (digits ignored) repeated on most pages."""
    if len(pages) < 3:
        return set()
    seen = Counter()
    for page in pages:
        edge = [line for line in page.lines if _at_edge(page, line)]
        seen.update({DIGITS.sub("#", line.text) for line in edge})
    return {text for text, n in seen.items() if n >= max(3, len(pages) * 0.5)}


def blocks(pages: list[PdfPage]) -> list[Block]:
    """Group lines into headings, list items, paragraphs and tables, across page breaks.

    A table is one block: its header row, then a row a line, cells joined by " | "; its
    "Table N." caption is a paragraph of its own before it."""
    running = _running_lines(pages)
    sizes = Counter()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 11.0
    heading_sizes = sorted({s for s in sizes if s >= body * 1.08}, reverse=True)
    result: list[Block] = []
    previous: Line | None = None
    for page in pages:
        lines = [
            line
            for line in page.lines
            if not (DIGITS.sub("#", line.text) in running and _at_edge(page, line))
        ]
        tables = find_tables(lines)
        starts = {id(table.lines[0]): table for table in tables}
        inside = {id(line) for table in tables for line in table.lines}
        captions = {id(table.caption) for table in tables}
        for line in lines:
            if id(line) in inside:
                if id(line) in starts:
                    _add_table(result, starts[id(line)])
                previous = line
                continue
            span = Span(line.page, line.start, line.end)
            is_heading = (
                len(line.text) <= 120
                and not line.text.endswith(".")
                and (line.size >= body * 1.08 or (line.bold and line.size >= body))
            )
            if is_heading:
                default = heading_sizes.index(line.size) + 1 if line.size in heading_sizes else 3
                level = heading_level(line.text, default)
                last = result[-1] if result else None
                if (
                    last
                    and last.kind == "heading"
                    and previous
                    and _continues(previous, line, body)
                ):
                    last.text += " " + line.text  # a title wrapped onto a second line
                    last.spans.append(span)
                else:
                    result.append(Block("heading", line.text, line.page, level, [span]))
            elif (
                ITEM_RE.match(line.text)
                or not result
                or result[-1].kind in ("heading", "table")
                or id(line) in captions
                or not (previous and _continues(previous, line, body))
            ):
                kind = "item" if ITEM_RE.match(line.text) else "para"
                result.append(Block(kind, line.text, line.page, spans=[span]))
            else:
                block = result[-1]
                block.text += " " + line.text
                block.spans.append(span)
                block.last_page = line.page
            previous = line
    return result


def _continues(previous: Line, line: Line, body: float) -> bool:
    """Is ``line`` the next line of the same paragraph as ``previous``?"""
    if line.page != previous.page:
        return True  # a paragraph running over a page break
    gap = line.top - (previous.top + previous.height)
    if gap < -previous.height:
        return False  # above the previous line: another column, a box or a header
    return gap < max(body, previous.size) * 0.9


def _add_table(result: list[Block], table: Table) -> None:
    """Append the table's block; a table going on from the foot of the previous page
    (same columns, nothing between) joins that page's block, its repeated header dropped."""
    page = table.lines[0].page
    spans = [Span(line.page, line.start, line.end) for line in table.lines]
    last = result[-1] if result else None
    if (
        table.caption is None
        and last is not None
        and last.kind == "table"
        and last.last_page == page - 1
        and last.text.split("\n", 1)[0].count(" | ") + 1 == len(table.rows[0])
    ):
        rows = table.text.split("\n")
        if rows[0] == last.text.split("\n", 1)[0]:
            rows = rows[1:]
        if rows:
            last.text += "\n" + "\n".join(rows)
        last.spans += spans
        last.last_page = page
        return
    result.append(Block("table", table.text, page, spans=spans))
