"""The structural pieces a document is made of, whatever its format."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A list item's label: "1." "2)" "(3)" "(b)" "(iv)" or a bullet. A number of three
# digits in parentheses opens a line of a chart's values ("(131) 89 56.1 ..."), not an item.
ITEM_RE = re.compile(r"^(\d{1,2}[.)]|\((?:\d{1,2}|[A-Za-z]{1,4})\)|[•▪●◦\-–*])\s+\S")
NUMBERED_HEADING_RE = re.compile(r"^(\d+(?:[.-]\d+)*\.?)\s+[A-Z]")


@dataclass
class Span:
    """Characters ``start``..``end`` of one PDF page's text layer."""

    page: int
    start: int
    end: int


@dataclass
class Block:
    kind: str  # heading | para | item | table
    text: str
    page: int
    level: int = 0  # headings: 1 = outermost
    spans: list[Span] = field(default_factory=list)
    last_page: int = 0

    def __post_init__(self) -> None:
        self.last_page = self.last_page or self.page


def heading_level(text: str, default: int) -> int:
    """Depth from a section number ("3" → 1, "3.2" → 2, "3-401.11" → 2), else ``default``."""
    match = NUMBERED_HEADING_RE.match(text)
    if not match:
        return default
    number = match.group(1).rstrip(".")
    return min(1 + number.count(".") + number.count("-"), 6)
