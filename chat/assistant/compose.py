"""The grounded writer behind the local model: an answer made of the manuals' own
sentences, each followed by the [n] of the passage it was taken from.

1. Relevance. Each concept of the question weighs what it tells (IDF over the store's
   passages: a word few passages use, or none, weighs most). A section of a manual
   covers the share of that weight it names, in its text, heading or manual title.
   Unless one covers ``RELEVANCE`` of it, and holds the kind of figure the question asks
   for ("what temp" wants a temperature), the answer is the decline.
2. Selection. Sentences, steps, bullets and table rows of the covering sections are
   scored by the concepts they name and the wanted figure they hold. A question asking
   how to do something, or about an emergency, whose answer is a numbered procedure,
   gets that list whole with its lead-in; other questions get the best few sentences,
   the safety step first in an emergency.
3. Writing. Text is quoted as the manual has it (numbers and units untouched), with a
   marker before each sentence's final stop. ``write`` is a generator: the first piece
   is out before the rest is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from knowledge.reading import Block, Sentence, read
from knowledge.words import stem, stems

from .question import Question, figure_strength, has_figure
from .vocabulary import Vocabulary

RELEVANCE = 0.6  # share of a question's weight one sentence and its heading must name
SECTION_SPREAD = 0.85  # sections covering this share of the best one's coverage are read
LIST_SPREAD = 0.75  # a numbered list must cover this share of the best section's
CONTEXT_WEIGHT = 0.35  # a concept named by the section heading, not the sentence
CAPTION_WEIGHT = 0.8  # ... by a row's table caption, which says what the row's values are
FIGURE_BONUS = 0.6  # of the heaviest concept's weight, for holding a wanted figure
SECTION_BONUS = 0.5  # of the heaviest concept's weight, times the section's coverage
ASPECT_BONUS = 0.15  # naming what a figure is of ("cook time" for "how long")
WEAK_WEIGHT = 0.3
# Words naming the kind of figure a question wants.
ASPECTS = {
    kind: frozenset(stem(w) for w in words.split())
    for kind, words in {
        "duration": "time times minutes hours long",
        "temperature": "temperature temperatures temp",
        "frequency": "every often daily",
        "clock": "time times",
    }.items()
}
KEEP = 0.65  # more sentences join the best one when they score this share of it
ELSEWHERE = 0.85  # ... this share, for sentences from another section
MAX_FACTS = {"text": 3, "voice": 2}
MAX_STEPS = {"text": 15, "voice": 3}
_SECTION_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+")
_STOP_AT_END = re.compile(r"([.!?:;])([\"')\]]?)$")
_LEAD_IN = re.compile(r"\b(?:steps?|in order|follow these|as follows)\b|:$", re.IGNORECASE)
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


@dataclass(frozen=True)
class Source:
    """A passage as the search tool numbered it."""

    n: int
    title: str
    heading: str
    text: str


@dataclass
class Unit:
    """A quotable piece of a passage: a sentence, or a whole step, bullet or row."""

    source: Source
    block: Block
    sentences: list[Sentence]
    position: int  # block index in its passage
    matched: set[int] = field(default_factory=set)  # concepts its own words name
    named: set[int] = field(default_factory=set)  # ... its caption or lead-in names
    score: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def section(self) -> tuple[str, str]:
        return (self.source.title, self.source.heading)


@dataclass
class Plan:
    """What the answer quotes, in order; ``steps`` when it is a numbered procedure."""

    units: list[Unit]
    steps: bool = False
    intro: list[Unit] = field(default_factory=list)
    extras: list[Unit] = field(default_factory=list)
    more_steps: bool = False  # voice: the list goes on, on the screen


@dataclass
class _Reading:
    """The passages read against one question."""

    question: Question
    units: list[Unit]
    context: dict[tuple[str, str], set[int]]  # concepts each section's heading names
    weights: list[float]

    def weight(self, concepts: set[int]) -> float:
        return sum(self.weights[i] for i in concepts)

    @property
    def strong(self) -> set[int]:
        return {i for i, c in enumerate(self.question.concepts) if not c.weak}

    @property
    def total(self) -> float:
        return self.weight(self.strong) or 1.0

    def cover(self, concepts: set[int]) -> float:
        """The share of the question's (strong) weight these concepts carry."""
        return self.weight(concepts & self.strong) / self.total


