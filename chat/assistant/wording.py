"""How a chosen unit is written for the crew: its marker before each sentence's stop,
a step's number, a table row as the labelled values the question asks for, and a
regulation's scaffolding left out (paragraph labels, priority marks, the exception and
cross-references that open its sentences); a unit too long to read is cut to its rule
and the clauses that answer. Words and numbers are never changed.
"""

from __future__ import annotations

import re

from knowledge.reading import Block, labelled
from knowledge.words import stems

from .question import has_figure
from .scoring import Reading, Unit, matches

LONG_UNIT = 600  # characters: a longer unit is shortened to the clauses that answer
KEPT_CLAUSES = 2  # ... its first clause and this many more
_STOP_AT_END = re.compile(r"([.!?:;])([\"')\]]?)$")
# A regulation's paragraph label at the start of a sentence ("(C) ", "(2) ", "and (2) "
# where an inline list's items are joined) and the
# cross-reference that opens many of its sentences ("Except as specified in ¶ (D) of
# this section, "): the crew needs the rule, not where its exceptions are.
_LABEL = re.compile(r"^(?:(?:and|or)\s+)?\((?:[A-Z]|\d{1,2}|[a-z]{1,3})\)\s+")
_EXCEPT = re.compile(
    r"^Except (?:as|when|where) (?:specified|provided|allowed|otherwise)[^,]{0,160}?"
    r"(?:section|§\s*[\d.-]+|\)),\s+(?=\S)",
    re.IGNORECASE,
)


def render(
    unit: Unit, *, voice: bool = False, numbered: bool = True, reading: Reading | None = None
) -> str:
    """The unit's text with its marker before each sentence's stop."""
    marker = f" [{unit.source.n}]"
    texts = [_plain(s.text) for s in unit.sentences]
    if reading is not None and unit.block.cells and (columns := _columns(unit.block, reading)):
        texts = [labelled(unit.block, columns)]  # the row's values the question asks for
    if reading is not None and len(" ".join(texts)) > LONG_UNIT:
        texts = [_shortened(" ".join(texts), reading)]
    text = " ".join(_mark(t, marker) for t in texts if t)
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


def _columns(block: Block, reading: Reading) -> list[str]:
    """The columns of a table row a question asks for: those whose header names one of
    its concepts or whose value is the kind of figure it wants ("how hot and how long"
    and a cook-time table: the oil temperature and the cook time). [] for all."""
    question = reading.question
    names, values = block.header[1:], block.cells[1:]
    # how long or how hot something cooks or holds: its times and temperatures go together
    wanted = question.wants
    if set(wanted) & {"duration", "temperature"}:
        wanted = (*wanted, "duration", "temperature")
    chosen = []
    for name, value in zip(names, values, strict=False):
        named = matches(question, stems(name)) & reading.strong
        if value and (named or has_figure(value, wanted)):
            chosen.append(name)
    # one column alone is too little to go on (a display message's meaning without what
    # to do about it): then the whole row
    return chosen if 1 < len(chosen) < len([v for v in values if v]) else []


def _plain(sentence: str) -> str:
    """A sentence as the crew reads it: no paragraph label, no opening exception, no
    cross-references to other paragraphs, no section or paragraph signs."""
    text = _LABEL.sub("", sentence.strip())
    text = _EXCEPT.sub("", text)
    text = _without_exception(text)
    text = _REFERENCE.sub("", text)
    text = re.sub(r"\s*¶¶?\s*", " ", text).replace("§§ ", "sections ").replace("§ ", "section ")
    text = re.sub(r"\s+([,;.:])", r"\1", " ".join(text.split()))
    return text[:1].upper() + text[1:] if text else text


# ", as specified under § 5-202.12 and Subpart 6-301,": where else the code says it.
_REF = (
    r"(?:§§?\s*|¶¶?\s*|(?:Sub)?[Pp]aragraphs?\s+|Subparts?\s+|[Ss]ections?\s+)?"
    r"[\d()A-Z.-]*\d[\d()A-Za-z.-]*[\d)A-Za-z]"
)
_REFERENCE = re.compile(
    rf",\s+as (?:specified|provided|allowed) (?:under|in) {_REF}"
    rf"(?:(?:,\s*|\s+(?:and|or)\s+){_REF})*(?:\s+of this (?:section|Code|chapter))?(?=[,;.:])"
)
# The verb after a rule's subject, and words that show a clause is not the subject.
_MODAL = re.compile(r"\s(?:shall|may|must)\s")
_NOT_SUBJECT = frozenset(["or", "and", "when", "if", "unless", "except", "as", "where", "while"])


def _without_exception(text: str) -> str:
    """Without a long opening "Except ..." clause: the rule starts at the subject before
    the first "shall"/"may" (a short subject, after the clause's last comma)."""
    if not text.startswith("Except"):
        return text
    modal = _MODAL.search(text)
    if modal is None:
        return text
    comma = text.rfind(", ", 0, modal.start())
    subject = text[comma + 2 : modal.start()].split()
    if comma < 0 or not subject or len(subject) > 14 or subject[0].lower() in _NOT_SUBJECT:
        return text
    return text[comma + 2 :]


def _shortened(text: str, reading: Reading) -> str:
    """A long unit cut to what answers the question: its first clause (the subject and
    rule) and the clauses naming the question's numbers, wanted figure or most words."""
    clauses = [c.strip() for c in re.split(r"(?<=;)\s+", text) if c.strip()]
    if len(clauses) < 3:
        return text
    question = reading.question
    heads = {c.words.split()[-1].lower() for c in question.strong if c.words}

    def weight(clause: str) -> float:
        lower = clause.lower()
        named = sum(1 for n in reading.numbers if re.search(rf"\b{re.escape(n)}\b", clause))
        return 3 * named + 2 * has_figure(clause, question.wants) + sum(h in lower for h in heads)

    ranked = sorted(range(1, len(clauses)), key=lambda i: (-weight(clauses[i]), i))
    keep = sorted({0, *(i for i in ranked[:KEPT_CLAUSES] if weight(clauses[i]) > 0)})
    out = clauses[0]
    for previous, i in zip(keep, keep[1:], strict=False):
        out += (" " if i == previous + 1 else " … ") + clauses[i]
    return out


def _mark(sentence: str, marker: str) -> str:
    if match := _STOP_AT_END.search(sentence):
        return f"{sentence[: match.start()]}{marker}{match.group(1)}{match.group(2)}"
    return f"{sentence}{marker}"
