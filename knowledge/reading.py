"""Reading a passage the way a crew member would: steps, bullets, table rows, warnings
and plain sentences, each a block the answer can quote whole.

Passages are the text of chunks as ingestion extracted it from the PDF: one line per
laid-out line, numbered steps as "3. ...", bullets as "• ...", a table as its caption
("Table 2. ...") then its header row and a row a line, cells between " | " (as Markdown
and Word tables come too; text ingested before PDF tables were recognised has the header
line followed by rows whose cells may wrap onto lines of their own), and callouts as a
"WARNING" / "CAUTION" / "IMPORTANT" line before their text. The rules below undo that
layout; they never change a word or a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from knowledge.words import stems

CALLOUT_LABELS = ("WARNING", "CAUTION", "IMPORTANT", "DANGER", "NOTE")
_LABEL = re.compile(rf"^(.*\S)\s+({'|'.join(CALLOUT_LABELS)})$")
_STEP = re.compile(r"^(\d{1,2})\.\s+(\S.*)$")
_BULLET = re.compile(r"^[•▪◦‣∙·\-–]\s+(\S.*)$")
_TABLE = re.compile(r"^Table \d+\.\s+(\S.*)$")
_TABLE_INSIDE = re.compile(r"^(.*[.!?])\s+(Table \d+\.\s+\S.*)$")
_FIGURE = re.compile(r"^Figure \d+\.\s")
_CELL_BREAK = re.compile(r"(?:^|(?<=\s))\|(?=\s|$)")  # " | " between a row's cells
_STARTS_WITH_FIGURE = re.compile(r"^[$(]?\d")
_VALUE_END = re.compile(r"[.!?][\"')\]]?$")
_TIME_OR_MONEY = re.compile(r"^(\d{1,2}:\d\d\s*(am|pm)\b|\$\d)", re.IGNORECASE)
_CAPS_KEY = re.compile(r"^(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9/-]+(?:\s|$)")
_NUMBERISH = re.compile(r"^[\d$(]|^[\d.,/:%°-]+[A-Za-z°%]*$")
_TERMINAL = re.compile(r"[.!?:][\"')\]]?$")
# A sentence ends at . ! or ? followed by a space and a capital, a digit or a quote,
# unless the period belongs to an abbreviation.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"(])")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|approx|etc|vs|No|Rev|St|Dr|Mr|Ms|Mrs|E)\.$")


@dataclass
class Sentence:
    text: str
    stems: list[str] = field(repr=False)
    stem_set: frozenset[str] = field(repr=False)


@dataclass
class Block:
    """A step, bullet, table row, callout, sentence group or figure label of a passage."""

    kind: str  # "prose", "step", "bullet", "row", "callout" or "fragment"
    text: str  # without its step number or bullet sign
    label: str = ""  # a step's number as printed, or a callout's "WARNING" etc.
    list_id: int = -1  # the steps of one numbered list share it
    caption: str = ""  # a row's table caption
    lead: str = ""  # a bullet's lead-in ("Change your gloves:")
    sentences: list[Sentence] = field(default_factory=list, repr=False)
    cells: list[str] = field(default_factory=list)  # a " | " row's cells, its label first
    header: list[str] = field(default_factory=list)  # its table's header cells, if known

    @property
    def is_step(self) -> bool:
        return self.kind == "step"


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, each keeping its own punctuation."""
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start : match.start()].rstrip()
        if _ABBREVIATION.search(piece):
            continue
        parts.append(piece)
        start = match.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def read(text: str) -> list[Block]:
    """The blocks of a passage, in reading order. The same passage is read once and its
    blocks shared: callers must not change them."""
    return list(_read(text))


@lru_cache(maxsize=1024)
def _read(text: str) -> tuple[Block, ...]:
    reader = _Reader()
    raws = text.splitlines()
    rows = _row_lines(raws)
    for i, raw in enumerate(raws):
        reader.line(clean(" ".join(raw.split())), row=i in rows)
    blocks = [b for b in reader.blocks if len(b.text.split()) > 2 or b.kind == "step"]
    blocks = [part for block in blocks for part in _enumerated(block, reader)]
    for block in blocks:
        if block.kind == "fragment" and _TERMINAL.search(block.text):
            block.kind = "prose"  # a wrapped sentence
        texts = [block.text] if block.kind == "fragment" else split_sentences(block.text)
        block.sentences = [_sentence(t) for t in texts]
    return tuple(blocks)


