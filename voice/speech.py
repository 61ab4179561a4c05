"""Answers shaped for the ear: what gets spoken, and where speech can start.

Pure functions, no Django. A streamed answer goes through ``SentenceSplitter`` (raw
text in, whole sentences out, so the first sentence can be spoken while the rest is
still being written), then each sentence through ``for_the_ear`` before synthesis.
"""

from __future__ import annotations

import re
from itertools import islice

from chat import markers

# --- for_the_ear -------------------------------------------------------------------

_NUM = r"\d+(?:[.,]\d+)?"

_FENCE = re.compile(r"^\s*(?:```|~~~).*$", re.M)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$", re.M)
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_QUOTE = re.compile(r"^\s*>\s?", re.M)
_LIST_MARK = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,3}[.)])\s+", re.M)
_EMPHASIS = (
    re.compile(r"\*\*(.+?)\*\*"),
    re.compile(r"(?<!\w)__(.+?)__(?!\w)"),
    re.compile(r"\*(?!\s)(.+?)(?<!\s)\*"),
    re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)"),
    re.compile(r"~~(.+?)~~"),
    re.compile(r"`([^`]*)`"),
)

_ABBREVIATIONS = (
    (re.compile(r"\be\.\s?g\.(?:,)?", re.I), "for example,"),
    (re.compile(r"\bi\.\s?e\.(?:,)?", re.I), "that is,"),
    (re.compile(r"\betc\.(?=\s*$|\s+[A-Z])"), "et cetera."),
    (re.compile(r"\betc\.", re.I), "et cetera"),
    (re.compile(r"\bapprox\b\.?", re.I), "approximately"),
    (re.compile(r"\bvs\.?(?=\s)", re.I), "versus"),
    (re.compile(r"\bw/o\b", re.I), "without"),
    (re.compile(r"\bw/\s?(?=\w)", re.I), "with "),
    (re.compile(r"\bN/A\b"), "not applicable"),
    (re.compile(r"\band/or\b", re.I), "and or"),
    (re.compile(r"\bno\.\s*(?=\d)", re.I), "number "),
    (re.compile(r"#(?=\d)"), "number "),
)

_DENOMINATORS = {2: "half", 3: "third", 4: "quarter", 8: "eighth", 16: "sixteenth"}
# "1 1/2", "3/4"; not dates ("1/2/2024") nor scores ("24/7").
_FRACTION = re.compile(r"(?<![\d/])(?:(\d+)\s+)?(\d{1,2})/(2|3|4|8|16)(?![\d/])")

# Unit spellings after a number, longest first so "fl oz" wins over "oz"; each maps to
# (singular, plural).
_UNITS = {
    "minutes": ("minute", "minutes"),
    "minute": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "min": ("minute", "minutes"),
    "seconds": ("second", "seconds"),
    "second": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "s": ("second", "seconds"),
    "hours": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "h": ("hour", "hours"),
    "ppm": ("part per million", "parts per million"),
    "fl oz": ("fluid ounce", "fluid ounces"),
    "oz": ("ounce", "ounces"),
    "lbs": ("pound", "pounds"),
    "lb": ("pound", "pounds"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "ml": ("milliliter", "milliliters"),
    "qt": ("quart", "quarts"),
    "gal": ("gallon", "gallons"),
    "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"),
}
_UNIT_NAMES = "|".join(re.escape(u).replace(r"\ ", r"\s?") for u in _UNITS)
_UNIT_KEY = {re.sub(r"\s", "", u): u for u in _UNITS}
# A unit's own dot ("3 min. per side") goes; a dot that ends a sentence stays.
_UNIT = re.compile(
    rf"(?<![\w./])((?:\d+\s+)?\d{{1,2}}/(?:2|3|4|8|16)|{_NUM})\s?({_UNIT_NAMES})(?:\.(?=\s+(?-i:[a-z])))?(?![\w°%])",
    re.I,
)
# "2 min 30 s" / "3 min 00 s": a zero part is not spoken.
_MIN_SEC = re.compile(
    r"(?<![\w.])(\d+)\s?(?:min|mins|minutes?)\s+(\d{1,2})\s?(?:s|secs?|seconds?)\b", re.I
)
_PER_WORD = re.compile(rf"\bper\s+({_UNIT_NAMES})\b", re.I)
_PER = re.compile(rf"(\d\s?)({_UNIT_NAMES})\s?/\s?({_UNIT_NAMES})\b", re.I)
_SPOKEN_UNIT = "|".join(
    sorted({w for pair in _UNITS.values() for w in pair}, key=len, reverse=True)
)
# An en dash between numbers is a range; a hyphen only when a unit follows ("3-5 min"),
# not in dates or phone numbers.
_RANGE = re.compile(
    r"(?<![\w.:/-])(-?\d+(?:\.\d+)?)"
    rf"(?:\s?[\u2013\u2014]\s?(?=-?\d)|-(?=\d+(?:\.\d+)?\s(?:degrees|percent|{_SPOKEN_UNIT})\b))"
)
_TEMPERATURE = re.compile(
    r"(?<![\w.])(-|\u2212)?(\d+(?:\.\d+)?)"
    r"(?:\s?[°º]\s?|\s?(?:deg\.?|degrees?)\s+|(?=[FC]\b))([FC])\b"
)
_DEGREE = re.compile(r"(\d)\s?[°º]")
_PERCENT = re.compile(r"(\d)\s?%")
_CLOCK = re.compile(r"\b(\d{1,2}):00\s?(?=(?:[ap]\.?m\b\.?|noon|midnight))", re.I)
_MERIDIEM = re.compile(r"\b([ap])\.m\.(?=(\s+[A-Z])?)", re.I)
# "fries/hash browns"; single letters ("A/C") are left alone.
_SLASH = re.compile(r"(?<=[A-Za-z]{2})\s?/\s?(?=[A-Za-z]{2})")


