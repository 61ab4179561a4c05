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
The other signals (``signals``) are recorded for calibration and diagnosis.
"""

from __future__ import annotations

import re

from knowledge import background

from . import calibration
from .scoring import Reading, Unit

TOP = 5  # units the signals look at


def signals(reading: Reading) -> dict[str, float]:
    ranked = reading.ranked()
    by_words = max(reading.units, key=lambda u: u.features["words"] + u.features["context"])
    by_meaning = sorted(reading.units, key=lambda u: -u.features["cosine"])[:3]
    question = reading.question
    no_figure = bool(question.strict and not any(u.features.get("figure") for u in ranked))
    cosine = max(u.features["cosine"] for u in reading.units)
    return {
        "coverage": coverage(reading),
        "best": ranked[0].score,
        "cosine": cosine,
        "closeness": background.closeness(cosine, reading.background) if cosine else 0.0,
        "words": by_words.features["words"] + by_words.features["context"],
        "unknown": reading.unknown,
        "agree": float(by_words in by_meaning),
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
    question = reading.question
    if question.identity and not any(_defines(question, u) for u in reading.ranked()[:TOP]):
        return False  # "who is our district manager?": the manuals name roles, not people
    found = signals(reading)
    if found["no_figure"] and question.wants[:1] == ("clock",):
        return False  # "what time ...?" and no passage holds a time of day: it cannot be said
    by_words = found["coverage"] >= calibration.RELEVANCE and not found["no_figure"]
    return by_words or found["closeness"] >= calibration.CLOSENESS


def _defines(question, unit: Unit) -> bool:
    """Whether the unit says who or what the question's subject is ("The Manager on Duty
    (MOD) is responsible for ...")."""
    subject = question.strong[0].words if question.strong else ""
    pattern = rf"\b{re.escape(subject)}s?\b(?:\s*\([^)]*\))?(?:\s+(?:is|are)\b|:)"
    return bool(subject) and bool(re.search(pattern, unit.text, re.IGNORECASE))
