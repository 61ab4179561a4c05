"""What every test gets: the client, the golden cases, and answers shared between tests
(each golden question is typed once and spoken once per run, however many tests read
the answer)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chat import judging
from validation.clients import Client, Spoken
from validation.speech import speak


@dataclass
class Case:
    id: int
    question: str
    history: list[str]
    answerable: bool
    facts: list[str]
    document: str
    pages: list[int]
    kind: str
    sections: list[str] = field(default_factory=list)

    def judged(self) -> judging.Case:
        """The case as ``chat.judging`` reads it (``bench chat`` judges with the same)."""
        return judging.Case(
            id=str(self.id),
            question=self.question,
            kind=self.kind,
            answerable=self.answerable,
            facts=list(self.facts),
            history=list(self.history),
            document=self.document,
            pages=list(self.pages),
            sections=list(self.sections),
        )


@dataclass
class Context:
    client: Client
    cases: list[Case]
    log: callable = print
    memory: dict = field(default_factory=dict)  # the serving process's RSS around the load
    _typed: dict = field(default_factory=dict)
    _spoken: dict = field(default_factory=dict)

    def typed(self, case: Case) -> dict:
        """The answer to ``case`` typed (after its history, in one conversation), with
        ``elapsed_ms`` the wall time of the final question."""
        if case.id not in self._typed:
            conversation = self.client.conversation()
            for earlier in case.history:
                self.client.ask(conversation, earlier)
            started = time.perf_counter()
            answer = self.client.ask(conversation, case.question)
            answer["elapsed_ms"] = (time.perf_counter() - started) * 1000
            self._typed[case.id] = answer
        return self._typed[case.id]

    def spoken(self, case: Case) -> Spoken:
        """``case`` spoken with espeak-ng (its history typed first), through the voice path."""
        if case.id not in self._spoken:
            conversation = self.client.conversation()
            for earlier in case.history:
                self.client.ask(conversation, earlier)
            self._spoken[case.id] = self.client.ask_spoken(conversation, speak(case.question))
        return self._spoken[case.id]

    def of_kind(self, *kinds: str) -> list[Case]:
        return [c for c in self.cases if c.kind in kinds]
