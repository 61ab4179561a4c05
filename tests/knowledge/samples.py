"""Files and helpers the knowledge tests share."""

import io
from pathlib import Path

import pypdfium2 as pdfium
from django.test import Client

from knowledge.demo.loader import MANUALS

WALK_IN = MANUALS / "hb-eq-104-walk-in.pdf"  # 4 pages


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ready_document(user=None, path: Path = WALK_IN, title: str = "Walk-in manual"):
    """A demo manual added and ingested here and now."""
    from knowledge import services

    document, _ = services.add_document(
        filename=path.name, data=path.read_bytes(), uploaded_by=user, title=title
    )
    return services.ingest(document.pk)


def scanned_pdf() -> bytes:
    """A PDF page with no text layer, like a scan: accepted, then fails to ingest."""
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(612, 792)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def text_pdf(lines: list[str], *more_pages: list[str], password: str | None = None) -> bytes:
    """A text PDF (reportlab), a page for ``lines`` and one for each of ``more_pages``,
    encrypted with ``password`` if given."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, encrypt=password)
    for page in (lines, *more_pages):
        y = 720
        for line in page:
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def locked_pdf() -> bytes:
    return text_pdf(["Fryer filtering schedule"], password="s3cret")