def plan(
    question: Question,
    sources: list[Source],
    vocabulary: Vocabulary,
    *,
    safety_first: bool = False,
    voice: bool = False,
) -> Plan | None:
    """What to say, or None when the passages do not answer the question."""
    if not question.strong or not sources:
        return None
    reading = _read(question, sources, vocabulary)
    if _best_unit_coverage(reading) < RELEVANCE:
        return None  # no sentence (with its heading) speaks to most of the question
    coverage = {key: reading.cover(found) for key, found in _sections(reading)}
    best = max(coverage.values())
    floor = max(RELEVANCE, best * SECTION_SPREAD)
    candidates = _candidates(reading, {k: v for k, v in coverage.items() if v >= floor})
    if question.strict and not any(has_figure(u.text, question.wants) for u in candidates):
        # the figure asked for may be in a section that covers a little less
        candidates = _candidates(reading, {k: v for k, v in coverage.items() if v >= RELEVANCE})
        if not any(has_figure(u.text, question.wants) for u in candidates):
            return None  # the subject is there, the figure asked for is not
    if not candidates:
        return None
    if question.identity and not any(_defines(question, u.text) for u in candidates[:5]):
        return None  # "who is our district manager?": the manuals name roles, not people
    mode = "voice" if voice else "text"
    procedure = _procedure(reading, candidates, best, safety_first)
    if procedure is not None:
        return _steps(reading, procedure, candidates, mode, safety_first)
    return _facts(reading, candidates, mode, safety_first)


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
            yield gap + render(unit, voice=voice, numbered=False)
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
    for unit in answer.extras:
        yield gap + render(unit, voice=voice)


_LISTED = ("step", "bullet", "row")


def render(unit: Unit, *, voice: bool = False, numbered: bool = True) -> str:
    """The unit's text with its marker before each sentence's stop."""
    marker = f" [{unit.source.n}]"
    text = " ".join(_mark(s.text, marker) for s in unit.sentences)
    block = unit.block
    if block.is_step and numbered:
        return f"Step {block.label}: {text}" if voice else f"{block.label}. {text}"
    if block.kind == "row" and block.caption:
        return f"{block.caption.split(' (')[0].strip()}: {text}"
    if block.kind == "bullet" and block.lead:
        return f"{block.lead} {text}"
    if block.kind == "callout" and block.label and block.label != "NOTE":
        return f"{block.label.capitalize()}: {text}"
    return text


# --- Reading the passages ------------------------------------------------------------


def _read(question: Question, sources: list[Source], vocabulary: Vocabulary) -> _Reading:
    units: list[Unit] = []
    context: dict[tuple[str, str], set[int]] = {}
    for source in sources:
        key = (source.title, source.heading)
        if key not in context:
            heading = " ".join(_SECTION_NUMBER.sub("", p) for p in source.heading.split("›"))
            context[key] = _matches(question, stems(f"{source.title} {heading}"))
        for position, block in enumerate(read(source.text)):
            pieces = [[s] for s in block.sentences] if block.kind == "prose" else [block.sentences]
            extra = f"{block.caption} {block.lead}".strip()
            named = _matches(question, stems(extra)) if extra else set()
            for sentences in pieces:
                unit = Unit(source, block, sentences, position)
                unit.matched = _matches(question, [w for s in sentences for w in s.stems])
                unit.named = named - unit.matched
                units.append(unit)
    frequencies = [
        max((vocabulary.count(form) for form in concept.forms), default=0)
        for concept in question.concepts
    ]
    # A word no manual uses weighs as much as the question's most telling known word, no
    # more: it may be the subject the manuals lack ("wifi") or only slang or a typo.
    known = [
        vocabulary.weight(f)
        for f, c in zip(frequencies, question.concepts, strict=True)
        if f and not c.weak
    ]
    ceiling = max(known, default=None)
    weights = []
    for frequency, concept in zip(frequencies, question.concepts, strict=True):
        weight = vocabulary.weight(frequency)
        if not frequency and ceiling is not None:
            weight = min(weight, ceiling)
        weights.append(weight * (WEAK_WEIGHT if concept.weak else 1.0))
    return _Reading(question, units, context, weights)


def _matches(question: Question, found: list[str]) -> set[int]:
    found_set = frozenset(found)
    return {i for i, c in enumerate(question.concepts) if c.found_in(found, found_set)}


