"""The grounded writer behind the local model: an answer made of the manuals' own
sentences, each followed by the [n] of the passage it was taken from.

1. Reading (``scoring``). Every sentence, step and table row of the passages search
   found is scored for how likely it states what the question asks: by the words of
   the question it names (weighted by how rare they are in the store), by closeness in
   meaning (embeddings), by the kind of figure asked for, by the numbers the question
   names, and by search's rank.
2. Deciding (``decision``). A calibrated model over signals about the whole reading
   (the best unit's likelihood, the words no manual uses, the wanted figure present,
   whether words and meaning agree) decides whether the passages answer at all;
   otherwise the answer is the decline.
3. Choosing. A question asking how to do something (or an emergency) whose best match
   is a step of a list gets that list whole, with its lead-in; other questions get the
   best unit and up to two more that add what it does not say, the safety step first in
   an emergency.
4. Writing (``write``). Text is quoted as the manual has it (numbers and units
   untouched) without a regulation's paragraph labels and priority marks, a table row
   as labelled values, with a marker before each sentence's final stop. ``write`` is a
   generator: the first piece is out before the rest is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from knowledge.background import Baseline
from knowledge.reading import Block

from . import decision
from .question import Question, has_figure
from .scoring import Reading, Source, Unit, read_passages
from .vocabulary import Vocabulary
from .wording import render

__all__ = ["Plan", "Source", "plan", "render", "write"]

# Margins below the best unit's score, as shares of the spread of this question's scores
# (the best minus the SPREAD_RANK-th best): scores of one store sit closer together
# than another's, so "nearly as good" is told relative to the question's own field.
SPREAD_RANK = 10
# Facts (and a procedure's notes) join the best unit when they score within JOIN of it,
# on the units' own score scale (re-fit with calibration.UNIT_WEIGHTS). Margins relative
# to the spread let in what is far off when a question's tail of scores runs long.
# Fitted on the Food Code development set: fact recall 0.581 at 2.0 (0.532 with the
# earlier margins, 0.6 of the spread from the best's section and 0.35 from another),
# checked on the demo set: 0.936 either way, median answer 53 words (58 before).
JOIN = 2.0
LIST_MARGIN = 0.8  # a list answers when one of its steps is within this share
LIST_SPREAD = 0.75  # ... or, asked how, when it names this share of what the best section does
URGENT_MARGIN = 0.4  # in an emergency, the most urgent of the units within this share first
MAX_FACTS = {"text": 3, "voice": 2}
MAX_ITEMS = {"text": 4, "voice": 2}  # of a lead-in's list, quoted with it as one fact
MIN_SENTENCE = 6  # words: a list item shorter than this is quoted after its lead-in
MAX_STEPS = {"text": 15, "voice": 3}
_LEAD_IN = re.compile(r"\b(?:steps?|in order|follow these|as follows|following)\b|:$", re.I)
_SAFETY = [  # what to do first in an emergency, most urgent first
    re.compile(
        r"\b(?:call 911|911|poison control|get everyone out|evacuat|leave the (?:area|building)"
        r"|pull station|shout|alarm)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:cool the burn|running water|flush|eye-wash|turn (?:\w+ ){0,2}off|shut off|"
        r"raise/stop|push the red|stop)\b|\bOFF\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:never|do not|don't)\b", re.IGNORECASE),
]


@dataclass
class Plan:
    """What the answer quotes, in order; ``steps`` when it is a numbered procedure."""

    units: list[Unit]
    steps: bool = False
    intro: list[Unit] = field(default_factory=list)
    extras: list[Unit] = field(default_factory=list)
    more_steps: bool = False  # voice: the list goes on, on the screen
    reading: Reading | None = field(default=None, repr=False)


def plan(
    question: Question,
    sources: list[Source],
    vocabulary: Vocabulary,
    *,
    safety_first: bool = False,
    voice: bool = False,
    question_vector: np.ndarray | None = None,
    unit_vectors: dict | None = None,
    background: Baseline | None = None,
) -> Plan | None:
    """What to say, or None when the passages do not answer the question."""
    if not sources or not (question.concepts or question_vector is not None):
        return None
    reading = read_passages(
        question,
        sources,
        vocabulary,
        question_vector=question_vector,
        unit_vectors=unit_vectors,
        background=background,
    )
    ranked = reading.ranked()
    if not ranked or not decision.answers(reading):
        return None
    mode = "voice" if voice else "text"
    steps = _procedure(reading, ranked, safety_first)
    if steps is not None:
        return _steps(reading, steps, ranked, mode, safety_first)
    return _facts(reading, ranked, mode, safety_first)


def write(answer: Plan, *, voice: bool = False) -> Iterator[str]:
    """The answer text, a piece (sentence, step or paragraph break) at a time."""
    if not answer.steps:
        # Facts quoted from a list or a table: each on a line of its own, and a step
        # without its number (it is not the procedure, "4." would only puzzle).
        previous = None
        for unit in answer.units:
            listed = unit.block.kind in _LISTED
            if previous is None:
                gap = ""
            elif not voice and (listed or previous.block.kind in _LISTED):
                gap = "\n"
            else:
                gap = " "
            text = render(unit, voice=voice, numbered=False, reading=answer.reading)
            if not voice and previous is not None and _item_after(unit, previous):
                text = f"- {text}"  # a lead-in's items, shown as its list
            yield gap + text
            previous = unit
        return
    gap, line = (" ", " ") if voice else ("\n\n", "\n")
    wrote = False
    for unit in answer.intro:
        yield (" " if wrote else "") + render(unit, voice=voice)
        wrote = True
    for i, unit in enumerate(answer.units):
        yield ((gap if i == 0 else line) if wrote else "") + render(unit, voice=voice)
        wrote = True
    if answer.more_steps:
        yield f" The rest of the steps are on your screen [{answer.units[-1].source.n}]."
    previous = None
    for unit in answer.extras:  # a note, even when it is a step of another list
        text = render(unit, voice=voice, numbered=False, reading=answer.reading)
        listed = not voice and previous is not None and _item_after(unit, previous)
        yield f"{line}- {text}" if listed else gap + text
        previous = unit


_LISTED = ("step", "bullet", "row")


def _item_after(unit: Unit, previous: Unit) -> bool:
    """An item of a list following its lead-in or another item of the same list."""
    if not unit.block.is_step or unit.source is not previous.source:
        return False
    if previous.block.is_step:
        return previous.block.list_id == unit.block.list_id
    return previous.position < unit.position and _lead_in(previous)


# --- Choosing ------------------------------------------------------------------------


def _procedure(reading: Reading, ranked: list[Unit], safety_first: bool) -> list[Unit] | None:
    """The numbered list that answers the question, if it asks for one (or is about an
    emergency) and one of the list's steps, or its lead-in, is among the best units."""
    question = reading.question
    top = ranked[0]
    if top.text.rstrip().endswith(":") and (listed := _list_after(reading, top)):
        return listed  # "... shall be:" says nothing without the list that follows
    if not question.how_to and (question.strict or not top.block.is_step):
        return None  # a fact asked for ("how long", "what temp"), or not found in a step
    if question.yes_no and not question.how_to:
        return None  # "can I ...?" is answered by the rule, not a procedure
    lists: dict[tuple[int, int], list[Unit]] = {}
    for unit in reading.units:
        if unit.block.is_step:
            lists.setdefault((unit.source.n, unit.block.list_id), []).append(unit)
    best, chosen = None, None
    spread = _spread(ranked)
    best_section = max(u.features.get("section", 0.0) for u in ranked)
    for steps in lists.values():
        intro = _intro_units(reading, steps)
        score = max(u.score for u in [*steps, *intro])
        # The list that names most of the question (with its heading and lead-in), the
        # one that acts first in an emergency, the one its heading says is about it.
        found = set(reading.context[steps[0].section])
        for unit in [*steps, *intro]:
            found |= unit.matched | unit.named
        close = score >= top.score - LIST_MARGIN * spread
        # asked how: a list covering nearly as much as the best section will do
        named = (
            question.how_to
            and reading.cover(found) >= LIST_SPREAD * best_section
            and score >= top.score - 2 * LIST_MARGIN * spread
        )
        if not (close or named):
            continue
        urgency = min(_urgency(u.text) for u in steps) if safety_first else 0
        about = reading.cover(reading.context[steps[0].section])
        rank = (-urgency, score + spread * (reading.cover(found) + about))
        if best is None or rank > best:
            best, chosen = rank, steps
    if chosen is None:
        return None
    if not question.how_to:
        # A fact found in a step: the whole list only if its steps are the best matches
        # (an emergency procedure is short: two of them will do).
        needed = 2 if safety_first and top in chosen else 3
        if sum(1 for u in ranked[:4] if u in chosen) < needed:
            return None
    return chosen


