"""Visual citations: page images with the cited passage highlighted like a marker pen.

PDF and image pages are drawn on their stored image; text-only pages (Markdown, plain
text, Word) are typeset as a clean page first, so every citation is a picture. Rendered
images are cached under MEDIA_ROOT/citations/<document id>/, keyed by everything that
can change them, so a re-ingest never serves a stale highlight.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import mimetypes
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from knowledge.models import Chunk, Document, Page

logger = logging.getLogger(__name__)

RENDER_VERSION = 1  # bump when the drawing changes, so cached images are redrawn
THUMB_WIDTH = 240
MARKER = (255, 222, 60)  # marker yellow, multiplied into the paper like real ink
MARKER_STRENGTH = 0.85  # how much of the marker colour shows (1 = fully opaque ink)
EDGE = (242, 164, 19)  # --amber in static/css/app.css
EDGE_ALPHA = 200
INSIDE = [255 if v == 128 else 0 for v in range(256)]  # mask values to composite masks
OUTLINE = [EDGE_ALPHA if v == 255 else 0 for v in range(256)]
INK = (27, 33, 41)  # --ink
INK_SOFT = (74, 85, 99)  # --ink-soft
RULE = (220, 217, 208)  # --line

# The text page: US Letter at the 108 dpi PDFs are rendered at (knowledge.ingest.pdf).
SHEET = (918, 1188)
MARGIN = 72
TITLE_ROOM = 34  # between the top margin and the first line of text
BODY_SIZE = 17
FONT_NAMES = {
    False: ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf", "Arial.ttf"),
    True: ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "FreeSansBold.ttf", "Arial Bold.ttf"),
}


# --- URLs -----------------------------------------------------------------------------


def image_url(document_id: int, page: int, chunk_id: int | None = None) -> str:
    """URL of the page image, with the chunk's passage highlighted when one is given."""
    return _url("knowledge:page-image", document_id, page, chunk_id)


def thumbnail_url(document_id: int, page: int, chunk_id: int | None = None) -> str:
    """URL of the small (240 px wide) page image, highlighted when a chunk is given."""
    return _url("knowledge:page-thumbnail", document_id, page, chunk_id)


def _url(name: str, document_id: int, page: int, chunk_id: int | None) -> str:
    url = reverse(name, args=[document_id, page])
    return f"{url}?chunk={int(chunk_id)}" if chunk_id is not None else url


# --- Drawing the highlight -----------------------------------------------------------

Rect = list[float]  # [x0, y0, x1, y1] in pixels


def highlight(image_bytes: bytes, boxes: Iterable[Rect], *, width: int | None = None) -> bytes:
    """PNG of the page image with ``boxes`` (fractions of the page, origin top left) marked.

    ``width`` scales the image down first (for thumbnails); the marker is drawn at the
    final size so it stays crisp.
    """
    with Image.open(io.BytesIO(image_bytes)) as source:
        image = _scaled(_rgb(ImageOps.exif_transpose(source)), width)
    w, h = image.size
    rects = [[x0 * w, y0 * h, x1 * w, y1 * h] for x0, y0, x1, y1 in boxes]
    return _png(mark(image, rects))


def mark(image: Image.Image, rects: list[Rect]) -> Image.Image:
    """Draw a marker-pen highlight over pixel rectangles of text lines (RGB in and out).

    Lines that follow each other become one shape, shaped like selected text (inner
    lines run the full width) with a single outline, so it reads as one passage.
    """
    strokes = [stroke for block in _blocks(rects, image.size) for stroke in block]
    if not strokes:
        return image
    line = min(s[3] - s[1] for s in strokes)
    rim = max(1, round(line * 0.12))
    radius = max(1, round(line * 0.3))
    mask = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(mask)
    for x0, y0, x1, y1 in strokes:  # every stroke grown by the rim width...
        draw.rounded_rectangle([x0 - rim, y0 - rim, x1 + rim, y1 + rim], radius + rim, fill=255)
    for box in strokes:  # ...then the insides painted over, leaving only the outer edge
        draw.rounded_rectangle(box, radius, fill=128)
    ink = ImageChops.multiply(image, Image.new("RGB", image.size, MARKER))
    inked = Image.composite(Image.blend(image, ink, MARKER_STRENGTH), image, mask.point(INSIDE))
    return Image.composite(Image.new("RGB", image.size, EDGE), inked, mask.point(OUTLINE))


