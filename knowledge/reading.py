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
from itertools import pairwise

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
# A code's numbered subpart heading that a PDF's text ran into the paragraph before it
# ("... when working with exposed FOOD. 2-303 Jewelry"): it titles what follows, it is no
# part of the sentence, and its words would make the sentence seem to be about jewelry.
# A part's heading may come first ("... conditions. 3-7 Contaminated Food 3-307 ...").
_RUN_IN_HEADING = re.compile(
    r"(?:^|(?<=[.;:!?]))(?:\s*\d{1,2}-\d{1,3}(?:\.\d+)?\s+[A-Z][A-Za-z,'’ ]{1,60}?)+$"
)
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
    chart: bool = False  # a row read back from a chart flattened into running text

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
    blocks = [part for block in blocks for part in _charted(block)]
    blocks = [part for block in blocks for part in _enumerated(block, reader)]
    for block in blocks:
        block.text = _RUN_IN_HEADING.sub("", block.text)
    blocks = [b for b in blocks if b.text]
    for block in blocks:
        if block.kind == "fragment" and _TERMINAL.search(block.text):
            block.kind = "prose"  # a wrapped sentence
        texts = [block.text] if block.kind == "fragment" else split_sentences(block.text)
        block.sentences = [_sentence(t) for t in texts]
    return tuple(blocks)


# --- Charts flattened into running text ---------------------------------------------

# A PDF converted to text can lose a chart's layout: "... that temperature: Temperature
# °C (°F) Time in Minutes 54.4 (130) 112 55.0 (131) 89 56.1 (133) 56 ...". What is left
# is the chart's column names, then its values a row at a time. Read back, each row is
# a row block whose values follow their column names ("Temperature °C (°F) 56.1 (133):
# Time in Minutes 56"), so a question naming 133 is answered by that row alone.
_COMPARATOR = frozenset(["<", ">", "≤", "≥"])
_VALUE_NUMBER = re.compile(r"^\d+(?:\.\d+)?(?:°[CF])?$")
_VALUE_UNIT = re.compile(
    r"^(?:min(?:ute)?s?|sec(?:ond)?s?|hours?|days?|kg|lbs?|°[CF]|%|inch(?:es)?|in)$",
    re.IGNORECASE,
)
_FOOTNOTE = re.compile(r"(?<=[A-Za-z])\d$")  # "Time1": a footnote's mark on a column name
_FOOTNOTE_TEXT = re.compile(r"^\d[A-Z][a-z]")  # "1Holding time may include ...": its text
_FOOTNOTE_SENTENCE = re.compile(r"^\d ?[A-Z][a-z][^.]{0,200}\.(?:\s+|$)")
MIN_CHART_ROWS = 3
MAX_CHART_COLUMNS = 4
MAX_HEADER_WORDS = 12
_HEADER_BEFORE = (":", ".", ";")  # what ends the text before a chart's column names


@dataclass
class _Value:
    start: int  # token index
    end: int  # one past its last token
    text: str
    shape: tuple[bool, bool]  # (a number in parentheses, a unit word)


def _value_at(words: list[str], i: int) -> _Value | None:
    """A chart value starting at word ``i``: a number, maybe after a comparator and
    before a unit, then maybe a parenthesis ("54.4 (130)", "3 minutes", "< 1 second
    (instantaneous)") and "or more" / "or less"."""
    j = i + (words[i] in _COMPARATOR)
    if j >= len(words) or not _VALUE_NUMBER.match(words[j]):
        return None
    j += 1
    unit = j < len(words) and bool(_VALUE_UNIT.match(words[j]))
    j += unit
    numeric_paren = False
    if j < len(words) and words[j].startswith("("):
        close = next((k for k in range(j, min(j + 3, len(words))) if words[k].endswith(")")), None)
        if close is not None:
            numeric_paren = any(c.isdigit() for c in " ".join(words[j : close + 1]))
            j = close + 1
    if j + 1 < len(words) and words[j] == "or" and words[j + 1].lower() in ("more", "less"):
        j += 2
    return _Value(i, j, " ".join(words[i:j]), (numeric_paren, unit))


