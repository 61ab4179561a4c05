"""What a file really is, judged from its bytes, and whether we accept it."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

MB = 1024 * 1024
SIZE_LIMITS = {  # bytes, per kind
    "pdf": 50 * MB,
    "docx": 20 * MB,
    "markdown": 5 * MB,
    "text": 5 * MB,
    "image": 15 * MB,
}
NAME_KINDS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
}
KIND_NAMES = {
    "pdf": "a PDF",
    "docx": "a Word document",
    "markdown": "Markdown text",
    "text": "plain text",
    "image": "an image",
}


class Rejected(ValueError):
    """The file cannot be ingested; the message says why, for the uploader."""


@dataclass(frozen=True)
class Detected:
    kind: str  # a Document.Kind value
    mime: str


def sniff(head: bytes) -> Detected | None:
    """The kind from the first bytes alone, or None if unknown."""
    if head.startswith(b"%PDF-"):
        return Detected("pdf", "application/pdf")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Detected("image", "image/png")
    if head.startswith(b"\xff\xd8\xff"):
        return Detected("image", "image/jpeg")
    if head.startswith(b"PK\x03\x04"):
        return Detected("zip", "application/zip")
    return None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:65536]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect(filename: str, data: bytes) -> Detected:
    """Accept or reject a file by its content; the name only has to agree with it.

    Raises Rejected with a message fit for the person who uploaded it.
    """
    name = PurePath(filename).name or "the file"
    if not data:
        raise Rejected(f"{name} is empty")
    found = sniff(data[:16])
    if found and found.kind == "zip":
        found = (
            Detected(
                "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            )
            if _is_docx(data)
            else None
        )
    claimed = NAME_KINDS.get(PurePath(name).suffix.lower())
    if found is None:
        if not _is_text(data):
            raise Rejected(
                f"{name} is not a file type Line Lead reads "
                "(PDF, Word .docx, Markdown, plain text, PNG or JPEG)"
            )
        found = (
            Detected("markdown", "text/markdown")
            if claimed == "markdown"
            else Detected("text", "text/plain")
        )
    if claimed is None:
        raise Rejected(
            f"{name} has an unknown extension; name it .pdf, .docx, .md, .txt, .png or .jpg"
        )
    if claimed != found.kind and not {claimed, found.kind} <= {"text", "markdown"}:
        raise Rejected(
            f"{name} is named like {KIND_NAMES[claimed]} "
            f"but its content is {KIND_NAMES[found.kind]}"
        )
    limit = SIZE_LIMITS[found.kind]
    if len(data) > limit:
        raise Rejected(
            f"{name} is {len(data) / MB:.1f} MB; {KIND_NAMES[found.kind]} may be at most "
            f"{limit // MB} MB"
        )
    return found
