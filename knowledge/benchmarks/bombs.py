"""Small files that would cost a worker far more than their size: the uploads issue 16
found to take gigabytes or minutes, made here so that the tests of the ingestion limits
and ``bench abuse`` attack with the same files.

Each is built in memory in well under a second, whatever it claims to hold.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MB = 1024 * 1024


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


def many_paragraphs_docx(count: int = 540_000) -> bytes:
    """A .docx of ``count`` one-word paragraphs: 540,000 pack into about 130 KB, and held a
    worker for more than 10 minutes before ingestion counted them."""
    return word_document(b"<w:p><w:r><w:t>Step</w:t></w:r></w:p>" * count)


def zeros_docx(unpacked_mb: int = 2048) -> bytes:
    """A .docx that also holds ``unpacked_mb`` MB of zeros (2 GB by default) in about
    1/1000 of that: a zip bomb whose directory tells the truth."""
    body = word_document(paragraphs("Fryer safety"))
    return _with_zeros(body, "word/media/zeros.bin", unpacked_mb * MB)


def understated(data: bytes, member: str) -> bytes:
    """The zip with ``member``'s unpacked size in the central directory cut to 1 byte: a
    bomb whose directory lies."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.getinfo(member).header_offset
    entry = data.index(b"PK\x01\x02")  # central directory entries: the local header's
    while struct.unpack_from("<I", data, entry + 42)[0] != offset:  # offset at 42,
        entry = data.index(b"PK\x01\x02", entry + 4)
    return data[: entry + 24] + struct.pack("<I", 1) + data[entry + 28 :]  # the size at 24


def _with_zeros(docx: bytes, name: str, size: int) -> bytes:
    """``docx`` with one more member, ``size`` zero bytes, deflated.

    Compressing gigabytes takes seconds, so the deflate stream is assembled instead: a
    full flush makes the compressor forget what came before, so the compressed form of
    one megabyte of zeros, repeated, inflates to that megabyte as many times, and an
    empty final block ends it. Only the CRC is computed over every byte."""
    if size % MB:
        raise ValueError("size must be a whole number of megabytes")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = piece * (size // MB) + b"\x03\x00"  # a final, empty, fixed-Huffman block
    crc, megabyte = 0, bytes(MB)
    for _ in range(size // MB):
        crc = zlib.crc32(megabyte, crc)
    return _append_member(docx, name.encode(), stream, crc, size)


def _append_member(data: bytes, name: bytes, stream: bytes, crc: int, size: int) -> bytes:
    """The zip ``data`` with a deflated member appended (sizes under 4 GB: no zip64)."""
    directory = data.rindex(b"PK\x05\x06")
    entries, _, cd_size, cd_offset = struct.unpack_from("<HHLL", data, directory + 8)
    at = cd_offset
    dos_time, dos_date = 0, (2024 - 1980) << 9 | 1 << 5 | 1
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, dos_time, dos_date, crc, len(stream), size,
        len(name), 0,
    )  # fmt: skip
    central = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, dos_time, dos_date, crc, len(stream),
        size, len(name), 0, 0, 0, 0, 0, at,
    )  # fmt: skip
    members = data[:cd_offset] + local + name + stream
    old_directory = data[cd_offset : cd_offset + cd_size]
    new_directory = old_directory + central + name
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, entries + 1, entries + 1, len(new_directory),
        len(members), 0,
    )  # fmt: skip
    return members + new_directory + end