def _best_unit_coverage(reading: _Reading) -> float:
    """The most of the question one passage block names with its heading: a paragraph,
    step, bullet or callout, or one table (its rows together)."""
    groups: dict[tuple, set[int]] = {}
    for unit in reading.units:
        block = unit.block
        key = (unit.source.n, "table", block.caption) if block.kind == "row" else id(block)
        found = groups.setdefault(key, set(reading.context[unit.section]))
        found |= unit.matched | unit.named
    return max((reading.cover(found) for found in groups.values()), default=0.0)


def _sections(reading: _Reading):
    sections = {key: set(named) for key, named in reading.context.items()}
    for unit in reading.units:
        sections[unit.section] |= unit.matched | unit.named
    return sections.items()


def _around_stems(unit: Unit) -> set[str]:
    """What the unit's figures are of, as its table caption or heading says."""
    return set(stems(f"{unit.block.caption} {unit.block.lead} {unit.source.heading}"))


def _strong(reading: _Reading, concepts: set[int]) -> bool:
    return any(not reading.question.concepts[i].weak for i in concepts)


def _candidates(reading: _Reading, sections: dict) -> list[Unit]:
    """Units of the covering sections that name a concept of the question, or that hold
    a wanted figure (or are a step, bullet or row) under a heading that names one. A
    unit scores the weight of the concepts it names (those only its heading names count
    less), a bonus for a wanted figure, and a share of its section's coverage."""
    question, top = reading.question, max(reading.weights)
    aspects = {a for kind in question.wants for a in ASPECTS.get(kind, ())}
    candidates = []
    for unit in reading.units:
        if unit.section not in sections:
            continue
        own = unit.matched | (unit.named if unit.block.lead else set())
        caption = unit.named - own  # a row's table caption says what its values are
        around = reading.context[unit.section] - own - caption
        strength = figure_strength(unit.text, question.wants)
        figure = strength > 0
        if not _strong(reading, own):
            if not _strong(reading, around | caption):
                continue
            if not figure and unit.block.kind not in ("step", "bullet", "row"):
                continue
        strong = reading.strong
        unit.score = (
            reading.weight(own & strong)
            + CAPTION_WEIGHT * reading.weight(caption & strong)
            + CONTEXT_WEIGHT * reading.weight(around & strong)
        )
        unit.score += FIGURE_BONUS * top * strength
        unit.score += SECTION_BONUS * top * sections[unit.section]
        if aspects and aspects & _around_stems(unit):
            unit.score += ASPECT_BONUS * top  # "how long ... cook" and a "cook times" table
        unit.score += 0.02 * top / unit.source.n  # the search engine's order breaks ties
        if unit.block.kind == "fragment":
            unit.score *= 0.6
        candidates.append(unit)
    candidates.sort(key=lambda u: -u.score)
    return candidates


# --- Choosing ------------------------------------------------------------------------


def _procedure(reading: _Reading, candidates: list[Unit], best: float, safety_first: bool):
    """The numbered list that answers the question, if it asks for one (or is about an
    emergency) and a list covers nearly as much of it as the best section does."""
    question = reading.question
    top = candidates[0]
    if not question.how_to and (question.strict or not top.block.is_step):
        return None  # a fact asked for ("how long", "what temp"), or not found in a step
    lists: dict[tuple[int, int], list[Unit]] = {}
    for unit in reading.units:
        if unit.block.is_step and unit.section in {c.section for c in candidates}:
            lists.setdefault((unit.source.n, unit.block.list_id), []).append(unit)
    chosen, chosen_rank = None, None
    for steps in lists.values():
        found = set(reading.context[steps[0].section])
        for unit in [*steps, *_intro_units(reading, steps)]:
            found |= unit.matched | unit.named
        cover = reading.cover(found)
        # In an emergency, between lists covering as much, the one that acts first.
        urgency = min(_urgency(u.text) for u in steps) if safety_first else 0
        # ... and then the list its heading says is about the question.
        about = reading.cover(reading.context[steps[0].section])
        rank = (round(cover, 1), -urgency, round(about, 1), max(u.score for u in steps))
        if cover >= LIST_SPREAD * best and (chosen_rank is None or rank > chosen_rank):
            chosen, chosen_rank = steps, rank
    if chosen is None:
        return None
    # A fact found in a step: the whole list only if its steps are the best matches (an
    # emergency procedure is short: two of them will do).
    if question.yes_no and not question.how_to:
        return None  # "can I ...?" is answered by the rule, not a procedure
    needed = 2 if safety_first and top in chosen else 3
    if not question.how_to and sum(1 for u in candidates[:4] if u in chosen) < needed:
        return None
    return chosen