def _list_after(reading: Reading, lead: Unit) -> list[Unit]:
    """The steps that follow a lead-in unit in its passage, or the rows of the chart
    that follows it (asked about the chart but none of its rows: the chart whole)."""
    after = [
        u
        for u in reading.units
        if u.source is lead.source
        and u.position == lead.position + 1
        and (u.block.is_step or u.block.chart)
    ]
    if not after:
        return []
    if after[0].block.chart:
        rows, position = [], lead.position + 1
        for unit in sorted(reading.units, key=lambda u: u.position):
            if unit.source is lead.source and unit.position == position and unit.block.chart:
                rows.append(unit)
                position += 1
        return rows
    return [
        u
        for u in reading.units
        if u.source is lead.source and u.block.is_step and u.block.list_id == after[0].block.list_id
    ]


def _intro_units(reading: Reading, steps: list[Unit]) -> list[Unit]:
    first = steps[0]
    return [
        u
        for u in reading.units
        if u.source is first.source and u.position == first.position - 1 and u.block.kind == "prose"
    ]


def _steps(reading: Reading, steps: list[Unit], ranked, mode: str, safety_first: bool) -> Plan:
    steps = _dedupe(steps) + _continued(reading, steps)
    intro = _intro_units(reading, steps)[-2:]
    if (
        safety_first
        or mode == "voice"
        or not (
            any(_LEAD_IN.search(u.text) for u in intro)
            or any(u.features.get("words", 0) > 0.3 for u in intro)
        )
    ):
        intro = []  # in an emergency the first thing said is the first thing to do
    shown = steps[: MAX_STEPS[mode]]
    used = {id(u.block) for u in [*steps, *intro]}
    best = ranked[0].score
    # Notes after the steps: what scores nearly as well as the best, wherever it is and
    # whatever it is (the rule that separates raw meats may be a step of another list, in
    # another section or document, than the list of when to clean).
    notes = [
        u
        for u in ranked
        if id(u.block) not in used and u.score >= best - JOIN and not _dangling(reading, u)
    ]
    extras: list[Unit] = []
    for unit in notes[: 0 if mode == "voice" else 2]:
        # read whole; not the lead-in of the steps shown (its items are the procedure:
        # it would end on ":")
        parts = [p for p in _whole(reading, unit, mode) if id(p.block) not in used]
        parts = [p for p in parts if p not in extras]
        if not all(_lead_in(p) for p in parts):
            extras += parts
    return Plan(
        shown,
        steps=True,
        intro=intro,
        extras=extras,
        more_steps=len(steps) > len(shown),
        reading=reading,
    )


