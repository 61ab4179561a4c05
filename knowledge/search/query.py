"""Turning what someone typed into search terms that are safe to hand to a database.

A term is one word or a short phrase made only of letters and digits, words joined by
single spaces; nothing of the query syntax of FTS5 or tsquery can survive this, so the
backends may quote terms without further escaping. Stemming is left to the database
(porter / english); here we fold temperatures, drop stopwords, cap the size of the
query and add the manuals' wording for crew vocabulary from ``knowledge.thesaurus``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from knowledge.thesaurus import REPHRASE, THESAURUS

MAX_QUERY_CHARS = 2000  # the rest of a pasted essay is ignored
MAX_TERMS = 16
MAX_EXPANSIONS = 24
MAX_WORD_CHARS = 48
MAX_PHRASE_WORDS = 6

# PostgreSQL's english.stop, so a term we keep is never dropped by tsquery...
_ENGLISH = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing don down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with you your
    yours yourself yourselves s t
"""
# ...and the filler crew put around a question.
_FILLER = """
    also anyone anything ask cant dont get got hey hi im ive know let lets like may might
    must need needs ok okay please really shall supposed tell thanks thing things us
    want wants whats would
    yo um uh bro dude gonna wanna gotta kinda sorta yeah yep nah lol pls plz thx
"""
STOPWORDS = frozenset(_ENGLISH.split()) | frozenset(_FILLER.split())

# Degree glyphs seen in manuals: ring (U+00B0), masculine ordinal (U+00BA), ring above
# (U+02DA), and the one-character Celsius/Fahrenheit signs.
_DEGREE_GLYPHS = str.maketrans({"º": "°", "˚": "°", "℃": "°c", "℉": "°f"})
# "41°F", "41 °F", "41 F", "41F", "41 degrees", "41 deg. F" -> "41": manuals write the
# unit in many ways, and the number alone is what identifies the temperature.
_TEMPERATURE = re.compile(r"(\d)\s*(?:°\s*)?(?:degrees?|deg\.?|fahrenheit|celsius|[fc])\b")
_WORD = re.compile(r"[^\W_]+")
# Words joined by - . or / without spaces ("walk-in", "3-401.11") are kept as a phrase.
_COMPOUND = re.compile(r"[^\W_]+(?:[-./][^\W_]+)*")


@dataclass(frozen=True)
class Expansion:
    """Manual wording for crew words: ``source`` (as typed, normalised) -> ``terms``."""

    source: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class ParsedQuery:
    """The user's own terms and the thesaurus terms added for them."""

    terms: tuple[str, ...]
    expansions: tuple[Expansion, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def expansion_terms(self) -> tuple[str, ...]:
        return tuple(t for e in self.expansions for t in e.terms)

    @property
    def all_terms(self) -> tuple[str, ...]:
        return self.terms + self.expansion_terms


def normalize(text: str) -> str:
    """Lower case, one degree glyph, compatibility forms folded, temperatures as numbers."""
    text = text[:MAX_QUERY_CHARS].translate(_DEGREE_GLYPHS)
    text = unicodedata.normalize("NFKC", text).lower()
    return _TEMPERATURE.sub(r"\1 ", text)


def parse(text: str) -> ParsedQuery:
    """Split a question into terms; an empty ParsedQuery if nothing searchable is left."""
    if not text or not text.strip():
        return ParsedQuery(())
    compounds = [
        [w for w in _WORD.findall(compound) if len(w) <= MAX_WORD_CHARS]
        for compound in _COMPOUND.findall(normalize(text))
    ]
    words = [w for parts in compounds for w in parts]  # stopwords included
    idioms = {start: (size, values) for start, size, values in _find(words, "rephrase")}
    rephrased = {i for start, (size, _) in idioms.items() for i in range(start, start + size)}
    terms: list[str] = []
    position, skip_to = 0, 0
    for parts in compounds:
        for start in range(position, position + len(parts)):
            if start in idioms:  # the idiom's own words would mislead: the manual's replace them
                size, values = idioms[start]
                terms.extend(values)
                skip_to = max(skip_to, start + size)
        if position + len(parts) > skip_to:
            term = _term(parts[:MAX_PHRASE_WORDS])
            if term:
                terms.append(term)
        position += len(parts)
    terms = list(dict.fromkeys(terms))[:MAX_TERMS]
    if not terms:
        return ParsedQuery(())
    free = [w for i, w in enumerate(words) if i not in rephrased]
    return ParsedQuery(tuple(terms), expand(free, exclude=set(terms)))


def _term(parts: list[str]) -> str | None:
    useful = [w for w in parts if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    if not useful:
        return None
    # A phrase keeps its stopwords ("walk in"): both databases match them by position.
    return " ".join(parts) if len(parts) > 1 else useful[0]


def expand(words: list[str], exclude: set[str] = frozenset()) -> tuple[Expansion, ...]:
    """Thesaurus terms for the words, in the order they were typed, minus ``exclude``."""
    seen = set(exclude)
    found: list[Expansion] = []
    for sequence in (words, [w for w in words if w not in STOPWORDS]):
        for start, size, values in _find(sequence, "thesaurus"):
            new = tuple(t for t in values if t not in seen)[: MAX_EXPANSIONS - len(seen - exclude)]
            seen.update(new)
            if new:
                found.append(Expansion(" ".join(sequence[start : start + size]), new))
    return tuple(found)


def _find(words: list[str], table: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, size, terms) of the keys of ``table`` found in ``words``, longest first."""
    index, longest = _index(table)
    folded = [fold(w) for w in words]
    found, start = [], 0
    while start < len(folded):
        for size in range(min(longest, len(folded) - start), 0, -1):
            values = index.get(tuple(folded[start : start + size]))
            if values:
                found.append((start, size, values))
                start += size - 1
                break
        start += 1
    return found


def fold(word: str) -> str:
    """A crude stem, only for matching thesaurus keys: dogs/dog, throwing/throw, fries/fry."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]  # cutting -> cut
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]  # puke/puking, serve/serving
    return word


@cache
def _index(table: str) -> tuple[dict[tuple[str, ...], tuple[str, ...]], int]:
    """The named table keyed by folded words, its values as terms, and its longest key."""
    index: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key, values in _TABLES[table].items():
        folded = tuple(fold(w) for w in _WORD.findall(normalize(key)))
        terms = (" ".join(_WORD.findall(normalize(v))[:MAX_PHRASE_WORDS]) for v in values)
        index[folded] = tuple(t for t in terms if t)
    return index, max(len(k) for k in index)


_TABLES = {"thesaurus": THESAURUS, "rephrase": REPHRASE}
