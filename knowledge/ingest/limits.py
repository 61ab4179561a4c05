"""What one upload may cost to ingest: pages, page size, pixels, unpacked bytes,
paragraphs and time (the INGEST_* settings, documented in .env.example).

A file over a limit is refused with a reason its uploader can act on; the checks run
before the expensive work (the PDF's page table, the zip's directory) so a bomb costs
milliseconds, not gigabytes. ``Deadline`` bounds the time the rest may take.
"""

from __future__ import annotations

import io
import math
import time
import zipfile
from dataclasses import dataclass

from django.conf import settings

from knowledge.ingest.detect import MB, Rejected

POINTS_PER_INCH = 72
WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
BODY = "word/document.xml"
READ_CHUNK = 1 << 20  # bytes decompressed at a time when a zip's sizes are verified


class Stopped(Rejected):
    """Ingestion ran past its time limit and was stopped."""


@dataclass(frozen=True)
class Limits:
    pages: int
    page_points: float
    page_pixels: int
    unzipped_bytes: int
    zip_parts: int
    paragraphs: int
    xml_elements: int
    seconds: float

    @classmethod
    def current(cls) -> Limits:
        return cls(
            pages=settings.INGEST_MAX_PAGES,
            page_points=settings.INGEST_MAX_PAGE_POINTS,
            page_pixels=settings.INGEST_MAX_PAGE_PIXELS,
            unzipped_bytes=settings.INGEST_MAX_UNZIPPED_MB * MB,
            zip_parts=settings.INGEST_MAX_ZIP_PARTS,
            paragraphs=settings.INGEST_MAX_PARAGRAPHS,
            xml_elements=settings.INGEST_MAX_XML_ELEMENTS,
            seconds=settings.INGEST_MAX_SECONDS,
        )


def check_pages(count: int, limits: Limits, what: str = "the PDF") -> None:
    if count > limits.pages:
        raise Rejected(
            f"{what} has {count:,} pages; at most {limits.pages:,} are read: "
            "split it into smaller documents"
        )


def check_pdf(pdf, limits: Limits) -> None:
    """Page count and page sizes, from the page table (no page is loaded)."""
    check_pages(len(pdf), limits)
    for index in range(len(pdf)):
        width, height = pdf.get_page_size(index)
        if max(width, height) > limits.page_points:
            raise Rejected(
                f"page {index + 1} of the PDF is {_inches(width)} × {_inches(height)} in; "
                f"pages may be at most {_inches(limits.page_points)} in on a side"
            )


def render_scale(width: float, height: float, wanted: float, limits: Limits) -> float:
    """``wanted`` (pixels per point), lowered so the page fits the pixel budget."""
    if width <= 0 or height <= 0:
        return wanted
    return min(wanted, math.sqrt(limits.page_pixels / (width * height)))


def check_zip(data: bytes, limits: Limits, what: str = "the Word document") -> None:
    """Part count and unpacked size from the zip directory, before anything is parsed;
    then each part is read in bounded pieces, so a directory that understates a part's
    size is caught (as damage) without unpacking more than it declared."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > limits.zip_parts:
                raise Rejected(
                    f"{what} holds {len(parts):,} parts; at most {limits.zip_parts:,} are read"
                )
            total = sum(part.file_size for part in parts)
            if total > limits.unzipped_bytes:
                raise Rejected(
                    f"{what} unpacks to {total / MB:,.0f} MB; at most "
                    f"{limits.unzipped_bytes // MB:,} MB are read"
                )
            for part in parts:
                with archive.open(part) as handle:
                    while handle.read(READ_CHUNK):
                        pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
        raise Rejected(f"{what} is damaged") from None


def check_paragraphs(count: int, limits: Limits, what: str = "the document") -> None:
    if count > limits.paragraphs:
        raise Rejected(
            f"{what} has {count:,} paragraphs; at most {limits.paragraphs:,} are read: "
            "split it into smaller documents"
        )


def check_word_body(data: bytes, limits: Limits) -> None:
    """Paragraphs and XML elements of a Word document's body, counted by a streaming
    parse that keeps no tree (python-docx's tree takes about 120 bytes an element, and
    its reading minutes for half a million paragraphs). Stops counting past a limit."""
    from lxml import etree

    paragraph = f"{{{WORD}}}p"
    paragraphs = elements = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(BODY) as xml:
            for _, element in etree.iterparse(xml, events=("end",)):
                elements += 1
                paragraphs += element.tag == paragraph
                if paragraphs > limits.paragraphs or elements > limits.xml_elements:
                    break
                element.clear()
                while element.getprevious() is not None:  # what was counted goes
                    del element.getparent()[0]
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError):
        raise Rejected("the Word document is damaged") from None
    what = "the Word document"
    if paragraphs > limits.paragraphs:
        raise Rejected(
            f"{what} has more than {limits.paragraphs:,} paragraphs, the most that are read: "
            "split it into smaller documents"
        )
    if elements > limits.xml_elements:
        raise Rejected(
            f"{what} has more than {limits.xml_elements:,} XML elements, the most that are "
            "read: split it into smaller documents"
        )


class Deadline:
    """The time one ingestion may take; ``check()`` between steps stops it once past."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise Stopped(
                f"reading the file took longer than {self.seconds:g} s and was stopped; "
                "split it into smaller documents"
            )


def _inches(points: float) -> str:
    return f"{points / POINTS_PER_INCH:,.0f}"
