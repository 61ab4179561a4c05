"""Keeping Ragie's copy of the manuals in step with ours (the sync side).

Local ingestion stays the source of page images and of the chunks citations point to;
Ragie gets a copy of each READY document's original file for its own retrieval. Every
call goes through the official SDK (``ragie`` on PyPI), configured here: our key, our
timeout, no SDK-level retries (Celery retries the sync tasks on ``TryLater``; search
falls back to the local index instead). Tests swap the network out by setting
``HTTP_CLIENT``.
"""

from __future__ import annotations

import os
import threading
import time

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from ragie import Ragie, models

from knowledge.models import Document

# Ragie's document statuses, in pipeline order (see ``documents.create`` in the SDK).
STATUSES = (
    "pending",
    "partitioning",
    "partitioned",
    "refined",
    "chunked",
    "indexed",
    "summary_indexed",
    "keyword_indexed",
    "ready",
    "failed",
)
READY = "ready"
FAILED = "failed"
FINAL = frozenset({READY, FAILED})
ERROR_PREFIX = "Ragie: "  # marks the text we put in Document.error
UPLOAD_TIMEOUT_SECONDS = 120.0  # sending a large PDF takes longer than a retrieval

# The httpx client the SDK uses when a caller passes none; tests set one built on
# ``httpx.MockTransport``. None means a shared client of our own, one per process.
HTTP_CLIENT: httpx.Client | None = None

_lock = threading.Lock()
_shared: dict[tuple, Ragie] = {}


class RagieError(Exception):
    """Ragie refused or failed a request; ``retry`` says whether trying later may help."""

    retry = False


class TryLater(RagieError):
    """Ragie is busy, unreachable or still processing the document: try again later."""

    retry = True


def enabled() -> bool:
    return bool(settings.RAGIE_API_KEY)


def client(http_client: httpx.Client | None = None) -> Ragie:
    """An SDK client with our key and timeout, over ``http_client`` when given."""
    key = settings.RAGIE_API_KEY
    if not key:
        raise ImproperlyConfigured("RAGIE_API_KEY is not set")
    timeout_ms = round(float(settings.RAGIE_TIMEOUT_SECONDS) * 1000)
    http_client = http_client or HTTP_CLIENT
    # Building an SDK client builds httpx clients and their TLS contexts (~30 ms): keep
    # one per process, so searches also keep their connection to Ragie alive. The cached
    # client holds ``http_client``, so its id cannot be reused while it is cached.
    cache_key = (key, timeout_ms, os.getpid(), id(http_client))
    with _lock:
        sdk = _shared.get(cache_key)
        if sdk is None:
            _shared.clear()
            options = {"client": http_client} if http_client is not None else {}
            sdk = _shared[cache_key] = Ragie(auth=key, timeout_ms=timeout_ms, **options)
    return sdk


def partition() -> str | None:
    return settings.RAGIE_PARTITION or None


def metadata(document: Document) -> dict:
    """What Ragie stores with the document; search filters and maps chunks by it."""
    return {
        "lineled_document_id": document.pk,
        "title": document.title,
        "kind": document.kind,
    }


def upload(document: Document, *, http_client: httpx.Client | None = None) -> models.Document:
    """Create ``document`` in Ragie from its original file and store its Ragie id."""
    with document.original.open("rb") as handle:
        data = handle.read()
    request = {
        "file": {"file_name": document.filename, "content": data},
        "mode": "hi_res" if document.kind == Document.Kind.PDF else "fast",
        "metadata": metadata(document),
        "name": document.filename,
    }
    if partition():
        request["partition"] = partition()
    sdk = client(http_client)
    created = call(
        sdk.documents.create,
        request=request,
        timeout_ms=round(max(UPLOAD_TIMEOUT_SECONDS, settings.RAGIE_TIMEOUT_SECONDS) * 1000),
    )
    if not Document.objects.filter(pk=document.pk).update(ragie_id=created.id):
        # Deleted while it was uploading: nothing here will ever delete Ragie's copy.
        delete(created.id, http_client=http_client)
    document.ragie_id = created.id
    return created


