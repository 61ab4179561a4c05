"""Reading the passages search found against a question: every quotable unit (a
sentence, a step, a table row) with what speaks for it as the answer.

What a unit is measured by (``Unit.features``), each from 0 to about 1:

- ``words``: the share of the question's weight its own words name. A concept weighs
  what it tells: IDF over the store's passages, so a word few passages use weighs most.
  A row's table caption and a bullet's lead-in count as its own words.
- ``context``: the share its section heading or manual title names, beyond its own words.
- ``meaning``: how close its embedding is to the question's, relative to the closest
  unit found for this question (0 for that one, lower for the others, in cosine units).
- ``figure``: it holds the kind of figure the question asks for (a temperature for
  "how hot"): 1, or 0.5 for the second kind a question accepts.
- ``numbers``: the share of the numbers the question names that it holds ("at 140" and
  a chart's "(140) 12").
- ``section``: the share of the question's weight its section names (all its units
  and its heading): the section is about the question, if not this unit.
- ``rank``: 1 / the rank search gave its passage; ``search``: search's score for it,
  relative to the best passage's; ``chunk``: its passage's closeness in meaning to the
  question relative to the closest passage's.

``score`` weighs them with ``calibration.UNIT_WEIGHTS``, fitted on whole question sets
(see ``calibration``), never on single questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from knowledge.background import Baseline
from knowledge.reading import Block, Sentence, pieces, read, unit_text
from knowledge.safety import REDACTED, addresses_assistant
from knowledge.words import stem, stems, tokens

from . import calibration
from .question import Question, figure_strength
from .vocabulary import Vocabulary

WEAK_WEIGHT = 0.3  # of a weak concept's weight ("go", "make")
MIN_WORDS = 4  # a paragraph piece shorter than this is a label, not an answer
# Asked "how long" or "how hot", the units holding such a figure come first, except one
# that scores this much above all of them (on the units' score scale, as compose.JOIN):
# "removed ... at a frequency that prevents decomposition" answers "how soon", better
# than a far-off rule that happens to hold a number of days.
FIGURE_LEAD = 2.0
_SECTION_NUMBER = re.compile(r"^\s*\d+(?:[.-]\d+)*\.?\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# "and (2) If cooked in an oven, ...": the next item of an inline list, not a cut sentence
_JOINED_ITEM = re.compile(r"^(?:and|or)\s+\((?:\d{1,2}|[a-zA-Z])\)\s")


@dataclass(frozen=True)
class Source:
    """A passage as the search tool numbered it."""

    n: int
    title: str
    heading: str
    text: str
    chunk_id: int = 0
    score: float = 0.0  # search's score, comparable within one result list


@dataclass
class Unit:
    """A quotable piece of a passage: a sentence, or a whole step, bullet or row."""

    source: Source
    block: Block
    sentences: list[Sentence]
    position: int  # block index in its passage
    matched: set[int] = field(default_factory=set)  # concepts its own words name
    named: set[int] = field(default_factory=set)  # ... its caption or lead-in names
    vector: np.ndarray | None = field(default=None, repr=False)
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def text(self) -> str:
        return unit_text(self.sentences)

    @property
    def section(self) -> tuple[str, str]:
        return (self.source.title, self.source.heading)


@dataclass
class Reading:
    """The passages read against one question."""

    question: Question
    units: list[Unit]
    context: dict[tuple[str, str], set[int]]  # concepts each section's heading names
    weights: list[float]
    numbers: frozenset[str] = frozenset()
    background: Baseline | None = None  # ``knowledge.background.baseline()`` of the store

    def weight(self, concepts: set[int]) -> float:
        return sum(self.weights[i] for i in concepts)

    # Asked for every unit's every feature: worked out once per reading.
    @cached_property
    def strong(self) -> set[int]:
        return {i for i, c in enumerate(self.question.concepts) if not c.weak}

    @cached_property
    def figures(self) -> set[str]:
        """The numbers the question names, whole ("62.8" is not "8"), as a chart row's
        key must hold one."""
        return set(_NUMBER.findall(self.question.text))

    @cached_property
    def ruled_out(self) -> set[int]:
        return self.question.negated()

    @cached_property
    def total(self) -> float:
        return self.weight(self.strong) or 1.0

    def cover(self, concepts: set[int]) -> float:
        """The share of the question's (strong) weight these concepts carry."""
        return self.weight(concepts & self.strong) / self.total

    def ranked(self) -> list[Unit]:
        """The units that can answer alone, best first (a list's short items are
        quoted with their list, never on their own). When the question is about a figure
        ("how long", "what time"), the units that hold one come first (the others cannot
        say it) unless one without scores FIGURE_LEAD above them all. Ranked once, after
        the units are scored."""
        return list(self._ranking)

    @cached_property
    def _ranking(self) -> tuple[Unit, ...]:
        units = [u for u in self.units if not u.features.get("scrap")]
        if self.question.strict and any(u.features.get("figure") for u in units):
            best_figure = max(u.score for u in units if u.features.get("figure"))

            def first(u: Unit) -> bool:
                return bool(u.features.get("figure")) or u.score > best_figure + FIGURE_LEAD

            return tuple(sorted(units, key=lambda u: (not first(u), -u.score)))
        return tuple(sorted(units, key=lambda u: -u.score))


