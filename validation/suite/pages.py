"""What a citation's pages say: answer, page and snippet text in one spelling, the
numbers a text gives, and each citation checked against the page it names (its
snippet quoted from the page, its images loading), read through the run's client.
"""

from __future__ import annotations

import html
import json
import re

from chat import markers
from chat.judging import section_ids

_DEGREES = re.compile(
    r"(\d)\s*(?:°|º|˚|degrees?)(?!\s*c\b)\s*(?:f(?:ahrenheit)?\b)?", re.IGNORECASE
)
_DASHES = str.maketrans({"–": "-", "—": "-", "‑": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})
_TAG = re.compile(r"<[^>]+>")
_HYPHEN_BREAK = re.compile(r"(\w)-\s+(\w)")

# A number the crew could act on: with a unit, a clock time, money or a phone number.
_UNITS = {
    "°f": "°f",
    "%": "%",
    "percent": "%",
    "ppm": "ppm",
    "lb": "lb",
    "lbs": "lb",
    "pounds": "lb",
    "pound": "lb",
    "oz": "oz",
    "ounces": "oz",
    "ounce": "oz",
    "qt": "qt",
    "quarts": "qt",
    "in": "in",
    "inch": "in",
    "inches": "in",
    "gallon": "gal",
    "gallons": "gal",
    "cup": "cup",
    "cups": "cup",
    "min": "min",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "day": "day",
    "days": "day",
    "am": "am",
    "pm": "pm",
}
_QUANTITY = re.compile(
    r"(?<![\w.])(\d+(?:[.:]\d+)?)\s*("
    + "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
    + r")(?![\w])"
)
_PHONE = re.compile(r"\b(?:(?:1-)?\d{3}-\d{3}-\d{4}|911)\b")
_MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d\d)?")


def normalise(text: str) -> str:
    """Lower case, citation markers gone, degrees as "°f", dashes and quotes plain,
    whitespace collapsed: how facts are compared with answers."""
    text = markers.plain(text)
    text = html.unescape(text).translate(_DASHES)
    text = _DEGREES.sub(r"\1°f", text)
    return " ".join(text.lower().split())


def page_text(text: str) -> str:
    """``normalise`` for page and snippet text, with words broken at line ends joined."""
    return _HYPHEN_BREAK.sub(r"\1-\2", normalise(text))


def snippet_pieces(snippet: str) -> list[str]:
    """The quoted runs of a citation's snippet: tags stripped, split at the ellipses and
    at a table's " | " (the page lays a table's cells out in its own order)."""
    plain = html.unescape(_TAG.sub("", snippet or ""))
    parts = [cell for part in plain.split("…") for cell in part.split(" | ")]
    return [p for p in (page_text(part) for part in parts) if p]


def _grams(words: list[str], n: int = 4) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def on_page(piece: str, text: str) -> bool:
    """Whether a snippet piece is quoted from ``text`` (both normalised). A piece that
    runs across a page break has the running header and footer in between, so a long
    piece passes when nearly all its four-word runs are on the page."""
    if piece in text:
        return True
    words = piece.split()
    if len(words) < 8:
        return False
    grams = _grams(words)
    return len(grams & _grams(text.split())) >= 0.8 * len(grams)


def quantities(text: str) -> set[str]:
    """The numbers of ``text`` that carry meaning ("350 °f", "3 min", "1-800-555-0142",
    "$150.00"), in one canonical spelling; bare list numbers and counts are left out."""
    plain = normalise(text)
    found = {m.group(0) for m in _PHONE.finditer(plain)}
    found |= {m.group(0).replace(" ", "").replace(",", "") for m in _MONEY.finditer(plain)}
    for value, unit in _QUANTITY.findall(plain):
        found.add(f"{value} {_UNITS[unit]}")
    return found


class Pages:
    """Page texts, the sections on each page and image checks, fetched once per run
    through the client."""

    def __init__(self, client):
        self.client = client
        self.texts: dict[tuple[int, int], str | None] = {}
        self.named: dict[tuple[int, int], set[str]] = {}
        self.failures: dict[tuple[int, int], str] = {}  # pages that did not load, and why
        self.images: dict[str, str] = {}

    def text(self, document_id: int, number: int) -> str | None:
        """The page's text (``page_text``), or None if it cannot be read."""
        key = (document_id, number)
        if key not in self.texts:
            url = f"/api/knowledge/documents/{document_id}/pages/{number}"
            status, _, body = self.client.get(url)
            page = json.loads(body) if status == 200 else {}
            self.texts[key] = page_text(page["text"]) if status == 200 else None
            self.named[key] = {
                section for chunk in page.get("chunks") or [] for section in _named(chunk)
            }
            if status != 200:
                self.failures[key] = f"GET {url}: HTTP {status}"
        return self.texts[key]

    def sections(self, document_id: int, number: int) -> set[str]:
        """The section ids (``3-401.11``) that the headings of the passages on the page
        name: the sections the page holds, as a ``pages.json`` lists them."""
        self.text(document_id, number)
        return self.named[(document_id, number)]

    def image(self, url: str | None) -> str:
        """ "" when the image loads, else what went wrong."""
        if not url:
            return "no image URL"
        if url not in self.images:
            status, content_type, body = self.client.get(url)
            problem = ""
            if status != 200:
                problem = f"HTTP {status}"
            elif not content_type.startswith("image/") or not body:
                problem = f"not an image ({content_type or 'no content type'})"
            self.images[url] = problem
        return self.images[url]


def _named(chunk: dict) -> list[str]:
    heading = chunk.get("heading") or []
    return section_ids(heading if isinstance(heading, str) else " › ".join(heading))


def check_citation(citation: dict, pages: Pages) -> list[str]:
    """What is wrong with one citation ([] when its snippet is on its pages and its
    images load)."""
    problems = []
    document, numbers = citation["document_id"], citation.get("pages") or []
    texts = [pages.text(document, n) for n in numbers]
    if not texts:
        problems.append("no page numbers")
    elif any(t is None for t in texts):
        problems.extend(
            pages.failures[(document, n)] for n in numbers if (document, n) in pages.failures
        )
    else:
        joined = " ".join(texts)
        absent = [p for p in snippet_pieces(citation.get("snippet", "")) if not on_page(p, joined)]
        if absent:
            problems.append(f"snippet not on the page: {absent[0][:120]!r}")
    for name in ("image_url", "thumbnail_url"):
        problem = pages.image(citation.get(name))
        if problem:
            problems.append(f"{name} {citation.get(name)}: {problem}")
    return problems
