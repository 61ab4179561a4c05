"""Lay out the Harbor Burger Co. demo manuals as PDFs.

The words live in ``tools/demo/src/*.md`` (one file per manual, a small
Markdown-like format described below); the diagrams are drawn in
``tools/demo/diagrams.py``. The PDFs and the question set they are checked against stay
where the app reads them, in ``knowledge/demo/``. Run from the repository root::

    .venv/bin/python -m tools.demo.build            # (re)write knowledge/demo/manuals/*.pdf
    .venv/bin/python -m tools.demo.build --check    # PDFs current? questions.json right?
    .venv/bin/python -m tools.demo.build --png DIR  # also render every page to DIR/*.png

The output is byte-for-byte reproducible (reportlab's invariant mode fixes the
dates and document IDs), so rebuilding does not churn git.

Source format. A header of ``key: value`` lines (title, subtitle, code, file,
revision, date, owner, applies) ends at a line ``---``. Then, one block per line
unless noted:

* ``# 3. Daily Cleaning``, ``## 3.2 Brush cleaning``, ``### ...`` headings;
* ``1. Do this.`` numbered steps, ``- item`` bullets; indent by three spaces per
  level to nest (``   a. ...`` works for lettered sub-steps);
* ``> WARNING: ...`` (or CAUTION, NOTE, IMPORTANT) a boxed callout;
* ``| a | b |`` table rows, the first row being the header; a ``|---|`` rule is
  skipped; ``@table: Caption`` and ``@widths: 2, 1, 1`` before it are optional;
* ``@figure name: Caption`` a diagram from ``diagrams.DIAGRAMS``;
* ``@pagebreak``, ``@space: 6`` (points);
* anything else is a paragraph; consecutive lines are joined.

Inline ``**bold**`` is the only markup.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import pypdfium2 as pdfium
from reportlab import rl_config
from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from tools.demo import diagrams

rl_config.invariant = 1  # fixed dates and IDs: identical bytes on every run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SRC = HERE / "src"
DEMO = ROOT / "knowledge" / "demo"  # what the app reads: load_demo, the benchmarks
OUT = DEMO / "manuals"
QUESTIONS = DEMO / "questions.json"
# Each PDF's Creator still names this generator's first home: another string changes
# every PDF's bytes, hence its checksum, and load_demo would then add the manuals again
# beside those a store already has.
CREATOR = "Line Lead demo corpus (knowledge/demo/build.py)"

BRAND = "Harbor Burger Co."
PAGE_W, PAGE_H = LETTER
MARGIN_X = 54  # 0.75 in
MARGIN_TOP = 62
MARGIN_BOTTOM = 58
TEXT_W = PAGE_W - 2 * MARGIN_X

NAVY = colors.HexColor("#1B3A5C")
TEAL = colors.HexColor("#2A7F8E")
INK = colors.HexColor("#1E2328")
GREY = colors.HexColor("#5F6B76")
RULE = colors.HexColor("#B9C3CC")
BAND = colors.HexColor("#E6EDF3")
ZEBRA = colors.HexColor("#F3F6F8")
CALLOUTS = {
    "WARNING": (colors.HexColor("#B3261E"), colors.HexColor("#FBEAE8")),
    "CAUTION": (colors.HexColor("#B86E00"), colors.HexColor("#FFF4E0")),
    "IMPORTANT": (NAVY, colors.HexColor("#E6EDF3")),
    "NOTE": (TEAL, colors.HexColor("#E5F3F4")),
}

# --------------------------------------------------------------------------- styles

BODY = ParagraphStyle(
    "body", fontName="Helvetica", fontSize=9.4, leading=12.4, textColor=INK, spaceAfter=4.5
)
H1 = ParagraphStyle(
    "h1",
    fontName="Helvetica-Bold",
    fontSize=13,
    leading=16,
    textColor=NAVY,
    backColor=BAND,
    borderPadding=(3, 4, 3, 4),
    spaceBefore=10,
    spaceAfter=6,
    keepWithNext=1,
)
H2 = ParagraphStyle(
    "h2",
    fontName="Helvetica-Bold",
    fontSize=11,
    leading=14,
    textColor=NAVY,
    spaceBefore=8,
    spaceAfter=3,
    keepWithNext=1,
)
H3 = ParagraphStyle(
    "h3",
    fontName="Helvetica-Bold",
    fontSize=9.8,
    leading=13,
    textColor=INK,
    spaceBefore=5,
    spaceAfter=2,
    keepWithNext=1,
)
CELL = ParagraphStyle("cell", fontName="Helvetica", fontSize=8.8, leading=11, textColor=INK)
HEAD_CELL = ParagraphStyle("headcell", parent=CELL, fontName="Helvetica-Bold", textColor="white")
CAPTION = ParagraphStyle(
    "caption",
    fontName="Helvetica-Bold",
    fontSize=8.8,
    leading=11,
    textColor=NAVY,
    spaceBefore=8,
    spaceAfter=3,
    keepWithNext=1,
)
FIG_CAPTION = ParagraphStyle(
    "figcaption", parent=CAPTION, alignment=TA_CENTER, spaceBefore=2, spaceAfter=8
)
CALLOUT_LABEL = ParagraphStyle(
    "calloutlabel",
    fontName="Helvetica-Bold",
    fontSize=9,
    leading=11,
    textColor="white",
    alignment=TA_CENTER,
)
CALLOUT_TEXT = ParagraphStyle("callouttext", parent=BODY, spaceAfter=0)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10, textColor=GREY, spaceAfter=0)


def _item_style(level: int, bullet: bool) -> ParagraphStyle:
    indent = 20 + 18 * level
    return ParagraphStyle(
        f"item{level}{bullet}",
        parent=BODY,
        leftIndent=indent,
        bulletIndent=indent - (11 if bullet else 17),
        bulletFontName="Helvetica-Bold" if not bullet else "Helvetica",
        spaceAfter=3,
    )


# --------------------------------------------------------------------------- source


@dataclass
class Block:
    kind: str  # h1 h2 h3 para item table callout figure pagebreak space
    text: str = ""
    marker: str = ""  # list marker ("1.", "a.", "•"), callout kind or figure name
    level: int = 0
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""
    widths: list[float] = field(default_factory=list)


@dataclass
class Manual:
    source: Path
    meta: dict[str, str]
    blocks: list[Block]

    @property
    def filename(self) -> str:
        return self.meta["file"]


META_KEYS = ("title", "subtitle", "code", "file", "revision", "date", "owner", "applies")
ITEM = re.compile(r"^( *)(\d{1,2}\.|[a-z]\.|-)\s+(.*)$")
CALLOUT = re.compile(r"^(WARNING|CAUTION|IMPORTANT|NOTE):\s*(.*)$")


def parse(path: Path) -> Manual:
    head, sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
    if not sep:
        raise SystemExit(f"{path}: no '---' line after the header")
    meta = {}
    for line in head.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
    missing = [key for key in META_KEYS if not meta.get(key)]
    if missing:
        raise SystemExit(f"{path}: header lacks {', '.join(missing)}")

    blocks: list[Block] = []
    pending: dict[str, str] = {}
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        i += 1
        if not line:
            continue
        if heading := re.match(r"^(#{1,3})\s+(.*)$", line):
            blocks.append(Block(f"h{len(heading[1])}", heading[2]))
        elif line.startswith("@"):
            name, _, arg = line[1:].partition(":")
            name, arg = name.strip(), arg.strip()
            if name == "pagebreak":
                blocks.append(Block("pagebreak"))
            elif name == "space":
                blocks.append(Block("space", arg))
            elif name in ("table", "widths"):
                pending[name] = arg
            elif name.startswith("figure "):
                figure = name.split()[1]
                if figure not in diagrams.DIAGRAMS:
                    raise SystemExit(f"{path}: unknown figure {figure!r}")
                blocks.append(Block("figure", marker=figure, caption=arg))
            else:
                raise SystemExit(f"{path}: unknown directive {line!r}")
        elif line.startswith("|"):
            rows = []
            while True:
                cells = [cell.strip() for cell in line.strip("|").split("|")]
                if not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
                    rows.append(cells)
                if i >= len(lines) or not lines[i].strip().startswith("|"):
                    break
                line = lines[i].strip()
                i += 1
            if len({len(row) for row in rows}) != 1:
                raise SystemExit(f"{path}: ragged table starting {rows[0]}")
            widths = [float(w) for w in pending.pop("widths", "").split(",") if w.strip()]
            if widths and len(widths) != len(rows[0]):
                raise SystemExit(f"{path}: @widths does not match table {rows[0]}")
            blocks.append(
                Block("table", rows=rows, caption=pending.pop("table", ""), widths=widths)
            )
        elif line.startswith(">"):
            parts = [line.lstrip("> ")]
            while i < len(lines) and lines[i].strip().startswith(">"):
                parts.append(lines[i].strip().lstrip("> "))
                i += 1
            text = " ".join(parts)
            match = CALLOUT.match(text)
            if not match:
                raise SystemExit(f"{path}: callout needs WARNING/CAUTION/IMPORTANT/NOTE: {text}")
            blocks.append(Block("callout", match[2], marker=match[1]))
        elif item := ITEM.match(raw.rstrip()):
            marker = "\u2022" if item[2] == "-" else item[2]
            blocks.append(Block("item", item[3], marker=marker, level=len(item[1]) // 3))
        else:
            parts = [line]
            while i < len(lines):
                nxt = lines[i].strip()
                if not nxt or nxt[0] in "#@|>" or ITEM.match(lines[i].rstrip()):
                    break
                parts.append(nxt)
                i += 1
            blocks.append(Block("para", " ".join(parts)))
    if pending:
        raise SystemExit(f"{path}: {sorted(pending)} not followed by a table")
    return Manual(path, meta, blocks)


def load_manuals() -> list[Manual]:
    manuals = [parse(path) for path in sorted(SRC.glob("*.md"))]
    if not manuals:
        raise SystemExit(f"no manuals in {SRC}")
    return manuals


# --------------------------------------------------------------------------- layout


def markup(text: str) -> str:
    """Escape for reportlab's paragraph parser, then turn **x** into bold."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escape(text))