def poll(
    document: Document,
    *,
    wait: float = 0,
    interval: float = 2.0,
    http_client: httpx.Client | None = None,
) -> str:
    """Ragie's status for ``document`` (checked once, or until final for up to ``wait`` s).

    A failed document gets Ragie's reasons in ``Document.error``; a ready one loses any
    Ragie error it had. The local status is never changed: local search still works.
    """
    if not document.ragie_id:
        raise ValueError(f"document {document.pk} has not been uploaded to Ragie")
    sdk = client(http_client)
    deadline = time.monotonic() + wait
    while True:
        found = call(sdk.documents.get, document_id=document.ragie_id, partition=partition())
        if found.status in FINAL or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if found.status == READY:
        clear_error(document)
    elif found.status == FAILED:
        record_error(document, "; ".join(found.errors) or "processing failed")
    return found.status


def delete(document: Document | str, *, http_client: httpx.Client | None = None) -> bool:
    """Delete Ragie's copy (a Document or a Ragie id); False if Ragie had none."""
    ragie_id = document.ragie_id if isinstance(document, Document) else document
    if not ragie_id:
        return False
    try:
        call(client(http_client).documents.delete, document_id=ragie_id, partition=partition())
    except RagieError as exc:
        if getattr(exc.__cause__, "status_code", None) == 404:
            return False  # already gone
        raise
    return True


def record_error(document: Document, reason: str) -> None:
    """Put Ragie's failure in ``Document.error``, leaving the local status alone."""
    text = (ERROR_PREFIX + reason)[:2000]
    Document.objects.filter(pk=document.pk).update(error=text)
    document.error = text


def clear_error(document: Document) -> None:
    Document.objects.filter(pk=document.pk, error__startswith=ERROR_PREFIX).update(error="")
    if document.error.startswith(ERROR_PREFIX):
        document.error = ""


def sync(document_id: int, *, last_try: bool, checks: int) -> dict:
    """Send a READY document to Ragie (once) and check its status there.

    Raises TryLater while another check may help; on the ``last_try`` of ``checks``
    what went wrong is recorded in the document's ``error`` instead. A document that is
    gone, or no longer READY (its re-ingest sends it again), is skipped.
    """
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not enabled() or document.status != Document.Status.READY:
        return {"id": document_id, "ragie": "skipped"}
    uploaded = False
    try:
        if not document.ragie_id:
            upload(document)
            uploaded = True
        status = poll(document)
    except RagieError as exc:
        gone = getattr(exc.__cause__, "status_code", None) == 404
        if gone and not uploaded:
            # Ragie lost its copy: forget the id and upload again on the next try.
            Document.objects.filter(pk=document_id).update(ragie_id="")
            status = "missing"
        elif (exc.retry or gone) and not last_try:
            raise TryLater(str(exc)) from exc
        else:
            record_error(document, str(exc))
            return {"id": document_id, "ragie": "failed", "error": str(exc)}
    if status not in FINAL:
        if not last_try:
            raise TryLater(f"document {document_id} is still {status}")
        record_error(document, f"still {status} after {checks} checks")
    return {"id": document_id, "ragie": status, "ragie_id": document.ragie_id}


def call(method, **kwargs):
    """Call an SDK method, turning its errors into RagieError with a readable message."""
    try:
        return method(**kwargs)
    except models.RagieError as exc:
        status = exc.status_code
        later = status in (408, 409, 425, 429) or status >= 500
        raise (TryLater if later else RagieError)(f"HTTP {status}: {_detail(exc)}") from exc
    except httpx.TimeoutException as exc:
        raise TryLater(f"timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise TryLater(f"{type(exc).__name__}: {exc}") from exc


def _detail(exc: models.RagieError) -> str:
    data = getattr(exc, "data", None)
    detail = getattr(data, "detail", None)
    if isinstance(detail, str) and detail:
        return detail
    return (exc.body or exc.message or "").strip()[:500]
