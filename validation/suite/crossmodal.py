"""Cross-modal: text and voice in one conversation, and the same answer either way.

A crew member types a question and asks the follow-up aloud, or the other way round;
both must be answered in context. The same question typed and spoken must give the
same facts and citations, and voice must cost no more time than its speech engines.
"""

from __future__ import annotations

import statistics

from validation.clients import Spoken
from validation.speech import speak
from validation.suite import Outcome, check
from validation.suite.context import Case, Context
from validation.suite.judge import cites_expected, declined, expected_place
from validation.suite.pages import Pages
from validation.suite.voice import (
    STRONGER_ENGINE,
    cited,
    for_the_ear,
    found_facts,
    heard,
    linear,
    timed_synthesis,
)
from voice.text import wer

OVERHEAD_TARGET_MS, OVERHEAD_LIMIT_MS = 150.0, 1000.0


def follow_ups(ctx: Context) -> list[Case]:
    return [c for c in ctx.cases if c.answerable and c.history]


def compared(ctx: Context) -> list[Case]:
    """The answerable questions that stand alone: fact, procedure and safety."""
    return [c for c in ctx.cases if c.answerable and c.kind in ("fact", "procedure", "safety")]


def in_context(case: Case, answer: dict | None, pages: Pages) -> dict:
    """Whether ``answer`` answers the follow-up ``case``: not declined, all its facts,
    where its answer is cited (judged as the text tests judge); the reasons when not."""
    answer = answer or {}
    found = found_facts(answer, case.facts)
    documents = sorted({c.get("filename", "") for c in answer.get("citations", [])})
    reasons = []
    if not answer:
        reasons.append("no answer")
    elif declined(answer):
        reasons.append("declined")
    if missing := [f for f in case.facts if f not in found]:
        reasons.append(f"missing {', '.join(missing)}")
    if cites_expected(case, answer, pages) is False:
        reasons.append(f"does not cite {expected_place(case)}")
    return {
        "answer": answer.get("text", "")[:600],
        "declined": declined(answer),
        "found": found,
        "cited": documents,
        "ok": not reasons,
        "why_not": "; ".join(reasons),
    }


def _follow_up_outcome(records: list[dict], how: str) -> Outcome:
    if not records:
        return Outcome(
            0.0,
            "no follow-up golden cases (cases with a history) to ask",
            {"cases": []},
            "Add follow-up cases (with history) to the golden cases.",
        )
    ok = sum(r["ok"] for r in records)
    score = 100.0 * ok / len(records)
    summary = f"{ok} of {len(records)} follow-ups {how} were answered in context"
    failed = [r for r in records if not r["ok"]]
    recommendation = ""
    if failed:
        summary += f"; first failure: {failed[0]['question']!r}: {failed[0]['why_not']}"
        misheard = sum(any(h["errors"] for h in r["spoken"]) for r in failed)
        recommendation = (
            f"{misheard} of {len(failed)} failures followed a misheard spoken question (see the "
            f"transcripts): {STRONGER_ENGINE}."
        )
        if misheard < len(failed):
            recommendation += (
                " The others were heard right: check that voice and text turns share the "
                "conversation history (chat.services.history)."
            )
    return Outcome(score, summary, {"cases": records}, recommendation)


def _spoken_record(question: str, spoken: Spoken) -> dict:
    errors, words = wer(question, spoken.transcript)
    record = {"said": question, "transcript": spoken.transcript, "errors": errors, "words": words}
    if spoken.error:
        record["error"] = spoken.error
    return record


@check("cross.typed_then_spoken", "cross-modal", "Typed then spoken follow-up", pass_mark=75)
def typed_then_spoken(ctx: Context) -> Outcome:
    """Each follow-up case: its history typed, then the follow-up spoken in the same
    conversation (``ctx.spoken`` does exactly that)."""
    records, pages = [], Pages(ctx.client)
    for case in follow_ups(ctx):
        spoken = ctx.spoken(case)
        records.append(
            {
                "case": case.id,
                "typed": case.history,
                "question": case.question,
                "spoken": [_spoken_record(case.question, spoken)],
                **in_context(case, spoken.answer, pages),
            }
        )
    return _follow_up_outcome(records, "spoken after a typed question")


@check("cross.spoken_then_typed", "cross-modal", "Spoken then typed follow-up", pass_mark=75)
def spoken_then_typed(ctx: Context) -> Outcome:
    """Each follow-up case: its history spoken, then the follow-up typed in the same
    conversation."""
    records, pages = [], Pages(ctx.client)
    for case in follow_ups(ctx):
        conversation = ctx.client.conversation()
        spoken = [
            _spoken_record(earlier, ctx.client.ask_spoken(conversation, speak(earlier)))
            for earlier in case.history
        ]
        answer = ctx.client.ask(conversation, case.question)
        records.append(
            {
                "case": case.id,
                "question": case.question,
                "spoken": spoken,
                **in_context(case, answer, pages),
            }
        )
    return _follow_up_outcome(records, "typed after a spoken question")


@check("cross.same_facts", "cross-modal", "Same facts by text and voice", pass_mark=80)
def same_facts(ctx: Context) -> Outcome:
    """Share of fact, procedure and safety questions whose typed and spoken answers
    state the same of the case's facts."""
    records = []
    for case in compared(ctx):
        typed = found_facts(ctx.typed(case), case.facts)
        spoken = found_facts(ctx.spoken(case).answer, case.facts)
        records.append(
            {**heard(ctx, case), "typed": typed, "spoken": spoken, "same": typed == spoken}
        )
    return _same_outcome(records, "state the same facts")