def _blocks(rects: list[Rect], size: tuple[int, int]) -> list[list[Rect]]:
    """Padded strokes, one per text line, grouped into blocks of neighbouring lines."""
    w, h = size
    blocks: list[list[Rect]] = []
    for x0, y0, x1, y1 in _lines(rects):
        pad_y, pad_x = (y1 - y0) * 0.22, (y1 - y0) * 0.35
        stroke = [max(0, x0 - pad_x), max(0, y0 - pad_y), min(w - 1, x1 + pad_x), y1 + pad_y]
        stroke[3] = min(h - 1, stroke[3])
        if blocks and _adjacent(blocks[-1][-1], stroke):
            blocks[-1].append(stroke)
        else:
            blocks.append([stroke])
    for block in blocks:
        left, right = min(s[0] for s in block), max(s[2] for s in block)
        for upper, lower in zip(block, block[1:], strict=False):
            upper[2], lower[0] = right, left  # like a text selection: no ragged inner edges
            middle = (upper[3] + lower[1]) / 2
            overlap = (lower[3] - lower[1]) * 0.4  # so rounded corners leave no notch
            upper[3], lower[1] = middle + overlap, middle - overlap
    return blocks


def _adjacent(upper: Rect, lower: Rect) -> bool:
    """Are two padded line strokes close enough to be read as one passage?"""
    height = min(upper[3] - upper[1], lower[3] - lower[1])
    overlaps = upper[0] < lower[2] and lower[0] < upper[2]
    return overlaps and lower[1] - upper[3] < height * 1.6


def _lines(rects: list[Rect]) -> list[Rect]:
    """Rectangles grouped into text lines (by vertical overlap), each line one rectangle."""
    lines: list[Rect] = []
    for x0, y0, x1, y1 in sorted(rects, key=lambda r: ((r[1] + r[3]) / 2, r[0])):
        if x1 <= x0 or y1 <= y0:
            continue
        centre = (y0 + y1) / 2
        last = lines[-1] if lines else None
        if last and last[1] <= centre <= last[3] and y0 < (last[1] + last[3]) / 2 < y1:
            last[:] = [min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)]
        else:
            lines.append([x0, y0, x1, y1])
    return lines


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        paper = Image.new("RGB", image.size, (255, 255, 255))
        paper.paste(image, mask=image.getchannel("A"))
        return paper
    return image.convert("RGB")


def _scaled(image: Image.Image, width: int | None) -> Image.Image:
    if not width or image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


# --- Text-only pages -------------------------------------------------------------------


_fonts = threading.local()  # FreeType faces are not safe to share between threads


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A sans font of ``size`` px: DejaVu/Liberation if installed, else Pillow's own."""
    loaded = _fonts.__dict__.setdefault("loaded", {})
    if (size, bold) not in loaded:
        loaded[size, bold] = _load_font(size, bold)
    return loaded[size, bold]


def _load_font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in FONT_NAMES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@dataclass
class _TextLine:
    text: str
    start: int  # offset of text[0] in the page text
    heading: bool
    y: float = 0.0