def plain(text: str) -> str:
    return text.replace("**", "")


class _ManualCanvas(Canvas):
    """Holds pages back until the end so each can say "Page X of Y"."""

    def __init__(self, *args, manual: Manual, **kwargs):
        super().__init__(*args, **kwargs)
        self._manual = manual
        self._held: list[dict] = []

    def showPage(self):
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._held)
        for state in self._held:
            self.__dict__.update(state)
            self._decorate(total)
            Canvas.showPage(self)
        Canvas.save(self)

    def _decorate(self, total: int) -> None:
        meta = self._manual.meta
        number = self._pageNumber
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.6)
        if number > 1:
            y = PAGE_H - 40
            self.setFont("Helvetica-Bold", 8.5)
            self.setFillColor(NAVY)
            self.drawString(MARGIN_X, y, f"{BRAND.upper()}  |  {meta['title']}")
            self.setFont("Helvetica", 8.5)
            self.setFillColor(GREY)
            self.drawRightString(PAGE_W - MARGIN_X, y, f"{meta['code']}  Rev. {meta['revision']}")
            self.line(MARGIN_X, y - 6, PAGE_W - MARGIN_X, y - 6)
        y = 34
        self.line(MARGIN_X, y + 11, PAGE_W - MARGIN_X, y + 11)
        self.setFont("Helvetica", 8)
        self.setFillColor(GREY)
        self.drawString(
            MARGIN_X,
            y,
            f"{meta['code']}  {meta['title']}  |  "
            f"Rev. {meta['revision']}, effective {meta['date']}",
        )
        self.setFont("Helvetica-Bold", 8)
        self.setFillColor(INK)
        self.drawRightString(PAGE_W - MARGIN_X, y, f"Page {number} of {total}")
        self.setFont("Helvetica", 6.5)
        self.setFillColor(GREY)
        self.drawCentredString(
            PAGE_W / 2,
            y - 11,
            "Fictional demonstration manual for the Line Lead project. CC0 1.0 public domain.",
        )
        self.restoreState()


