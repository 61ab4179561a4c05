"""Text-only documents (Markdown, plain text, Word) typeset into pages at ingestion.

The text is wrapped once into lines, the lines cut into US Letter sheets at the 108 dpi
PDFs are rendered at, and each sheet drawn as an image; a chunk's passage becomes boxes
on the sheets it is on, like a PDF's. So a citation of a text document is a stored page
image with a highlight drawn from stored boxes, and no request ever typesets.
"""

from __future__ import annotations

import bisect
import io
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

# Sheets are greyscale (a third of the pixels to draw and compress): the greys of
# --ink, --ink-soft and --line in static/css/app.css.
INK = 32
INK_SOFT = 84
RULE = 217
SHEET = (918, 1188)  # pixels: US Letter at 108 dpi
SHEET_POINTS = (612.0, 792.0)
MARGIN = 72
TITLE_ROOM = 34  # between the top margin and the first line of text
BODY_SIZE = 17
THUMB_WIDTH = 180
# No line holds more characters than this (the narrowest glyphs are about 4 px wide):
# an unbroken word is measured in pieces this long, never whole.
MAX_LINE_CHARS = 250
FONT_NAMES = {
    False: ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf", "Arial.ttf"),
    True: ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "FreeSansBold.ttf", "Arial Bold.ttf"),
}

Rect = list[float]  # [x0, y0, x1, y1]

_fonts = threading.local()  # FreeType faces are not safe to share between threads


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A sans font of ``size`` px: DejaVu/Liberation if installed, else Pillow's own."""
    loaded = _fonts.__dict__.setdefault("loaded", {})
    if (size, bold) not in loaded:
        loaded[size, bold] = _load_font(size, bold)
    return loaded[size, bold]


def _load_font(size: int, bold: bool):
    for name in FONT_NAMES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@dataclass
class Line:
    text: str
    start: int  # offset of text[0] in the document text
    heading: bool
    y: float = 0.0  # from the top of its sheet's text area

    @property
    def height(self) -> float:
        return (BODY_SIZE + 3 if self.heading else BODY_SIZE) * 1.55

    @property
    def font(self):
        return font(BODY_SIZE + 3, bold=True) if self.heading else font(BODY_SIZE)


@dataclass
class Sheet:
    number: int
    lines: list[Line]
    text: str  # the document text it shows


class Layout:
    """A text laid out on sheets; ``draw`` makes a sheet's image, ``boxes`` finds a
    passage on the sheets."""

    def __init__(self, text: str, *, title: str = "", headings: Iterable[str] = ()):
        self.text = text
        self.title = title
        self.sheets = list(_paginate(text, _layout(text, set(headings))))

    def draw(self, sheet: Sheet) -> Image.Image:
        image = Image.new("L", SHEET, 255)
        draw = ImageDraw.Draw(image)
        small = font(BODY_SIZE - 4)
        draw.text((MARGIN, MARGIN - 30), self.title[:90], font=small, fill=INK_SOFT)
        if len(self.sheets) > 1:
            where = f"{sheet.number} / {len(self.sheets)}"
            corner = (SHEET[0] - MARGIN, MARGIN - 30)
            draw.text(corner, where, font=small, fill=INK_SOFT, anchor="ra")
        draw.line([(MARGIN, MARGIN - 8), (SHEET[0] - MARGIN, MARGIN - 8)], fill=RULE, width=1)
        for line in sheet.lines:
            draw.text((MARGIN, MARGIN + TITLE_ROOM + line.y), line.text, font=line.font, fill=INK)
        return image

    def boxes(self, passages: list[str]) -> list[dict[str, list[Rect]]]:
        """Where each passage is, looked for in order, each after where the one before it
        starts: {"<sheet number>": [[x0, y0, x1, y1], ...]} as fractions of the sheet,
        origin top left (as a PDF chunk's boxes); {} for one not found."""
        finder = _Finder(self.text)
        lines = [(sheet.number, line) for sheet in self.sheets for line in sheet.lines]
        starts = [line.start for _, line in lines]
        found, after = [], 0
        for passage in passages:
            span = finder.find(passage, after)
            found.append(self._rects(lines, starts, span) if span else {})
            after = span[0] if span else after
        return found

    @staticmethod
    def _rects(lines, starts, span) -> dict[str, list[Rect]]:
        start, end = span
        rects: dict[str, list[Rect]] = {}
        for number, line in lines[max(bisect.bisect_right(starts, start) - 1, 0) :]:
            if line.start >= end:
                break
            a, b = max(start, line.start), min(end, line.start + len(line.text))
            if a >= b:
                continue
            x0 = MARGIN + line.font.getlength(line.text[: a - line.start])
            x1 = MARGIN + line.font.getlength(line.text[: b - line.start])
            top = MARGIN + TITLE_ROOM + line.y + (line.height - line.font.size * 1.2) / 2
            bottom = top + line.font.size * 1.2
            rects.setdefault(str(number), []).append(
                [
                    round(x0 / SHEET[0], 4),
                    round(top / SHEET[1], 4),
                    round(x1 / SHEET[0], 4),
                    round(bottom / SHEET[1], 4),
                ]
            )
        return rects


