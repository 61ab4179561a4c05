"""The text tests judge answers by ``chat.judging``, as ``bench chat`` does: facts
matched tolerantly, the expected place found by document and pages or by section (file
name or heading), declines told by the flag or the decline's words; and their details
give the benchmark's figures. A canned client answers, so every judgment is known."""

import itertools
import json

import pytest

from chat import judging
from chat.assistant import DECLINE
from validation.clients import Client
from validation.suite import judge, text
from validation.suite.context import Case, Context

PAGE = "Page text: 7 days at 41°F or below; 165°F for 15 seconds; 3 minutes."
# The passages on page 40 (their headings, as the page API lists them): two sections.
PASSAGES = {40: [["Chapter 3", "3-501.17 Date Marking"], ["Chapter 3", "3-501.18 Disposition"]]}


class Canned(Client):
    """Answers each question with the answer written for it; every page holds PAGE and
    every image loads."""

    mode = "canned"

    def __init__(self, answers: dict[str, dict]):
        self.answers = answers
        self.ids = itertools.count(1)

    def conversation(self) -> int:
        return next(self.ids)

    def ask(self, conversation: int, question: str) -> dict:
        return dict(self.answers.get(question) or {"text": "(earlier turn)", "citations": []})

    def get(self, url: str) -> tuple[int, str, bytes]:
        if "/pages/" in url:
            chunks = [{"heading": h} for h in PASSAGES.get(int(url.rsplit("/", 1)[1]), [])]
            return 200, "application/json", json.dumps({"text": PAGE, "chunks": chunks}).encode()
        return 200, "image/png", b"\x89PNG"


def cite(filename: str, pages=(1,), heading: str = "", snippet: str = "7 days") -> dict:
    return {
        "rank": 1,
        "document_id": 1,
        "filename": filename,
        "pages": list(pages),
        "heading": heading,
        "snippet": snippet,
        "image_url": "/img/1",
        "thumbnail_url": "/thumb/1",
    }


def case(number: int, kind: str = "fact", *, facts=(), sections=(), document="", pages=()):
    return Case(
        id=number,
        question=f"question {number}?",
        history=["the question before?"] if kind == "follow-up" else [],
        answerable=kind != "off-topic",
        facts=list(facts),
        document=document,
        pages=list(pages),
        kind=kind,
        sections=list(sections),
    )


# Each case with its answer and what bench chat's rules make of it.
CASES = [
    # Heading names the section; the degree spelled out still states 41°F.
    (
        case(1, facts=["7 days", "41°F"], sections=["3-501.17"]),
        {
            "text": "Keep it 7 days at 41 degrees F or below [1].",
            "citations": [cite("food-code-chapter-3.pdf", [40], "Chapter 3 › 3-501.17 Date")],
        },
    ),
    # The file name is the section; the other degree glyph.
    (
        case(2, facts=["165°F"], sections=["4-703.11"]),
        {"text": "Hot water at 165 ºF [1].", "citations": [cite("4-703.11.md")]},
    ),
    # Facts right, but the citation points at another section.
    (
        case(3, "procedure", facts=["165°F", "15 seconds"], sections=["3-401.11"]),
        {"text": "1. Cook to 165°F. 2. Hold 15 seconds [1].", "citations": [cite("3-401.12.md")]},
    ),
    # "17 days" does not state "7 days" (whole words only).
    (
        case(4, facts=["7 days"], document="manual.pdf", pages=[2]),
        {"text": "Keep it 17 days [1].", "citations": [cite("manual.pdf", [2])]},
    ),
    # The right manual on the wrong page.
    (
        case(5, facts=["3 minutes"], document="manual.pdf", pages=[2]),
        {"text": "Cook 3 minutes [1].", "citations": [cite("manual.pdf", [5])]},
    ),
    # An answerable question declined: every fact missing, a false decline.
    (
        case(6, "follow-up", facts=["7 days"], sections=["3-501.17"]),
        {"text": DECLINE, "declined": True, "citations": []},
    ),
    # A follow-up answered with its fact and place.
    (
        case(7, "follow-up", facts=["15 seconds"], sections=["3-401.11"]),
        {"text": "15 seconds [1].", "citations": [cite("x.pdf", [3], "3-401.11 Raw Animal")]},
    ),
    # Off-topic: the decline's words count even without the flag; the other is answered.
    (case(8, "off-topic"), {"text": DECLINE, "declined": False, "citations": []}),
    (case(9, "off-topic"), {"text": "Shifts swap in the app [1].", "citations": [cite("a.md")]}),
]


