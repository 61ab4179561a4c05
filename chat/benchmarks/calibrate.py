"""Fitting the built-in model's numbers (``chat.assistant.calibration``) on a whole
question set, and measuring the numbers in use on any set.

The store is made as ``bench chat`` makes it (the demo manuals unless ``--no-demo``,
``--corpus``). For every question of the set that stands alone (follow-ups need their
conversation and are left to ``bench chat``), the passages are searched and read exactly
as the local model reads them, and each unit is labelled by the set's answer: it states
a required fact and sits where the answer is. Then:

- unit weights: a seeded random search for the weights whose three best units state
  the most required facts (and whose best unit is in the right place), starting from
  the weights in use;
- the closeness threshold: the highest that keeps this set's false declines at
  ``MAX_FALSE_DECLINES`` or less.

Both are printed beside what the numbers in use give on the same set, and beside the
ceiling any weights could reach: the share of required facts stated by some unit read
where the answer is (``facts_in_passages_read``). Fit on one set
and check on another (``bench chat`` on both) before copying them into calibration.py.
"""

from __future__ import annotations

import numpy as np
from django.contrib.auth import get_user_model

from chat import judging
from chat.assistant import agent, calibration, decision, local, topics
from chat.assistant.question import understand
from chat.assistant.scoring import read_passages
from chat.benchmarks import chat as bench_chat
from knowledge.search import numbers, search

MAX_FALSE_DECLINES = 0.05
SEARCH_STEPS = 4000
SEED = 0


def add_arguments(parser):
    bench_chat.add_arguments(parser)
    parser.add_argument(
        "--steps", type=int, default=SEARCH_STEPS, help="random-search steps for the unit weights"
    )


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    questions = [judging.case_from(q) for q in bench_chat.load_questions(options["questions"])]
    roots = bench_chat._corpus_roots(options.get("corpus"))
    bench_chat.build_store(options, log)
    sections = judging.SectionPages.find(roots)
    get_user_model().objects.create_user("bench-calibrate", password=None)
    cases = [c for c in questions if not c.history and not c.after]
    log(f"reading {len(cases)} questions")
    readings = [(case, _read(case.question)) for case in cases]
    data = [_labelled(case, reading, sections) for case, reading in readings]
    names = list(calibration.UNIT_WEIGHTS)
    in_use = np.array([calibration.UNIT_WEIGHTS[n] for n in names])
    fitted = _search(data, names, in_use, options.get("steps") or SEARCH_STEPS)
    signals = [
        (case.answerable, reading, decision.signals(reading))
        for case, (reading, _) in readings
        if reading.ranked()
    ]
    return {
        "questions": len(cases),
        # What any ordering of the units could reach: the facts some unit read states
        # where the answer is. Below it, the loss is in choosing; above, in search.
        "facts_in_passages_read": _facts_read(data),
        "in_use": {
            "unit_weights": dict(zip(names, in_use.round(3).tolist(), strict=True)),
            "closeness": calibration.CLOSENESS,
            **_unit_figures(data, names, in_use),
            **_decline_figures(signals, calibration.CLOSENESS),
        },
        "fitted": {
            "unit_weights": dict(zip(names, fitted.round(3).tolist(), strict=True)),
            "closeness": (threshold := _threshold(signals)),
            **_unit_figures(data, names, fitted),
            **_decline_figures(signals, threshold),
        },
    }


def _read(question: str):
    """The passages of a standalone question read as the local model reads them, and
    the passages found, by their [n]."""
    query = numbers.digits(question)
    topic = topics.route(query).topic
    found = dict(enumerate(agent.find(search, query, topic, agent.SEARCH_TOP_K), 1))
    sources = local.sources_from({"passages": [agent.passage_json(n, p) for n, p in found.items()]})
    sources, words, vector, stored, measured = local.knowledge(query, sources)
    reading = read_passages(
        understand(query),
        sources,
        words,
        question_vector=vector,
        unit_vectors=stored,
        background=measured,
    )
    return reading, found


def _labelled(case, read, sections) -> tuple:
    """(unit features, facts each unit states where the answer is, fact count, whether
    each unit is where the answer is)."""
    reading, found = read
    rows, facts, places = [], [], []
    for unit in reading.units:
        passage = found[unit.source.n]
        cited = judging.Cited(passage.filename, tuple(passage.pages), unit.source.heading)
        place = bool(case.answerable and judging.cites_expected(case, [cited], sections))
        rows.append(dict(unit.features, fragment=float(unit.block.kind == "fragment")))
        facts.append({f for f in case.facts if judging.states(unit.text, f)} if place else set())
        places.append(place)
    return case.answerable, rows, facts, len(case.facts), places


def _matrix(rows: list[dict], names: list[str]) -> np.ndarray:
    columns = [n for n in names if n != "bias"]
    offsets = [[calibration.KIND_OFFSETS.get("fragment", 0.0) * r["fragment"]] for r in rows]
    values = [[r.get(n, 0.0) for n in columns] for r in rows]
    return np.hstack([np.ones((len(rows), 1)), np.array(values), np.array(offsets)])


def _unit_figures(data, names: list[str], weights: np.ndarray) -> dict:
    stated = total = placed = judged = 0
    for answerable, rows, facts, count, places in data:
        if not answerable or not rows:
            continue
        order = np.argsort(-(_matrix(rows, names) @ np.r_[weights, 1.0]))
        stated += len(set().union(*(facts[i] for i in order[:3])))
        total += count
        placed += places[order[0]]
        judged += 1
    return {
        "facts_in_best_three": round(stated / total, 3) if total else None,
        "best_unit_in_place": round(placed / judged, 3) if judged else None,
    }


def _facts_read(data) -> float | None:
    stated = total = 0
    for answerable, _, facts, count, _ in data:
        if answerable:
            stated += len(set().union(*facts))
            total += count
    return round(stated / total, 3) if total else None


def _search(data, names, start: np.ndarray, steps: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    scale = np.maximum(np.abs(start), 0.5)

    def value(weights):
        figures = _unit_figures(data, names, weights)
        return (figures["facts_in_best_three"] or 0) + 0.5 * (figures["best_unit_in_place"] or 0)

    best, best_value = start.copy(), value(start)
    for step in range(steps):
        spread = 0.3 if step < steps // 2 else 0.1
        candidate = best + rng.normal(0, spread, len(best)) * scale
        candidate[0] = 0.0  # the bias orders nothing
        if (found := value(candidate)) > best_value:
            best, best_value = candidate, found
    return best


def _decline_figures(signals, closeness: float) -> dict:
    answerable = [(r, s) for a, r, s in signals if a]
    off_topic = [(r, s) for a, r, s in signals if not a]
    false = sum(not decision.judge(r, s, closeness) for r, s in answerable)
    right = sum(not decision.judge(r, s, closeness) for r, s in off_topic)
    return {
        "false_decline_rate": round(false / len(answerable), 3) if answerable else None,
        "decline_accuracy": round(right / len(off_topic), 3) if off_topic else None,
    }


def _threshold(signals) -> float:
    """The highest closeness threshold whose false declines stay within the limit."""
    for value in np.arange(4.0, -2.0, -0.1):
        figures = _decline_figures(signals, float(value))
        if (figures["false_decline_rate"] or 0) <= MAX_FALSE_DECLINES:
            return round(float(value), 1)
    return -2.0
