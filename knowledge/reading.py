"""Reading a passage the way a crew member would: steps, bullets, table rows, warnings
and plain sentences, each a block the answer can quote whole.

Passages are the text of chunks as ingestion extracted it from the PDF: one line per
laid-out line, numbered steps as "3. ...", bullets as "• ...", a table as its caption
("Table 2. ...") and header line followed by rows whose cells may wrap onto lines of
their own, and callouts as a "WARNING" / "CAUTION" / "IMPORTANT" line before their text.
The rules below undo that layout; they never change a word or a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.words import stems

CALLOUT_LABELS = ("WARNING", "CAUTION", "IMPORTANT", "DANGER", "NOTE")
_LABEL = re.compile(rf"^(.*\S)\s+({'|'.join(CALLOUT_LABELS)})$")
_STEP = re.compile(r"^(\d{1,2})\.\s+(\S.*)$")
_BULLET = re.compile(r"^[•▪◦‣∙·\-–]\s+(\S.*)$")
_TABLE = re.compile(r"^Table \d+\.\s+(\S.*)$")
_TABLE_INSIDE = re.compile(r"^(.*[.!?])\s+(Table \d+\.\s+\S.*)$")
_FIGURE = re.compile(r"^Figure \d+\.\s")
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
    """The blocks of a passage, in reading order."""
    reader = _Reader()
    for raw in text.splitlines():
        reader.line(" ".join(raw.split()))
    blocks = [b for b in reader.blocks if len(b.text.split()) > 2 or b.kind == "step"]
    for block in blocks:
        if block.kind == "fragment" and _TERMINAL.search(block.text):
            block.kind = "prose"  # a wrapped sentence
        texts = [block.text] if block.kind == "fragment" else split_sentences(block.text)
        block.sentences = [_sentence(t) for t in texts]
    return blocks


def _sentence(text: str) -> Sentence:
    found = stems(text)
    return Sentence(text, found, frozenset(found))


class _Reader:
    def __init__(self):
        self.blocks: list[Block] = []
        self.callout_next = False
        self.callout_label = ""
        self.table: dict | None = None  # {"caption", "header", "caps"}
        self.lists = 0

    @property
    def last(self) -> Block | None:
        return self.blocks[-1] if self.blocks else None

    def line(self, line: str) -> None:
        if not line:
            return
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
            and (line[0].islower() or last.kind != "fragment")
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