def render_text_page(
    text: str,
    *,
    passage: str = "",
    title: str = "",
    headings: Iterable[str] = (),
    width: int | None = None,
) -> bytes:
    """PNG of a text-only page typeset on a white sheet, ``passage`` highlighted if found.

    A long text shows the sheet-sized window around the passage (the top without one).
    """
    body, bold = _font(BODY_SIZE), _font(BODY_SIZE + 3, bold=True)
    lines = _layout(text, set(headings), SHEET[0] - 2 * MARGIN, body, bold)
    span = find_passage(text, passage) if passage else None
    rects = _passage_rects(lines, span, body, bold) if span else []
    top, bottom = _window(lines, rects)
    header = MARGIN + TITLE_ROOM
    height = max(SHEET[1], round(bottom - top) + header + MARGIN)
    image = Image.new("RGB", (SHEET[0], height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    small = _font(BODY_SIZE - 4)
    draw.text((MARGIN, MARGIN - 30), title[:90], font=small, fill=INK_SOFT)
    draw.line([(MARGIN, MARGIN - 8), (SHEET[0] - MARGIN, MARGIN - 8)], fill=RULE, width=1)
    shift = header - top
    for line in lines:
        if top <= line.y and line.y + _height(line) <= bottom:
            font = bold if line.heading else body
            draw.text((MARGIN, line.y + shift), line.text, font=font, fill=INK)
    if top > 0:
        draw.text((SHEET[0] / 2, header - 22), "⋯", font=body, fill=INK_SOFT, anchor="mm")
    if bottom < _end(lines):
        draw.text((SHEET[0] / 2, height - MARGIN / 2), "⋯", font=body, fill=INK_SOFT, anchor="mm")
    moved = [[x0, y0 + shift, x1, y1 + shift] for x0, y0, x1, y1 in rects if top <= y0 < bottom]
    return _png(_scaled(mark(image, moved), width))


def find_passage(text: str, passage: str) -> tuple[int, int] | None:
    """Where ``passage`` is in ``text`` (start, end), ignoring differences in whitespace."""
    flat, where = _squash(text)
    needle, _ = _squash(passage)
    if not needle:
        return None
    at = flat.find(needle)
    if at < 0:  # re-split paragraphs: match the beginning and the end separately
        edge = min(len(needle) // 2, 80)
        at = flat.find(needle[:edge])
        end = flat.find(needle[-edge:], at + edge) if at >= 0 else -1
        if at < 0 or end < 0:
            return None
        return where[at], where[end + edge - 1] + 1
    return where[at], where[at + len(needle) - 1] + 1


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


def _layout(text: str, headings: set[str], width: float, body, bold) -> list[_TextLine]:
    """Wrap the text into lines that fit ``width``, each knowing its offset and its y."""
    lines: list[_TextLine] = []
    y, offset = 0.0, 0
    for raw in text.split("\n"):
        start, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            y += BODY_SIZE * 0.7
            continue
        heading = raw.strip() in headings
        font = bold if heading else body
        if heading and lines:
            y += BODY_SIZE * 0.6
        for piece_start, piece in _wrap(raw, font, width):
            lines.append(_TextLine(piece, start + piece_start, heading, y))
            y += _height(lines[-1])
    return lines


def _wrap(raw: str, font, width: float) -> list[tuple[int, str]]:
    """Greedy word wrap: (offset in ``raw``, text) of each line; long words are cut."""
    pieces: list[tuple[int, str]] = []
    first = last = None
    for word in re.finditer(r"\S+", raw):
        start, end = word.span()
        if first is not None and font.getlength(raw[first:end]) > width:
            pieces.append((first, raw[first:last]))
            first = None
        while first is None and font.getlength(raw[start:end]) > width:
            cut = _fit(raw, start, end, font, width)
            pieces.append((start, raw[start:cut]))
            start = cut
        if first is None:
            first = start
        last = end
    if first is not None:
        pieces.append((first, raw[first:last]))
    return pieces


def _fit(raw: str, start: int, end: int, font, width: float) -> int:
    """The end of the longest piece of one over-long word that fits ``width``."""
    cut = start + 1
    while cut < end and font.getlength(raw[start : cut + 1]) <= width:
        cut += 1
    return cut


def _height(line: _TextLine) -> float:
    return (BODY_SIZE + 3 if line.heading else BODY_SIZE) * 1.55


def _end(lines: list[_TextLine]) -> float:
    return lines[-1].y + _height(lines[-1]) if lines else 0.0


def _passage_rects(lines: list[_TextLine], span: tuple[int, int], body, bold) -> list[Rect]:
    start, end = span
    rects = []
    for line in lines:
        a, b = max(start, line.start), min(end, line.start + len(line.text))
        if a >= b:
            continue
        font = bold if line.heading else body
        x0 = MARGIN + font.getlength(line.text[: a - line.start])
        x1 = MARGIN + font.getlength(line.text[: b - line.start])
        size = font.size
        top = line.y + (_height(line) - size * 1.2) / 2
        rects.append([x0, top, x1, top + size * 1.2])
    return rects


def _window(lines: list[_TextLine], rects: list[Rect]) -> tuple[float, float]:
    """The y range of text to show: a sheet's worth, starting a little above the passage."""
    room = SHEET[1] - 2 * MARGIN - TITLE_ROOM
    total = _end(lines)
    if total <= room:
        return 0.0, total
    if not rects:
        return 0.0, room
    first, last = rects[0][1], rects[-1][3]
    top = min(max(0.0, first - room * 0.2), total - room)
    top = max((line.y for line in lines if line.y <= top), default=0.0)
    bottom = max(top + room, last + BODY_SIZE)  # a passage taller than a sheet makes it taller
    return top, min(bottom, total)


# --- Serving, with a disk cache ----------------------------------------------------------


@dataclass
class PageImage:
    """One requested page image: the page, an optional chunk, full size or thumbnail."""

    page: Page
    chunk: Chunk | None = None
    thumbnail: bool = False

    @property
    def boxes(self) -> list[Rect]:
        return self.chunk.boxes.get(str(self.page.number), []) if self.chunk else []

    @cached_property
    def stored(self) -> tuple[str, int, float] | None:
        """Name, size and mtime of the stored page image, or None for text-only pages."""
        name = self.page.image.name
        if not name:
            return None
        storage = self.page.image.storage
        try:
            return name, storage.size(name), storage.get_modified_time(name).timestamp()
        except OSError:
            logger.warning("page image %s is missing; typesetting the text instead", name)
            return None

    @property
    def is_plain(self) -> bool:
        """True when the stored image is served as it is."""
        return self.stored is not None and not self.thumbnail and not self.boxes

    @cached_property
    def etag(self) -> str:
        document = self.page.document
        key = [
            RENDER_VERSION,
            document.pk,
            document.ingested_at.isoformat() if document.ingested_at else "",
            self.page.pk,
            self.stored,
            self.chunk.pk if self.chunk else None,
            self.boxes,
            self.thumbnail,
        ]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]

    @property
    def last_modified(self) -> datetime | None:
        return self.page.document.ingested_at

    @property
    def cache_path(self) -> Path:
        return cache_dir(self.page.document_id) / f"{self.etag}.png"

    def response(self) -> HttpResponse:
        if self.is_plain:
            name = self.stored[0]
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return FileResponse(self.page.image.storage.open(name, "rb"), content_type=kind)
        path = self.cache_path
        try:
            return FileResponse(path.open("rb"), content_type="image/png")
        except FileNotFoundError:
            pass
        data = self.render()
        write_atomically(path, data)
        return HttpResponse(data, content_type="image/png")

    def render(self) -> bytes:
        width = THUMB_WIDTH if self.thumbnail else None
        if self.stored is None:
            return self._render_text(width)
        with self.page.image.storage.open(self.stored[0], "rb") as handle:
            return highlight(handle.read(), self.boxes, width=width)

    def _render_text(self, width: int | None) -> bytes:
        document = self.page.document
        headings = {
            part
            for heading in document.chunks.order_by().values_list("heading", flat=True).distinct()
            for part in heading.split(" › ")
        }
        return render_text_page(
            self.page.text,
            passage=self.chunk.text if self.chunk else "",
            title=document.title,
            headings=headings,
            width=width,
        )


def get_page_image(
    document_id: int, number: int, chunk_id: int | None = None, *, thumbnail: bool = False
) -> PageImage:
    """The page of a ready document, with the chunk if it belongs there; Http404 if not."""
    page = (
        Page.objects.select_related("document")
        .filter(document__status=Document.Status.READY, document_id=document_id, number=number)
        .first()
    )
    if page is None:
        raise Http404("No such page.")
    chunk = None
    if chunk_id is not None:
        chunk = Chunk.objects.filter(
            pk=chunk_id, document_id=document_id, first_page__lte=number, last_page__gte=number
        ).first()
        if chunk is None:
            raise Http404("No such passage on this page.")
    return PageImage(page, chunk, thumbnail)


def cache_dir(document_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "citations" / str(int(document_id))


def clear_cache(document_id: int) -> None:
    """Forget a document's rendered citations (call after deleting or re-ingesting it)."""
    shutil.rmtree(cache_dir(document_id), ignore_errors=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
