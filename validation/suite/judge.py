"""How the suite judges an answer (``MessageOut``'s JSON, typed or spoken) against
its golden case: by ``chat.judging``'s rules, the ones ``bench chat`` judges by, so
that the text tests' figures and the benchmark's agree on the same cases.

- a fact is stated when ``chat.judging.states`` finds it (case-insensitive, whole
  words, any spelling of degrees); a declined answer states none;
- an answer is declined when it is flagged so or says the decline's own words;
- the expected place is cited when ``chat.judging.cites_expected`` says so: the
  document (and one of its pages, when the case names pages), or any expected section
  by its file name, a heading that names it, or a page of its chapter's PDF that holds
  it. A store keeps no ``pages.json``; which sections a page holds is read from the
  store instead (``Pages.sections``: the headings of the passages on the page), which
  gives the same pages as the ``pages.json`` that ``bench chat`` reads.
"""

from __future__ import annotations

import re

from chat import judging
from chat.assistant import DECLINE
from validation.suite.pages import Pages

NO_PAGE_MAP = judging.SectionPages()


def declined(answer: dict | None) -> bool:
    """Whether ``answer`` is the assistant's decline (as ``bench chat`` tells it)."""
    answer = answer or {}
    return bool(answer.get("declined")) or (answer.get("text") or "").strip() == DECLINE


def missing(answer: dict | None, facts: list[str]) -> list[str]:
    """The ``facts`` that ``answer`` does not state: all of them when it declined."""
    if declined(answer):
        return list(facts)
    return judging.missing_facts((answer or {}).get("text") or "", facts)


def position(fact: str, text: str) -> int:
    """Where ``fact`` is first stated in ``text``, in ``chat.judging.normalize``'s
    spelling of it; -1 when ``chat.judging.states`` would not find it there."""
    wanted = judging.normalize(fact)
    if not wanted:
        return 0
    found = re.search(rf"(?<![\w°]){re.escape(wanted)}(?![\w])", judging.normalize(text))
    return found.start() if found else -1


def places(answer: dict | None) -> list[judging.Cited]:
    """What the answer's citations point at: file name, pages and heading."""
    return [_place(c) for c in (answer or {}).get("citations") or []]


def _place(citation: dict) -> judging.Cited:
    pages = tuple(citation.get("pages") or ())
    return judging.Cited(citation.get("filename") or "", pages, citation.get("heading") or "")


def cites_expected(case, answer: dict | None, pages: Pages | None = None) -> bool | None:
    """Whether the answer cites where the case's answer is; None when the case names
    no place (off-topic, or a case with neither a document nor sections). With
    ``pages``, a citation of a chapter PDF also counts for the sections its pages hold;
    without, only file names and headings tell the sections."""
    judged = case.judged()
    if not case.sections or pages is None:
        return judging.cites_expected(judged, places(answer), NO_PAGE_MAP)
    return any(
        judging.cites_expected(judged, [_place(citation)], _sections_on(citation, pages))
        for citation in (answer or {}).get("citations") or []
    )


def _sections_on(citation: dict, pages: Pages) -> judging.SectionPages:
    """The sections the citation's own pages hold, as ``chat.judging`` reads a
    ``pages.json``: section id to page numbers."""
    held: dict[str, list[int]] = {}
    if citation.get("document_id") is None:
        return NO_PAGE_MAP
    for number in citation.get("pages") or []:
        for section in pages.sections(citation["document_id"], number):
            held.setdefault(section, []).append(number)
    return judging.SectionPages(held)


def expected_place(case) -> str:
    """Where the case's answer is, in words, for summaries."""
    if case.sections:
        return "section " + " or ".join(case.sections)
    if case.document and case.pages:
        return f"{case.document} p.{','.join(map(str, case.pages))}"
    return case.document or "nowhere named"


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded as ``bench chat`` rounds its figures; None of nothing."""
    return round(part / whole, 3) if whole else None
