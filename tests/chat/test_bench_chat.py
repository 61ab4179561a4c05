"""``manage.py bench chat``: answers through chat.services, with the figures a release
is judged by (latency, fact recall, declines, follow-ups)."""

import json

import pytest

from chat.benchmarks import chat as bench
from lineled.management.commands.bench import BENCHMARKS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LINELED_MODEL = "local"


def test_the_chat_benchmark_is_registered():
    assert BENCHMARKS["chat"].run is bench.run


def test_the_question_set_has_follow_ups_with_parents_and_off_topic_questions():
    questions = bench.load_questions(bench.QUESTIONS)
    kinds = [q["kind"] for q in questions]
    assert len(questions) >= 60
    assert kinds.count("off-topic") >= 10 and kinds.count("follow-up") >= 8
    ids = [q["id"] for q in questions]
    for question in questions:
        if question["kind"] == "follow-up":
            assert ids.index(question["after"]) < ids.index(question["id"])
        else:
            assert question["kind"] == "off-topic" or question["facts"]


def test_it_asks_every_question_in_conversations_and_reports_the_figures(tmp_path, alice):
    questions = [
        {
            "id": "fish",
            "question": "what temp does fish need to be cooked to",
            "kind": "fact",
            "facts": ["145°F"],
        },
        {
            "id": "beef",
            "question": "and ground beef?",
            "kind": "follow-up",
            "after": "fish",
            "facts": ["155°F"],
        },
        {
            "id": "rings",
            "question": "how long do onion rings cook",
            "kind": "fact",
            "facts": ["2 min 30 s", "not in any manual"],
        },
        {"id": "game", "question": "who won the game last night", "kind": "off-topic", "facts": []},
    ]
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(questions))
    result = bench.run({"questions": path, "show": True})
    assert result["questions"] == 4 and result["documents"] == 7
    assert result["fact_recall"] == 0.75  # 3 of the 4 facts; one is in no manual
    assert result["decline_accuracy"] == 1.0 and result["false_decline_rate"] == 0.0
    assert result["follow_up_accuracy"] == 1.0
    assert result["latency"]["samples"] == 4
    assert 0 < result["latency"]["first_token_p50_ms"] <= result["latency"]["total_p95_ms"]
    assert 0 < result["latency"]["cpu_p50_ms"] <= result["latency"]["cpu_p95_ms"]
    beef = next(a for a in result["answers"] if a["id"] == "beef")
    assert beef["searched"] == "what temp does ground beef need to be cooked to"
    assert [m["id"] for m in result["misses"]] == ["rings"]
    assert set(result["meets_targets"]) == set(bench.TARGETS)


def test_a_follow_up_without_its_parent_is_refused(tmp_path):
    path = tmp_path / "questions.json"
    path.write_text(
        json.dumps([{"id": "x", "question": "and fish?", "kind": "follow-up", "after": "nowhere"}])
    )
    with pytest.raises(ValueError, match="names no earlier question"):
        bench.load_questions(path)


def test_it_reads_the_evaluation_format_over_a_corpus_and_judges_citations(tmp_path, alice):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "7-101.10.md").write_text(
        "# Code 7-101.10 Cold Holding\n\nCut melons shall be held at 41°F or below.\n"
    )
    (corpus / "7-103.14.md").write_text(
        "# Code 7-103.14 Sliced Tomatoes\n\nSliced tomatoes shall be held at 45°F or below.\n"
    )
    questions = [
        {
            "id": "melon",
            "question": "how cold do cut melons have to be?",
            "kind": "fact",
            "answerable": True,
            "must_include": ["41°F"],
            "expected_sections": ["7-101.10"],
        },
        {
            "id": "melon-2",
            "question": "and sliced tomatoes?",
            "kind": "follow-up",
            "answerable": True,
            "history": ["how cold do cut melons have to be?"],
            "must_include": ["45°F"],
            "expected_sections": ["7-103.14"],
        },
        {"id": "game", "question": "who won the game last night?", "kind": "off-corpus",
         "answerable": False},
    ]  # fmt: skip
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(questions))
    result = bench.run({"questions": path, "corpus": [corpus], "no_demo": True, "show": True})
    assert result["documents"] == 2 and result["failed_documents"] == []
    assert set(result["by_kind"]) == {"fact", "follow-up", "off-topic"}
    assert result["by_kind"]["fact"] == {
        "count": 1,
        "fact_recall": 1.0,
        "cited": 1.0,
        "correct": 1.0,
        "declined": 0.0,
    }
    assert result["section_cited"] == 1.0 and result["decline_accuracy"] == 1.0
    follow_up = next(a for a in result["answers"] if a["id"] == "melon-2")
    assert follow_up["citations"][0] == "7-103.14.md p.1" and not follow_up["missing"]
