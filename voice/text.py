"""Spoken-form text: what the speech vocabulary is built from and transcripts are scored in.

``normalize`` turns manual text and questions into the words a person would say
("Fry at 350°F for 3 min" → "fry at three hundred fifty degrees for three minutes"),
so the language model, the recogniser's output and a reference sentence all meet in
one form. ``wer`` counts word errors between two texts in that form. ``written`` goes
the other way for a transcript: its numbers and units as the manuals write them
("forty five degrees" → "45°F"), which is what the screen shows and the assistant reads.
"""

from __future__ import annotations

import re

from knowledge.search.numbers import digits

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))

# Abbreviations read out in full when they follow a number ("4 min" → "four minutes").
_UNITS = {
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "s": "seconds",
    "sec": "seconds",
    "secs": "seconds",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "oz": "ounces",
    "lb": "pounds",
    "lbs": "pounds",
    "qt": "quarts",
    "gal": "gallons",
    "ml": "milliliters",
    "l": "liters",
    "g": "grams",
    "kg": "kilograms",
    "ppm": "p p m",
    "in": "inches",
    "ft": "feet",
    "am": "a m",
    "pm": "p m",
    "a.m.": "a m",
    "p.m.": "p m",
    "x": "times",
}
_SINGULAR = {
    "minutes": "minute",
    "seconds": "second",
    "hours": "hour",
    "ounces": "ounce",
    "pounds": "pound",
    "quarts": "quart",
    "gallons": "gallon",
    "inches": "inch",
    "feet": "foot",
    "degrees": "degree",
    "liters": "liter",
    "grams": "gram",
}
# Contractions typed without their apostrophe, restored so both spellings meet.
_CONTRACTIONS = {
    w.replace("'", ""): w
    for w in [
        "what's",
        "that's",
        "there's",
        "it'll",
        "don't",
        "doesn't",
        "didn't",
        "can't",
        "won't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "shouldn't",
        "couldn't",
        "wouldn't",
        "haven't",
        "hasn't",
        "i'm",
        "i've",
        "i'll",
        "you're",
        "they're",
        "we're",
        "we've",
        "let's",
        "who's",
        "where's",
        "how's",
    ]
}
_CONTRACTIONS.pop("well", None)
_CONTRACTIONS.pop("were", None)
_CONTRACTIONS.pop("ill", None)
_CONTRACTIONS.pop("wont", None)