def for_the_ear(text: str) -> str:
    """What to speak for ``text`` (a sentence or a whole answer): citation markers and
    markdown dropped, units and abbreviations spelt out, one line.

    A line break becomes a pause ("." unless the line already ends in punctuation),
    so a heading or list item is not run into the next one.
    """
    text = _without_markdown(text)
    for pattern, spoken in _ABBREVIATIONS:
        text = pattern.sub(spoken, text)
    text = _with_units_spoken(text)
    text = text.replace("&", " and ")
    text = _SLASH.sub(" or ", text)
    return _one_line(text)


def _without_markdown(text: str) -> str:
    text = _FENCE.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _IMAGE_OR_LINK.sub(r"\1", text)
    text = markers.plain(text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _LIST_MARK.sub("", text)
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    return "\n".join(_table_row(line) for line in text.splitlines())


def _table_row(line: str) -> str:
    if line.count("|") < 2:
        return line
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return ", ".join(cell for cell in cells if cell)


def _with_units_spoken(text: str) -> str:
    text = _CLOCK.sub(r"\1 ", text)
    text = _MERIDIEM.sub(lambda m: f"{m[1].upper()}M{'.' if m[2] else ''}", text)
    text = _TEMPERATURE.sub(_temperature, text)
    text = _DEGREE.sub(r"\1 degrees", text)
    text = _PERCENT.sub(r"\1 percent", text)
    text = _MIN_SEC.sub(_minutes_seconds, text)
    text = _PER.sub(lambda m: f"{m[1]}{m[2]} per {_unit(m[3], '1')}", text)
    text = _PER_WORD.sub(lambda m: f"per {_unit(m[1], '1')}", text)
    text = _UNIT.sub(_amount, text)
    text = _FRACTION.sub(_fraction, text)
    # "3-5 minutes", "135–165 degrees": a dash between numbers is a range.
    return _RANGE.sub(r"\1 to ", text)


def _unit(name: str, number: str) -> str:
    key = re.sub(r"\s", "", name)
    singular, plural = _UNITS.get(_UNIT_KEY.get(key, key.lower()), (name, name))
    return singular if number == "1" else plural


def _amount(m: re.Match) -> str:
    number, unit = m[1], m[2]
    if "/" not in number:
        return f"{number} {_unit(unit, number)}"
    spoken = _FRACTION.sub(_fraction, number)
    if " and " in spoken or "/" in spoken:  # "1 1/2 oz": 1 and one half ounces
        return f"{spoken} {_unit(unit, '2')}"
    singular = _unit(unit, "1")
    article = "an" if singular[0] in "aeiou" or singular == "hour" else "a"
    return f"{spoken} of {article} {singular}"  # "3/4 oz": three quarters of an ounce


def _temperature(m: re.Match) -> str:
    sign = "minus " if m[1] else ""
    return f"{sign}{m[2]} degrees {'Fahrenheit' if m[3] == 'F' else 'Celsius'}"


def _minutes_seconds(m: re.Match) -> str:
    minutes = f"{m[1]} {_unit('min', m[1])}"
    if int(m[2]) == 0:
        return minutes
    return f"{minutes} {int(m[2])} {_unit('s', str(int(m[2])))}"


def _fraction(m: re.Match) -> str:
    numerator, denominator = int(m[2]), int(m[3])
    if not 0 < numerator < denominator:
        return m[0]
    name = _DENOMINATORS[denominator]
    if numerator > 1:
        name = "halves" if name == "half" else name + "s"
    spoken = f"{'one' if numerator == 1 else numerator} {name}"
    return f"{m[1]} and {spoken}" if m[1] else spoken


def _one_line(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    spoken = " ".join(
        line if i == len(lines) - 1 or line[-1] in ".!?:;," else line + "."
        for i, line in enumerate(lines)
    )
    spoken = re.sub(r"\s+([,.;:!?])", r"\1", spoken)
    return re.sub(r"([,;])(?=[,;.])", "", spoken).strip()


# --- SentenceSplitter --------------------------------------------------------------

# Never end a sentence: they introduce what follows.
_NEVER_END = {"e.g.", "i.e.", "approx.", "no.", "nos.", "dr.", "mr.", "mrs.", "ms.", "st."}
_NEVER_END |= {"vs.", "cf.", "fig.", "ca.", "ex.", "incl.", "max.", "avg."}
# End a sentence only when the next word starts with a capital ("Fry 3 min. Then ...").
_MAYBE_END = {"min.", "mins.", "sec.", "secs.", "hr.", "hrs.", "oz.", "lb.", "lbs.", "qt."}
_MAYBE_END |= {"gal.", "tbsp.", "tsp.", "etc.", "a.m.", "p.m.", "temp."}

_TERMINATOR = re.compile(r"\n|[.!?\u2026]+")
_CLOSERS = re.compile(r"[\"'\u201d\u2019)\]*_]*")
_WORD = re.compile(r"\S+")
_CLAUSE_WORD = re.compile(r"[^\[\s]\S*[,;]")  # not "[1," of a citation marker
_CLAUSE = re.compile(r"\s([^\[\s]\S*[,;])(?=\s)")
_WAIT = -1


class SentenceSplitter:
    """Cuts streamed text into sentences as soon as each one is certainly complete.

    ``feed`` returns the sentences completed by this delta, ``flush`` the rest at the
    end. Pieces are the raw text (stripped), never lost or repeated, and the same
    however the text is chunked. A sentence ends at . ! ? followed by whitespace
    (not in "3.5", after "e.g." or inside "[1, 2]") or at a line break. Speech starts
    with the first piece, so a first sentence over ``first_words`` words is cut at a
    comma or semicolon.
    """

    def __init__(self, first_words: int = 20) -> None:
        self.first_words = first_words
        self._buffer = ""
        self._first = True

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        return self._pieces(final=False)

    def flush(self) -> list[str]:
        pieces = self._pieces(final=True)
        rest, self._buffer = self._buffer.strip(), ""
        return [*pieces, rest] if rest else pieces

    def _pieces(self, final: bool) -> list[str]:
        pieces = []
        while (cut := self._cut(final)) is not None:
            piece, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if piece:
                pieces.append(piece)
                self._first = False
        return pieces

    def _cut(self, final: bool) -> int | None:
        self._buffer = self._buffer.lstrip()
        if not self._buffer:
            return None
        end, horizon = self._sentence_end(final)
        if not self._first:
            return end
        region = end if end is not None else horizon
        words = list(islice(_WORD.finditer(self._buffer, 0, region), self.first_words + 1))
        if len(words) <= self.first_words:
            return end  # short enough (or too early to know)
        return self._clause_end(words[:-1], region) or end

    def _sentence_end(self, final: bool) -> tuple[int | None, int]:
        """Where the first sentence certainly ends, if known; else None and how far
        the text is known to hold no sentence end."""
        for m in _TERMINATOR.finditer(self._buffer):
            if m[0] == "\n":
                return m.end(), m.end()
            end = self._ends_at(m, final)
            if end == _WAIT:
                return None, m.start()
            if end is not None:
                return end, end
        return None, len(self._buffer)

    def _ends_at(self, m: re.Match, final: bool) -> int | None:
        """For terminator ``m``: where its sentence ends, None when it ends none, or
        _WAIT until more text tells."""
        buf = self._buffer
        bracket = buf.rfind("[", 0, m.start())
        if bracket >= 0 and markers.SO_FAR.fullmatch(buf, bracket, m.start()):
            return None  # "[1. 2]"
        after = _CLOSERS.match(buf, m.end()).end()
        if not final and markers.MAYBE_RUN.fullmatch(buf, after):
            return _WAIT  # nothing but space (or a citation marker) after it yet
        end = markers.RUN.match(buf, after).end()
        if end < len(buf) and not buf[end].isspace():
            return None  # "3.5", "example.com", "U.S"
        if m[0] != ".":
            return end
        start = max(buf.rfind(" ", 0, m.start()), buf.rfind("\n", 0, m.start())) + 1
        word = buf[start : m.end()].lstrip("([\"'\u201c\u2018*_").lower()
        if word in _NEVER_END or (start == 0 and re.fullmatch(r"\d{1,3}\.", word)):
            return None  # "e.g. fries", "1. Heat the oil"
        if word in _MAYBE_END or re.fullmatch(r"(?:[a-z]\.){2,}", word):
            following = re.compile(r"\s*(\S)").match(buf, end)
            if following is None:
                return end if final else _WAIT
            return end if following[1].isupper() else None
        return end

    def _clause_end(self, words: list[re.Match], region: int) -> int | None:
        """In a first sentence known to run past its first ``words``: the end of the
        last clause within them, else of the first clause after them."""
        clauses = [w.end() for w in words[2:] if _CLAUSE_WORD.fullmatch(w[0])]
        if clauses:
            return clauses[-1]  # words[-1] is followed by the next word, so complete
        later = _CLAUSE.search(self._buffer, words[-1].end(), region)
        return later.end(1) if later else None


# --- A whole answer, for the ear ----------------------------------------------------

_LIST_ITEM = re.compile(r"^\s*(?:(\d{1,3})[.)]|[-*+\u2022])\s+(.*)$", re.S)
_MAYBE_LIST = re.compile(r"^\s*(?:\d{1,3}[.)]?|[-*+\u2022])?\s*$")
_SAFETY = re.compile(r"^\W*(?:caution|warning|danger|safety first|stop)\b", re.I)
MAX_SPOKEN_STEPS = 3
MAX_SPOKEN_SENTENCES = 3  # of prose, outside lists
REST_OF_STEPS = "The rest of the steps are on your screen."
REST_ON_SCREEN = "The rest is on your screen."


class SpokenAnswer:
    """The spoken version of an answer being streamed: pieces ready to synthesize.

    The screen shows the whole answer; the ear gets it short, one step at a time. A
    list is spoken as "Step 1: ...", up to ``max_steps`` items, then "The rest of the
    steps are on your screen."; prose up to ``max_sentences`` sentences, then "The rest
    is on your screen." A caution or warning line is always spoken. Prose is spoken
    sentence by sentence as soon as each sentence is complete (so speech starts early),
    a list item once its line is complete. Markdown and citation markers are never
    spoken (``for_the_ear``).
    """

    def __init__(self, max_steps: int = MAX_SPOKEN_STEPS, max_sentences=MAX_SPOKEN_SENTENCES):
        self.max_steps = max_steps
        self.max_sentences = max_sentences
        self.items = 0
        self.sentences = 0
        self.told: set[str] = set()
        self.line = ""  # the current, unfinished line
        self.prose: SentenceSplitter | None = None  # set once the line is known prose
        self.safety = False  # the current prose line is a caution
        self.fed = 0  # characters of ``line`` given to ``prose``

    def feed(self, delta: str) -> list[str]:
        out: list[str] = []
        self.line += delta
        while "\n" in self.line:
            line, self.line = self.line.split("\n", 1)
            out += self._finish_line(line)
        if (
            self.prose is None
            and len(self.line.strip()) > 8
            and not _MAYBE_LIST.match(self.line)
            and not _LIST_ITEM.match(self.line)
        ):
            self.prose = SentenceSplitter()
            self.safety = bool(_SAFETY.match(self.line))
        if self.prose is not None:
            out += self._sentences(self.prose.feed(self.line[self.fed :]))
            self.fed = len(self.line)
        return out

    def flush(self) -> list[str]:
        line, self.line = self.line, ""
        return self._finish_line(line)

    def _finish_line(self, line: str) -> list[str]:
        prose, fed = self.prose, self.fed
        self.prose, self.fed = None, 0
        if prose is not None:
            out = self._sentences(prose.feed(line[fed:]) + prose.flush())
            self.safety = False
            return out
        item = _LIST_ITEM.match(line)
        if item is None:
            # A whole line at once (a model that sends its answer in one piece): its
            # sentences are counted one by one, as if it had streamed.
            self.safety = bool(_SAFETY.match(line))
            splitter = SentenceSplitter()
            out = self._sentences(splitter.feed(line) + splitter.flush() if line.strip() else [])
            self.safety = False
            return out
        self.items += 1
        if self.items > self.max_steps:
            return self._tell(REST_OF_STEPS)
        label = f"Step {item[1]}: " if item[1] else ""
        return _spoken([label + item[2]])

    def _sentences(self, pieces: list[str]) -> list[str]:
        out = []
        for said in _spoken(pieces):
            if self.safety:
                out.append(said)
                continue
            self.sentences += 1
            if self.sentences > self.max_sentences or self.items > self.max_steps:
                out += self._tell(REST_ON_SCREEN if self.items <= self.max_steps else "")
            else:
                out.append(said)
        return out

    def _tell(self, notice: str) -> list[str]:
        if not notice or self.told:
            return []
        self.told.add(notice)
        return [notice]


def _spoken(pieces: list[str]) -> list[str]:
    return [said for said in (for_the_ear(p) for p in pieces) if said.strip()]
