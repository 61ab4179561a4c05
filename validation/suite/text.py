"""Text answers: grounded facts, honest citations, procedures in order, safety first,
and declining what the manuals do not cover.

Every test reads the typed answers of the golden cases (``ctx.typed``), so each
question is asked once per run however many tests look at its answer. Facts, the
expected place and declines are judged by ``validation.suite.judge``, that is by
``chat.judging`` as ``bench chat`` judges them; each test's ``details["figures"]`` holds
the benchmark's figures it measures, under the benchmark's names (fact recall and
follow-up accuracy, section cited, decline accuracy and false-decline rate).
"""

from __future__ import annotations

from validation.suite import Outcome, check
from validation.suite.judge import (
    cites_expected,
    declined,
    expected_place,
    missing,
    position,
    share,
)
from validation.suite.pages import Pages, check_citation, quantities, snippet_pieces


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
    """Fact recall: the share of the answerable cases' facts that their typed answers
    state (``chat.judging.states``: case-insensitive, whole words, any spelling of
    degrees; a declined answer states none), as ``bench chat``'s ``fact_recall``.
    The details add its ``follow_up_accuracy``: the share of answerable follow-ups
    answered, not declined, with every fact."""
    cases = [(c, a) for c, a in answered(ctx) if c.facts]
    if not cases:
        return _no_cases("answerable")
    rows = []
    for case, answer in cases:
        rows.append(
            {
                "case": case.id,
                "kind": case.kind,
                "question": case.question,
                "facts": case.facts,
                "missing": missing(answer, case.facts),
                "declined": declined(answer),
                "answer": _excerpt(answer),
            }
        )
    facts_total = sum(len(r["facts"]) for r in rows)
    found_total = facts_total - sum(len(r["missing"]) for r in rows)
    recall = found_total / facts_total
    weak = [r for r in rows if r["missing"]]
    summary = f"{found_total} of {facts_total} expected facts stated ({recall:.0%} recall)"
    if weak:
        summary += f"; {len(weak)} answers miss some, e.g. {weak[0]['question']!r}"
    return Outcome(
        recall * 100,
        summary,
        {"figures": _fact_figures(ctx, rows), "cases": rows},
        "" if recall >= 0.8 else _facts_advice(weak),
    )


def _fact_figures(ctx, rows: list[dict]) -> dict:
    """``bench chat``'s fact recall (overall and per kind) and follow-up accuracy."""
    kinds: dict[str, list[int]] = {}
    for row in rows:
        counted = kinds.setdefault(row["kind"], [0, 0])
        counted[0] += len(row["facts"]) - len(row["missing"])
        counted[1] += len(row["facts"])
    follow_ups = [(c, a) for c, a in answered(ctx) if c.kind == "follow-up"]
    whole = sum(not missing(a, c.facts) and not declined(a) for c, a in follow_ups)
    found = sum(found for found, _ in kinds.values())
    return {
        "fact_recall": share(found, sum(total for _, total in kinds.values())),
        "fact_recall_by_kind": {k: share(*counted) for k, counted in sorted(kinds.items())},
        "follow_up_accuracy": share(whole, len(follow_ups)),
        "answerable": len(answered(ctx)),
        "follow_ups": len(follow_ups),
    }


def _facts_advice(weak: list[dict]) -> str:
    declined = sum(1 for r in weak if r["declined"])
    if declined:
        return (
            f"{declined} answerable questions were declined: check that the manuals are "
            "loaded and ingested (manage.py load_demo) and that search finds them."
        )
    return "Answers leave out what the manuals say: check retrieval (top passages) and the model."


# --- citations --------------------------------------------------------------------------


@check("text.citations", "text", "Citations", pass_mark=90, blocking=True)
def citations(ctx) -> Outcome:
    """Citations that check out and point where the answer is. An answerable case
    earns the share of its answer's citations whose snippet is on the cited pages and
    whose page images load, provided the answer cites the case's expected place
    (``chat.judging.cites_expected``: its document and pages, or any of its sections
    by file name, heading or a page of its chapter PDF that holds it, as the page's
    passages say); citing elsewhere earns nothing. The score is the mean
    over answerable cases. ``section_cited`` is ``bench chat``'s figure: the share of
    answerable cases naming a place whose answer cites it."""
    cases = answered(ctx)
    if not cases:
        return _no_cases("answerable")
    pages = Pages(ctx.client)
    rows, credit = [], 0.0
    for case, answer in cases:
        cited = answer.get("citations") or []
        problems = {c.get("rank", i + 1): check_citation(c, pages) for i, c in enumerate(cited)}
        good = sum(1 for p in problems.values() if not p)
        on_source = cites_expected(case, answer, pages)
        if cited and on_source is not False:
            credit += good / len(cited)
        rows.append(
            {
                "case": case.id,
                "kind": case.kind,
                "question": case.question,
                "citations": len(cited),
                "verified": good,
                "problems": {k: v for k, v in problems.items() if v},
                "expected": {
                    "document": case.document,
                    "pages": case.pages,
                    "sections": case.sections,
                },
                "cited": [[c.get("filename"), c.get("pages"), c.get("heading")] for c in cited],
                "cites_expected": on_source,
            }
        )
    judged = [r for r in rows if r["cites_expected"] is not None]
    expected = sum(bool(r["cites_expected"]) for r in judged)
    uncited = [r for r in rows if not r["citations"]]
    summary = (
        f"{len(cases) - len(uncited)} of {len(cases)} answers cite; "
        f"{sum(r['verified'] for r in rows)} of {sum(r['citations'] for r in rows)} "
        f"citations verified on their pages; expected source cited in {expected} of "
        f"{len(judged)}"
    )
    return Outcome(
        credit / len(cases) * 100,
        summary,
        {
            "figures": {"section_cited": share(expected, len(judged)), "judged": len(judged)},
            "cases": rows,
            "cites_expected_rate": share(expected, len(judged)),
            "pages_fetched": len(pages.texts),
            "images_fetched": len(pages.images),
        },
        _citations_advice(rows, cases),
    )