@pytest.fixture
def canned() -> Context:
    answers = {c.question: answer for c, answer in CASES}
    return Context(client=Canned(answers), cases=[c for c, _ in CASES])


def test_facts_are_judged_as_bench_chat_judges_them(canned):
    outcome = text.grounded_facts(canned)
    missing = {row["case"]: row["missing"] for row in outcome.details["cases"]}
    assert missing == {1: [], 2: [], 3: [], 4: ["7 days"], 5: [], 6: ["7 days"], 7: []}
    assert outcome.score == pytest.approx(100 * 7 / 9)  # 9 facts, 7 stated
    figures = outcome.details["figures"]
    assert figures["fact_recall"] == 0.778
    assert figures["follow_up_accuracy"] == 0.5  # case 7 of cases 6 and 7
    assert figures["fact_recall_by_kind"] == {"fact": 0.8, "follow-up": 0.5, "procedure": 1.0}


def test_the_expected_place_is_a_document_and_page_or_any_section(canned):
    outcome = text.citations(canned)
    cited = {row["case"]: row["cites_expected"] for row in outcome.details["cases"]}
    assert cited == {1: True, 2: True, 3: False, 4: True, 5: False, 6: False, 7: True}
    assert outcome.details["figures"]["section_cited"] == round(4 / 7, 3)
    # Only answers citing where the answer is earn their verified citations.
    assert outcome.score == pytest.approx(100 * 4 / 7)
    assert "should cite section 3-401.11" in outcome.recommendation


def test_declines_are_told_by_the_flag_or_the_decline_itself(canned):
    outcome = text.declines(canned)
    rows = {row["case"]: row for row in outcome.details["cases"]}
    assert rows[8]["declined"] and rows[8]["right"]
    assert not rows[9]["declined"] and not rows[9]["right"]
    assert rows[6]["declined"] and not rows[6]["right"]
    figures = outcome.details["figures"]
    assert (figures["decline_accuracy"], figures["false_decline_rate"]) == (0.5, round(1 / 7, 3))
    assert outcome.score == pytest.approx(100 * 7 / 9)


def test_steps_are_found_where_bench_chat_finds_facts(canned):
    outcome = text.procedures(canned)
    (row,) = outcome.details["cases"]
    assert row["in_order"] == 2 and outcome.score == 100
    sentences = [
        ("Heat it to 350 degrees F [1] for 3  MIN [2].", "350°F"),
        ("Heat it to 350 degrees F [1] for 3  MIN [2].", "3 min"),
        ("Keep it 17 days.", "7 days"),
        ("Hold 135°F or above", "35°F"),
        ("The MOD signs the log", "mod"),
        ("Use the modular rack", "mod"),
    ]
    for answer, fact in sentences:
        assert (judge.position(fact, answer) >= 0) == judging.states(answer, fact), (answer, fact)


def test_a_case_with_neither_document_nor_sections_is_not_judged_on_its_place(canned):
    nowhere = case(10, facts=["7 days"])
    assert judge.cites_expected(nowhere, {"citations": [cite("any.pdf")]}) is None
    canned.cases.append(nowhere)
    canned.client.answers[nowhere.question] = {"text": "7 days [1].", "citations": [cite("a.pdf")]}
    outcome = text.citations(canned)
    assert outcome.details["figures"] == {"section_cited": round(4 / 7, 3), "judged": 7}


def test_a_page_of_the_chapter_pdf_counts_for_every_section_its_passages_name(canned):
    next_on_page = case(11, facts=["7 days"], sections=["3-501.18"])
    pages = text.Pages(canned.client)
    chapter = cite("food-code-chapter-3.pdf", [40], "Chapter 3 › 3-501.17 Date Marking")
    assert judge.cites_expected(next_on_page, {"citations": [chapter]}, pages)
    assert not judge.cites_expected(next_on_page, {"citations": [chapter]})  # headings alone
    elsewhere = cite("food-code-chapter-3.pdf", [41], "Chapter 3 › 3-501.17 Date Marking")
    assert not judge.cites_expected(next_on_page, {"citations": [elsewhere]}, pages)
    other_pdf = cite("manual.pdf", [40], "Storage")
    assert not judge.cites_expected(next_on_page, {"citations": [other_pdf]}, pages)
    wrong_chapter = case(12, facts=["7 days"], sections=["4-501.18"])
    assert not judge.cites_expected(wrong_chapter, {"citations": [chapter]}, pages)
