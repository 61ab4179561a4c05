"""The store's key terms, as a short prompt for whisper (and the cloud recogniser).

Whisper spells common words well and the store's own words badly ("platen" heard as
"plate and", "delime" as "the lime"). A prompt naming them tilts it towards them, but
every word of a prompt is decoded again with every question, and a long list of common
phrases helps no more than a short one. So the terms are the manuals' words that
whisper's tokenizer splits into several pieces (a sign that it seldom saw them), the
ones most passages use first, one form of each (``patty`` for ``patties``), at most
``MAX_TERMS``. After them come the manuals' letter-and-number codes ("E2", "F1"),
the ones most passages use first, at most ``MAX_CODES``: without them whisper writes "the
two error" for "the E2 error", with them "e two", which ``voice.text.written`` joins
back into the code when the manuals use it (``codes``).

``build`` writes them to ``VAR_DIR/voice/prompt.json`` (the worker does after each
ingestion); ``text`` reads that file, again only when it changed, and builds it when
there is none.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from collections import Counter
from functools import cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_TERMS = 20
MAX_CODES = 8  # in the prompt; every code the manuals use is kept for ``codes``
KEPT_CODES = 500
# The command hands-free mode listens for (voice.session.STOP_PHRASES): without it in
# the prompt, whisper often writes "stop please" or "star place" for it.
COMMANDS = "Stop listening."
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]")
_CODE = re.compile(r"[A-Z]{1,3}(?:-[A-Z]{1,3})+")  # a document number: "HB-EQ"
_LETTER_NUMBER = re.compile(r"\b[A-Z]\d{1,2}\b")  # an error or part code: "E2", "F13"
_MONTHS_AND_DAYS = """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    """
_CALENDAR = frozenset(_MONTHS_AND_DAYS.split())

_lock = threading.Lock()
_read: tuple[tuple, dict] | None = None  # ((path, mtime), contents) of the file last read


def path() -> Path:
    return Path(settings.VAR_DIR) / "voice" / "prompt.json"


def text() -> str:
    """The prompt for the knowledge base as last built ("" when none can be built)."""
    return _stored().get("text", "")


def codes() -> frozenset[str]:
    """The letter-and-number codes the manuals use ("E2"), as last built; none before
    the first build (reading them never touches the database, so async code may ask)."""
    return frozenset(_stored(build_missing=False).get("codes", ()))


def _stored(build_missing: bool = True) -> dict:
    """What ``build`` stored, read again only when the file changed; built when there
    is no file yet."""
    global _read
    source = path()
    try:
        stamp = (source, source.stat().st_mtime_ns)
    except OSError:
        if not build_missing:
            return {}
        try:
            build()
            stamp = (source, source.stat().st_mtime_ns)
        except Exception:
            logger.warning("the speech prompt could not be built", exc_info=True)
            return {}
    cached = _read
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        stored = json.loads(source.read_text())
        stored["text"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if "codes" not in stored and build_missing:  # stored by a version that kept no codes
        with contextlib.suppress(Exception):
            build()
            return _stored(build_missing=False)
    _read = (stamp, stored)
    return stored


def terms() -> list[str]:
    """The key terms as last built ([] before the first build)."""
    try:
        return json.loads(path().read_text())["terms"]
    except (OSError, ValueError, KeyError):
        return []


def build() -> str:
    """Pick the key terms of the ready manuals, store them, return the prompt."""
    from knowledge.models import Chunk, Document

    rows = Chunk.objects.filter(document__status=Document.Status.READY).values_list(
        "document__title", "heading", "text"
    )
    passages = [f"{title}\n{heading}\n{body}" for title, heading, body in rows.iterator()]
    terms = key_terms(passages)
    used = key_codes(passages)
    # After the words, in reading order ("E1, E2, E3"), as a manual's table lists them.
    named = terms + sorted(used[:MAX_CODES], key=lambda code: (code[0], int(code[1:])))
    said = " ".join([", ".join(named) + "." if named else "", COMMANDS]).strip()
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        scratch = target.with_name(f".prompt-{os.getpid()}-{threading.get_ident()}.json")
        stored = {"terms": terms, "codes": used[:KEPT_CODES], "text": said}
        scratch.write_text(json.dumps(stored))
        os.replace(scratch, target)
    return said


def key_terms(passages, limit: int = MAX_TERMS) -> list[str]:
    """The words of ``passages`` whisper is likeliest to miss, most used first."""
    used: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for passage in passages:
        seen = set()
        for word in _WORD.findall(passage):
            if _CODE.fullmatch(word):
                continue
            key = word.lower()
            seen.add(key)
            # Capitalised at the start of a sentence or heading, the word is still lower case.
            spellings.setdefault(key, Counter())[key if word.istitle() else word] += 1
        used.update(seen)
    pieces = _pieces()
    terms: list[str] = []
    stems: set[str] = set()
    for word, _ in used.most_common():
        if len(word) < 3 or word in _CALENDAR or pieces(word) < 2:
            continue
        stem = _stem(word)
        if stem in stems:
            continue
        stems.add(stem)
        terms.append(spellings[word].most_common(1)[0][0])
        if len(terms) == limit:
            break
    return terms


def key_codes(passages) -> list[str]:
    """The letter-and-number codes of ``passages`` ("E2"), most used first."""
    used: Counter[str] = Counter()
    for passage in passages:
        used.update(set(_LETTER_NUMBER.findall(passage)))
    return [code for code, _ in used.most_common()]


def _stem(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z", "h"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _pieces():
    """How many tokens whisper's tokenizer makes of a word after a space; without the
    tokenizer (whisper not installed), long words count as rare."""
    from voice.stt import weights

    try:
        folder = settings.VOICE_WHISPER_MODEL
        source = Path(folder) / "tokenizer.json" if folder else weights.tokenizer_file()
        return _counter(str(source))
    except Exception:
        return lambda word: 2 if len(word) >= 7 else 1


@cache
def _counter(source: str):
    import tokenizers

    tokenizer = tokenizers.Tokenizer.from_file(source)
    return lambda word: len(tokenizer.encode(" " + word, add_special_tokens=False).ids)
