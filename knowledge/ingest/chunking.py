"""Blocks into chunks that follow the document's structure.

A heading starts a new chunk and names it (with its parents); a list of steps or a
table is never cut in half unless it alone is longer than the hard limit; a
paragraph that runs over a page break gives a chunk that knows both pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.ingest.blocks import Block, Span

TARGET = 900  # characters: a chunk closes once it passes this at a block boundary
HARD_LIMIT = 2400  # a single block longer than this is split at sentence ends
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\d])")
CAPTION = re.compile(r"^Table \d+\.\s")


@dataclass
class ChunkDraft:
    heading: list[str]
    texts: list[str] = field(default_factory=list)
    first_page: int = 0
    last_page: int = 0
    spans: list[Span] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.texts)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def add(self, block: Block, text: str | None = None) -> None:
        self.texts.append(block.text if text is None else text)
        self.first_page = self.first_page or block.page
        self.last_page = max(self.last_page, block.last_page, block.page)
        self.spans.extend(block.spans)
        self.kinds.append(block.kind)


def _split_long(text: str) -> list[str]:
    parts, current = [], ""
    for sentence in SENTENCE_END.split(text):
        if current and len(current) + len(sentence) > TARGET:
            parts.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        parts.append(current)
    return parts


def _keeps_together(draft: ChunkDraft, block: Block) -> bool:
    """True when ``block`` continues a procedure or table already in the chunk."""
    if not draft.kinds:
        return False
    last_kind, last_text = draft.kinds[-1], draft.texts[-1]
    if block.kind == "item" and (last_kind == "item" or last_text.rstrip().endswith(":")):
        return True
    # A table stays with its lead-in or its caption ("Table 2. Fryer cook times"): the
    # caption says what its rows' values are.
    caption = CAPTION.match(last_text.strip())
    return block.kind == "table" and (last_text.rstrip().endswith(":") or bool(caption))


def chunk(blocks: list[Block]) -> list[ChunkDraft]:
    drafts: list[ChunkDraft] = []
    path: list[tuple[int, str]] = []
    current: ChunkDraft | None = None

    def close() -> None:
        nonlocal current
        if current and current.texts:
            drafts.append(current)
        current = None

    for block in blocks:
        if block.kind == "heading":
            close()
            path = [(lvl, t) for lvl, t in path if lvl < block.level] + [(block.level, block.text)]
            continue
        heading = [t for _, t in path]
        if current is None:
            current = ChunkDraft(heading)
        elif current.size + len(block.text) > TARGET and not (
            _keeps_together(current, block) and current.size + len(block.text) <= HARD_LIMIT
        ):
            close()
            current = ChunkDraft(heading)
        if len(block.text) > HARD_LIMIT:
            for part in _split_long(block.text):
                if current.texts and current.size + len(part) > TARGET:
                    close()
                    current = ChunkDraft(heading)
                current.add(block, part)
        else:
            current.add(block)
    close()
    return drafts
