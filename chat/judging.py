"""How an answer is judged against a case whose answer is known: ``bench chat`` and
validation's text tests use these same rules, so their figures agree.

A case is a question with what a correct answer must state (``facts``) and where it
must come from: a document and pages (the demo manuals' cases), or section ids (a
regulation such as the Food Code, each section a Markdown file named by its id or pages
of a chapter PDF that a ``pages.json`` maps). Off-topic cases must get the decline.

Two question-set formats are read: this project's (``facts``, ``document``/``manual``,
``pages``, ``after`` or ``history``, kind ``off-topic``) and the evaluation format of
``shared/eval`` (``must_include``, ``expected_sections``, ``answerable``, ``history``,
kind ``off-corpus``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from chat import markers

_DEGREES = re.compile(r"(\d)\s*(?:°|º|˚|\bdegrees?\b|\bdeg\b\.?)\s*([fc])\b", re.IGNORECASE)
_SECTION_ID = re.compile(r"\b(\d+-\d+\.\d+)\b")


@dataclass
class Case:
    id: str
    question: str
    kind: str = "fact"
    answerable: bool = True
    facts: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # earlier user turns, oldest first
    after: str = ""  # or: the id of the case asked just before, in the same conversation
    document: str = ""  # file name of the document that holds the answer
    pages: list[int] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # section ids that hold it

    @property
    def follow_up(self) -> bool:
        return self.kind == "follow-up"


def read_cases(path: Path) -> list[Case]:
    """The cases of a question-set file in either format; ValueError if unreadable."""
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read question set {path}: {exc}") from exc
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: a question set is a non-empty JSON list")
    cases = [case_from(entry, number) for number, entry in enumerate(entries, 1)]
    ids = {c.id for c in cases}
    for case in cases:
        if case.after and case.after not in ids:
            raise ValueError(f"{path}: follow-up {case.id!r} names no earlier question")
    return cases


def case_from(entry: dict, number: int = 0) -> Case:
    if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
        raise ValueError(f"entry {number}: every entry needs a 'question'")
    kind = str(entry.get("kind") or "fact")
    if kind == "off-corpus":
        kind = "off-topic"
    answerable = entry.get("answerable")
    if answerable is None:
        answerable = kind != "off-topic"
    facts = entry.get("facts", entry.get("must_include")) or []
    history = entry.get("history") or []
    if not isinstance(facts, list) or not isinstance(history, list):
        raise ValueError(f"entry {number}: facts and history are lists")
    return Case(
        id=str(entry.get("id") or f"q{number}"),
        question=entry["question"],
        kind=kind,
        answerable=bool(answerable),
        facts=[str(f) for f in facts],
        history=[str(h) for h in history],
        after=str(entry.get("after") or ""),
        document=str(entry.get("document") or entry.get("manual") or ""),
        pages=[int(p) for p in entry.get("pages") or []],
        sections=[str(s) for s in entry.get("expected_sections") or entry.get("sections") or []],
    )


# --- Facts ---------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower case, citation markers out, one way of writing a temperature ("165 °F",
    "165º F", "165 degrees F" -> "165°f"), single spaces."""
    text = markers.plain(text)
    text = _DEGREES.sub(r"\1°\2", text)
    return " ".join(text.lower().replace("℉", "°f").split())


def states(answer: str, fact: str) -> bool:
    """Whether ``answer`` states ``fact``: as a whole word or phrase, normalised."""
    wanted = normalize(fact)
    if not wanted:
        return True
    pattern = rf"(?<![\w°]){re.escape(wanted)}(?![\w])"
    return re.search(pattern, normalize(answer)) is not None


def missing_facts(answer: str, facts: list[str]) -> list[str]:
    """The required facts that ``answer`` does not state."""
    return [f for f in facts if not states(answer, f)]


# --- Citations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cited:
    """What one citation of an answer points at."""

    filename: str
    pages: tuple[int, ...] = ()
    heading: str = ""


class SectionPages:
    """Which pages of which chapter PDF hold each section: ``pages.json`` files
    (``{"3-401.11": [16, 17]}``, the chapter being the digits before the first hyphen)."""

    def __init__(self, mapping: dict[str, list[int]] | None = None):
        self.mapping = {k: set(v) for k, v in (mapping or {}).items()}

    @classmethod
    def find(cls, roots: list[Path]) -> SectionPages:
        mapping: dict[str, list[int]] = {}
        for root in roots:
            root = Path(root)
            found = [root] if root.name == "pages.json" else sorted(root.rglob("pages.json"))
            for path in found if root.exists() else []:
                try:
                    mapping.update(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue
        return cls(mapping)

    def holds(self, cited: Cited, section: str) -> bool:
        """Whether the citation points at the section: its file or its heading is named
        by it, or it is a page of the section's chapter PDF that holds it."""
        name = cited.filename.lower()
        if Path(name).stem == section.lower() or section in section_ids(cited.heading):
            return True
        chapter = section.split("-", 1)[0]
        if not name.endswith(".pdf") or not re.search(rf"chapter[-_ ]?{chapter}\b", name):
            return False
        return bool(self.mapping.get(section, set()) & set(cited.pages))


def cites_expected(case: Case, citations: list[Cited], sections: SectionPages) -> bool | None:
    """Whether the answer cites where the case's answer is (None when the case names no
    place: an off-topic case)."""
    if case.sections:
        return any(sections.holds(c, s) for c in citations for s in case.sections)
    if case.document:
        same = [c for c in citations if c.filename == case.document]
        if not case.pages:
            return bool(same)
        return any(set(c.pages) & set(case.pages) for c in same)
    return None


def section_ids(text: str) -> list[str]:
    """Section ids (``3-401.11``) named in a heading or title."""
    return _SECTION_ID.findall(text)
