"""The PydanticAI agent that answers through a remote model, typed or spoken: its
dependencies, tools, instructions and the citation check on its output.

The model is chosen per run (``providers.model``): any PydanticAI model string. The
built-in grounded model (local.py) answers without the agent, but from the same
``AnswerDeps`` and the same search (``search_for``, what search_manuals runs), held to
the same citation contract (stream.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic_ai import Agent, ModelRetry, RunContext

from knowledge import safety
from knowledge import search as knowledge_search
from knowledge.search import MAX_TOP_K, Passage, numbers
from lineled.lanes import lane

from . import citations, followup, topics
from .events import DECLINE, Searched, Turn

SEARCH_TOP_K = 8  # passages one search returns to the model
REDACTED_KEPT = 1024  # passage texts whose redaction a process keeps (a few MB at most)
OUTPUT_RETRIES = 2  # answers with bad citations sent back to the model before failing
VOICE_STYLE = (
    "This answer will be read aloud to someone working with their hands: at most three "
    "short sentences, one step at a time, no lists, headings or other formatting. Keep the "
    "[n] markers; they are removed before speaking."
)
SAFETY_STYLE = (
    "This is about safety: put the safety step first (call 911, turn it off, get out, cool "
    "the burn, flush the eyes), in the manual's own order, before anything else."
)


@dataclass
class AnswerDeps:
    """What one answer needs; the tools add the passages they find to ``passages``."""

    question: str
    history: list[Turn]
    user: Any
    modality: str = "text"  # "text" or "voice"
    search: Callable[..., list[Passage]] = knowledge_search.search
    standalone: str = ""  # the question made whole from the conversation
    topic: str = topics.GENERAL
    safety_first: bool = False
    passages: list[Passage] = field(default_factory=list)  # [n] is passages[n - 1]
    searches: list[Searched] = field(default_factory=list)

    @classmethod
    def for_question(cls, question: str, history: list[Turn], user, modality: str, **fields):
        # Numbers as crews say them ("three fifty", "forty five degrees") as digits.
        standalone = followup.standalone(numbers.digits(question), history)
        route = topics.route(standalone)
        return cls(
            question=question,
            history=history,
            user=user,
            modality=modality,
            standalone=standalone,
            topic=route.topic,
            safety_first=route.safety_first,
            **fields,
        )

    def number(self, passage: Passage) -> int:
        """The passage's [n] in this answer, numbering it if it is new."""
        for n, known in enumerate(self.passages, 1):
            if known.chunk_id == passage.chunk_id and known.pages == passage.pages:
                return n
        self.passages.append(passage)
        return len(self.passages)


INSTRUCTIONS = f"""\
You are Line Lead, the assistant of a quick-service restaurant crew. You answer from the
store's manuals only, never from general knowledge.

- First call search_manuals with the question (made self-contained if it follows up on
  the conversation). Search again with the manuals' likely wording if the passages do not
  answer it; open_page reads a whole page of a manual.
- Answer in a few short sentences, or the manual's numbered steps in order for a
  procedure. End every sentence and every step with the marker of the passage it comes
  from, like [2]. Cite only passage numbers the tools gave you for this question.
- Copy every number, temperature, time and unit exactly as the passage writes it. Never
  state a number that is not in a passage you cite.
- If the passages do not answer the question, reply with exactly this and nothing else:
  {DECLINE}"""

agent = Agent(
    deps_type=AnswerDeps,
    output_type=str,
    instructions=INSTRUCTIONS,
    retries={"tools": 1, "output": OUTPUT_RETRIES},
    name="line_lead",
    defer_model_check=True,
)


@agent.instructions
def _this_question(ctx: RunContext[AnswerDeps]) -> str:
    deps = ctx.deps
    parts = []
    if deps.standalone and deps.standalone != deps.question:
        parts.append(f"The question follows up on the conversation; on its own: {deps.standalone}")
    if deps.safety_first:
        parts.append(SAFETY_STYLE)
    if deps.modality == "voice":
        parts.append(VOICE_STYLE)
    return "\n".join(parts)


@agent.tool
async def search_manuals(
    ctx: RunContext[AnswerDeps], query: str, limit: int = SEARCH_TOP_K
) -> dict:
    """Search the store's manuals (equipment, food safety, opening and closing).

    Args:
        query: What to look for, as a self-contained question or keywords.
        limit: How many passages to return (1 to 10).

    Returns the passages found, best first, each with the number n to cite it as [n].
    """
    return await search_for(ctx.deps, query, limit)


async def search_for(deps: AnswerDeps, query: str, limit: int = SEARCH_TOP_K) -> dict:
    """What search_manuals returns for ``query``, searched on a database lane; the search
    and its passages are recorded in ``deps`` (on this thread: a model may search twice
    at once)."""
    query, limit = _asked(deps, query, limit)
    started = time.perf_counter()
    found = await lane(find)(deps.search, query, deps.topic, limit)
    return _recorded(deps, query, found, started)