def _charted(block: Block, lead: str = "") -> list[Block]:
    """A paragraph holding a flattened chart as the paragraph before it, the chart's
    rows and the paragraph after it; any other block as it is. The rows' lead-in is the
    sentence before the chart, or ``lead`` (the chart before's) when only a footnote
    stands between them."""
    if block.kind not in ("prose", "fragment") or sum(c.isdigit() for c in block.text) < 12:
        return [block]
    words = block.text.split()
    runs, values, i = [], [], 0
    while i < len(words):
        value = _value_at(words, i)
        if value is not None:
            values.append(value)
            i = value.end
            continue
        if values:
            runs.append(values)
        values, i = [], i + 1
    if values:
        runs.append(values)
    for r, run in enumerate(runs):
        found = _chart(words, run) or _labelled_chart(words, runs, r)
        if found is None:
            continue
        start, end, rows, title = found
        before = Block(block.kind, " ".join(words[:start])) if start else None
        rest = " ".join(words[end:])
        # the chart's footnote ("1Holding time may include ... rise.") explains one of its
        # marks: never quoted on its own, nor run into the sentence after it
        if note := _FOOTNOTE_SENTENCE.match(rest):
            rest = rest[note.end() :]
        after = Block("prose", rest) if rest else None
        said = split_sentences(before.text) if before is not None else []
        if said and not (lead and all(_FOOTNOTE_TEXT.match(s) for s in said)):
            lead = said[-1]
        for row in rows:
            row.lead = f"{lead} {title}".strip()
        parts = [b for b in (before, *rows) if b is not None and b.text]
        return parts + (_charted(after, lead) if after is not None and after.text else [])
    return [block]


def _chart(words: list[str], run: list[_Value]) -> tuple[int, int, list[Block], str] | None:
    """(first word of its column names, one past its last value, its rows, no title) when a run
    of values reads as a chart: MIN_CHART_ROWS or more rows of 2 to MAX_CHART_COLUMNS
    values each, every column's values of one shape and not all columns of the same."""
    for width in range(2, MAX_CHART_COLUMNS + 1):
        count = len(run) // width
        if count < MIN_CHART_ROWS:
            break
        shapes = [run[c].shape for c in range(width)]
        if len(set(shapes)) < 2:
            continue  # a run of alike numbers: nothing tells one column from the next
        if any(run[r * width + c].shape != shapes[c] for r in range(count) for c in range(width)):
            continue
        header_start, names = _chart_header(words, run[0].start, width)
        if not names:
            continue
        rows = []
        for r in range(count):
            cells = [v.text for v in run[r * width : (r + 1) * width]]
            row = Block("row", "", cells=[f"{names[0]} {cells[0]}", *cells[1:]], chart=True)
            row.header = names
            row.text = labelled(row)
            rows.append(row)
        return header_start, run[count * width - 1].end, rows, ""
    return None


def _labelled_chart(
    words: list[str], runs: list[list[_Value]], first: int
) -> tuple[int, int, list[Block], str] | None:
    """A chart whose rows each start with a label of a few words: "Still Dry 177°C
    (350°F) or more 121°C (250°F) or more Convection 163°C (325°F) or more ...".
    MIN_CHART_ROWS or more labels, each followed by as many values as the first, of the
    same shapes column by column (a footnote's digit after a label is not a value).
    The values before the first label, as many, name the columns ("Less than 4.5 kg
    (10 lbs)", "4.5 kg (10 lbs) or More"); the words before them are the chart's title.
    (first word of its title, one past its last value, its rows, its title)."""
    if first == 0:
        return None
    head = _row_values(runs[first], None)
    if not head or not _label(words, runs[first - 1][-1].end, runs[first][0].start):
        return None
    width, shapes = len(head), [v.shape for v in head]
    rows: list[tuple[str, list[_Value]]] = []
    for i in range(first, len(runs)):
        label = _label(words, runs[i - 1][-1].end, runs[i][0].start)
        values = _row_values(runs[i], width, last=True)
        if not label or values is None or [v.shape for v in values] != shapes:
            break
        rows.append((label, values))
        if len(values) < len(runs[i]) and runs[i][-1] is not values[-1]:
            break  # values left over: the chart ends inside this run
    if len(rows) < MIN_CHART_ROWS:
        return None
    header = runs[first - 1]
    names = [v.text for v in header] if len(header) == width else []
    start = runs[first - 1][-1].end  # no column names: the chart starts at its first label
    if names:
        start = header[0].start
        comparison = " ".join(words[start - 2 : start]).lower()
        if comparison in _COMPARISONS:
            start -= 2
            names[0] = " ".join(words[start : header[0].start]) + " " + names[0]
    title_start = _text_start(words, start)
    blocks = []
    for label, values in rows:
        row = Block("row", "", cells=[label, *(v.text for v in values)], chart=True)
        row.header = ["", *names] if names else []
        row.text = _labelled_chart_row(label, names, [v.text for v in values])
        blocks.append(row)
    title = " ".join(words[title_start:start])
    return title_start, rows[-1][1][-1].end, blocks, title


