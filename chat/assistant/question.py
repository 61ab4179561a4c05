"""What a crew question asks: its concepts (with the manuals' wording for them), the
kinds of figure it wants (a temperature, a time, an amount), and whether it asks for
steps.

A concept is one thing the question is about ("fries", "ice cream machine"), matched in
a sentence by the words as typed or by the thesaurus terms ``knowledge.search`` adds
("soft serve", "soft-serve freezer"). Cue words ("how long", "what temp") are not
concepts: they say which figure an answer must hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.search.query import STOPWORDS, parse
from knowledge.thesaurus import REPHRASE
from knowledge.words import is_weak, stem, tokens

# Figures a sentence can hold, by the kind of question that wants them.
FIGURES = {
    # ... or a chart's column named with its unit before the value: "°C (°F) 56.1 (133)"
    "temperature": re.compile(r"\d\s*°\s*[FC]\b|\d\s*degrees\b|°\s*[FC]\)?\s+\d", re.IGNORECASE),
    "duration": re.compile(
        r"\d\s*(?:min(?:ute)?s?|s|sec(?:ond)?s?|hours?|hrs?|days?|weeks?|months?)\b"
        r"|\bsame day\b|\bin (?:minutes|seconds|hours|days)\s+\d",
        re.IGNORECASE,
    ),
    "frequency": re.compile(
        r"\b(?:every|each|twice|once|daily|weekly|monthly|times a|a day|a week|per)\b",
        re.IGNORECASE,
    ),
    "clock": re.compile(r"\d{1,2}:\d\d\s*(?:am|pm)\b|\bnoon\b|\bmidnight\b", re.IGNORECASE),
    "amount": re.compile(r"\d|\b(?:half|full|one|two|three|four|five|six|ten)\b", re.IGNORECASE),
}
# Question phrasings: (pattern, figures wanted, cue words that are not concepts, strict).
# A strict want is part of the question ("how long"): with no such figure in the
# passages, they do not answer it. A soft one ("when") only favours sentences with one.
_WANTS = [
    (
        r"\bhow (?:often|frequently)\b|\bhow many times\b",
        ("frequency", "duration"),
        "often frequently",
        1,
    ),
    (r"\bwhat time\b|\bwhat hour\b", ("clock",), "time hour", 1),
    (
        r"\bhow long\b|\bhow many (?:minutes|seconds|hours|days)\b|\b(?:cook|hold|wait)(?:ing)? "
        r"times?\b|\btime limits?\b|\bshelf life\b|\bhow soon\b",
        ("duration",),
        "long minutes seconds hours days time times soon",
        1,
    ),
    (
        r"\bwhat temp|(?<![\w-])(?<!low )(?<!high )temp(?:erature)?s?\b|\bhow (?:hot|cold|warm)\b"
        r"|\bdegrees\b",
        ("temperature",),
        "temp temps temperature temperatures hot cold warm degrees",
        1,
    ),
    (r"\bhow (?:much|many|full|big|deep)\b|\bwhat size\b", ("amount",), "much many full", 1),
    (r"\bshould (?:it|they|the [\w -]{1,30}) (?:read|be at|say)\b", ("temperature",), "read", 0),
    (r"\bwhen\b", ("clock", "duration"), "", 0),
]
# When it happened is not what it is about ("i threw up last night").
_WHEN_IT_HAPPENED = re.compile(
    r"\b(?:last night|this (?:morning|afternoon|evening)|yesterday|tonight|right now|just now)\b",
    re.IGNORECASE,
)
# "not the convection", "instead of a fryer", "rather than our walk-in": the word after
_NEGATED = re.compile(
    r"\b(?:not|never|instead of|rather than|other than|isn'?t|aren'?t)\s+"
    r"(?:the\s+|a\s+|an\s+|our\s+|my\s+|in\s+the\s+)?([a-z][\w-]*)",
    re.IGNORECASE,
)
# Asking who someone is (not who does what: "who is responsible for ...").
_IDENTITY = re.compile(
    r"^\s*who(?:'s| is| are)\s+(?:the|our|my|your|this|that)\b(?!.*\b(?:responsible|in charge|"
    r"supposed|allowed|doing)\b)",
    re.IGNORECASE,
)
_YES_NO = re.compile(
    r"^\s*(?:can|could|may|should|do|does|is|are|am)\s+(?:i|we|you|it|they|the|my|our|a)\b",
    re.IGNORECASE,
)
# Asking for a procedure rather than a fact.
_HOW_TO = re.compile(
    r"\b(?:how (?:do|can|should|would|to) (?:i|we|you)|how to|walk (?:me|us) through|steps?\b"
    r"|procedure|process|what (?:do|should|can) (?:i|we) do|what now|what next"
    # asking what a rule requires: "what are the rules", "what has to be on the label",
    # "what does she need to return", "how am i supposed to wash them"
    r"|what (?:are|is) the (?:rules?|requirements?|right way|proper way|correct way)"
    r"|what(?:'s| is) the (?:right|proper|correct) way|what (?:has|have|needs?) to"
    r"|what (?:do|does) (?:i|we|you|he|she|they) (?:need|have) to"
    r"|how (?:am|are|is) (?:i|we|you|he|she|they) supposed to|what would it take)",
    re.IGNORECASE,
)
# Idioms about the asking, not the subject ("walk me through" is not the walk-in).
_ASKING = re.compile(
    r"\b(?:walk (?:me|us) through|tell me|show me|remind me|help me|do you know|"
    r"what do i do|what should i do|what do we do|what now)\b",
    re.IGNORECASE,
)


@dataclass
class Concept:
    """One thing a question is about and the word sequences (stems) that name it."""

    words: str
    phrases: list[tuple[str, ...]] = field(default_factory=list)  # contiguous
    bags: list[frozenset[str]] = field(default_factory=list)  # all present, any order
    weak: bool = False

    def found_in(self, stem_list: list[str], stem_set: frozenset[str]) -> bool:
        if any(bag <= stem_set for bag in self.bags):
            return True
        return any(_contains(stem_list, stem_set, phrase) for phrase in self.phrases)

    @property
    def forms(self) -> list:
        return [*self.phrases, *self.bags]

    def add_phrases(self, phrases) -> None:
        """More word sequences that name it, each kept once."""
        for phrase in phrases:
            if phrase not in self.phrases:
                self.phrases.append(phrase)


@dataclass
class Question:
    text: str
    concepts: list[Concept]
    wants: tuple[str, ...] = ()
    strict: bool = False  # the figure wanted is part of the question
    how_to: bool = False
    identity: bool = False  # "who is our district manager?": asks who someone is
    yes_no: bool = False  # "can I ...?", "do we ...?"

    @property
    def strong(self) -> list[Concept]:
        return [c for c in self.concepts if not c.weak]

    def negated(self) -> set[int]:
        """The concepts the question says it is not about ("the regular oven, not the
        convection"; "instead of the fryer"): indexes into ``concepts``."""
        said = {stem(m.group(1)) for m in _NEGATED.finditer(self.text)}
        return {i for i, c in enumerate(self.concepts) if c.phrases and c.phrases[0][0] in said}


def understand(text: str) -> Question:
    """The concepts and wants of a (standalone) question."""
    wants, cues, strict = (), set(), False
    lowered = text.lower()
    for pattern, figures, words, is_strict in _WANTS:
        if re.search(pattern, lowered):
            if not wants:
                wants, strict = figures, bool(is_strict)
            elif is_strict:
                wants = (*wants, *figures)
            cues |= set(words.split())
    subject = _WHEN_IT_HAPPENED.sub(" ", _ASKING.sub(" ", text))
    parsed = parse(subject)
    idioms = _idioms(subject)
    from_idioms = {t for values in idioms.values() for t in values}
    concepts: list[Concept] = []
    for term in parsed.terms:
        if term in cues or term in STOPWORDS or term in from_idioms:
            continue
        words = term.split()
        weak = all(is_weak(w) or w in cues for w in words)
        concepts.append(Concept(term, phrases=[tuple(stem(w) for w in words)], weak=weak))
    for idiom, values in idioms.items():
        bags = []
        for value in values:
            words = [w for w in tokens(value) if w not in STOPWORDS]
            if words and not set(words) & cues:
                bags.append(frozenset(stem(w) for w in words))
        if bags:
            concepts.append(Concept(idiom, bags=bags))
    for expansion in parsed.expansions:
        _attach(concepts, expansion.source, expansion.terms)
    return Question(
        text,
        _deduplicated(concepts),
        wants,
        strict,
        how_to=bool(_HOW_TO.search(text)),
        identity=bool(_IDENTITY.search(text)),
        yes_no=bool(_YES_NO.search(text)),
    )


def figure_strength(text: str, kinds: tuple[str, ...]) -> float:
    """1 if ``text`` holds the figure a question wants most, 0.5 for another it wants."""
    for rank, kind in enumerate(kinds):
        if FIGURES[kind].search(text):
            return 1.0 if rank == 0 else 0.5
    return 0.0


def has_figure(text: str, kinds: tuple[str, ...] | str | None) -> bool:
    if not kinds:
        return False
    if isinstance(kinds, str):
        kinds = (kinds,)
    return any(FIGURES[kind].search(text) for kind in kinds)


def _idioms(text: str) -> dict[str, tuple[str, ...]]:
    """REPHRASE entries found in the question ("threw up" -> vomiting): each becomes one
    concept named by any of its values."""
    folded = [stem(w) for w in tokens(text)]
    found = {}
    for key, values in REPHRASE.items():
        key_stems = [stem(w) for w in tokens(key)]
        size = len(key_stems)
        if any(folded[i : i + size] == key_stems for i in range(len(folded) - size + 1)):
            found[key] = tuple(" ".join(tokens(v)) for v in values)
    return found


def _attach(concepts: list[Concept], source: str, terms: tuple[str, ...]) -> None:
    """Give the concept(s) a thesaurus entry was found for the entry's terms; a
    multi-word entry ("ice cream machine") joins its words into one concept."""
    source_words = set(source.split())
    covered = [c for c in concepts if c.phrases and set(c.words.split()) <= source_words]
    if not covered:
        return
    alternatives = [tuple(stem(w) for w in tokens(t)) for t in terms]
    if len(covered) == 1:
        covered[0].phrases.extend(alternatives)
        return
    merged = Concept(
        source,
        phrases=alternatives,
        bags=[frozenset(stem(w) for w in source.split() if w not in STOPWORDS)],
        weak=all(c.weak for c in covered),
    )
    first = concepts.index(covered[0])
    for concept in covered:
        concepts.remove(concept)
    concepts.insert(first, merged)


def _deduplicated(concepts: list[Concept]) -> list[Concept]:
    """One concept per name: "fry" and "fries" are the same thing."""
    kept: dict[tuple, Concept] = {}
    for concept in concepts:
        key = concept.phrases[0] if concept.phrases else tuple(sorted(concept.bags[0]))
        if key in kept:
            kept[key].add_phrases(concept.phrases)
            kept[key].weak = kept[key].weak and concept.weak
        else:
            kept[key] = concept
    return list(kept.values())


def _contains(stem_list: list[str], stem_set: frozenset[str], phrase: tuple[str, ...]) -> bool:
    if not phrase or phrase[0] not in stem_set:
        return False
    if len(phrase) == 1:
        return True
    size = len(phrase)
    return any(
        tuple(stem_list[i : i + size]) == phrase
        for i in range(len(stem_list) - size + 1)
        if stem_list[i] == phrase[0]
    )