def search_here(deps: AnswerDeps, query: str, limit: int = SEARCH_TOP_K) -> dict:
    """``search_for`` run on this thread, which may use the database: for a caller that
    runs one search at a time on ``deps`` (the built-in model)."""
    query, limit = _asked(deps, query, limit)
    started = time.perf_counter()
    found = find(deps.search, query, deps.topic, limit)
    return _recorded(deps, query, found, started)


def _asked(deps: AnswerDeps, query: str, limit) -> tuple[str, int]:
    """The query made whole from the conversation, and the limit kept within 1 to 10."""
    query = followup.standalone(numbers.digits(query), deps.history)
    return query, max(1, min(int(limit), 10))


def _recorded(deps: AnswerDeps, query: str, found: list[Passage], started: float) -> dict:
    """The search (begun at ``started``, perf_counter) recorded in ``deps``; its result
    as search_manuals returns it, the passages numbered for this answer."""
    elapsed = (time.perf_counter() - started) * 1000
    deps.searches.append(Searched(query, deps.topic, round(elapsed, 2), len(found)))
    return {
        "query": query,
        "topic": deps.topic,
        "passages": [passage_json(deps.number(p), p) for p in found],
    }


def find(search: Callable[..., list[Passage]], query: str, topic: str, limit: int):
    """The ``limit`` best passages for ``query``, those whose heading is about the
    question's topic first among near-equals."""
    steered = topic in topics.HEADINGS  # a few more, for the topic's sections to rise
    found = search(query, top_k=min(limit + 4 * steered, MAX_TOP_K))
    return _steer(found, topic)[:limit]


def passage_json(n: int, passage: Passage) -> dict:
    """A passage as the model reads it, numbered ``n`` for its [n] markers."""
    return {
        "n": n,
        "manual": passage.title,
        "document_id": passage.document_id,
        "chunk_id": passage.chunk_id,
        "section": " › ".join(passage.heading),
        "pages": passage.pages,
        "score": passage.score,
        # what a document says to an AI assistant never reaches the model
        "text": redacted(passage.text),
    }


@lru_cache(maxsize=REDACTED_KEPT)
def redacted(text: str) -> str:
    """``safety.redact(text)``, worked out once per passage text a process reads (the
    same passages answer question after question; some 0.1 ms each)."""
    return safety.redact(text)


@agent.tool
async def open_page(ctx: RunContext[AnswerDeps], document_id: int, page: int) -> dict:
    """Read one whole page of a manual, to see what surrounds a passage.

    Args:
        document_id: The manual's id, from a passage's "document_id".
        page: The page number (1 is the first page).

    Returns the page's text with the number n to cite it as [n].
    """
    passage = await lane(_page_passage)(document_id, page)
    if passage is None:
        raise ModelRetry(f"There is no page {page} in a manual with id {document_id}.")
    return {
        "n": ctx.deps.number(passage),
        "manual": passage.title,
        "page": page,
        "text": passage.text,
    }


@agent.output_validator
async def _cites_what_was_found(ctx: RunContext[AnswerDeps], output: str) -> str:
    if ctx.partial_output:
        return output
    if problem := citations.problem(output, len(ctx.deps.passages)):
        raise ModelRetry(problem)
    return output


def _steer(passages: list[Passage], topic: str) -> list[Passage]:
    """Passages whose heading is about the question's topic first among near-equals."""
    pattern = topics.HEADINGS.get(topic)
    if pattern is None or not passages:
        return passages
    best = passages[0].score or 1.0

    def boosted(item):
        rank, passage = item
        about = pattern.search(" ".join([*passage.heading, passage.title]))
        return -(passage.score / best + (0.15 if about else 0.0)), rank

    return [p for _, p in sorted(enumerate(passages), key=boosted)]


def _page_passage(document_id: int, number: int) -> Passage | None:
    from knowledge.models import Chunk, Document, Page
    from knowledge.search.snippet import make_snippet

    page = (
        Page.objects.select_related("document")
        .filter(document_id=document_id, number=number, document__status=Document.Status.READY)
        .first()
    )
    if page is None:
        return None
    chunk = (
        Chunk.objects.filter(document_id=document_id, first_page__lte=number, last_page__gte=number)
        .order_by("order")
        .values_list("pk", flat=True)
        .first()
    )
    return Passage(
        chunk_id=chunk or 0,
        document_id=document_id,
        title=page.document.title,
        filename=page.document.filename,
        pages=[number],
        heading=[],
        text=page.text,
        snippet=make_snippet(page.text),
        score=0.0,
    )
