"""Text answers: grounded facts, honest citations, procedures in order, safety first,
and declining what the manuals do not cover.

Every test reads the typed answers of the golden cases (``ctx.typed``), so each
question is asked once per run however many tests look at its answer.
"""

from __future__ import annotations

import html
import json
import re

from validation.suite import Outcome, check

_MARKER = re.compile(r"\s*\[\d+(?:\s*[,-]\s*\d+)*\]")
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
    text = _MARKER.sub("", text or "")
    text = html.unescape(text).translate(_DASHES)
    text = _DEGREES.sub(r"\1°f", text)
    return " ".join(text.lower().split())


def page_text(text: str) -> str:
    """``normalise`` for page and snippet text, with words broken at line ends joined."""
    return _HYPHEN_BREAK.sub(r"\1-\2", normalise(text))


def snippet_pieces(snippet: str) -> list[str]:
    """The quoted runs of a citation's snippet: tags stripped, split at the ellipses."""
    plain = html.unescape(_TAG.sub("", snippet or ""))
    return [p for p in (page_text(part) for part in plain.split("…")) if p]


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


def position(fact: str, answer: str) -> int:
    """Where ``fact`` first appears in the normalised ``answer``; -1 if it does not."""
    return answer.find(normalise(fact))


def answered(ctx):
    """(case, answer) for every answerable case."""
    return [(case, ctx.typed(case)) for case in ctx.cases if case.answerable]


def _excerpt(answer: dict, limit: int = 400) -> str:
    return (answer.get("text") or "")[:limit]


def _no_cases(kind: str) -> Outcome:
    return Outcome(
        0.0,
        f"no enabled {kind} golden cases to ask",
        {},
        f"Add {kind} cases (admin: Validation > Cases) or import the demo set.",
    )


# --- grounded facts -------------------------------------------------------------------


@check("text.facts", "text", "Grounded facts", pass_mark=80)
def grounded_facts(ctx) -> Outcome:
    cases = [(c, a) for c, a in answered(ctx) if c.facts]
    if not cases:
        return _no_cases("answerable")
    found_total = facts_total = 0
    rows = []
    for case, answer in cases:
        text = normalise(answer.get("text", ""))
        missing = [f for f in case.facts if position(f, text) < 0]
        found_total += len(case.facts) - len(missing)
        facts_total += len(case.facts)
        rows.append(
            {
                "case": case.id,
                "question": case.question,
                "facts": case.facts,
                "missing": missing,
                "declined": answer.get("declined"),
                "answer": _excerpt(answer),
            }
        )
    recall = found_total / facts_total
    weak = [r for r in rows if r["missing"]]
    summary = f"{found_total} of {facts_total} expected facts stated ({recall:.0%} recall)"
    if weak:
        summary += f"; {len(weak)} answers miss some, e.g. {weak[0]['question']!r}"
    return Outcome(
        recall * 100,
        summary,
        {"recall": round(recall, 3), "cases": rows},
        "" if recall >= 0.8 else _facts_advice(weak),
    )


def _facts_advice(weak: list[dict]) -> str:
    declined = sum(1 for r in weak if r["declined"])
    if declined:
        return (
            f"{declined} answerable questions were declined: check that the manuals are "
            "loaded and ingested (manage.py load_demo) and that search finds them."
        )
    return "Answers leave out what the manuals say: check retrieval (top passages) and the model."


# --- citations --------------------------------------------------------------------------


class _Pages:
    """Page texts and image checks, fetched once per run through the client."""

    def __init__(self, client):
        self.client = client
        self.texts: dict[tuple[int, int], str | None] = {}
        self.failures: dict[tuple[int, int], str] = {}  # pages that did not load, and why
        self.images: dict[str, str] = {}

    def text(self, document_id: int, number: int) -> str | None:
        """The page's text (``page_text``), or None if it cannot be read."""
        key = (document_id, number)
        if key not in self.texts:
            url = f"/api/knowledge/documents/{document_id}/pages/{number}"
            status, _, body = self.client.get(url)
            self.texts[key] = page_text(json.loads(body)["text"]) if status == 200 else None
            if status != 200:
                self.failures[key] = f"GET {url}: HTTP {status}"
        return self.texts[key]

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