def _continued(reading: Reading, steps: list[Unit]) -> list[Unit]:
    """The same numbered list going on in the next passage of the same section."""
    last = steps[-1]
    later = [
        u
        for u in reading.units
        if u.source is not last.source and u.section == last.section and u.block.is_step
    ]
    if not later or not (later[0].block.label.isdigit() and last.block.label.isdigit()):
        return []
    if int(later[0].block.label) != int(last.block.label) + 1:
        return []
    return _dedupe(u for u in later if u.block.list_id == later[0].block.list_id)


def _dedupe(units) -> list[Unit]:
    seen, kept = set(), []
    for unit in units:
        if id(unit.block) not in seen:
            seen.add(id(unit.block))
            kept.append(unit)
    return kept


def _facts(reading: Reading, ranked: list[Unit], mode: str, safety_first: bool) -> Plan:
    """The best unit, then the next best scoring nearly as well that repeat none of it."""
    question = reading.question
    # a lead-in whose list is not in its passage says nothing, first or later
    best = next((u for u in ranked if not _dangling(reading, u)), ranked[0])
    limit = MAX_FACTS[mode]
    spread = _spread(ranked)
    chosen = [best]
    named = set(best.matched) & reading.strong
    while len(chosen) < limit:
        pool = [
            u
            for u in ranked
            if u not in chosen
            and not _overlaps(u, chosen)
            and not _another_row(u, best, named)
            and not _dangling(reading, u)
            and u.score >= best.score - JOIN
        ]
        if not pool:
            break
        unit = max(pool, key=lambda u: u.score)
        chosen.append(unit)
        named |= unit.matched
    if safety_first and best.block.is_step:
        chosen += _safety_steps(reading, best, chosen)[: max(0, limit + 1 - len(chosen))]
    # A figure asked for is said, unless the best unit led without one (it scored far
    # above every unit holding one: those are not about the question).
    led_without = not best.features.get("figure")
    if (
        question.strict
        and not led_without
        and not any(has_figure(u.text, question.wants) for u in chosen)
    ):
        figure = next((u for u in ranked if has_figure(u.text, question.wants)), None)
        if figure is not None:
            chosen = [*chosen[: limit - 1], figure]
    chosen = [_completed(reading, u) for u in chosen]
    if safety_first:  # the most urgent of the close matches from its section first
        chosen.sort(
            key=lambda u: (
                u.section != best.section,
                _urgency(u.text) if u.score >= best.score - URGENT_MARGIN * spread else 9,
                -u.score,
            )
        )
    else:
        chosen = [chosen[0], *sorted(chosen[1:], key=lambda u: (u.source.n, u.position))]
    # Each fact as it reads whole: after its lead-in, or with its list; each unit once.
    quoted: dict[int, Unit] = {}
    for unit in chosen:
        for part in _whole(reading, _trimmed(reading, unit), mode):
            quoted.setdefault(id(part), part)
    return Plan(_leads_first(reading, list(quoted.values())), reading=reading)


