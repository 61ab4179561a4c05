"""Numbers a crew member spelled out or said aloud, rewritten as the digits manuals use.

``digits("cook it to one sixty five")`` gives ``"cook it to 165"``. Only number words
change; everything else (case, punctuation, spacing, other words) comes back as it was,
and a question without number words comes back unchanged. The rewrite is idempotent and
runs in time linear in the length of the question.

A word is rewritten only when it is read as a quantity. Where the reading is in doubt,
the words stay as they are: a missed number costs one search term, while a wrong one
sends search to the wrong figure in the manual.
"""

from __future__ import annotations

import re

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
# "fourty" is how many people type forty, and speech-to-text output is typed text too.
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SMALL = _UNITS | _TEENS | _TENS
_NOUGHTS = frozenset({"oh", "zero"})
_DIGIT_WORDS = _UNITS | {"oh": 0, "zero": 0}
# Kitchen fractions (hotel pans come in thirds, sixths and ninths). Without a numerator
# these words are ordinals ("the third day", "a sixth pan") and stay as they are.
_DENOMINATORS = {
    "third": 3, "quarter": 4, "fourth": 4, "fifth": 5,
    "sixth": 6, "eighth": 8, "ninth": 9,
}  # fmt: skip

# Units that make a lone "one" or "zero" a quantity ("one minute", "zero degrees"), and
# that mark "three fifty pound bags" as a count followed by a size rather than 350.
_UNIT_LIST = """
    second seconds sec secs minute minutes min mins hour hours hr hrs day days week weeks
    month months year years inch inches pound pounds lb lbs ounce ounces oz gallon gallons
    gal quart quarts qt pint pints cup cups tablespoon tablespoons tbsp teaspoon teaspoons
    tsp liter liters litre litres ml gram grams kg foot feet ft candle candles ppm percent
    degree degrees deg fahrenheit
    """
# Words after which "three fifty" is a reading or a setting, so it is said as 350.
_CUE_LIST = """
    at to is was its are were be reads read reading hit hits hitting reach reaches reached
    said says say shows showing around about like approximately roughly above below over
    under than least most between minimum maximum of temp temps temperature
    """
# Words just before a two-group number that make it a time of day ("we open at nine
# thirty", "my shift starts at two fifteen") rather than a temperature.
_CLOCK_LIST = """
    open opens opening closes closing shift shifts start starts clock arrive arrives until
    till til tomorrow tonight morning afternoon evening breakfast lunch dinner break
    meeting
    """
_UNIT_WORDS = frozenset(_UNIT_LIST.split())
_CUES = frozenset(_CUE_LIST.split())
_CLOCK_WORDS = frozenset(_CLOCK_LIST.split())
_CLOCK_WINDOW = 3  # tokens looked at before the number

_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_ANY_NUMBER_WORD = re.compile(
    r"\b(?:" + "|".join([*_SMALL, "zero", "hundred", "thousand"]) + r")\b", re.IGNORECASE
)
_JOINED = re.compile(r"\s+|\s*-\s*")  # "forty five", "forty-five"
_SPACED = re.compile(r"\s+")
_CLOCK_AFTER = re.compile(r"\s*(?:[ap]\.?\s?m\b\.?|o['’]?\s*clock\b)", re.IGNORECASE)
_TEMPERATURE_AFTER = re.compile(
    r"\s*-?\s*(?:[°℉]|degrees?\b|deg\b|fahrenheit\b|f\b)", re.IGNORECASE
)
_SYMBOL_AFTER = re.compile(r"\s*[°℉%]")


def digits(text: str) -> str:
    """``text`` with spelled-out numbers written as digits and nothing else changed.

    Cardinals ("a hundred and sixty five" -> 165), the two-group shorthand where it is
    safe ("the fryer's at three fifty" -> 350), decimals ("two point five" -> 2.5,
    "one and a half" -> 1.5) and fractions ("three quarters" -> 3/4). Clock times,
    ordinals, "one" as a pronoun and digit-by-digit readings are left as words.
    """
    if not _ANY_NUMBER_WORD.search(text):
        return text
    return _Rewrite(text).run()