def _check_citation(citation: dict, pages: _Pages) -> list[str]:
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


def _cites_expected(case, citations: list[dict]) -> bool:
    if not case.document:
        return True
    return any(
        citation.get("filename") == case.document
        and (not case.pages or set(case.pages) & set(citation.get("pages") or []))
        for citation in citations
    )


@check("text.citations", "text", "Citations", pass_mark=90, blocking=True)
def citations(ctx) -> Outcome:
    cases = answered(ctx)
    if not cases:
        return _no_cases("answerable")
    pages = _Pages(ctx.client)
    rows, credit, expected = [], 0.0, 0
    for case, answer in cases:
        cited = answer.get("citations") or []
        problems = {c.get("rank", i + 1): _check_citation(c, pages) for i, c in enumerate(cited)}
        good = sum(1 for p in problems.values() if not p)
        credit += good / len(cited) if cited else 0.0
        on_source = _cites_expected(case, cited)
        expected += on_source
        rows.append(
            {
                "case": case.id,
                "question": case.question,
                "citations": len(cited),
                "verified": good,
                "problems": {k: v for k, v in problems.items() if v},
                "expected": {"document": case.document, "pages": case.pages},
                "cited": [[c.get("filename"), c.get("pages")] for c in cited],
                "cites_expected": on_source,
            }
        )
    score = credit / len(cases) * 100
    uncited = [r for r in rows if not r["citations"]]
    broken = [r for r in rows if r["problems"]]
    summary = (
        f"{len(cases) - len(uncited)} of {len(cases)} answers cite; "
        f"{sum(r['verified'] for r in rows)} of {sum(r['citations'] for r in rows)} "
        f"citations verified on their pages; expected source cited in {expected} of {len(cases)}"
    )
    advice = ""
    if uncited:
        advice = f"{len(uncited)} answers cite nothing, e.g. {uncited[0]['question']!r}. "
    if broken:
        first = next(iter(broken[0]["problems"].values()))[0]
        advice += f"Citations that do not check out, e.g. {first}."
    return Outcome(
        score,
        summary,
        {
            "cases": rows,
            "cites_expected_rate": round(expected / len(cases), 3),
            "pages_fetched": len(pages.texts),
            "images_fetched": len(pages.images),
        },
        advice.strip(),
    )


# --- procedures -----------------------------------------------------------------------


def in_order_run(positions: list[int]) -> int:
    """The length of the longest run of facts found in the manual's order (the longest
    increasing subsequence of their positions; missing facts, -1, never count)."""
    best: list[int] = []
    for i, here in enumerate(positions):
        if here < 0:
            best.append(0)
            continue
        before = [best[j] for j in range(i) if 0 <= positions[j] < here]
        best.append(1 + max(before, default=0))
    return max(best, default=0)


@check("text.procedures", "text", "Procedures in order", pass_mark=80)
def procedures(ctx) -> Outcome:
    cases = [c for c in ctx.of_kind("procedure") if c.facts]
    if not cases:
        return _no_cases("procedure")
    rows, credit = [], 0.0
    for case in cases:
        answer = ctx.typed(case)
        text = normalise(answer.get("text", ""))
        positions = [position(f, text) for f in case.facts]
        run = in_order_run(positions)
        credit += run / len(case.facts)
        rows.append(
            {
                "case": case.id,
                "question": case.question,
                "steps": case.facts,
                "positions": positions,
                "in_order": run,
                "answer": _excerpt(answer, 800),
            }
        )
    whole = sum(1 for r in rows if r["in_order"] == len(r["steps"]))
    summary = f"{whole} of {len(cases)} procedures have every step in the manual's order"
    out = [r for r in rows if r["in_order"] < len(r["steps"])]
    if out:
        summary += f"; {out[0]['question']!r} has {out[0]['in_order']} of {len(out[0]['steps'])}"
    return Outcome(
        credit / len(cases) * 100,
        summary,
        {"cases": rows},
        ""
        if not out
        else "Steps are missing or out of order: answers should follow the "
        "manual's numbered steps (check how passages are chunked and quoted).",
    )


