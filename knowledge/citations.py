"""Visual citations: page images with the cited passage highlighted like a marker pen.

Every page's image is made at ingestion (PDF pages rendered, text-only documents
typeset: knowledge.ingest.typeset) and stored; a request only draws the highlight from
the chunk's stored boxes onto it, or scales it for a thumbnail, and never typesets.
Drawn images are cached under MEDIA_ROOT/citations/<document id>/, keyed by everything
that can change them, so a re-ingest never serves a stale highlight.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import mimetypes
import os
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
from PIL import Image, ImageChops, ImageDraw, ImageOps

from knowledge.models import Chunk, Document, Page

logger = logging.getLogger(__name__)

RENDER_VERSION = 1  # bump when the drawing changes, so cached images are redrawn
THUMB_WIDTH = 240
MARKER = (255, 222, 60)  # marker yellow, multiplied into the paper like real ink
MARKER_STRENGTH = 0.85  # how much of the marker colour shows (1 = fully opaque ink)
EDGE = (242, 164, 19)  # --amber in static/css/app.css
EDGE_ALPHA = 200
# One highlight is drawn at a time in a process. A drawing is some 50 ms of CPU, much of
# it holding the GIL: sixteen drawn at once, in sixteen request threads, kept the event
# loop from it, so /healthz took a second and another user's answer two (bench abuse,
# citation-images). A request queued here waits without holding the GIL.
_drawing = threading.Lock()
INSIDE = [255 if v == 128 else 0 for v in range(256)]  # mask values to composite masks
OUTLINE = [EDGE_ALPHA if v == 255 else 0 for v in range(256)]


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
        """Name, size and mtime of the stored page image, or None if there is none."""
        name = self.page.image.name
        if not name:
            return None
        storage = self.page.image.storage
        try:
            return name, storage.size(name), storage.get_modified_time(name).timestamp()
        except OSError:
            logger.warning("page image %s is missing", name)
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
        with self.page.image.storage.open(self.stored[0], "rb") as handle:
            data = handle.read()
        with _drawing:
            return highlight(data, self.boxes, width=width)


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
    image = PageImage(page, chunk, thumbnail)
    if image.stored is None:
        # Ingested before text pages were typeset at ingestion (or its file is lost):
        # the sweep re-ingests such documents; a request never typesets.
        raise Http404("This page has no image yet.")
    return image


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