@check("cross.same_citations", "cross-modal", "Same citations by text and voice", pass_mark=80)
def same_citations(ctx: Context) -> Outcome:
    """Share of fact, procedure and safety questions whose typed and spoken answers cite
    the same (document, pages)."""
    records = []
    for case in compared(ctx):
        typed = cited(ctx.typed(case))
        spoken = cited(ctx.spoken(case).answer)
        records.append(
            {**heard(ctx, case), "typed": typed, "spoken": spoken, "same": typed == spoken}
        )
    return _same_outcome(records, "cite the same documents and pages")


def _same_outcome(records: list[dict], what: str) -> Outcome:
    same = sum(r["same"] for r in records)
    score = 100.0 * same / len(records) if records else 0.0
    summary = f"{same} of {len(records)} questions {what} typed and spoken"
    recommendation = ""
    differ = [r for r in records if not r["same"]]
    if differ:
        misheard = sum(r["errors"] > 0 for r in differ)
        summary += f"; {misheard} of the {len(differ)} that differ were misheard"
        recommendation = (
            f"{misheard} of {len(differ)} differences follow a misheard question: "
            f"{STRONGER_ENGINE}."
        )
        if misheard < len(differ):
            recommendation += (
                " The others were heard right yet answered differently: compare the voice "
                "and text paths of chat.services.run_turn."
            )
    if not records:
        summary = "no answerable fact, procedure or safety cases to compare"
        recommendation = "Add golden cases of those kinds."
    return Outcome(score, summary, {"cases": records}, recommendation)


# --- overhead -----------------------------------------------------------------------

OVERHEAD_DEFINITION = (
    "extra = first_audio_ms - stt_ms - tts_first_ms - typed first_token_ms, per question: "
    "the spoken turn's time from the end of speech to the first byte of audio, less the "
    "recogniser's own time (stt_ms: end of speech to transcript, the endpointer's "
    "end-of-speech silence included), less the time the text-to-speech engine takes for "
    "the first spoken sentence (synthesised again here; where this process has no engine "
    "of the server's kind, first_audio_ms - first_token_ms stands in), less the time the "
    "typed answer took to its first words (its timings.first_token_ms, or total_ms). What "
    "is left is what voice adds besides its engines: storing the spoken question, waiting "
    "for the first sentence to be complete, relaying. Score 100 at a median of 150 ms or "
    "less, 0 at 1000 ms."
)


def overhead_of(case: Case, spoken: Spoken, typed: dict) -> dict:
    turn = spoken.turn
    record = {"case": case.id, "question": case.question}
    first_audio, stt = turn.get("first_audio_ms"), turn.get("stt_ms")
    timings = typed.get("timings") or {}
    typed_ms = timings.get("first_token_ms") or timings.get("total_ms")
    if spoken.error or first_audio is None or stt is None or typed_ms is None:
        record["skipped"] = spoken.error or "no first audio or typed timing"
        return record
    pieces = for_the_ear((spoken.answer or {}).get("text", ""), spoken.transcript)
    tts_ms = timed_synthesis(pieces[0], turn.get("tts_engine", "")) if pieces else None
    source = "synthesised again"
    if tts_ms is None:
        tts_ms = first_audio - (turn.get("first_token_ms") or first_audio)
        source = "first_audio_ms - first_token_ms"
    record.update(
        first_audio_ms=first_audio,
        stt_ms=stt,
        tts_first_ms=round(tts_ms, 1),
        tts_source=source,
        typed_first_token_ms=typed_ms,
        typed_total_ms=timings.get("total_ms"),
        extra_ms=round(first_audio - stt - tts_ms - typed_ms, 1),
    )
    return record


@check("cross.overhead", "cross-modal", "Voice overhead over text", pass_mark=80)
def overhead(ctx: Context) -> Outcome:
    """Median time voice adds to text beyond its speech engines (see OVERHEAD_DEFINITION)."""
    records = [overhead_of(case, ctx.spoken(case), ctx.typed(case)) for case in ctx.cases]
    extras = [r["extra_ms"] for r in records if "extra_ms" in r]
    details = {"definition": OVERHEAD_DEFINITION, "cases": records}
    if not extras:
        return Outcome(
            0.0,
            f"none of {len(records)} spoken questions was answered with audio to time",
            details,
            "The voice path gave no timed audio: see the voice tests' evidence.",
        )
    median = statistics.median(extras)
    details.update(median_extra_ms=round(median, 1), max_extra_ms=max(extras))
    score = linear(median, OVERHEAD_TARGET_MS, OVERHEAD_LIMIT_MS)
    summary = (
        f"voice adds {median:.0f} ms at the median over text beyond its engines' own time "
        f"({len(extras)} questions; target {OVERHEAD_TARGET_MS:.0f} ms)"
    )
    recommendation = ""
    if score < 100:
        recommendation = (
            "The voice path waits beyond its engines: look at how soon voice.services "
            "hands the first sentence to text-to-speech and at storing the spoken question."
        )
    return Outcome(score, summary, details, recommendation)
