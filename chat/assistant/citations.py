"""The citation contract: every [n] in an answer names a passage the tools returned in
this run (numbered from 1), and an answer cites at least one unless it is the decline.

``problem`` is what the output validator checks; ``Gate`` holds back the text of a
model we do not control until its markers have been checked, so the crew never sees a
sentence citing a passage that does not exist.
"""

from __future__ import annotations

from chat import markers

from .events import DECLINE

MARKER = markers.ONE


def is_decline(text: str) -> bool:
    return text.strip() == DECLINE


def cited(text: str) -> list[int]:
    """The passage numbers the text cites, in order of first use."""
    return markers.numbers(text)


def problem(text: str, passages: int) -> str | None:
    """What is wrong with an answer's citations (a message for the model), or None."""
    if is_decline(text):
        return None
    if not text.strip():
        return f"The answer is empty. Answer from the passages, or reply exactly: {DECLINE}"
    if passages == 0:
        return (
            f"Search the manuals with search_manuals before answering, or reply exactly: {DECLINE}"
        )
    numbers = cited(text)
    unknown = [n for n in numbers if not 1 <= n <= passages]
    if unknown:
        listed = ", ".join(f"[{n}]" for n in unknown)
        return (
            f"{listed} {'is' if len(unknown) == 1 else 'are'} not among the passages found in "
            f"this answer (they are numbered [1] to [{passages}]). Cite only those numbers."
        )
    if not numbers:
        return (
            "Cite the passage each sentence comes from as [n] (n = the passage number from "
            f"search_manuals), or, if the passages do not answer the question, reply exactly: "
            f"{DECLINE}"
        )
    return None


class Gate:
    """Releases a model's streamed text up to its last checked marker.

    Nothing is released before the first marker (an uncited preamble such as "Let me
    look that up" is dropped if the response turns out to be a tool call), and nothing
    after a marker naming a passage that does not exist. ``trusted`` text (the local
    model's, which cites by construction) passes straight through.
    """

    def __init__(self, passages: int, *, trusted: bool = False):
        self.passages = passages
        self.trusted = trusted
        self.buffer = ""
        self.sent = 0  # characters of buffer released
        self.released = False  # any text of any response reached the crew
        self.blocked = False

    def reset(self, passages: int) -> None:
        """A new model response starts (after a tool call or a retry)."""
        self.passages = passages
        self.buffer, self.sent, self.blocked = "", 0, False

    def feed(self, text: str) -> str:
        self.buffer += text
        if self.trusted:
            return self._release(len(self.buffer))
        if self.blocked:
            return ""
        end = self.sent
        for match in MARKER.finditer(self.buffer, self.sent):
            if not 1 <= int(match.group(1)) <= self.passages:
                self.blocked = True
                break
            end = match.end()
        return self._release(end)

    def finish(self) -> str:
        """The response passed validation: the rest of it."""
        return self._release(len(self.buffer))

    def _release(self, end: int) -> str:
        piece = self.buffer[self.sent : end]
        self.sent = max(self.sent, end)
        if piece:
            self.released = True
        return piece