# --- Regulations: priority marks and lists written inline --------------------------------

# A code's priority marks after a provision ("... 20 seconds. P", "water; Pf (2)", glued
# "operation.Pf"): they tell an inspector how a violation ranks, not the crew what to do.
_PRIORITY = re.compile(r"(?:(?<=[.;:,)\]])\s*|(?<=[a-z]\.))\bP[f]?\b(?=[\s,;.]|$)")
# An inline list item: "(1) ", "(a) " or "(iv) " after the start, a colon, a semicolon,
# a comma or "and"/"or" (not a cross-reference such as "¶ (B)" or "3-201.17(A)(1)").
_INLINE_ITEM = re.compile(
    r"(?:^|(?<=[:;,.])\s+|\s+(?:and|or)\s+)\((\d{1,2}|[a-zA-Z]|[ivx]{1,4})\)\s+"
)
MIN_INLINE_ITEMS = 2
_ITEM_START = re.compile(r"^\((?:\d{1,3}|[a-z]|[ivx]{1,4})\)\s")


def clean(line: str) -> str:
    """A line without a regulation's priority marks."""
    if "P" not in line:
        return line
    return " ".join(_PRIORITY.sub("", line).split())


def _enumerated(block: Block, reader: _Reader) -> list[Block]:
    """A paragraph whose lead-in ends with a colon and whose items are written inline
    ("... as follows: (1) Rinse ...; (2) Apply ...") as the lead-in and numbered steps."""
    if block.kind not in ("prose", "fragment"):
        return [block]
    colon = block.text.find(": (")
    if colon < 0:
        return [block]
    lead, rest = block.text[: colon + 1], block.text[colon:]
    items = _items(rest)
    if len(items) < MIN_INLINE_ITEMS:
        return [block]
    reader.lists += 1
    parts = [Block("prose", lead)] if len(lead.split()) > 2 else []
    for label, text in items:
        parts.append(Block("step", text, label=label, list_id=reader.lists))
    return parts


def _items(text: str) -> list[tuple[str, str]]:
    """(label, text) of the inline items of one level that follow each other in order:
    (1) (2) (3) or (a) (b) (c); deeper items stay inside their parent's text."""
    found = list(_INLINE_ITEM.finditer(text))
    if not found or found[0].start() > 1:
        return []
    kept, want = [], found[0].group(1)
    for match in found:
        if match.group(1) == want:
            kept.append(match)
            want = _next_label(want)
    items = []
    for i, match in enumerate(kept):
        end = kept[i + 1].start() if i + 1 < len(kept) else len(text)
        body = text[match.end() : end].strip().rstrip(";,").strip()
        body = re.sub(r"\s+(?:and|or)$", "", body)
        items.append((match.group(1), body))
    return items


def _next_label(label: str) -> str:
    if label.isdigit():
        return str(int(label) + 1)
    if len(label) == 1:
        return chr(ord(label) + 1)
    return ""  # roman numerals: one level is enough


def _sentence(text: str) -> Sentence:
    found = stems(text)
    return Sentence(text, found, frozenset(found))


