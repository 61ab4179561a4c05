"""Snippets: the best short window of a chunk, HTML-escaped, matches in <mark>.

Backends mark matched words with two private-use characters (the databases know which
words matched, after stemming); this module picks the window and turns the marks into
HTML, so snippets look the same whichever backend found the chunk.
"""

from __future__ import annotations

import html
import re
from collections import Counter

OPEN = "\ue000"
CLOSE = "\ue001"
WINDOW_WORDS = 32
CONTEXT_WORDS = 4  # words shown before the first match, when the window allows

_SPACE = re.compile(r"\s+")


def strip_marks(text: str) -> str:
    return text.replace(OPEN, "").replace(CLOSE, "")


def make_snippet(marked: str, window: int = WINDOW_WORDS) -> str:
    """HTML for the ``window`` words of ``marked`` holding the most distinct matches."""
    words = _SPACE.split(marked.strip())
    if words == [""]:
        return ""
    start = _best_start(words, window)
    inside = marked_at(words, start)
    chosen = words[start : start + window]
    text = " ".join(chosen)
    if inside:
        text = OPEN + text
    if text.count(OPEN) > text.count(CLOSE):
        text += CLOSE
    out = html.escape(text)
    out = out.replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + window < len(words) else ""
    return prefix + out + suffix


def marked_at(words: list[str], index: int) -> bool:
    """Whether word ``index`` starts inside a mark opened by an earlier word."""
    inside = False
    for word in words[:index]:
        for ch in word:
            if ch == OPEN:
                inside = True
            elif ch == CLOSE:
                inside = False
    return inside


def _best_start(words: list[str], window: int) -> int:
    if len(words) <= window:
        return 0
    hits = [_matched(word) for word in words]
    counts = Counter(h for h in hits[:window] if h)
    keys = [(len(counts), counts.total())]
    for start in range(1, len(words) - window + 1):
        gone, new = hits[start - 1], hits[start + window - 1]
        if gone:
            counts[gone] -= 1
            if not counts[gone]:
                del counts[gone]
        if new:
            counts[new] += 1
        keys.append((len(counts), counts.total()))
    best = max(keys)
    # Among the best windows, prefer one that opens a few words before its first match,
    # so the match reads in context.
    next_hit = [len(words)] * (len(words) + 1)
    for i in range(len(words) - 1, -1, -1):
        next_hit[i] = i if hits[i] else next_hit[i + 1]
    starts = [s for s, key in enumerate(keys) if key == best]
    return max(starts, key=lambda s: (min(next_hit[s] - s, CONTEXT_WORDS), -s))


def _matched(word: str) -> str:
    """The marked part of a word, lower case ('' if none), to count distinct matches."""
    if OPEN not in word and CLOSE not in word:
        return ""
    return re.sub(r"[^\w]", "", word.lower()) or "·"