def pngs(image: Image.Image) -> tuple[bytes, bytes]:
    """PNG bytes of a sheet and of its thumbnail (as knowledge.ingest.pdf.render)."""
    full = io.BytesIO()
    image.save(full, format="PNG", compress_level=3)
    thumb = image.resize((THUMB_WIDTH, round(image.height * THUMB_WIDTH / image.width)))
    small = io.BytesIO()
    thumb.save(small, format="PNG", compress_level=6)
    return full.getvalue(), small.getvalue()


def find_passage(text: str, passage: str) -> tuple[int, int] | None:
    """Where ``passage`` is in ``text`` (start, end), ignoring differences in whitespace."""
    return _Finder(text).find(passage)


class _Finder:
    """Finds passages in one text, ignoring differences in whitespace (the text is
    flattened once, however many passages are looked for)."""

    def __init__(self, text: str):
        self.flat, self.where = _squash(text)

    def find(self, passage: str, after: int = 0) -> tuple[int, int] | None:
        """(start, end) in the text of the first occurrence starting at ``after`` or later."""
        needle, _ = _squash(passage)
        if not needle:
            return None
        begin = bisect.bisect_left(self.where, after)
        at = self.flat.find(needle, begin)
        if at >= 0:
            return self.where[at], self.where[at + len(needle) - 1] + 1
        # Paragraphs split or joined differently: the beginning and the end on their own.
        edge = min(len(needle) // 2, 80)
        at = self.flat.find(needle[:edge], begin)
        end = self.flat.find(needle[-edge:], at + edge) if at >= 0 else -1
        if at < 0 or end < 0:
            return None
        return self.where[at], self.where[end + edge - 1] + 1


def _squash(text: str) -> tuple[str, list[int]]:
    """Text with runs of whitespace made one space, and each character's original offset."""
    chars, where = [], []
    for match in re.finditer(r"\S+", text):
        if chars:
            chars.append(" ")
            where.append(match.start() - 1)
        chars.extend(match.group())
        where.extend(range(match.start(), match.end()))
    return "".join(chars), where


def _layout(text: str, headings: set[str]) -> list[Line]:
    """Wrap the text into lines that fit the sheet, each knowing its offset and its y
    from the top of the whole text."""
    width = SHEET[0] - 2 * MARGIN
    lines: list[Line] = []
    y, offset = 0.0, 0
    for raw in text.split("\n"):
        start, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            y += BODY_SIZE * 0.7
            continue
        heading = raw.strip() in headings
        if heading and lines:
            y += BODY_SIZE * 0.6
        face = font(BODY_SIZE + 3, bold=True) if heading else font(BODY_SIZE)
        for piece_start, piece in _wrap(raw, face, width):
            lines.append(Line(piece, start + piece_start, heading, y))
            y += lines[-1].height
    return lines


def _wrap(raw: str, face, width: float) -> list[tuple[int, str]]:
    """Greedy word wrap: (offset in ``raw``, text) of each line; long words are cut.
    Nothing longer than MAX_LINE_CHARS is measured, so this is linear in the text."""
    pieces: list[tuple[int, str]] = []
    first = last = None
    for word in re.finditer(r"\S+", raw):
        start, end = word.span()
        if first is not None and (
            end - first > MAX_LINE_CHARS or face.getlength(raw[first:end]) > width
        ):
            pieces.append((first, raw[first:last]))
            first = None
        while first is None and (
            end - start > MAX_LINE_CHARS or face.getlength(raw[start:end]) > width
        ):
            cut = _fit(raw, start, min(end, start + MAX_LINE_CHARS), face, width)
            pieces.append((start, raw[start:cut]))
            start = cut
        if first is None:
            first = start
        last = end
    if first is not None:
        pieces.append((first, raw[first:last]))
    return pieces


def _fit(raw: str, start: int, end: int, face, width: float) -> int:
    """The end of the longest piece of ``raw[start:end]`` that fits ``width`` (at least
    one character), by bisection."""
    cuts = range(start + 1, end + 1)
    fits = bisect.bisect_right(cuts, width, key=lambda cut: face.getlength(raw[start:cut]))
    return cuts[max(fits - 1, 0)]


def _paginate(text: str, lines: list[Line]) -> Iterator[Sheet]:
    """Cut the lines into sheets; each line's y becomes relative to its sheet."""
    room = SHEET[1] - 2 * MARGIN - TITLE_ROOM
    number, current, top = 1, [], 0.0
    for line in lines:
        if current and line.y + line.height - top > room:
            yield _sheet(text, number, current)
            number, current, top = number + 1, [], line.y
        line.y -= top
        current.append(line)
    if current or number == 1:
        yield _sheet(text, number, current)


def _sheet(text: str, number: int, lines: list[Line]) -> Sheet:
    if not lines:
        return Sheet(number, lines, "")
    return Sheet(number, lines, text[lines[0].start : lines[-1].start + len(lines[-1].text)])