class _Rewrite:
    """One pass over the words of a question; each word is looked at a bounded number
    of times, so the pass is linear in the length of the text."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = [m.span() for m in _TOKEN.finditer(text)]
        self.words = [text[s:e].lower().replace("’", "'") for s, e in self.tokens]
        self.written: dict[int, str] = {}  # index of a number's last token -> its digits

    def run(self) -> str:
        pieces, copied, k = [], 0, 0
        while k < len(self.words):
            found = self.number_at(k)
            if found is None:
                k += 1
                continue
            end, value = found
            if value is not None:
                pieces += [self.text[copied : self.tokens[k][0]], value]
                copied = self.tokens[end - 1][1]
                self.written[end - 1] = value
            k = end
        if not pieces:
            return self.text
        return "".join([*pieces, self.text[copied:]])

    # -- what starts at token k ------------------------------------------------------

    def number_at(self, k: int) -> tuple[int, str | None] | None:
        """(end, digits) for the number words from token ``k`` to ``end``; digits is
        None when those words are to stay words. None when no number starts here."""
        word = self.words[k]
        if word == "zero":
            # "zero tolerance" is not a quantity; "zero degrees" and "zero point five" are.
            return self.extended(0, k + 1, lone=True)
        if word == "a" and self.word_at(k + 1, _JOINED) not in ("hundred", "thousand"):
            return None  # "a" counts only as in "a hundred"; "a half" stays words
        if word != "a" and word not in _SMALL:
            return None
        if fraction := self.fraction(k):
            return fraction
        value, end = self.cardinal(k)
        if value < 100 and (group := self.group(end)):
            return self.two_groups(k, value, end, *group)
        if value < 10 and end == k + 1 and self.word_at(end, _SPACED) in _DIGIT_WORDS:
            return self.digit_run(k)
        if self.clock_after(end):
            return end, None  # "at three pm", "five o'clock"
        return self.extended(value, end, lone=self.words[k] == "one" and end == k + 1)

    def cardinal(self, k: int) -> tuple[int, int]:
        """Value and end of the longest well-formed cardinal from token ``k``:
        "forty-five", "one hundred and sixty five", "twelve hundred", "two thousand"."""
        total, current, last, end = 0, 0, None, k + 1
        if self.words[k] == "a":
            current, last = 1, "unit"
            k += 1
        for j in range(k, len(self.words)):
            word = self.words[j]
            if j > k and not self.joined(j):
                break
            if word in _UNITS and last in (None, "tens", "hundred", "thousand", "and"):
                current, last = current + _UNITS[word], "unit"
            elif word in _TEENS and last in (None, "hundred", "thousand", "and"):
                current, last = current + _TEENS[word], "teen"
            elif word in _TENS and last in (None, "hundred", "thousand", "and"):
                current, last = current + _TENS[word], "tens"
            elif word == "hundred" and last in ("unit", "tens", "teen") and current < 100:
                current, last = current * 100, "hundred"  # also "twelve hundred" -> 1200
            elif word == "thousand" and last not in (None, "and") and total == 0 < current:
                total, current, last = current * 1000, 0, "thousand"
            elif word == "and" and last in ("hundred", "thousand"):
                if self.word_at(j + 1, _SPACED) not in _SMALL:
                    break  # "a hundred and a half": the half is read by extended()
                last = "and"
                continue
            else:
                break
            end = j + 1
        return total + current, end

    def group(self, k: int) -> tuple[str, int] | None:
        """The second group of a number said in two groups, as two digits, and its end:
        "fifty", "sixty five", "twelve", "oh five". None when there is none at ``k``."""
        first = self.word_at(k, _JOINED)
        second = self.word_at(k + 1, _JOINED)
        if first in _TEENS:
            value, end = str(_TEENS[first]), k + 1
        elif first in _TENS:
            tens = _TENS[first]
            value, end = (
                (str(tens + _UNITS[second]), k + 2) if second in _UNITS else (str(tens), k + 1)
            )
        elif first in _NOUGHTS and second in _UNITS:
            value, end = f"0{_UNITS[second]}", k + 2
        else:
            return None
        if self.word_at(end, _JOINED) in ("hundred", "thousand"):
            return None  # "two twenty thousand" is not said as two groups
        return value, end

    # -- the kinds of number -----------------------------------------------------------

    def two_groups(
        self, k: int, first: int, first_end: int, second: str, end: int
    ) -> tuple[int, str | None]:
        """A number followed by a second group: "three fifty", "one sixty five",
        "three oh five", but also "nine thirty" (a time) and "three fifty pound bags".

        Kitchens say temperatures from 100 to 599 °F this way; clocks say times this
        way too. The pair is joined into one number only when a temperature word follows
        (any first digit), or when the first digit is 1-5 and a cue word before it
        ("at", "to", "is", "reads", ...) or an "oh" in the middle says so: hours 6-9 are
        when crews say "at seven thirty", and few kitchen temperatures start with them. A
        unit after the pair makes it a count and a size, each written on its own. A time
        marker, a clock word before it, or no cue at all leaves the words alone.
        """
        if self.clock_after(end) or self.clock_before(k):
            return end, None
        if first < 10 and self.temperature_after(end):
            return self.extended(int(f"{first}{second}"), end)
        if self.unit_after(end) and not second.startswith("0"):
            return first_end, str(first)  # "three fifty pound bags": 3 bags of 50 lb
        if first <= 5 and (second.startswith("0") or self.cue_before(k)):
            return self.extended(int(f"{first}{second}"), end)
        return end, None  # "twelve fifty", "nine thirty", "one sixty five" with no cue

    def digit_run(self, k: int) -> tuple[int, str | None]:
        """Single digits said one after another: a phone number or code read out
        ("nine one one"), or a hesitation ("two three minutes"). Neither is a figure a
        manual writes, so they stay words; before a unit it is a count and a size
        ("three two ounce cups")."""
        end = k + 1
        while self.word_at(end, _SPACED) in _DIGIT_WORDS:
            end += 1
        if end == k + 2 and self.words[k + 1] in _UNITS and self.unit_after(end):
            return k + 1, str(_UNITS[self.words[k]])
        return end, None

    def fraction(self, k: int) -> tuple[int, str] | None:
        """ "three quarters" -> 3/4, "one third" -> 1/3. Halves stay words: the manuals
        write "half full" and "a half", never 1/2."""
        numerator = _UNITS.get(self.words[k])
        word = self.word_at(k + 1, _JOINED) or ""
        if numerator is None or not word:
            return None
        name = word if numerator == 1 else word.removesuffix("s")
        if (numerator == 1) == word.endswith("s") or name not in _DENOMINATORS:
            return None
        return k + 2, f"{numerator}/{_DENOMINATORS[name]}"

    def extended(self, value: int, end: int, lone: bool = False) -> tuple[int, str | None]:
        """``value`` with a decimal part said after it ("two point five", "one and a
        half"). A lone "one" or "zero" is a pronoun or an adjective ("one of the cooks",
        "zero waste") unless a unit, a decimal or a range follows it."""
        if (
            self.word_at(end, _SPACED) == "and"
            and self.word_at(end + 1, _SPACED) == "a"
            and self.word_at(end + 2, _SPACED) == "half"
        ):
            return end + 3, f"{value}.5"
        decimals = []
        if self.word_at(end, _SPACED) == "point":
            while (word := self.word_at(end + 1 + len(decimals), _SPACED)) in _DIGIT_WORDS:
                decimals.append(str(_DIGIT_WORDS[word]))
        if decimals:
            return end + 1 + len(decimals), f"{value}.{''.join(decimals)}"
        if lone and not (self.unit_after(end) or self.range_after(end)):
            return end, None
        return end, str(value)

    # -- context -----------------------------------------------------------------------

    def word_at(self, k: int, gap: re.Pattern[str]) -> str | None:
        """Token ``k`` if it exists and follows token k-1 across a ``gap``."""
        if k >= len(self.words) or not self.gap_is(k, gap):
            return None
        return self.words[k]

    def gap_is(self, k: int, gap: re.Pattern[str]) -> bool:
        return gap.fullmatch(self.text, self.tokens[k - 1][1], self.tokens[k][0]) is not None

    def joined(self, k: int) -> bool:
        return self.gap_is(k, _JOINED)

    def clock_after(self, end: int) -> bool:
        return _CLOCK_AFTER.match(self.text, self.tokens[end - 1][1]) is not None

    def temperature_after(self, end: int) -> bool:
        return _TEMPERATURE_AFTER.match(self.text, self.tokens[end - 1][1]) is not None

    def unit_after(self, end: int) -> bool:
        if _SYMBOL_AFTER.match(self.text, self.tokens[end - 1][1]):
            return True
        return self.word_at(end, _JOINED) in _UNIT_WORDS

    def range_after(self, end: int) -> bool:
        """ "one or two minutes", "one to 2 hours": the "one" is a count."""
        if self.word_at(end, _SPACED) not in ("or", "to"):
            return False
        after = self.word_at(end + 1, _SPACED)
        return after is not None and (after in _SMALL or after.isdigit())

    def clock_before(self, k: int) -> bool:
        return any(w in _CLOCK_WORDS for w in self.words[max(0, k - _CLOCK_WINDOW) : k])

    def cue_before(self, k: int) -> bool:
        """A cue word right before token ``k``: "at", "to", "is", "fryer's", ...; one
        with "it" between ("is it one sixty five"); or, in "between one thirty five and
        one forty", an "and"/"or" after a three-digit number."""
        if k == 0 or not self.gap_is(k, _SPACED):
            return False
        before = self.words[k - 1]
        if before in ("and", "or"):
            previous = self.written.get(k - 2, self.words[k - 2]) if k >= 2 else ""
            return len(previous) == 3 and previous.isdigit() and self.gap_is(k - 1, _SPACED)
        if before == "it" and k >= 2 and self.gap_is(k - 1, _SPACED):
            before = self.words[k - 2]
        return before in _CUES or before.endswith("'s")