def read_passages(
    question: Question,
    sources: list[Source],
    vocabulary: Vocabulary,
    *,
    question_vector: np.ndarray | None = None,
    unit_vectors: dict | None = None,
    background: Baseline | None = None,
) -> Reading:
    """Every unit of the passages with its features and score. Text that addresses an
    AI assistant rather than the reader is never a unit."""
    _dropped_g(question, vocabulary)  # the words' other forms first: the units match them
    _compounds(question, vocabulary)
    units: list[Unit] = []
    context: dict[tuple[str, str], set[int]] = {}
    stored = unit_vectors or {}
    for source in sources:
        key = (source.title, source.heading)
        if key not in context:
            heading = " ".join(_SECTION_NUMBER.sub("", p) for p in source.heading.split("›"))
            context[key] = matches(question, stems(f"{source.title} {heading}"))
        vectors = stored.get(source.chunk_id)
        chunk_cosine = None
        if vectors is not None and question_vector is not None:
            chunk_cosine = float(vectors.chunk @ question_vector)
        blocks = read(source.text)
        positions = {id(block): i for i, block in enumerate(blocks)}
        for block, sentences in pieces(blocks):
            text = unit_text(sentences)
            if REDACTED in text or addresses_assistant(text):
                continue  # text written to steer an assistant is never quoted
            vector = vectors.units.get(text) if vectors is not None else None
            unit = Unit(source, block, sentences, positions[id(block)], vector=vector)
            unit.features["chunk"] = chunk_cosine if chunk_cosine is not None else 0.0
            extra = f"{block.caption} {block.lead}".strip()
            named = matches(question, stems(extra)) if extra else set()
            unit.matched = matches(question, [w for s in sentences for w in s.stems])
            unit.named = named - unit.matched
            units.append(unit)
    weights = _weights(question, vocabulary)
    reading = Reading(question, units, context, weights, _numbers(question.text), background)
    _measure(reading, question_vector)
    return reading


def _scrap(unit: Unit, reading: Reading) -> bool:
    """A piece of a paragraph that cannot state an answer on its own: a stray label
    ("Nail brushes"), or a sentence cut where a chunk began ("of this section, requires
    ..."), or a row of a chart flattened into text that the question does not single
    out: by a number it holds ("at 133") or by its label ("convection"). A list's items
    are never scrap: a list answers as a whole."""
    text = unit.text
    block = unit.block
    if block.chart:
        # a row is named by its key: the label, or the first column's value ("at 133"
        # names the 133 row; "8 lb" does not name the row whose time is 8 minutes)
        key = block.cells[0]
        labelled_row = not block.header or not block.header[0]
        named = matches(reading.question, stems(key)) & reading.strong if labelled_row else set()
        named -= reading.ruled_out  # "the regular oven, not the convection"
        return not (set(_NUMBER.findall(key)) & reading.figures or named)
    if unit.block.kind in ("step", "bullet", "row"):
        return False
    cut = text[:1].islower() and not _JOINED_ITEM.match(text)
    return len(text.split()) < MIN_WORDS or cut