def _intro_units(reading: _Reading, steps: list[Unit]) -> list[Unit]:
    first = steps[0]
    return [
        u
        for u in reading.units
        if u.source is first.source and u.position == first.position - 1 and u.block.kind == "prose"
    ]


def _steps(reading, steps: list[Unit], candidates, mode: str, safety_first: bool) -> Plan:
    steps = _dedupe(steps) + _continued(reading, steps)
    intro = _intro_units(reading, steps)[-2:]
    if (
        safety_first
        or mode == "voice"
        or not (
            any(_LEAD_IN.search(u.text) for u in intro)
            or any(_strong(reading, u.matched) for u in intro)
        )
    ):
        intro = []  # in an emergency the first thing said is the first thing to do
    shown = steps[: MAX_STEPS[mode]]
    used = {id(u.block) for u in [*steps, *intro]}
    best = candidates[0].score
    extras = [
        u
        for u in candidates
        if id(u.block) not in used
        and not u.block.is_step
        and u.section == steps[0].section
        and u.score >= KEEP * best
    ][: 0 if mode == "voice" else 2]
    return Plan(shown, steps=True, intro=intro, extras=extras, more_steps=len(steps) > len(shown))


def _continued(reading: _Reading, steps: list[Unit]) -> list[Unit]:
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


def _facts(reading: _Reading, candidates: list[Unit], mode: str, safety_first: bool) -> Plan:
    """The best unit, then the others scoring nearly as well, those naming concepts not
    named yet first."""
    question = reading.question
    best = candidates[0]
    limit = MAX_FACTS[mode]
    chosen = [best]
    named = set(best.matched) & reading.strong
    while len(chosen) < limit:
        pool = [
            u
            for u in candidates
            if u not in chosen
            and not _overlaps(u, chosen)
            # another section must score nearly as well to join
            and u.score >= (KEEP if u.section == best.section else ELSEWHERE) * best.score
        ]
        if not pool:
            break
        unit = max(
            pool, key=lambda u: (reading.weight((u.matched & reading.strong) - named), u.score)
        )
        chosen.append(unit)
        named |= unit.matched
    if safety_first and best.block.is_step:
        chosen += _safety_steps(reading, best, chosen)[: max(0, limit + 1 - len(chosen))]
    if question.strict and not any(has_figure(u.text, question.wants) for u in chosen):
        figure = next(u for u in candidates if has_figure(u.text, question.wants))
        chosen = [*chosen[: limit - 1], figure]
    chosen = [_completed(reading, u) for u in chosen]
    if safety_first:  # the most urgent of the close matches first
        chosen.sort(
            key=lambda u: (_urgency(u.text) if u.score >= 0.75 * best.score else 9, -u.score)
        )
    else:
        chosen = [chosen[0], *sorted(chosen[1:], key=lambda u: (u.source.n, u.position))]
    return Plan(chosen)


def _safety_steps(reading: _Reading, best: Unit, chosen: list[Unit]) -> list[Unit]:
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


def _completed(reading: _Reading, unit: Unit) -> Unit:
    """A table row whose values were laid out on a line of their own gets them back when
    the figure asked for is there."""
    wants = reading.question.wants
    if unit.block.kind != "row" or not wants or has_figure(unit.text, wants):
        return unit
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
        unit.source, merged, merged.sentences, unit.position, unit.matched, score=unit.score
    )


def _defines(question: Question, text: str) -> bool:
    """Whether ``text`` says who or what the question's subject is ("The Manager on Duty
    (MOD) is responsible for ...")."""
    subject = question.strong[0].words if question.strong else ""
    pattern = rf"\b{re.escape(subject)}s?\b(?:\s*\([^)]*\))?(?:\s+(?:is|are)\b|:)"
    return bool(subject) and bool(re.search(pattern, text, re.IGNORECASE))


def _urgency(text: str) -> int:
    return next((rank for rank, pattern in enumerate(_SAFETY) if pattern.search(text)), 9)


def _mark(sentence: str, marker: str) -> str:
    if match := _STOP_AT_END.search(sentence):
        return f"{sentence[: match.start()]}{marker}{match.group(1)}{match.group(2)}"
    return f"{sentence}{marker}"
