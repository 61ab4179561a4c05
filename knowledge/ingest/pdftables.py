"""Tables on PDF pages, from where their words sit.

pypdfium2 gives a table's text one cell line at a time, so a row comes out in pieces:
"French fries (frozen, 3/8 in", "cut)", then "1 or 2 350°F 3 min 00 s ...". The pieces'
positions put it back together. A line's words split at wide gaps into segments;
segments sharing a baseline make a band (one line of the page across every column);
bands whose segments keep inside the same x ranges make a table; a column's segments one
line-pitch apart make one wrapped cell; cells whose heights overlap make a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import pypdfium2.raw as pdfium_c

if TYPE_CHECKING:
    from knowledge.ingest.pdf import Line

WORD = re.compile(r"\S+")
CELL_GAP = 0.8  # ems: words further apart than this on a line are in different table cells
TABLE_CAPTION = re.compile(r"^Table \d+\.\s")
FIGURE_CAPTION = re.compile(r"^Figure \d+\.\s")
MAX_COLUMNS = 16
MAX_LINES = 200  # a table's lines on one page; bounds the work on a page of thousands


@dataclass
class Segment:
    """Words of a line with no wide gap between them: one cell's line in a table, a whole
    line in prose. Loose character boxes: every segment of a line is as tall as the font."""

    x0: float
    x1: float
    top: float  # distance from the page top, points
    bottom: float
    text: str


def segments(textpage, raw: str, start: int, size: float, page_height: float) -> list[Segment]:
    """The line's words in runs split at gaps wider than ``CELL_GAP``, from two character
    boxes a word (its first and last; a run is as tall as its first word's box)."""
    found: list[Segment] = []
    gap = CELL_GAP * (size or 10.0)
    # pdfium's own call into one reused box: half the time of pypdfium2's get_charbox
    box, charbox, page = pdfium_c.FS_RECTF(), pdfium_c.FPDFText_GetLooseCharBox, textpage.raw
    first = end = -1
    x0 = x1 = top = bottom = 0.0
    for word in WORD.finditer(raw):
        a, b = word.span()
        charbox(page, start + a, box)
        if first >= 0 and box.left - x1 < gap:
            if b - a > 1:
                charbox(page, start + b - 1, box)
            x1, end = max(x1, box.right), b
            continue
        if first >= 0:
            found.append(Segment(x0, x1, top, bottom, " ".join(raw[first:end].split())))
        first, end, x0 = a, b, box.left
        top, bottom = page_height - box.top, page_height - box.bottom
        if b - a > 1:
            charbox(page, start + b - 1, box)
        x1 = box.right
    if first >= 0:
        found.append(Segment(x0, x1, top, bottom, " ".join(raw[first:end].split())))
    return found


@dataclass
class _Band:
    top: float
    bottom: float
    size: float
    parts: list[tuple[Segment, Line]]


@dataclass
class Table:
    caption: Line | None
    lines: list[Line]  # in text-page order
    rows: list[list[str]]  # the header first

    @property
    def text(self) -> str:
        return "\n".join(" | ".join(row) for row in self.rows)


def find_tables(lines: list[Line]) -> list[Table]:
    """The tables among a page's lines: below a "Table N." caption, two or more aligned
    columns; anywhere else, three or more columns over three or more aligned lines."""
    bands = _bands(lines)
    band_of = {id(line): i for i, band in enumerate(bands) for _, line in band.parts}
    captions = {
        band_of[id(line)]: line
        for line in lines
        if TABLE_CAPTION.match(line.text) and id(line) in band_of
    }
    tables: list[Table] = []
    i = 0
    while i < len(bands):
        caption = captions.get(i)
        start = _header_after(bands, i) if caption else i
        if start is None or len(bands[start].parts) < (2 if caption else 3):
            i += 1
            continue
        end, columns = _grow(bands, start, captioned=caption is not None)
        if columns is not None and not caption and _labels_figure(bands, end):
            columns = None
        if columns is None:
            i = max(i + 1, end)  # each line is looked at by one attempt: linear work
            continue
        rows = _rows(bands[start:end], columns)
        used = {id(line) for band in bands[start:end] for _, line in band.parts}
        tables.append(Table(caption, [line for line in lines if id(line) in used], rows))
        i = end
    return tables


def _bands(lines: list[Line]) -> list[_Band]:
    parts = sorted(
        ((s, line) for line in lines for s in line.segments), key=lambda p: (p[0].top, p[0].x0)
    )
    bands: list[_Band] = []
    for segment, line in parts:
        band = bands[-1] if bands else None
        if band is not None and segment.top - band.top < 0.5 * (segment.bottom - segment.top):
            band.parts.append((segment, line))
            band.bottom = max(band.bottom, segment.bottom)
        else:
            bands.append(_Band(segment.top, segment.bottom, line.size, [(segment, line)]))
    for band in bands:
        band.parts.sort(key=lambda p: p[0].x0)
    return bands


def _labels_figure(bands: list[_Band], end: int) -> bool:
    """Whether a "Figure N." caption is among the next few lines: columns of words over
    a figure's caption are the labels of a diagram, not a table."""
    return any(
        FIGURE_CAPTION.match(line.text) for band in bands[end : end + 3] for _, line in band.parts
    )


def _header_after(bands: list[_Band], caption: int) -> int | None:
    """The band a caption's table starts on: the next one with two or more segments,
    past the caption's own wrapped lines."""
    previous = bands[caption]
    for k in range(caption + 1, min(caption + 4, len(bands))):
        band = bands[k]
        if band.top - previous.bottom > 2 * previous.size:
            return None
        if len(band.parts) > 1:
            return k
        previous = band
    return None


def _grow(bands: list[_Band], start: int, captioned: bool) -> tuple[int, list[list[float]] | None]:
    """Where the table whose header is ``bands[start]`` ends (exclusive), and its columns'
    x ranges: None if what follows is not a table after all."""
    header = bands[start]
    size = header.size or 10.0
    columns = [[s.x0, s.x1] for s, _ in header.parts]
    if _overlapping(columns):
        return start + 1, None
    end, multi, bottom = start + 1, 1, header.bottom
    for k in range(start + 1, min(start + MAX_LINES, len(bands))):
        band = bands[k]
        if band.top - bottom > 2 * size or abs(band.size - size) > 0.15 * size:
            break
        placed = _placed(band, columns)
        if placed is None:
            break
        columns = placed
        bottom = max(bottom, band.bottom)
        end = k + 1
        multi += len(band.parts) > 1
    # single lines after the last row belong to it only as a wrapped cell's next line
    last = max(k for k in range(start, end) if len(bands[k].parts) > 1)
    while last + 1 < end and bands[last + 1].top - bands[last].top <= 1.5 * size:
        last += 1
    end = last + 1
    multi_needed, columns_needed = (2, 2) if captioned else (3, 3)
    if multi < multi_needed or len(columns) < columns_needed:
        return end, None
    if not _aligned(bands[start:end], columns, size):
        return end, None
    return end, columns


def _overlapping(columns: list[list[float]]) -> bool:
    return any(a[1] > b[0] for a, b in pairwise(columns))


def _placed(band: _Band, columns: list[list[float]]) -> list[list[float]] | None:
    """The columns widened (or a column added) to take the band's segments; None if a
    segment straddles two columns, as a paragraph's line does."""
    columns = [c[:] for c in columns]
    outside = []
    for segment, _ in band.parts:
        hits = [c for c in columns if segment.x0 < c[1] and segment.x1 > c[0]]
        if len(hits) > 1:
            return None
        if hits:
            hits[0][0], hits[0][1] = min(hits[0][0], segment.x0), max(hits[0][1], segment.x1)
        else:
            outside.append([segment.x0, segment.x1])
    if outside and len(outside) == len(band.parts):
        return None  # nothing in the known columns: not a row of this table
    columns = sorted(columns + outside)
    if len(columns) > MAX_COLUMNS or _overlapping(columns):
        return None
    return columns


def _column(segment: Segment, columns: list[list[float]]) -> int:
    """The column a segment of the table lies in (they were widened to hold them all)."""
    for c, (x0, x1) in enumerate(columns):
        if segment.x0 < x1 and segment.x1 > x0:
            return c
    return 0  # unreachable for a table's own segments


def _aligned(bands: list[_Band], columns: list[list[float]], size: float) -> bool:
    """Whether the segments of each column share a left edge, a right edge or a centre, as
    cells do (the words of justified prose, cut at its wide gaps, do not)."""
    tolerance = 0.5 * size
    found: list[list[Segment]] = [[] for _ in columns]
    for band in bands:
        if len(band.parts) > 1:
            for segment, _ in band.parts:
                found[_column(segment, columns)].append(segment)
    for (x0, x1), segments in zip(columns, found, strict=True):
        if not segments:
            continue
        left = sum(abs(s.x0 - x0) <= tolerance for s in segments)
        right = sum(abs(s.x1 - x1) <= tolerance for s in segments)
        centre = sum(abs(s.x0 + s.x1 - x0 - x1) <= 2 * tolerance for s in segments)
        if max(left, right, centre) < 0.8 * len(segments):
            return False
    return True


def _rows(bands: list[_Band], columns: list[list[float]]) -> list[list[str]]:
    """The table's cells, row by row: a column's segments one line-pitch apart are one
    wrapped cell, and cells whose heights overlap make a row. When the pitch shows no
    wrapping (every line as far from the next), each band is a row."""
    size = bands[0].size or 10.0
    per_column: list[list[Segment]] = [[] for _ in columns]
    for band in bands:
        for segment, _ in band.parts:
            per_column[_column(segment, columns)].append(segment)
    pitches = [b.top - a.top for col in per_column for a, b in pairwise(col)]
    low = min(pitches, default=0.0)
    if pitches and low <= 1.6 * size and max(pitches) > 1.3 * low:
        rows = _rows_by_cells(per_column, 1.3 * low, size)
        if len(rows) * 3 >= sum(len(b.parts) > 1 for b in bands):
            return rows
    rows = []
    for band in bands:
        cells = [[] for _ in columns]
        for segment, _ in band.parts:
            cells[_column(segment, columns)].append(segment.text)
        rows.append([" ".join(c) for c in cells])
    return rows


@dataclass
class _Cell:
    column: int
    top: float
    bottom: float
    last_top: float  # of its last line
    texts: list[str]


def _rows_by_cells(per_column: list[list[Segment]], pitch: float, size: float) -> list[list[str]]:
    cells: list[_Cell] = []
    for c, column in enumerate(per_column):
        for segment in column:
            last = cells[-1] if cells and cells[-1].column == c else None
            if last is not None and segment.top - last.last_top <= pitch:
                last.bottom, last.last_top = segment.bottom, segment.top
                last.texts.append(segment.text)
            else:
                cells.append(_Cell(c, segment.top, segment.bottom, segment.top, [segment.text]))
    cells.sort(key=lambda cell: cell.top)
    rows: list[tuple[list[float], list[list[str]]]] = []  # ([bottom], texts by column)
    for cell in cells:
        if not rows or cell.top >= rows[-1][0][0] - 0.2 * size:
            rows.append(([cell.bottom], [[] for _ in per_column]))
        bottom, texts = rows[-1]
        bottom[0] = max(bottom[0], cell.bottom)
        texts[cell.column] += cell.texts
    return [[" ".join(texts) for texts in by_column] for _, by_column in rows]
