"""The built-in grounded model (``LINELED_MODEL=local``): needs no network and no
weights, and answers without the agent.

It does what the agent's instructions ask of any model, in one step: it searches once
for the question made whole and reads what it needs beside the passages found
(``found_and_read``: one trip to a database lane, search_manuals' own code, so the
search is recorded and its passages numbered as the tool would), then writes the answer
from them (``written``, through ``compose``), quoting the manuals' sentences with their
[n] markers, or the decline. It follows the two instructions it understands, as
``deps`` states them: a voice answer (``VOICE_STYLE``) and safety first
(``SAFETY_STYLE``). The answer comes a few words at a time (WORDS_PER_DELTA), written
as it is read: the reader sees it grow before the last step is written.

Its tool call and answer were two agent round trips once, whose machinery cost about as
much CPU as the answer itself; remote models keep the agent loop (``stream.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np
from django.db.models import Q

from knowledge import background, vectors
from knowledge.background import Baseline
from knowledge.models import Chunk

from . import vocabulary
from .agent import AnswerDeps, search_here
from .compose import Source, plan, write
from .events import DECLINE
from .question import understand
from .vocabulary import Vocabulary

logger = logging.getLogger(__name__)

NAME = "local"
WORDS_PER_DELTA = 4
_WORD = re.compile(r"\s*\S+")
# What the writer reads beside the question (``knowledge``): the passages, the store's
# word counts, the question's embedding, the passages' units' and the background.
Known = tuple[list[Source], Vocabulary, np.ndarray | None, dict, Baseline | None]


def found_and_read(deps: AnswerDeps) -> tuple[dict, Known]:
    """Its one search, for ``deps.question`` (made whole from the conversation): what
    search_manuals returns, the search and its passages recorded in ``deps``; and what
    the writer reads beside it (``knowledge``). Database work: run it on a lane, once."""
    found = search_here(deps, deps.question)
    return found, knowledge(found.get("query", ""), sources_from(found))


def written(found: dict, known: Known, deps: AnswerDeps) -> Iterator[str]:
    """The answer to a search result, as the deltas the crew sees: WORDS_PER_DELTA words
    at a time, each piece of the answer written when its first delta is asked for."""
    return deltas(_answer(found.get("query", ""), known, deps))


def deltas(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces cut WORDS_PER_DELTA words at a time, each word with the whitespace
    before it (a piece's last delta may be shorter; its trailing whitespace is dropped)."""
    for piece in pieces:
        words = _WORD.findall(piece)
        for start in range(0, len(words), WORDS_PER_DELTA):
            yield "".join(words[start : start + WORDS_PER_DELTA])


def _answer(query: str, known: Known, deps: AnswerDeps) -> Iterator[str]:
    """The answer's pieces, written from what was found as they are asked for."""
    sources, words, question_vector, unit_vectors, measured = known
    voice = deps.modality == "voice"
    chosen = plan(
        understand(query),
        sources,
        words,
        safety_first=deps.safety_first,
        voice=voice,
        question_vector=question_vector,
        unit_vectors=unit_vectors,
        background=measured,
    )
    if chosen is None:
        return iter([DECLINE])
    return write(chosen, voice=voice)


def _following(sources: list[Source]) -> dict[int, Chunk]:
    """The next chunk of each passage that ends on a lead-in ("... the following
    procedures:"): its list was cut off at the chunk's end."""
    cut = [s.chunk_id for s in sources if s.chunk_id and s.text.rstrip().endswith(":")]
    if not cut:
        return {}
    places = Chunk.objects.filter(pk__in=cut).values_list("pk", "document_id", "order")
    wanted = {(document, order + 1): pk for pk, document, order in places}
    if not wanted:
        return {}
    after = Q()
    for document, order in wanted:
        after |= Q(document_id=document, order=order)
    nexts = Chunk.objects.filter(after).only("pk", "text", "document_id", "order")
    return {wanted[(c.document_id, c.order)]: c for c in nexts}


def sources_from(found: dict) -> list[Source]:
    """The passages of a search_manuals result, as the writer reads them."""
    return [
        Source(
            p["n"],
            p.get("manual", ""),
            p.get("section", ""),
            p.get("text", ""),
            int(p.get("chunk_id") or 0),
            float(p.get("score") or 0.0),
        )
        for p in found.get("passages", [])
    ]


def knowledge(query: str, sources: list[Source]) -> Known:
    """What the writer reads beside the question: the passages (a passage whose list
    goes on in the next chunk made whole), the store's word counts, the embeddings of
    the question and of the passages' units, and the store's background (the last three
    None or empty without embeddings)."""
    words = vocabulary.current()
    following = _following(sources)
    sources = [
        replace(s, text=f"{s.text}\n{following[s.chunk_id].text}") if s.chunk_id in following else s
        for s in sources
    ]
    ids = [s.chunk_id for s in sources if s.chunk_id]
    found = vectors.stored([*ids, *(c.pk for c in following.values())]) if ids else {}
    for pk, chunk in following.items():
        if pk in found and chunk.pk in found:
            found[pk].units.update(found[chunk.pk].units)
    if not found:
        return sources, words, None, {}, None
    try:
        return sources, words, vectors.question(query), found, background.baseline()
    except Exception:  # the model cannot run here: words alone
        logger.warning("the question could not be embedded", exc_info=True)
        return sources, words, None, {}, None