def _whole(reading: Reading, unit: Unit, mode: str) -> list[Unit]:
    """A unit as it reads whole: a list's item after its lead-in, a lead-in with its
    list's best items, any other unit alone."""
    lead = _lead_of(reading, unit) if _fragment(unit) else None
    return [*([lead] if lead else []), *_with_list(reading, unit, MAX_ITEMS[mode])]


def _leads_first(reading: Reading, parts: list[Unit]) -> list[Unit]:
    """A lead-in chosen after items of its list that are quoted already: moved before
    the first of them ("Whole MEAT roasts ... shall be cooked as the following chart
    gives:" says what "62.8 (145): Time in Minutes 4" is about), or left out when those
    are chart rows that name themselves ("Convection — Less than 10 lbs: 325°F"): the
    figure first, and no answer ends on a colon."""
    for lead in [p for p in parts if _lead_in(p)]:
        items = {id(u) for u in _list_after(reading, lead)}
        earlier = [p for p in parts[: parts.index(lead)] if id(p) in items]
        if not earlier:
            continue
        parts.remove(lead)
        if not all(_named_row(u) for u in earlier):
            parts.insert(parts.index(earlier[0]), lead)
    return parts


def _named_row(unit: Unit) -> bool:
    """A chart row whose label is words ("Convection"), not a bare number ("62.8 (145)")."""
    block = unit.block
    if not block.chart:
        return False
    key = block.cells[0]
    if block.header and key.startswith(block.header[0]):
        key = key[len(block.header[0]) :]  # "Temperature °C (°F) 62.8 (145)": the column's name
    return bool(re.search(r"[A-Za-z]{3}", key))


def _fragment(unit: Unit) -> bool:
    """An item of a list that is no sentence of its own ("Raw seed sprouts.",
    "Symptomatic with vomiting or diarrhea"): it means something only after its lead-in."""
    text = unit.text.strip()
    return unit.block.is_step and (
        len(text.split()) < MIN_SENTENCE or not re.search(r"[.!?][\"')]?$", text)
    )


def _lead_of(reading: Reading, item: Unit) -> Unit | None:
    """The lead-in ("... shall be excluded if:") of the list an item belongs to."""
    first = min(
        (
            u
            for u in reading.units
            if u.source is item.source and u.block.is_step and u.block.list_id == item.block.list_id
        ),
        key=lambda u: u.position,
    )
    leads = [u for u in _intro_units(reading, [first]) if _lead_in(u)]
    return leads[-1] if leads else None