class _Reader:
    def __init__(self):
        self.blocks: list[Block] = []
        self.callout_next = False
        self.callout_label = ""
        self.table: dict | None = None  # {"caption", "header", "caps"}
        self.grid: dict | None = None  # a " | " table being read: {"caption", "header"}
        self.lists = 0

    @property
    def last(self) -> Block | None:
        return self.blocks[-1] if self.blocks else None

    def line(self, line: str, row: bool = False) -> None:
        if not line:
            return
        if row:
            self._cells([cell.strip() for cell in _CELL_BREAK.split(line)])
            return
        self.grid = None
        label = None
        if line in CALLOUT_LABELS:
            self.callout_next, self.callout_label, self.table = True, line, None
            return
        if match := _LABEL.match(line):  # "... free of grease. WARNING": the callout follows
            line, label = match.group(1), match.group(2)
        if match := _TABLE_INSIDE.match(line):  # "... at night. Table 4. Closing checklist"
            self.line(match.group(1))
            line = match.group(2)
        self._place(line)
        if label:
            self.callout_next, self.callout_label, self.table = True, label, None

    def _place(self, line: str) -> None:
        if _FIGURE.match(line):
            self.table = None
            self._drop_figure_labels()
            return
        if match := _TABLE.match(line):
            self.table = {"caption": match.group(1), "header": None, "caps": None}
            return
        if self.table is not None and self.table["header"] is None and not self.callout_next:
            self.table["header"] = line
            return
        if self.callout_next:
            self.callout_next, self.table = False, None
            self._add("callout", line, label=self.callout_label)
        elif match := _STEP.match(line):
            self.table = None
            self._step(match.group(1), match.group(2))
        elif match := _BULLET.match(line):
            self.table = None
            last = self.last
            lead = ""
            if last is not None and last.kind == "bullet":
                lead = last.lead
            elif last is not None and last.kind == "prose" and last.text.endswith(":"):
                lead = split_sentences(last.text)[-1]
            self._add("bullet", match.group(1), lead=lead)
        elif self.table is not None:
            self._row(line)
        else:
            self._prose(line)

    def _add(self, kind: str, text: str, **fields) -> None:
        self.blocks.append(Block(kind, text, **fields))

    def _extend(self, text: str) -> None:
        self.last.text = f"{self.last.text} {text}"

    def _step(self, number: str, text: str) -> None:
        previous = self.last
        same_list = (
            previous is not None
            and previous.is_step
            and previous.label.isdigit()
            and int(number) == int(previous.label) + 1
        )
        if not same_list:
            self.lists += 1
        self._add("step", text, label=number, list_id=self.lists)

    def _prose(self, line: str) -> None:
        last = self.last
        unfinished = last is not None and not _TERMINAL.search(last.text)
        continues = (
            last is not None
            and last.kind != "row"
            and unfinished
            # a wrapped sentence goes on in lower case, or with an inline list item
            and (line[0].islower() or last.kind != "fragment" or bool(_ITEM_START.match(line)))
        )
        if continues:
            self._extend(line)
        elif _TIME_OR_MONEY.match(line):
            self._add("row", line)  # a checklist row whose table began in another chunk
        elif _TERMINAL.search(line):
            self._add("prose", line)
        else:
            self._add("fragment", line)

    def _row(self, line: str) -> None:
        table, last = self.table, self.last
        if table["caps"] is None:
            table["caps"] = bool(_CAPS_KEY.match(line))
        keyed = table["caps"] and bool(_CAPS_KEY.match(line))
        if not keyed and _is_prose_paragraph(line, keyed_table=table["caps"]):
            self.table = None
            self._prose(line)
            return
        new_row = (
            last is None
            or last.kind != "row"
            or last.caption != table["caption"]
            or bool(_TIME_OR_MONEY.match(line))
            or (table["caps"] and bool(_CAPS_KEY.match(line)))
        )
        if not new_row and not table["caps"]:
            new_row = not _continues_row(line, last.text)
        if new_row:
            self._add("row", line, caption=table["caption"])
        else:
            self._extend(line)

    def _cells(self, cells: list[str]) -> None:
        """A row of a " | " table. The first row is the header, unless it opens the
        passage and reads as values: the rest of a table begun in an earlier passage."""
        if self.grid is None:
            captioned = self.table is not None and self.table["header"] is None
            opening = not self.blocks and not captioned
            self.grid = {"caption": self.table["caption"] if captioned else "", "header": []}
            self.table, self.callout_next = None, False
            if not opening or _names_columns(cells):
                self.grid["header"] = cells
                return
        row = Block("row", "", caption=self.grid["caption"], cells=cells)
        row.header = self.grid["header"]
        row.text = labelled(row)
        self.blocks.append(row)

    def _drop_figure_labels(self) -> None:
        """The short labels drawn in a figure come just before its caption."""
        while self.blocks and self.blocks[-1].kind == "fragment":
            self.blocks.pop()