def _labelled_chart_row(label: str, names: list[str], values: list[str]) -> str:
    """ "Convection — Less than 4.5 kg (10 lbs): 163°C (325°F) or more; 4.5 kg (10 lbs)
    or More: 121°C (250°F) or more": the column names are figures themselves, so each
    is set off from its value."""
    if not names:
        return f"{label}: {', '.join(values)}"
    return f"{label} — " + "; ".join(f"{n}: {v}" for n, v in zip(names, values, strict=True))


_COMPARISONS = frozenset(["less than", "more than", "up to", "at least", "at most", "fewer than"])
MAX_LABEL_WORDS = 4


def _label(words: list[str], start: int, end: int) -> str:
    """A row's label between two runs of values: one to MAX_LABEL_WORDS words without
    figures, the first a capital ("Still Dry", "Convection", "High Humidity")."""
    label = words[start:end]
    if not 0 < len(label) <= MAX_LABEL_WORDS or not label[0][:1].isupper():
        return ""
    if any(any(c.isdigit() for c in w) or w.endswith((".", ";", ":")) for w in label):
        return ""
    return " ".join(label)


def _row_values(run: list[_Value], width: int | None, last: bool = False) -> list[_Value] | None:
    """The values of a labelled row: the run, less a footnote's digit right after the
    label ("High Humidity 1 121°C ..."); with ``last``, a run may go on past the row
    (the chart ends in it)."""
    if len(run) > 1 and re.fullmatch(r"\d", run[0].text) and run[0].shape == (False, False):
        run = run[1:]
    if width is None:
        return run if len(run) >= 1 else None
    if len(run) == width or (last and len(run) > width):
        return run[:width]
    return None


def _text_start(words: list[str], end: int) -> int:
    """Where the words before ``end`` that name a chart begin (its column names or its
    title): after the paragraph's last colon, sentence end or priority mark, at most
    MAX_HEADER_WORDS back."""
    start = end
    while start > 0 and end - start < MAX_HEADER_WORDS:
        if words[start - 1].endswith(_HEADER_BEFORE) or words[start - 1] in ("P", "Pf"):
            break
        start -= 1
    return start


def _chart_header(words: list[str], first_value: int, width: int) -> tuple[int, list[str]]:
    """Where a chart's column names begin, and the names: the words since the
    paragraph's last colon or sentence end (or priority mark), split into ``width``
    names after each closing parenthesis ("Temperature °C (°F) | Time in Minutes"), or
    else before the last capitals. [] when they cannot be told."""
    start = _text_start(words, first_value)
    bounded = start == 0 or words[start - 1].endswith((*_HEADER_BEFORE, "P", "Pf"))
    header = [_FOOTNOTE.sub("", w) for w in words[start:first_value]]
    if not bounded or len(header) < width:
        return start, []
    bounds = [k + 1 for k, w in enumerate(header[:-1]) if w.endswith(")")]
    if len(bounds) != width - 1:
        capitals = [k for k in range(1, len(header)) if header[k][:1].isupper()]
        bounds = capitals[-(width - 1) :] if len(capitals) >= width - 1 else []
    if len(bounds) != width - 1:
        return start, []
    edges = [0, *bounds, len(header)]
    return start, [" ".join(header[a:b]) for a, b in pairwise(edges)]


# --- Regulations: priority marks and lists written inline --------------------------------

# A code's priority marks after a provision ("... 20 seconds. P", "water; Pf (2)", glued
# "operation.Pf"), or before the punctuation of an item written inline ("or below Pf, (2)",
# "less Pf; or", "the AUTHORITY P and one of"): they tell an inspector how a violation
# ranks, not the crew what to do. A lone "P" there is a mark only after a term in capitals
# and before ";", "and" or "or" (a manual's "set the mode to P, then" keeps it).
_PRIORITY = re.compile(
    r"(?:(?<=[.;:,)\]])\s*|(?<=[a-z]\.))\bP[f]?\b(?=[\s,;.]|$)"
    r"|(?<=[\w)%°])\s+Pf(?=\s*$|[,;.](?:\s|$)|\s+[a-z(])"
    r"|(?<=[A-Z]{2})\s+P(?=;|\s+(?:and|or)\b)"
)
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


def embedded_units(text: str) -> list[str]:
    """What each of ``units(text)`` is embedded as, in the same order: its text, and a
    chart row's lead-in before it (alone, "Temperature °C (°F) 56.1 (133): Time in
    Minutes 56" means any temperature, the weather's as much as a roast's)."""
    return [
        f"{block.lead} {unit_text(sentences)}"
        if block.chart and block.lead
        else unit_text(sentences)
        for block, sentences in pieces(read(text))
    ]


def units(text: str) -> list[str]:
    """The texts of a passage's quotable units (``pieces``), as embeddings are stored."""
    return [unit_text(sentences) for _, sentences in pieces(read(text))]