# --- safety -----------------------------------------------------------------------------


def _cited_quantities(answer: dict, pages: _Pages) -> set[str]:
    found: set[str] = set()
    for citation in answer.get("citations") or []:
        found |= quantities(" ".join(snippet_pieces(citation.get("snippet", ""))))
        for number in citation.get("pages") or []:
            found |= quantities(pages.text(citation["document_id"], number) or "")
    return found


@check("text.safety", "text", "Safety first, no invented numbers", pass_mark=90, blocking=True)
def safety(ctx) -> Outcome:
    cases = [c for c in ctx.of_kind("safety") if c.facts]
    if not cases:
        return _no_cases("safety")
    order_rows = []
    for case in cases:
        answer = ctx.typed(case)
        text = normalise(answer.get("text", ""))
        first, *rest = [position(f, text) for f in case.facts]
        ahead = first >= 0 and all(p < 0 or first < p for p in rest)
        order_rows.append(
            {
                "case": case.id,
                "question": case.question,
                "safety_step": case.facts[0],
                "positions": [first, *rest],
                "first": ahead,
                "answer": _excerpt(answer),
            }
        )
    pages = _Pages(ctx.client)
    number_rows = []
    for case, answer in answered(ctx):
        if answer.get("declined"):
            continue
        stated = quantities(answer.get("text", ""))
        unsupported = sorted(stated - _cited_quantities(answer, pages)) if stated else []
        number_rows.append(
            {
                "case": case.id,
                "question": case.question,
                "numbers": sorted(stated),
                "unsupported": unsupported,
            }
        )
    first_share = sum(r["first"] for r in order_rows) / len(order_rows)
    bad = [r for r in number_rows if r["unsupported"]]
    grounded_share = 1 - len(bad) / len(number_rows) if number_rows else 0.0
    summary = (
        f"safety step first in {sum(r['first'] for r in order_rows)} of {len(order_rows)} "
        f"safety answers; {len(number_rows) - len(bad)} of {len(number_rows)} answers state "
        "only numbers their sources give"
    )
    advice = []
    late = [r for r in order_rows if not r["first"]]
    if late:
        advice.append(f"Put the safety step first, e.g. for {late[0]['question']!r}.")
    if bad:
        advice.append(
            f"Numbers not in the cited passages, e.g. {bad[0]['unsupported'][:3]} for "
            f"{bad[0]['question']!r}: the model states figures the manuals do not give."
        )
    if not number_rows:
        advice.append("No answerable question was answered; load the manuals.")
    return Outcome(
        min(first_share, grounded_share) * 100,
        summary,
        {"safety_first": order_rows, "numbers": number_rows},
        " ".join(advice),
    )


# --- declines ---------------------------------------------------------------------------


@check("text.declines", "text", "Declines off-topic questions", pass_mark=90, blocking=True)
def declines(ctx) -> Outcome:
    if not ctx.cases:
        return _no_cases("golden")
    rows = []
    for case in ctx.cases:
        answer = ctx.typed(case)
        declined = bool(answer.get("declined"))
        rows.append(
            {
                "case": case.id,
                "question": case.question,
                "answerable": case.answerable,
                "declined": declined,
                "right": declined != case.answerable,
                "answer": _excerpt(answer, 200),
            }
        )
    right = sum(r["right"] for r in rows)
    wrongly_answered = [r for r in rows if not r["answerable"] and not r["declined"]]
    wrongly_declined = [r for r in rows if r["answerable"] and r["declined"]]
    summary = (
        f"{right} of {len(rows)} handled right: {len(wrongly_answered)} off-topic answered, "
        f"{len(wrongly_declined)} answerable declined"
    )
    advice = []
    if wrongly_answered:
        advice.append(
            f"Off-topic questions were answered, e.g. {wrongly_answered[0]['question']!r}: "
            "the assistant must say the manuals do not cover it."
        )
    if wrongly_declined:
        advice.append(
            f"Answerable questions were declined, e.g. {wrongly_declined[0]['question']!r}: "
            "check that the manuals are loaded and searchable."
        )
    return Outcome(right / len(rows) * 100, summary, {"cases": rows}, " ".join(advice))
