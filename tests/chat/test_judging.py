"""How answers are judged (bench chat and validation alike): facts stated in any common
spelling, and citations of the place the answer is."""

import json

import pytest

from chat import judging
from chat.judging import Cited, SectionPages


@pytest.mark.parametrize(
    "answer",
    [
        "Cook it to 165°F for 15 seconds [1].",
        "Cook it to 165 °F for 15 seconds.",
        "Cook it to 165º F for 15 seconds.",
        "cook it to 165 degrees F for 15 SECONDS",
    ],
)
def test_a_temperature_is_stated_however_it_is_written(answer):
    assert judging.missing_facts(answer, ["165°F", "15 seconds"]) == []


def test_a_fact_must_be_a_whole_word_or_phrase():
    assert judging.missing_facts("Hold it at 141°F or above.", ["41°F"]) == ["41°F"]
    assert judging.missing_facts("Keep it for 17 days.", ["7 days"]) == ["7 days"]
    assert judging.missing_facts("restricted from work", ["restrict"]) == ["restrict"]


def test_both_question_set_formats_are_read(tmp_path):
    path = tmp_path / "set.json"
    entries = [
        {"id": "a", "question": "how hot", "kind": "fact", "facts": ["350°F"], "manual": "f.pdf"},
        {
            "id": "b",
            "question": "and then?",
            "kind": "follow-up",
            "history": ["how hot is the fryer"],
            "must_include": ["3 min"],
            "expected_sections": ["3-401.11"],
            "answerable": True,
        },
        {"id": "c", "question": "who won", "kind": "off-corpus", "answerable": False},
    ]
    path.write_text(json.dumps(entries))
    a, b, c = judging.read_cases(path)
    assert (a.document, a.facts, a.answerable) == ("f.pdf", ["350°F"], True)
    assert (b.history, b.sections, b.facts, b.follow_up) == (
        ["how hot is the fryer"],
        ["3-401.11"],
        ["3 min"],
        True,
    )
    assert (c.kind, c.answerable) == ("off-topic", False)


def test_a_section_is_cited_by_its_file_its_heading_or_a_page_of_its_chapter():
    pages = SectionPages({"3-401.11": [16, 17]})
    case = judging.Case("x", "q", sections=["3-401.11"])
    chapter = "fda-food-code-2022-chapter-3.pdf"
    assert judging.cites_expected(case, [Cited("3-401.11.md")], pages)
    assert judging.cites_expected(case, [Cited(chapter, (17,))], pages)
    assert judging.cites_expected(case, [Cited("x.pdf", (1,), "3 Food › 3-401.11 Raw")], pages)
    assert not judging.cites_expected(case, [Cited(chapter, (18,))], pages)
    assert not judging.cites_expected(case, [Cited("fda-chapter-2.pdf", (17,))], pages)


def test_a_document_case_is_cited_by_that_file_on_one_of_its_pages():
    case = judging.Case("x", "q", document="fryer.pdf", pages=[3])
    assert judging.cites_expected(case, [Cited("fryer.pdf", (2, 3))], SectionPages())
    assert not judging.cites_expected(case, [Cited("fryer.pdf", (4,))], SectionPages())
    assert judging.cites_expected(judging.Case("y", "q"), [], SectionPages()) is None