def _logo(size: float = 46) -> Drawing:
    drawing = Drawing(size, size)
    drawing.add(Rect(0, 0, size, size, rx=7, ry=7, fillColor=colors.white, strokeColor=None))
    s = size / 46
    # a burger bun over a wave: three simple shapes, no text
    drawing.add(
        Polygon(
            [8 * s, 26 * s, 12 * s, 35 * s, 23 * s, 39 * s, 34 * s, 35 * s, 38 * s, 26 * s],
            fillColor=colors.HexColor("#D98E2B"),
            strokeColor=None,
        )
    )
    drawing.add(Rect(8 * s, 20 * s, 30 * s, 4 * s, fillColor=NAVY, strokeColor=None))
    drawing.add(
        Rect(8 * s, 13 * s, 30 * s, 5 * s, rx=2, ry=2, fillColor=colors.HexColor("#D98E2B"))
    )
    for x in (8, 18, 28):
        drawing.add(Line(x * s, 8 * s, (x + 5) * s, 10 * s, strokeColor=TEAL, strokeWidth=1.6))
        drawing.add(
            Line((x + 5) * s, 10 * s, (x + 10) * s, 8 * s, strokeColor=TEAL, strokeWidth=1.6)
        )
    return drawing


def title_block(meta: dict[str, str]) -> list[Flowable]:
    brand = ParagraphStyle(
        "brand", fontName="Helvetica-Bold", fontSize=10, leading=12, textColor="white"
    )
    title = ParagraphStyle(
        "title", fontName="Helvetica-Bold", fontSize=21, leading=25, textColor="white"
    )
    subtitle = ParagraphStyle(
        "subtitle", fontName="Helvetica", fontSize=10.5, leading=13, textColor="white"
    )
    banner = Table(
        [
            [
                _logo(),
                [
                    Paragraph(BRAND.upper(), brand),
                    Paragraph(markup(meta["title"]), title),
                    Paragraph(markup(meta["subtitle"]), subtitle),
                ],
            ]
        ],
        colWidths=[62, TEXT_W - 62],
    )
    banner.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), NAVY),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("TOPPADDING", (0, 0), (-1, -1), 10),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 11),
            ]
        )
    )
    label = ParagraphStyle("label", parent=SMALL, fontName="Helvetica-Bold", textColor=NAVY)
    value = ParagraphStyle("value", parent=CELL, fontSize=9.4, leading=11.5)
    facts = [
        ("Manual code", meta["code"]),
        ("Revision", f"Rev. {meta['revision']}"),
        ("Effective date", meta["date"]),
        ("Owner", meta["owner"]),
    ]
    grid = Table(
        [
            [Paragraph(k, label) for k, _ in facts],
            [Paragraph(markup(v), value) for _, v in facts],
            [Paragraph("Applies to", label), "", "", ""],
            [Paragraph(markup(meta["applies"]), value), "", "", ""],
        ],
        colWidths=[TEXT_W * 0.2, TEXT_W * 0.16, TEXT_W * 0.22, TEXT_W * 0.42],
    )
    grid.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 2), (-1, 2)),
                ("SPAN", (0, 3), (-1, 3)),
                ("BACKGROUND", (0, 0), (-1, -1), ZEBRA),
                ("BOX", (0, 0), (-1, -1), 0.8, NAVY),
                ("LINEBELOW", (0, 1), (-1, 1), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, 0), 6),
                ("TOPPADDING", (0, 2), (-1, 2), 5),
                ("BOTTOMPADDING", (0, 1), (-1, 1), 6),
                ("BOTTOMPADDING", (0, 3), (-1, 3), 7),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    notice = Paragraph(
        f"{BRAND} is a fictional restaurant brand. This manual was written for the Line Lead "
        "demo; follow your own equipment maker's instructions and your local health code in a "
        "real kitchen.",
        SMALL,
    )
    return [banner, grid, Spacer(1, 4), notice, Spacer(1, 2)]


