"""Follow-up questions made whole from the conversation, without a model call.

"and ground beef?" after "what temp for chicken?" is searched as "what temp for ground
beef?": the previous question's subject is swapped for the new one. "how long can they
sit in the bin?" after "how long do fries go in?" names the subject the pronoun stands
for. The previous question is the last turn's ``search_query`` (itself made whole, so
chains of follow-ups work), or the last user message.
"""

from __future__ import annotations

import re

from knowledge.words import is_content, tokens

from .events import Turn

_CUE = re.compile(
    r"^\s*(?:and|also|plus|or|but|so)\b[\s,]*(?:what about|how about)?\s*"
    r"|^\s*(?:what|how) about\s+|^\s*same (?:for|with)\s+|^\s*what if\s+",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(?:it|its|it's|they|them|their|that|those|this|these|there)\b", re.I)
# Words that lean on what was said before without naming it: a person ("when's he
# allowed back?"), or a comparison ("same for the walk-in?", "longer than that?").
_LEANING = re.compile(
    r"\b(?:he|him|his|he's|she|her|she's|same|instead|too|also|either|else|again|still)\b", re.I
)
_ARTICLE = re.compile(r"^(?:the|a|an|our|my|your|some)\s+", re.IGNORECASE)
MAX_ELLIPTICAL_TERMS = 3  # more subject words than this and the question stands alone


def previous_query(history: list[Turn]) -> str:
    """What the last question of the conversation searched for."""
    for turn in reversed(history):
        if turn.search_query:
            return turn.search_query
        if turn.role == "user" and turn.text.strip():
            return turn.text
    return ""


def standalone(question: str, history: list[Turn]) -> str:
    """``question`` as a question that needs no conversation to be understood."""
    previous = previous_query(history)
    if not previous:
        return question
    cued = _CUE.search(question)
    rest = question[cued.end() :] if cued else question
    clean = rest.strip(" ?!.,")
    subject = [w for w in tokens(rest) if is_content(w)]
    pronoun = _PRONOUN.search(rest)
    short = len(tokens(question)) <= 3
    old = _subject_span(previous)
    # Words that frame a question ("temperature", "hold", "long") are not its subject: a
    # follow-up like "what temperature should it reach?" names nothing of its own.
    few = len([w for w in subject if not _is_cue_word(w)]) <= MAX_ELLIPTICAL_TERMS
    if subject and few and not pronoun and (cued or short) and not _asks_something(rest):
        new = _ARTICLE.sub("", clean)  # "and ground beef?": the same question, new subject
        if old:
            return previous[: old[0]] + new + previous[old[1] :]
        return f"{previous.strip(' ?!.')} {new}"
    if cued and len(subject) >= 2 and not pronoun and _asks_something(rest):
        return clean  # "and what time do the doors open?" stands on its own
    if pronoun and few and old:
        made = _PRONOUN.sub(_text(previous, old), rest, count=1).strip()  # "can they sit...?"
        have = set(tokens(made))
        extra = [w for w in tokens(previous) if is_content(w) and w not in have]
        return " ".join([made, *extra])
    if cued and old:
        return f"{clean} {_text(previous, old)}".strip()  # "and then how long do i warm up?"
    if cued or short:
        return f"{clean} {previous}".strip()  # "why?", "how long?"
    if pronoun or _LEANING.search(rest):
        # A longer follow-up that leans on the last question: it keeps its own words
        # and takes the earlier ones it does not repeat, for search and for meaning.
        have = set(tokens(question))
        extra = [w for w in tokens(previous) if is_content(w) and w not in have]
        return " ".join([question.strip(), *dict.fromkeys(extra)])
    return question


def _asks_something(text: str) -> bool:
    """The follow-up brings its own question words ("and how long do they hold?")."""
    return bool(re.search(r"\b(?:how|what|when|where|which|who|why|can|do|does|is)\b", text, re.I))


def _subject_span(text: str) -> tuple[int, int] | None:
    """Character span of the first run of subject words in a question ("raw chicken" in
    "where does raw chicken go?"), the words a follow-up replaces."""
    spans = [
        (m.start(), m.end())
        for m in re.finditer(r"[^\W_]+(?:[-'][^\W_]+)*", text)
        # "walk-in" is a subject word; "What's" (what + s) is not.
        if any(is_content(t) for t in tokens(m.group())) and not _is_cue_word(m.group().lower())
    ]
    if not spans:
        return None
    start, end = spans[0]
    for s, e in spans[1:]:
        if re.fullmatch(r"[\s-]*(?:in\s+)?", text[end:s]):
            end = e
        else:
            break
    return start, end


# Question words and common verbs: not part of a question's subject.
_NOT_SUBJECT_WORDS = """
    temp temperature time cook cooked hold long hot cold read be go work mean say show
    run need have make take get keep stay start open close set turn put use clean change
    check happen happens do does
"""
_NOT_SUBJECT = frozenset(_NOT_SUBJECT_WORDS.split())


def _is_cue_word(word: str) -> bool:
    return word in _NOT_SUBJECT


def _text(text: str, span: tuple[int, int] | None) -> str:
    return text[span[0] : span[1]] if span else ""
