"""The cross-modal tests: text and voice in one conversation, and the same question
typed and spoken, on the demo deployment (in-process).

Where the recogniser mishears a spoken question the typed and spoken answers differ and
a follow-up loses its context; these tests check that each such failure is reported
with its transcript and reason, and that on questions heard right the same checks pass.
"""

from __future__ import annotations

import json
import statistics

import pytest

from validation.clients import Spoken
from validation.suite import crossmodal as checks
from validation.suite.context import Case, Context
from validation.suite.voice import cited, found_facts

from .voice_cases import HEARD_RIGHT, registered_pass_marks, run_checks, sample

PASS_MARKS = {
    "cross.typed_then_spoken": 75,
    "cross.spoken_then_typed": 75,
    "cross.same_facts": 80,
    "cross.same_citations": 80,
    "cross.overhead": 80,
}


def run(ctx: Context, *ids: str) -> dict:
    return run_checks("cross-modal", ctx, *ids)


def test_the_five_cross_modal_tests_are_registered_with_their_pass_marks():
    assert registered_pass_marks("cross-modal") == PASS_MARKS


def test_the_cross_modal_tests_score_the_demo_questions_and_keep_their_evidence(heard):
    ctx = sample(heard)
    outcomes = run(ctx)

    for id, outcome in outcomes.items():
        assert 0 <= outcome.score <= 100 and outcome.summary, id
        json.dumps(outcome.details)
        if outcome.score < PASS_MARKS[id]:
            assert outcome.recommendation, f"{id} failed without saying what to fix"

    follow_ups = [c for c in ctx.cases if c.kind == "follow-up"]
    for id in ("cross.typed_then_spoken", "cross.spoken_then_typed"):
        rows = outcomes[id].details["cases"]
        assert [r["question"] for r in rows] == [c.question for c in follow_ups]
        for row in rows:
            assert row["spoken"] and all(s["transcript"] for s in row["spoken"])
            assert row["ok"] == (not row["why_not"])
            if row["declined"]:
                assert "declined" in row["why_not"]
        ok = sum(r["ok"] for r in rows)
        assert outcomes[id].score == pytest.approx(100 * ok / len(rows))
    # Typed first: the spoken follow-up is the one ctx.spoken asked, after typed history.
    for row, case in zip(
        outcomes["cross.typed_then_spoken"].details["cases"], follow_ups, strict=True
    ):
        assert row["typed"] == case.history
        assert row["spoken"][0]["transcript"] == ctx.spoken(case).transcript
    # Spoken first: what was said is the history, in a conversation of its own.
    for row, case in zip(
        outcomes["cross.spoken_then_typed"].details["cases"], follow_ups, strict=True
    ):
        assert [s["said"] for s in row["spoken"]] == case.history

    compared = [c for c in ctx.cases if c.kind in ("fact", "procedure", "safety")]
    facts = outcomes["cross.same_facts"].details["cases"]
    citations = outcomes["cross.same_citations"].details["cases"]
    for case, fact, citation in zip(compared, facts, citations, strict=True):
        assert fact["typed"] == found_facts(ctx.typed(case), case.facts)
        assert fact["spoken"] == found_facts(ctx.spoken(case).answer, case.facts)
        assert citation["typed"] == cited(ctx.typed(case))
        assert fact["same"] == (fact["typed"] == fact["spoken"])
    differ = [f for f in facts if not f["same"]]
    if differ:  # each difference is shown with what was heard
        misheard = sum(f["errors"] > 0 for f in differ)
        assert (
            f"{misheard} of the {len(differ)} that differ" in outcomes["cross.same_facts"].summary
        )

    overhead = outcomes["cross.overhead"]
    assert "first_audio_ms - stt_ms - tts_first_ms" in overhead.details["definition"]
    rows = [r for r in overhead.details["cases"] if "extra_ms" in r]
    assert len(rows) == len(ctx.cases)
    for row in rows:
        assert row["tts_source"] == "synthesised again" and row["tts_first_ms"] > 0
        assert row["extra_ms"] == pytest.approx(
            row["first_audio_ms"]
            - row["stt_ms"]
            - row["tts_first_ms"]
            - row["typed_first_token_ms"],
            abs=0.2,
        )
    # How long voice waits beside text is a figure (bench voice), not a pass mark here.
    assert overhead.details["median_extra_ms"] == pytest.approx(
        statistics.median(row["extra_ms"] for row in rows), abs=0.2
    )


def test_the_cross_modal_tests_pass_on_questions_the_recogniser_hears_right(heard):
    ctx = Context(client=heard.client, cases=HEARD_RIGHT)
    outcomes = run(
        ctx,
        "cross.typed_then_spoken",
        "cross.spoken_then_typed",
        "cross.same_facts",
        "cross.same_citations",
    )

    for id, outcome in outcomes.items():
        assert outcome.score == 100, f"{id}: {outcome.summary}"
        assert not outcome.recommendation
    (row,) = outcomes["cross.spoken_then_typed"].details["cases"]
    assert row["spoken"][0]["errors"] == 0 and "3 min 30 s" in row["found"]


def test_voice_overhead_is_what_is_left_after_the_engines_and_the_text_answer():
    case = Case(1, "how long do fries cook", [], True, ["3 min"], "fryer.pdf", [3], "fact")
    turn = {"stt_ms": 320.0, "first_token_ms": 400.0, "first_audio_ms": 610.0, "tts_engine": ""}
    spoken = Spoken("how long do fries cook", {"text": "Fry for 3 min [1]."}, b"", turn)
    typed = {"timings": {"first_token_ms": 50.0, "total_ms": 80.0}}

    row = checks.overhead_of(case, spoken, typed)

    # No engine of the server's kind here: first audio - first token stands in for it.
    assert row["tts_source"] == "first_audio_ms - first_token_ms"
    assert row["tts_first_ms"] == 210.0
    assert row["extra_ms"] == 610 - 320 - 210 - 50
    assert checks.overhead_of(case, Spoken(error="voice is off"), typed)["skipped"]
    assert checks.linear(row["extra_ms"], 150, 1000) == 100
    assert checks.linear(575, 150, 1000) == pytest.approx(50)