def _continues_row(line: str, row: str) -> bool:
    """Whether a line of a table (not keyed by capitals) wraps the row before it."""
    if _NUMBERISH.match(line) or line[0].islower():
        return True
    if not _TERMINAL.search(row) and _TERMINAL.search(line):
        return True  # a label cell, then the sentence cell that goes with it
    words = line.split()
    return len(words) <= 2 and not _TERMINAL.search(line) and not any(c.isdigit() for c in line)


_SENTENCE_START = re.compile(r"^(The|This|These|If|All|Every|Each|When|Always|Never|Do not)\s")


def _is_prose_paragraph(line: str, keyed_table: bool) -> bool:
    """A paragraph after a table, not a row of it (a row keyed by a code or a display
    message can go on for sentences: "Check the mix level first. Check ...")."""
    words = len(line.split())
    if not keyed_table and words >= 25 and len(split_sentences(line)) >= 2:
        return True
    return words >= 8 and bool(_SENTENCE_START.match(line)) and bool(_TERMINAL.search(line))


def _row_lines(raws: list[str]) -> set[int]:
    """Indexes of the lines that are rows of a " | " table: next to another such line,
    after a "Table N." caption, or first in the passage (a table's last row, whose
    others are in an earlier passage). A lone " | " elsewhere is just a character."""
    lines = [" ".join(raw.split()) for raw in raws]
    marked = [bool(_CELL_BREAK.search(line)) for line in lines]
    first = next((i for i, line in enumerate(lines) if line), -1)
    found = set()
    for i in range(len(lines)):
        if not marked[i]:
            continue
        previous = lines[i - 1] if i else ""
        if (
            (i and marked[i - 1])
            or (i + 1 < len(lines) and marked[i + 1])
            or i == first
            or _TABLE.match(previous)
            or _TABLE_INSIDE.match(previous)
        ):
            found.add(i)
    return found


def _names_columns(cells: list[str]) -> bool:
    """Whether a row reads as column names: short, no sentence, not starting with a figure."""
    filled = [cell for cell in cells if cell]
    return bool(filled) and all(
        len(cell.split()) <= 6
        and not _TERMINAL.search(cell)
        and not _STARTS_WITH_FIGURE.match(cell)
        for cell in filled
    )


def labelled(block: Block, columns: Iterable[str] | None = None) -> str:
    """A table row as its label and labelled values: "French fries (frozen, 3/8 in
    cut): Oil temp 350°F, Cook time 3 min 00 s". The first cell is the row's label; each
    other cell that is not empty follows its column's header name. ``columns`` keeps only
    the values under those header names (any case); the label always stays. A row whose
    header is not known gives all its values unnamed, after the label. A value ending a
    sentence is followed by a space, not a comma. Blocks that are not rows of a " | "
    table give their text."""
    if not block.cells:
        return block.text
    label, values = block.cells[0], block.cells[1:]
    names = block.header[1:]
    wanted = {c.casefold() for c in columns} if columns is not None and names else None
    parts = []
    for i, value in enumerate(values):
        name = names[i] if i < len(names) else ""
        if value and (wanted is None or name.casefold() in wanted):
            parts.append(f"{name} {value}" if name else value)
    text = ""
    for part in parts:
        text += (" " if _VALUE_END.search(text) else ", ") + part if text else part
    if not label or not text:
        return label or text
    return f"{label} {text}" if label.endswith(":") else f"{label}: {text}"


def pieces(blocks: list[Block]) -> list[tuple[Block, list[Sentence]]]:
    """The quotable units of a passage's blocks, in order: each sentence of a paragraph
    on its own, a step, bullet, row or callout whole."""
    found = []
    for block in blocks:
        if block.kind == "prose":
            found += [(block, [s]) for s in block.sentences]
        else:
            found.append((block, block.sentences))
    return found


def unit_text(sentences: list[Sentence]) -> str:
    return " ".join(s.text for s in sentences)


def units(text: str) -> list[str]:
    """The texts of a passage's quotable units (``pieces``), as embeddings are stored."""
    return [unit_text(sentences) for _, sentences in pieces(read(text))]
