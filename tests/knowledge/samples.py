"""Small files the knowledge tests upload."""

import io

import pypdfium2 as pdfium


def scanned_pdf() -> bytes:
    """A PDF page with no text layer, like a scan: accepted, then fails to ingest."""
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(612, 792)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def text_pdf(lines: list[str], *, password: str | None = None) -> bytes:
    """A one-page text PDF (reportlab), encrypted with ``password`` if given."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, encrypt=password)
    y = 720
    for line in lines:
        pdf.drawString(72, y, line)
        y -= 16
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def locked_pdf() -> bytes:
    return text_pdf(["Fryer filtering schedule"], password="s3cret")
