"""Markdown, plain text and Word documents as blocks (one page each: they have no pages)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from knowledge.ingest.blocks import ITEM_RE, NUMBERED_HEADING_RE, Block, heading_level
from knowledge.ingest.detect import Rejected
from knowledge.ingest.limits import Limits, check_word_body, check_zip

MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")


def decode(data: bytes) -> str:
    text = data.decode("utf-8-sig")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def markdown_title(data: bytes) -> str:
    """The text of the file's first top-level heading (``# Title``), or "" without one."""
    for line in decode(data).split("\n"):
        heading = MD_HEADING.match(line.strip())
        if heading and len(heading.group(1)) == 1 and heading.group(2):
            return heading.group(2)
    return ""


def markdown_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("para", " ".join(para), 1))
            para.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        heading = MD_HEADING.match(line)
        if not line:
            flush()
        elif heading:
            flush()
            blocks.append(Block("heading", heading.group(2), 1, level=len(heading.group(1))))
        elif TABLE_ROW.match(line) or (
            TABLE_RULE.match(line) and blocks and blocks[-1].kind == "table"
        ):
            flush()
            if TABLE_RULE.match(line):
                continue
            row = " | ".join(cell.strip() for cell in line.strip("|").split("|"))
            if blocks and blocks[-1].kind == "table":
                blocks[-1].text += "\n" + row
            else:
                blocks.append(Block("table", row, 1))
        elif ITEM_RE.match(line):
            flush()
            blocks.append(Block("item", line, 1))
        elif blocks and blocks[-1].kind == "item" and raw.startswith((" ", "\t")) and not para:
            blocks[-1].text += " " + line  # a wrapped list item
        else:
            para.append(line)
    flush()
    return blocks


def text_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        first = lines[0]
        if (
            len(lines) == 1
            and len(first) <= 80
            and not first.endswith(".")
            and (NUMBERED_HEADING_RE.match(first) or first.isupper())
        ):
            blocks.append(Block("heading", first, 1, level=heading_level(first, 1)))
            continue
        current: Block | None = None
        for line in lines:
            if ITEM_RE.match(line) or current is None:
                current = Block("item" if ITEM_RE.match(line) else "para", line, 1)
                blocks.append(current)
            else:
                current.text += " " + line
    return blocks


def docx_blocks(data: bytes, limits: Limits, check: Callable[[], None] = lambda: None):
    """Blocks of a Word document, refused before parsing when its zip or its body is over
    the limits; ``check`` (the deadline) is called as it goes."""
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    check_zip(data, limits)
    check_word_body(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError):
        raise Rejected("the Word document is damaged") from None
    body = document.element.body
    # Style names by id, looked up once: python-docx's paragraph.style searches the
    # styles part anew for every paragraph, minutes for a long document.
    styles = {style.style_id: style.name or "" for style in document.styles}
    blocks: list[Block] = []
    for index, child in enumerate(body.iterchildren()):
        if index % 200 == 0:
            check()
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(child, document)
            text = " ".join(paragraph.text.split())
            if not text:
                continue
            style = styles.get(child.style, "")
            if style.startswith("Heading") or style == "Title":
                level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
                blocks.append(Block("heading", text, 1, level=level))
            elif style.startswith("List") or ITEM_RE.match(text):
                blocks.append(Block("item", text, 1))
            else:
                blocks.append(Block("para", text, 1))
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            rows = [" | ".join(" ".join(c.text.split()) for c in row.cells) for row in table.rows]
            if rows:
                blocks.append(Block("table", "\n".join(rows), 1))
    return blocks