def _table(block: Block) -> list[Flowable]:
    rows = block.rows
    ncols = len(rows[0])
    if block.widths:
        weights = block.widths
    else:
        weights = [
            max(6, min(38, max(len(plain(row[c])) for row in rows))) ** 0.8 for c in range(ncols)
        ]
    widths = [TEXT_W * w / sum(weights) for w in weights]
    data = [[Paragraph(markup(cell), HEAD_CELL) for cell in rows[0]]]
    data += [[Paragraph(markup(cell), CELL) for cell in row] for row in rows[1:]]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), NAVY),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
        ("BOX", (0, 0), (-1, -1), 0.7, NAVY),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]
    style += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(2, len(data), 2)]
    table.setStyle(TableStyle(style))
    out: list[Flowable] = []
    if block.caption:
        out.append(Paragraph(markup(block.caption), CAPTION))
    out += [table, Spacer(1, 7)]
    return [KeepTogether(out)] if len(rows) <= 12 else out


def _callout(block: Block) -> Flowable:
    edge, tint = CALLOUTS[block.marker]
    icon = Drawing(22, 19)
    if block.marker in ("WARNING", "CAUTION"):
        icon.add(Polygon([1, 1, 21, 1, 11, 18], fillColor=colors.white, strokeColor=None))
        icon.add(Rect(10, 6, 2, 8, fillColor=edge, strokeColor=None))
        icon.add(Rect(10, 2.5, 2, 2, fillColor=edge, strokeColor=None))
    else:
        icon.add(Rect(4, 1, 14, 17, rx=3, ry=3, fillColor=colors.white, strokeColor=None))
        icon.add(Rect(10, 3, 2, 8, fillColor=edge, strokeColor=None))
        icon.add(Rect(10, 13, 2, 2, fillColor=edge, strokeColor=None))
    icon.hAlign = "CENTER"
    label = [icon, Spacer(1, 2), Paragraph(block.marker, CALLOUT_LABEL)]
    table = Table(
        [[label, Paragraph(markup(block.text), CALLOUT_TEXT)]], colWidths=[78, TEXT_W - 78]
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), edge),
                ("BACKGROUND", (1, 0), (1, 0), tint),
                ("BOX", (0, 0), (-1, -1), 1.2, edge),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ("LEFTPADDING", (1, 0), (1, 0), 8),
                ("RIGHTPADDING", (1, 0), (1, 0), 8),
            ]
        )
    )
    return KeepTogether([Spacer(1, 2), table, Spacer(1, 7)])


