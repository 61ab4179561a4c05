"""Words as the assistant compares them: a question's terms against a passage's sentences.

Both sides go through ``knowledge.search.query.normalize`` (lower case, one degree sign,
"41°F" -> "41") and the same crude stem, so "filtering", "filters" and "filtered" meet,
and so do "45" in a question and "45°F" in a manual.
"""

from __future__ import annotations

import re
from functools import lru_cache

from knowledge.search.query import STOPWORDS, fold, normalize

_WORD = re.compile(r"[^\W_]+")

# Words that carry little of what a question is about ("how long do fries GO in").
_WEAK_WORDS = """
    go goes going gone come comes coming came get gets getting got make makes making made
    put puts use used using keep keeps keeping still look looks looking say says said show
    shows showing supposed happen happens happened work works thing stuff someone something
    kind way start starts right ok okay fine bad good sure actually guys guy everything
    anything one ones now even ever much many long often hit hits morning today tonight
    yesterday tomorrow earlier later currently saw seen see noticed somethings anymore maybe
    since been like just sit sitting ask asks asked asking set lot lots won wont don didn
    doesn isn aren couldn shouldn wouldn haven ll ve re
"""
WEAK = frozenset(_WEAK_WORDS.split())


_IRREGULAR = {"shelves": "shelf", "halves": "half", "knives": "knife", "mice": "mouse"}


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """``fold``, plus: a doubled final consonant after -ed goes (unplugged -> unplug),
    and so does -ly (nightly -> night)."""
    word = _IRREGULAR.get(word, word)
    if len(word) > 5 and word.endswith("ly"):
        word = word[:-2]
    folded = fold(word)
    if word.endswith("ed") and len(folded) > 3 and folded[-1] == folded[-2]:
        folded = folded[:-1]
    return folded


_WEAK_STEMS = frozenset(stem(w) for w in WEAK)


def is_weak(word: str) -> bool:
    return word in WEAK or stem(word) in _WEAK_STEMS


def tokens(text: str) -> list[str]:
    """The words of ``text``, normalised, stopwords kept (phrases match by position)."""
    return _WORD.findall(normalize(text))


def stems(text: str) -> list[str]:
    return [stem(w) for w in tokens(text)]


def is_content(word: str) -> bool:
    """A word that says what a question is about (not a stopword, not filler)."""
    return word not in STOPWORDS and not is_weak(word) and (len(word) > 1 or word.isdigit())