def _trimmed(reading: Reading, unit: Unit) -> Unit:
    """A unit of several sentences without a last one that leads into a list its passage
    does not hold, or a step's own sub-list ("... black. For the chemical machine:")."""
    if len(unit.sentences) < 2 or not unit.sentences[-1].text.rstrip().endswith(":"):
        return unit
    if unit.block.kind == "prose" and _list_after(reading, unit):
        return unit
    kept = unit.sentences[:-1]
    return replace(unit, sentences=kept)


def _lead_in(unit: Unit) -> bool:
    return unit.block.kind == "prose" and unit.text.rstrip().endswith(":")


def _dangling(reading: Reading, unit: Unit) -> bool:
    """A lead-in ("... by storing the FOOD:") whose list is not in its passage, or whose
    items are all scrap (a chart's rows the question names none of): it says nothing on
    its own."""
    return _lead_in(unit) and not any(
        not u.features.get("scrap") for u in _list_after(reading, unit)
    )


def _with_list(reading: Reading, unit: Unit, limit: int) -> list[Unit]:
    """A lead-in chosen as a fact with the items of its list (the best ``limit`` of them,
    in the list's order): "may be served ... if:" is the rule only with its conditions."""
    if not _lead_in(unit):
        return [unit]
    items = [u for u in _list_after(reading, unit) if not u.features.get("scrap")]
    best = sorted(items, key=lambda u: -u.score)[:limit]
    return [unit, *(u for u in items if u in best)]


def _another_row(unit: Unit, best: Unit, named: set[int]) -> bool:
    """Another row of the best row's table that names nothing the question asks about
    beyond what is named already: the nuggets' row beside the fries' for "fries"."""
    same_table = unit.block.kind == best.block.kind == "row" and (
        unit.block.caption == best.block.caption and unit.source is best.source
    )
    return same_table and not (unit.matched - named)


def _safety_steps(reading: Reading, best: Unit, chosen: list[Unit]) -> list[Unit]:
    """In an emergency, the urgent steps (call 911, turn it off, get out) of the list the
    best match is a step of."""
    return [
        u
        for u in reading.units
        if u.source is best.source
        and u.block.list_id == best.block.list_id
        and u.block.is_step
        and u not in chosen
        and _urgency(u.text) <= 1
    ][:2]


def _overlaps(unit: Unit, chosen: list[Unit]) -> bool:
    """Already said: the same sentences, or mostly the same words."""
    words = {w for s in unit.sentences for w in s.stem_set}
    for other in chosen:
        if other.block is unit.block and other.sentences == unit.sentences:
            return True
        theirs = {w for s in other.sentences for w in s.stem_set}
        if words and len(words & theirs) / len(words) > 0.8:
            return True
    return False


def _completed(reading: Reading, unit: Unit) -> Unit:
    """A row of text ingested before tables were read whole, whose values were laid out
    on a line of their own, gets them back when the figure asked for is there."""
    wants = reading.question.wants
    if unit.block.kind != "row" or unit.block.cells or not wants or has_figure(unit.text, wants):
        return unit  # a row read whole from its table (cells known) is complete
    following = next(
        (
            u
            for u in reading.units
            if u.source is unit.source
            and u.position == unit.position + 1
            and u.block.kind == "row"
            and u.block.caption == unit.block.caption
        ),
        None,
    )
    if following is None or not has_figure(following.text, wants):
        return unit
    merged = Block(
        "row",
        f"{unit.block.text} {following.block.text}",
        caption=unit.block.caption,
        sentences=[*unit.sentences, *following.sentences],
    )
    return Unit(
        unit.source,
        merged,
        merged.sentences,
        unit.position,
        unit.matched,
        features=unit.features,
        score=unit.score,
    )


def _spread(ranked: list[Unit]) -> float:
    """How far apart this question's scores are: the best minus the SPREAD_RANK-th."""
    scores = sorted((u.score for u in ranked), reverse=True)  # by score, whatever the order
    if len(scores) < 2:
        return 1.0
    return max(scores[0] - scores[min(SPREAD_RANK, len(scores)) - 1], 1e-6)


def _urgency(text: str) -> int:
    return next((rank for rank, pattern in enumerate(_SAFETY) if pattern.search(text)), 9)
