"""Whether the passages answer the question: the built-in model's decline decision.

Passages show they answer a question in one of two ways:

- by its words (``coverage``): one block of a passage (a paragraph, step, or a table's
  rows together) names, with its heading, ``calibration.RELEVANCE`` of the question's
  weight (each concept weighted by how rare it is in the store; a word no passage uses
  weighs as much as the question's most telling known word), and holds the kind of
  figure a "how hot" or "how long" question asks for;
- by its meaning (``closeness``): the best unit is ``calibration.CLOSENESS`` background
  spreads closer to the question than everyday questions come (``background``): crews'
  own words for what the manuals say in theirs.

Failing both, the answer is the decline. Asking who someone is ("who is our district
manager?") is answered only by a unit that says who that is: the manuals name roles.
"""

from __future__ import annotations

import re

from knowledge import background

from . import calibration
from .scoring import Reading, Unit

TOP = 5  # units that may say who someone is


def signals(reading: Reading) -> dict[str, float]:
    """What the decision weighs: the words' coverage, the best unit's closeness in
    meaning (told against the store's background) and whether a wanted figure is
    missing from every unit."""
    question = reading.question
    no_figure = question.strict and not any(u.features.get("figure") for u in reading.ranked())
    cosine = max(u.features["cosine"] for u in reading.units)
    return {
        "coverage": coverage(reading),
        "closeness": background.closeness(cosine, reading.background) if cosine else 0.0,
        "no_figure": float(no_figure),
    }


def coverage(reading: Reading) -> float:
    """The most of the question's weight one block of a passage names with its heading:
    a paragraph, step, bullet or callout, or one table (its rows together)."""
    groups: dict[tuple, set[int]] = {}
    for unit in reading.units:
        block = unit.block
        key = (unit.source.n, "table", block.caption) if block.kind == "row" else id(block)
        found = groups.setdefault(key, set(reading.context[unit.section]))
        found |= unit.matched | unit.named
    return max((reading.cover(found) for found in groups.values()), default=0.0)


def answers(reading: Reading) -> bool:
    """Whether to answer from these passages, or decline."""
    return judge(reading, signals(reading), calibration.CLOSENESS)


def judge(reading: Reading, found: dict[str, float], closeness: float) -> bool:
    """The decision on ``signals(reading)`` with a closeness threshold (``bench
    calibrate`` tries others)."""
    question = reading.question
    if question.identity and not any(_defines(question, u) for u in reading.ranked()[:TOP]):
        return False  # "who is our district manager?": the manuals name roles, not people
    if found["no_figure"] and question.wants[:1] == ("clock",):
        return False  # "what time ...?" and no passage holds a time of day: it cannot be said
    by_words = found["coverage"] >= calibration.RELEVANCE and not found["no_figure"]
    return by_words or found["closeness"] >= closeness


def _defines(question, unit: Unit) -> bool:
    """Whether the unit says who or what the question's subject is ("The Manager on Duty
    (MOD) is responsible for ...")."""
    subject = question.strong[0].words if question.strong else ""
    pattern = rf"\b{re.escape(subject)}s?\b(?:\s*\([^)]*\))?(?:\s+(?:is|are)\b|:)"
    return bool(subject) and bool(re.search(pattern, unit.text, re.IGNORECASE))
