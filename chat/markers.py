"""Citation markers: how an answer points at the passages it quotes.

An answer cites a passage with ``[n]``, its number in the search tool's list (one to
three digits): the built-in model writes only that, and remote models are told to.
Remote models sometimes group numbers ("[1, 2]", "[1–3]") or write footnotes ("[^1]"),
so whatever reads an answer (speech, the judges, fact checks) takes those too. Every
pattern for markers in Python is here; the browser's one is ``MARKERS`` in
``static/js/chat-markdown.js``, of the same shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NUMBER = r"\^?\d{1,3}"

# One source, the form answers are written in: "[3]".
ONE = re.compile(r"\[(\d{1,3})\]")
# Any marker: "[3]", "[1, 2]", "[1–3]", "[^1]".
ANY = re.compile(rf"\[{_NUMBER}(?:\s*[,\u2013-]\s*{_NUMBER})*\]")
# Markers one after another, each with the spaces before it (after a sentence's end).
RUN = re.compile(rf"(?:[ \t]*{ANY.pattern})*")
# What a marker may hold so far, from its "[" on, while the answer is still streaming.
SO_FAR = re.compile(r"\[\^?[\d,\s\u2013-]*")
# Text that may still become markers when more of the stream arrives.
MAYBE_RUN = re.compile(r"[\s\[\]\^\d,\u2013-]*")
# A marker cut off at the end of the text received so far: "[1", "[".
CUT = re.compile(SO_FAR.pattern + "$")

_SPACED = re.compile(rf"\s*{ANY.pattern}")


def numbers(text: str) -> list[int]:
    """The sources ``text`` cites with ``[n]``, each once, in the order first cited."""
    return list(dict.fromkeys(int(n) for n in ONE.findall(text)))


def plain(text: str) -> str:
    """``text`` without its markers (and the space before each): for reading aloud,
    judging and fact checks, where "[1]" is not a word or a number."""
    return _SPACED.sub("", text or "")


def renumber(text: str, number: Callable[[int], int | None]) -> str:
    """Each ``[n]`` as ``[number(n)]``; dropped when ``number`` gives None."""

    def replace(match: re.Match) -> str:
        new = number(int(match[1]))
        return "" if new is None else f"[{new}]"

    return ONE.sub(replace, text)