_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
_TOKEN = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*|[°%&+#]")


def number_words(value: str) -> str:
    """ "350" → "three hundred fifty", "3.5" → "three point five", "1,000" → "one thousand"."""
    value = value.replace(",", "")
    whole, _, fraction = value.partition(".")
    words = _integer(int(whole)) if whole else "zero"
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return words


def _integer(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    for size, name in _SCALES:
        if n >= size:
            high, rest = divmod(n, size)
            return f"{_integer(high)} {name}" + (f" {_integer(rest)}" if rest else "")
    return str(n)  # unreachable


def _ordinal(n: int) -> str:
    words = _integer(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _time(match: re.Match) -> str:
    hour, minute = int(match[1]), int(match[2])
    if minute == 0:
        return f" {_integer(hour)} "
    if minute < 10:
        return f" {_integer(hour)} oh {_ONES[minute]} "
    return f" {_integer(hour)} {_integer(minute)} "


def _unit(match: re.Match) -> str:
    number, unit = match[1], match[2].lower()
    words = number_words(number)
    name = _UNITS.get(unit, unit)
    if words == "one" and name in _SINGULAR:
        name = _SINGULAR[name]
    return f" {words} {name} "


def normalize(text: str) -> str:
    """Lower-case spoken words: numbers, units, symbols and punctuation read out or dropped."""
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"\$(\d+)(?:\.(\d\d))?", _money, text)
    text = re.sub(r"\s*°\s*[FC]\b", " degrees ", text)
    text = re.sub(rf"(\d)\s*[–—-]\s*(?={_NUMBER})", r"\1 to ", text)  # 350–360
    text = re.sub(r"(\d)\s*([ap])\.?m\b\.?", r"\1 \2 m", text, flags=re.I)  # 2 pm, 2:00 p.m.
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", _time, text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: f" {_ordinal(int(m[1]))} ", text)
    units = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    text = re.sub(rf"\b(\d+)/(\d+)\s*({units})(?![\w.])", _fraction_unit, text, flags=re.I)
    text = re.sub(r"\b(\d+)/(\d+)\b", lambda m: _fraction(int(m[1]), int(m[2])), text)
    text = re.sub(rf"\b({_NUMBER})\s*({units})(?![\w.])", _unit, text, flags=re.I)
    # Short all-capital words without vowels are spelled out: "SDS" → "s d s".
    text = re.sub(
        r"\b([B-DF-HJ-NP-TV-Z]{2,5})s?\b", lambda m: " " + " ".join(m[1].lower()) + " ", text
    )
    text = re.sub(_NUMBER, lambda m: f" {number_words(m[0])} ", text)
    text = re.sub(r"\b(oz|lbs?|hrs?|mins|secs)\b", lambda m: _UNITS[m[1]], text)
    text = text.lower().replace("-", " ").replace("_", " ").replace("/", " ")
    words = []
    for token in _TOKEN.findall(text):
        if token in "°%&+#":
            words.append(
                {"°": "degrees", "%": "percent", "&": "and", "+": "plus"}.get(token, "number")
            )
            continue
        token = token.replace(".", " ").strip("'")
        words.extend(_CONTRACTIONS.get(w, w) for w in token.split())
    return " ".join(w for w in words if w)


def _fraction_unit(match: re.Match) -> str:
    """ "3/8 in" → "three eighths inch": a fraction of a unit is said with the unit singular."""
    name = _UNITS.get(match[3].lower(), match[3].lower())
    return f"{_fraction(int(match[1]), int(match[2]))}{_SINGULAR.get(name, name)} "


def _money(match: re.Match) -> str:
    dollars, cents = int(match[1]), int(match[2] or 0)
    words = f" {_integer(dollars)} {'dollar' if dollars == 1 else 'dollars'}"
    if cents:
        words += f" {_integer(cents)} {'cent' if cents == 1 else 'cents'}"
    return words + " "


def _fraction(top: int, bottom: int) -> str:
    if (top, bottom) == (1, 2):
        return " one half "
    if bottom == 4:
        return f" {_integer(top)} {'quarter' if top == 1 else 'quarters'} "
    name = _ordinal(bottom)
    return f" {_integer(top)} {name}{'s' if top > 1 else ''} "


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word errors, reference words) after normalising both: substitutions, insertions
    and deletions of the best alignment."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, other in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
            )
        previous = current
    return previous[-1], len(ref)


# After digits(): a temperature and a length as the manuals write them. The manuals are a
# US store's, so a bare "degrees" is Fahrenheit.
_DEGREES = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s+degrees?(?:\s+(fahrenheit|celsius|centigrade|f|c)\b)?",
    re.I,
)
_INCHES = re.compile(r"(?<![\w./])(\d+(?:\.\d+)?|\d+/\d+)\s+inch(?:es)?\b", re.I)


# A spelled letter and a number: "e two", "e 2" (after digits()), "f twelve".
_SPELLED_CODE = re.compile(
    rf"\b([b-hj-z])[\s-]+(\d{{1,2}}|{'|'.join(_ONES[1:20])})\b(?![./]\d)", re.I
)


def written(spoken: str, codes: frozenset[str] = frozenset()) -> str:
    """A transcript (spoken form) with its numbers and units as the manuals write them:
    "forty five degrees" → "45°F", "three eighths inch" → "3/8 in", "at three fifty" →
    "at 350", and a spelled code the manuals use ("e two" → "E2" when ``codes`` holds
    "E2"). Numbers go through ``knowledge.search.numbers.digits``, the reading typed
    questions get, so a number is understood the same however it was asked; the rest of
    the words are left as they are. ``normalize`` turns the result back into the same
    spoken words."""
    text = digits(spoken)
    if codes:
        text = _SPELLED_CODE.sub(lambda m: _code(m, codes), text)
    text = _DEGREES.sub(_degrees, text)
    return _INCHES.sub(r"\1 in", text)


def _code(match: re.Match, codes: frozenset[str]) -> str:
    number = match[2] if match[2].isdigit() else str(_ONES.index(match[2].lower()))
    code = f"{match[1].upper()}{number}"
    return code if code in codes else match[0]


def _degrees(match: re.Match) -> str:
    scale = (match[2] or "f").lower()
    return f"{match[1]}°{'F' if scale in ('f', 'fahrenheit') else 'C'}"