def _citations_advice(rows: list[dict], cases: list) -> str:
    advice = []
    uncited = [r for r in rows if not r["citations"]]
    if uncited:
        advice.append(f"{len(uncited)} answers cite nothing, e.g. {uncited[0]['question']!r}.")
    elsewhere = [r for r in rows if r["citations"] and r["cites_expected"] is False]
    if elsewhere:
        case = next(c for c, _ in cases if c.id == elsewhere[0]["case"])
        advice.append(
            f"{len(elsewhere)} answers cite other passages than where the answer is, e.g. "
            f"{case.question!r} should cite {expected_place(case)}: check retrieval."
        )
    broken = [r for r in rows if r["problems"]]
    if broken:
        first = next(iter(broken[0]["problems"].values()))[0]
        advice.append(f"Citations that do not check out, e.g. {first}.")
    return " ".join(advice)


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


def stated_at(case, answer: dict) -> list[int]:
    """Where the answer states each of the case's facts (``judge.position``); all -1
    when it declined, as a declined answer states no fact."""
    if declined(answer):
        return [-1] * len(case.facts)
    return [position(f, answer.get("text") or "") for f in case.facts]


@check("text.procedures", "text", "Procedures in order", pass_mark=80)
def procedures(ctx) -> Outcome:
    """Procedure cases: the longest run of the case's steps (its facts, matched as
    ``text.facts`` matches them) that the answer states in the manual's order, as a
    share of the steps; the score is the mean over procedure cases."""
    cases = [c for c in ctx.of_kind("procedure") if c.facts]
    if not cases:
        return _no_cases("procedure")
    rows, credit = [], 0.0
    for case in cases:
        answer = ctx.typed(case)
        positions = stated_at(case, answer)
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


def _cited_quantities(answer: dict, pages: Pages) -> set[str]:
    found: set[str] = set()
    for citation in answer.get("citations") or []:
        found |= quantities(" ".join(snippet_pieces(citation.get("snippet", ""))))
        for number in citation.get("pages") or []:
            found |= quantities(pages.text(citation["document_id"], number) or "")
    return found


@check("text.safety", "text", "Safety first, no invented numbers", pass_mark=90, blocking=True)
def safety(ctx) -> Outcome:
    """The lower of two shares: safety cases whose answer states the safety step (the
    case's first fact, matched as ``text.facts`` matches it) before any other fact, and
    answers (not declined) whose every number with a unit is in what they cite."""
    cases = [c for c in ctx.of_kind("safety") if c.facts]
    if not cases:
        return _no_cases("safety")
    order_rows = []
    for case in cases:
        answer = ctx.typed(case)
        first, *rest = stated_at(case, answer)
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
    pages = Pages(ctx.client)
    number_rows = []
    for case, answer in answered(ctx):
        if declined(answer):
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
    """The share of all cases handled right: off-topic ones declined, answerable ones
    answered (an answer is declined when flagged so or in the decline's own words, as
    ``bench chat`` tells). The details give the benchmark's ``decline_accuracy`` (over
    off-topic cases) and ``false_decline_rate`` (over answerable ones)."""
    if not ctx.cases:
        return _no_cases("golden")
    rows = []
    for case in ctx.cases:
        answer = ctx.typed(case)
        said_no = declined(answer)
        rows.append(
            {
                "case": case.id,
                "kind": case.kind,
                "question": case.question,
                "answerable": case.answerable,
                "declined": said_no,
                "right": said_no != case.answerable,
                "answer": _excerpt(answer, 200),
            }
        )
    right = sum(r["right"] for r in rows)
    wrongly_answered = [r for r in rows if not r["answerable"] and not r["declined"]]
    wrongly_declined = [r for r in rows if r["answerable"] and r["declined"]]
    off_topic = sum(not r["answerable"] for r in rows)
    figures = {
        "decline_accuracy": share(off_topic - len(wrongly_answered), off_topic),
        "false_decline_rate": share(len(wrongly_declined), len(rows) - off_topic),
        "off_topic": off_topic,
        "answerable": len(rows) - off_topic,
    }
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
    return Outcome(
        right / len(rows) * 100, summary, {"figures": figures, "cases": rows}, " ".join(advice)
    )
