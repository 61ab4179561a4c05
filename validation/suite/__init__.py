"""The 25 tests, five per category, each scoring 0-100 against a pass mark.

A test is a function taking the run's ``Context`` and returning an ``Outcome``; it is
registered with ``@check(...)`` in its category's module. It exercises the system only
through ``ctx.client`` (in-process or live), and puts its evidence (questions, answers,
citations, timings, what failed and why) in ``Outcome.details``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

CATEGORIES = ("text", "voice", "cross-modal", "integration", "performance")


@dataclass
class Outcome:
    score: float  # 0-100
    summary: str = ""  # one line: what was measured, or what failed and why
    details: dict = field(default_factory=dict)
    recommendation: str = ""  # what to fix, when it did not pass


@dataclass(frozen=True)
class Test:
    id: str
    category: str
    name: str
    function: Callable
    pass_mark: float = 80.0
    blocking: bool = False


TESTS: list[Test] = []


def check(id: str, category: str, name: str, *, pass_mark: float = 80.0, blocking: bool = False):
    """Register the decorated function as one of the suite's tests."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")

    def register(function):
        TESTS.append(Test(id, category, name, function, pass_mark, blocking))
        return function

    return register


def all_tests() -> list[Test]:
    """Every test, in category order (importing the category modules registers them)."""
    from validation.suite import crossmodal, integration, performance, text, voice  # noqa: F401

    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(TESTS, key=lambda t: order[t.category])