def matches(question: Question, found: list[str]) -> set[int]:
    found_set = frozenset(found)
    return {i for i, c in enumerate(question.concepts) if c.found_in(found, found_set)}


def _weights(question: Question, vocabulary: Vocabulary) -> list[float]:
    """Each concept's weight: how rare it is in the store's passages."""
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
    return weights


def _dropped_g(question: Question, vocabulary: Vocabulary) -> None:
    """Crew write as they speak ("throwin", "sittin", "keepin"): a word ending in -in
    that no passage uses is read as its -ing form when the store knows that one."""
    for concept in question.concepts:
        found = []
        for phrase in concept.phrases:
            if phrase and phrase[-1].endswith("in") and not vocabulary.count(phrase):
                spoken = (*phrase[:-1], stem(phrase[-1] + "g"))
                if vocabulary.count(spoken):
                    found.append(spoken)
        concept.add_phrases(found)


def _compounds(question: Question, vocabulary: Vocabulary) -> None:
    """A word is also named by the manuals' closed compounds that end in it: "nails"
    by "fingernails", "wash" by "handwashing" (``Vocabulary.compounds``)."""
    for concept in question.concepts:
        if concept.weak:
            continue
        found = [
            (compound,)
            for phrase in concept.phrases
            if len(phrase) == 1
            for compound in vocabulary.compounds.get(phrase[0], ())
        ]
        concept.add_phrases(found)


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n for n in _NUMBER.findall(" ".join(tokens(text))) if n != "0")


def _measure(reading: Reading, question_vector: np.ndarray | None) -> None:
    """Every unit's features, then its score."""
    question = reading.question
    cosines = []
    for unit in reading.units:
        cosine = None
        if question_vector is not None and unit.vector is not None:
            cosine = float(unit.vector @ question_vector)
        elif question_vector is not None and unit.features.get("chunk"):
            cosine = unit.features["chunk"]  # a unit read since it was embedded: its chunk's
        if cosine is not None:
            cosines.append(cosine)
        unit.features["cosine"] = cosine if cosine is not None else np.nan
    # A passage not embedded yet (a document just ingested) is neither close nor far in
    # meaning: it takes the others' average, and is judged by its words.
    middle = float(np.mean(cosines)) if cosines else 0.0
    chunks = [u.features["chunk"] for u in reading.units if u.features.get("chunk")]
    middle_chunk = float(np.mean(chunks)) if chunks else 0.0
    for unit in reading.units:
        if np.isnan(unit.features["cosine"]):
            unit.features["cosine"] = middle
        if not unit.features.get("chunk"):
            unit.features["chunk"] = middle_chunk
    sections: dict[tuple[str, str], set[int]] = {}
    for unit in reading.units:
        found = sections.setdefault(unit.section, set(reading.context[unit.section]))
        found |= unit.matched | unit.named
    best_cosine = max(cosines, default=None)
    best_chunk = max((u.features["chunk"] for u in reading.units), default=0.0)
    top_score = max((u.source.score for u in reading.units), default=0.0) or 1.0
    for unit in reading.units:
        own = unit.matched | (unit.named if unit.block.lead else set())
        caption = unit.named - own
        around = reading.context[unit.section] - own - caption
        words = reading.cover(own) + calibration.CAPTION_SHARE * reading.cover(caption)
        present = set(tokens(unit.text)) & reading.numbers
        unit.features.update(
            words=words,
            context=reading.cover(around),
            meaning=(unit.features["cosine"] - best_cosine) if best_cosine is not None else 0.0,
            figure=figure_strength(unit.text, question.wants) if question.wants else 0.0,
            numbers=len(present) / len(reading.numbers) if reading.numbers else 0.0,
            section=reading.cover(sections[unit.section]),
            rank=1.0 / unit.source.n,
            search=unit.source.score / top_score,
            scrap=float(_scrap(unit, reading)),
            chunk=unit.features["chunk"] - best_chunk if best_cosine is not None else 0.0,
        )
        unit.score = calibration.unit_score(unit.features, unit.block.kind)
