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


# --- Bombs: small files that would cost a worker far more than their size -------------


def big_page_pdf(side: float = 14400, text: str = "Walk-in cooler: keep at 38F") -> bytes:
    """A one-page PDF of about 600 bytes whose page is ``side`` points square (14400 pt,
    200 in: rendered as it is, 3 GB of pixels)."""
    content = b"BT /F1 24 Tf 72 %d Td (%s) Tj ET" % (side - 100, text.encode())
    bodies = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 %d %d]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>" % (side, side),
        b"<</Length %d>>stream\n%s\nendstream" % (len(content), content),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, io.SEEK_END)
    for number, body in enumerate(bodies, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj%sendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref))
    return out.getvalue()


WORD_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
WORD_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def word_document(body: bytes, parts: dict[str, bytes] | None = None) -> bytes:
    """A minimal .docx whose body is ``body`` (WordprocessingML), plus ``parts``."""
    import zipfile

    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
        b'openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + body
        + b"</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", WORD_TYPES)
        archive.writestr("_rels/.rels", WORD_RELS)
        archive.writestr("word/document.xml", xml)
        for name, data in (parts or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def paragraphs(*texts: str) -> bytes:
    return b"".join(b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % t.encode() for t in texts)