def story(manual: Manual) -> list[Flowable]:
    flow: list[Flowable] = title_block(manual.meta)
    headings = {"h1": H1, "h2": H2, "h3": H3}
    for block in manual.blocks:
        if block.kind in headings:
            flow.append(Paragraph(markup(block.text), headings[block.kind]))
        elif block.kind == "para":
            flow.append(Paragraph(markup(block.text), BODY))
        elif block.kind == "item":
            bullet = block.marker == "\u2022"
            flow.append(
                Paragraph(
                    markup(block.text), _item_style(block.level, bullet), bulletText=block.marker
                )
            )
        elif block.kind == "table":
            flow += _table(block)
        elif block.kind == "callout":
            flow.append(_callout(block))
        elif block.kind == "figure":
            drawing = diagrams.DIAGRAMS[block.marker](TEXT_W)
            drawing.hAlign = "CENTER"
            flow.append(
                KeepTogether([Spacer(1, 4), drawing, Paragraph(markup(block.caption), FIG_CAPTION)])
            )
        elif block.kind == "pagebreak":
            flow.append(PageBreak())
        elif block.kind == "space":
            flow.append(Spacer(1, float(block.text or 6)))
    return _group_headings(flow)


def _group_headings(flow: list[Flowable]) -> list[Flowable]:
    """Put headings into a following KeepTogether (reportlab's keepWithNext skips those)."""
    out: list[Flowable] = []
    held: list[Flowable] = []
    for flowable in flow:
        if isinstance(flowable, Paragraph) and getattr(flowable.style, "keepWithNext", 0):
            held.append(flowable)
            continue
        if held and isinstance(flowable, KeepTogether):
            flowable = KeepTogether(held + list(flowable._content))
        else:
            out += held
        held = []
        out.append(flowable)
    return out + held


def render(manual: Manual) -> bytes:
    buffer = io.BytesIO()
    meta = manual.meta
    doc = BaseDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"{BRAND} {meta['title']} ({meta['code']})",
        author=BRAND,
        subject=meta["subtitle"],
        creator=CREATOR,
        keywords=f"{meta['code']}, {BRAND}, fictional, demo",
        invariant=1,
        pageCompression=1,
        lang="en-US",
    )
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        TEXT_W,
        PAGE_H - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])

    def canvasmaker(*args, **kwargs):
        return _ManualCanvas(*args, manual=manual, **kwargs)

    doc.build(story(manual), canvasmaker=canvasmaker)
    return buffer.getvalue()


# --------------------------------------------------------------------------- check


