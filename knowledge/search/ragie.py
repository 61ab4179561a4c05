"""Search through Ragie's retrieval API, answered with our own chunks.

Ragie ranks; the local index still supplies what a citation needs. Each scored chunk
is tied back to a local Document (by the ``lineled_document_id`` we uploaded it with,
or by ``Document.ragie_id``), to pages (Ragie's ``metadata.start_page``/``end_page``,
else the page whose text holds the chunk), and to the local Chunk on those pages whose
words overlap it most, whose id, heading and boxes the passage carries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import httpx
from django.db.models import Q

from knowledge import ragie as ragie_sync
from knowledge.models import Chunk, Document, Page

from . import query as q
from .base import Filters, Passage, parse_boxes
from .snippet import CLOSE, OPEN, make_snippet, strip_marks

MAX_CHUNKS_PER_DOCUMENT = 4
MATCH_SHARE = 0.5  # share of the smaller chunk's words both must have to be "the same text"
PROBE_WORDS = 12  # words of a chunk looked for in page text when Ragie gives no pages

_WORD = re.compile(r"[^\W_]+")


class RagieBackend:
    name = "ragie"

    def __init__(self, http_client: httpx.Client | None = None):
        self.http_client = http_client

    def search(self, query: str, *, top_k: int, filters: Filters) -> list[Passage]:
        parsed = q.parse(query)
        if not parsed or filters.matches_nothing:
            return []
        request = {
            "query": query.strip()[: q.MAX_QUERY_CHARS],
            "top_k": top_k,
            "rerank": True,
            "max_chunks_per_document": MAX_CHUNKS_PER_DOCUMENT,
        }
        if ragie_sync.partition():
            request["partition"] = ragie_sync.partition()
        metadata_filter = ragie_filter(filters)
        if metadata_filter:
            request["filter_"] = metadata_filter  # sent as "filter"
        sdk = ragie_sync.client(self.http_client)
        retrieval = ragie_sync.call(sdk.retrievals.retrieve, request=request)
        return passages(retrieval.scored_chunks, parsed, filters)[:top_k]


def ragie_filter(filters: Filters) -> dict | None:
    """Our filters in Ragie's metadata filter language (``$in``, ``$and``)."""
    clauses = []
    if filters.document_ids is not None:
        clauses.append({"lineled_document_id": {"$in": list(filters.document_ids)}})
    if filters.kinds is not None:
        clauses.append({"kind": {"$in": list(filters.kinds)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def passages(scored_chunks, parsed: q.ParsedQuery, filters: Filters) -> list[Passage]:
    """Ragie's scored chunks as Passages of READY local documents, best first."""
    documents = _documents(scored_chunks, filters)
    page_texts: dict[int, list[tuple[int, str]]] = {}
    placed = []
    for scored in scored_chunks:
        document = documents.get(_local_id(scored)) or documents.get(scored.document_id)
        if document is None:
            continue  # deleted here, not ready, filtered out, or not ours
        pages = _ragie_pages(scored.metadata) or _pages_holding(document, scored.text, page_texts)
        placed.append((scored, document, pages or [1]))
    candidates = _chunks_on(placed)
    found = []
    for scored, document, pages in placed:
        passage = _passage(scored, document, pages, parsed, candidates)
        if passage is not None:
            found.append(passage)
    found.sort(key=lambda p: p.score, reverse=True)  # stable: Ragie's order among equals
    return found


def _documents(scored_chunks, filters: Filters) -> dict:
    """READY documents the chunks belong to, keyed by pk and by ragie_id."""
    pks = {pk for pk in (_local_id(s) for s in scored_chunks) if pk is not None}
    ragie_ids = {s.document_id for s in scored_chunks if s.document_id}
    if not pks and not ragie_ids:
        return {}
    documents = Document.objects.ready().filter(Q(pk__in=pks) | Q(ragie_id__in=ragie_ids))
    if filters.document_ids is not None:
        documents = documents.filter(pk__in=filters.document_ids)
    if filters.kinds is not None:
        documents = documents.filter(kind__in=filters.kinds)
    found: dict = {}
    for document in documents.only("pk", "title", "filename", "kind", "ragie_id"):
        found[document.pk] = document
        if document.ragie_id:
            found[document.ragie_id] = document
    return found


def _local_id(scored) -> int | None:
    value = (scored.document_metadata or {}).get("lineled_document_id")
    try:
        number = float(value)  # Ragie keeps numbers as 64-bit floats
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and number > 0 else None


def _passage(scored, document, pages, parsed, candidates) -> Passage | None:
    chunk, matched = _local_chunk(document, pages, _words(scored.text), candidates)
    if chunk is None:
        return None  # nothing local to cite (a document without chunks)
    boxes = parse_boxes(chunk.boxes) if matched else {}
    return Passage(
        chunk_id=chunk.pk,
        document_id=document.pk,
        title=document.title,
        filename=document.filename,
        pages=pages,
        heading=chunk.heading_path if matched else [],
        text=scored.text,
        snippet=make_snippet(mark(scored.text, parsed)),
        score=round(float(scored.score), 6),
        boxes={page: rects for page, rects in boxes.items() if page in pages},
        links={name: link.model_dump() for name, link in (scored.links or {}).items()},
    )


def _ragie_pages(metadata: dict | None) -> list[int]:
    """Pages from Ragie's chunk metadata (``start_page``/``end_page``), [] if absent."""
    metadata = metadata or {}
    try:
        first = int(float(metadata["start_page"]))
        last = int(float(metadata.get("end_page", first)))
    except (KeyError, TypeError, ValueError):
        return []
    if first < 1:
        return []
    return list(range(first, min(max(last, first), first + 50) + 1))


def _pages_holding(document: Document, text: str, page_texts: dict) -> list[int]:
    """The page whose text holds ``text`` (by its opening words), else the most alike."""
    words = _word_list(text)
    if not words:
        return []
    if document.pk not in page_texts:
        rows = Page.objects.filter(document=document).values_list("number", "text")
        page_texts[document.pk] = [(n, f" {' '.join(_word_list(t))} ") for n, t in rows]
    probe = f" {' '.join(words[:PROBE_WORDS])} "
    wanted = set(words)
    best, best_share = None, 0.0
    for number, page_text in page_texts[document.pk]:
        if probe in page_text:
            return [number]
        share = len(wanted & set(page_text.split())) / len(wanted)
        if share > best_share:
            best, best_share = number, share
    return [best] if best is not None and best_share >= MATCH_SHARE else []


_CHUNK_FIELDS = ("pk", "document_id", "heading", "text", "first_page", "last_page", "boxes")


def _chunks_on(placed) -> dict[int, list[tuple[Chunk, set[str]]]]:
    """Local chunks on the pages of the placed chunks, with their words, in one query."""
    wanted = Q()
    for _, document, pages in placed:
        wanted |= Q(document_id=document.pk, first_page__lte=pages[-1], last_page__gte=pages[0])
    found: dict[int, list[tuple[Chunk, set[str]]]] = {}
    if placed:
        for chunk in Chunk.objects.filter(wanted).order_by().only(*_CHUNK_FIELDS):
            found.setdefault(chunk.document_id, []).append((chunk, _words(chunk.text)))
    return found


def _local_chunk(document: Document, pages: list[int], words: set[str], candidates):
    """(chunk, matched): the local chunk on ``pages`` sharing most words with Ragie's.

    ``matched`` is false when the best one shares too little to be the same text; with
    no local chunk on those pages, the nearest chunk of the document stands in.
    """
    first, last = pages[0], pages[-1]
    on_pages = [
        (_overlap(words, chunk_words), chunk)
        for chunk, chunk_words in candidates.get(document.pk, ())
        if chunk.first_page <= last and chunk.last_page >= first
    ]
    if on_pages:
        (_, share), chunk = max(on_pages, key=_rank)
        return chunk, share >= MATCH_SHARE
    nearest = Chunk.objects.filter(document=document).order_by("order").only(*_CHUNK_FIELDS)
    best = min(
        nearest, key=lambda c: max(c.first_page - last, first - c.last_page, 0), default=None
    )
    return best, False


def _rank(item) -> tuple:
    """Most shared words first (a short heading inside a long text must not win)."""
    (shared, share), chunk = item
    return (shared, share, -chunk.first_page, -chunk.pk)


def _overlap(a: set[str], b: set[str]) -> tuple[int, float]:
    """(shared words, their share of the smaller set: 1.0 when one text holds the other)."""
    if not a or not b:
        return 0, 0.0
    shared = len(a & b)
    return shared, shared / min(len(a), len(b))


def _word_list(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").lower())


def _words(text: str) -> set[str]:
    return {w for w in _word_list(text) if w not in q.STOPWORDS and (len(w) > 1 or w.isdigit())}


def mark(text: str, parsed: q.ParsedQuery) -> str:
    """``text`` with the words that match the query's terms between snippet marks."""
    wanted = _folded(parsed.all_terms)
    text = strip_marks(text)
    if not wanted:
        return text

    def one(match: re.Match) -> str:
        word = match.group(0)
        folded = q.fold(unicodedata.normalize("NFKC", word).lower())
        return f"{OPEN}{word}{CLOSE}" if folded in wanted else word

    return _WORD.sub(one, text)


def _folded(terms: Iterable[str]) -> set[str]:
    return {
        q.fold(word)
        for term in terms
        for word in term.split()
        if word not in q.STOPWORDS and (len(word) > 1 or word.isdigit())
    }