def page_texts(data: bytes | Path) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def check_questions(pdfs: dict[str, bytes]) -> list[str]:
    """Problems with questions.json: each fact must occur on a page the question lists, each
    listed page must hold a fact or the section heading, and the section must start on a
    listed page or the page just before."""
    problems: list[str] = []
    questions = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    texts = {name: [normalize(t) for t in page_texts(data)] for name, data in pdfs.items()}
    kinds = {"fact", "procedure", "safety", "follow-up", "off-topic"}
    seen: set[str] = set()
    for n, q in enumerate(questions, 1):
        where = f"question {n} ({q.get('question', '?')!r})"
        if set(q) != {"question", "manual", "pages", "section", "facts", "kind"}:
            problems.append(f"{where}: keys are {sorted(q)}")
            continue
        if q["question"] in seen:
            problems.append(f"{where}: duplicate")
        seen.add(q["question"])
        if q["kind"] not in kinds:
            problems.append(f"{where}: kind {q['kind']!r}")
        if q["kind"] == "off-topic":
            if q["manual"] is not None or q["pages"] or q["facts"] or q["section"]:
                problems.append(f"{where}: off-topic needs manual null and nothing else")
            continue
        pages = texts.get(q["manual"])
        if pages is None:
            problems.append(f"{where}: no manual {q['manual']!r}")
            continue
        if (
            not q["pages"]
            or q["pages"] != sorted(set(q["pages"]))
            or any(not 1 <= p <= len(pages) for p in q["pages"])
        ):
            problems.append(f"{where}: pages {q['pages']} outside 1..{len(pages)}")
            continue
        if not q["facts"]:
            problems.append(f"{where}: no facts")
        # the section starts on a listed page or just before the first one
        near = range(max(q["pages"][0] - 1, 1), q["pages"][-1] + 1)
        if not any(normalize(q["section"]) in pages[p - 1] for p in near):
            found = [i + 1 for i, t in enumerate(pages) if normalize(q["section"]) in t]
            problems.append(
                f"{where}: section {q['section']!r} not on pages {list(near)} (found on {found})"
            )
        for p in q["pages"]:
            text = pages[p - 1]
            if not any(normalize(x) in text for x in [*q["facts"], q["section"]]):
                problems.append(f"{where}: page {p} has neither a fact nor the section heading")
        for fact in q["facts"]:
            if not any(normalize(fact) in pages[p - 1] for p in q["pages"]):
                found = [i + 1 for i, t in enumerate(pages) if normalize(fact) in t]
                problems.append(
                    f"{where}: fact {fact!r} not on pages {q['pages']} (found on {found or 'none'})"
                )
    return problems


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if a PDF is stale or questions.json does not match the PDFs",
    )
    parser.add_argument("--png", metavar="DIR", help="also render every page to DIR (review)")
    args = parser.parse_args(argv)

    manuals = load_manuals()
    pdfs = {m.filename: render(m) for m in manuals}
    status = 0
    if args.check:
        on_disk = {p.name for p in OUT.glob("*.pdf")}
        for name, data in pdfs.items():
            path = OUT / name
            if not path.exists() or path.read_bytes() != data:
                print(f"STALE {path.relative_to(ROOT)}: run the build", file=sys.stderr)
                status = 1
        for name in sorted(on_disk - set(pdfs)):
            print(f"EXTRA {name}: no source in src/", file=sys.stderr)
            status = 1
        again = {m.filename: render(m) for m in manuals}
        if again != pdfs:
            print("NOT REPRODUCIBLE: two builds differ", file=sys.stderr)
            status = 1
    else:
        OUT.mkdir(exist_ok=True)
        for name, data in pdfs.items():
            (OUT / name).write_bytes(data)
    total = 0
    for name, data in pdfs.items():
        count = len(page_texts(data))
        total += count
        digest = hashlib.sha256(data).hexdigest()[:12]
        print(f"{name:42} {count} pages  sha256 {digest}")
    print(f"{len(pdfs)} manuals, {total} pages")
    if args.png:
        _render_png(pdfs, Path(args.png))
    if args.check:
        problems = check_questions(pdfs)
        for problem in problems:
            print(f"QUESTION {problem}", file=sys.stderr)
        count = len(json.loads(QUESTIONS.read_text(encoding="utf-8")))
        print(f"questions.json: {count} questions, {len(problems)} problems")
        status = status or int(bool(problems))
    return status


def _render_png(pdfs: dict[str, bytes], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in pdfs.items():
        pdf = pdfium.PdfDocument(data)
        for i in range(len(pdf)):
            image = pdf[i].render(scale=1.5).to_pil()
            image.save(folder / f"{Path(name).stem}-p{i + 1}.png")
        pdf.close()
    print(f"pages rendered to {folder}")


if __name__ == "__main__":
    sys.exit(main())
