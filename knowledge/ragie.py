"""Keeping Ragie's copy of the manuals in step with ours (the sync side).

Local ingestion stays the source of page images and of the chunks citations point to;
Ragie gets a copy of each READY document's original file for its own retrieval. Every
call goes through the official SDK (``ragie`` on PyPI), configured here: our key, our
timeout, no SDK-level retries (Celery retries the sync tasks; search falls back to the
local index instead). Tests swap the network out by setting ``HTTP_CLIENT``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from ragie import Ragie, models

from knowledge.models import Document

logger = logging.getLogger(__name__)

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

    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


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


def schedule_upload(document_id: int) -> None:
    """After the current transaction commits, send the document to Ragie (if configured)."""
    if enabled():
        _on_commit("ragie_upload_document", document_id)


def schedule_delete(ragie_id: str) -> None:
    """After the current transaction commits, delete Ragie's copy (if there is one)."""
    if enabled() and ragie_id:
        _on_commit("ragie_delete_document", ragie_id)


def _on_commit(task_name: str, argument) -> None:
    def enqueue() -> None:
        from knowledge import tasks

        try:
            getattr(tasks, task_name).delay(argument)
        except Exception:  # a broker outage must not fail ingestion or deletion
            logger.exception("could not enqueue %s(%r)", task_name, argument)

    transaction.on_commit(enqueue)


def call(method, **kwargs):
    """Call an SDK method, turning its errors into RagieError with a readable message."""
    try:
        return method(**kwargs)
    except models.RagieError as exc:
        status = exc.status_code
        retry = status in (408, 409, 425, 429) or status >= 500
        raise RagieError(f"HTTP {status}: {_detail(exc)}", retry=retry) from exc
    except httpx.TimeoutException as exc:
        raise RagieError(f"timed out ({type(exc).__name__})", retry=True) from exc
    except httpx.HTTPError as exc:
        raise RagieError(f"{type(exc).__name__}: {exc}", retry=True) from exc


def _detail(exc: models.RagieError) -> str:
    data = getattr(exc, "data", None)
    detail = getattr(data, "detail", None)
    if isinstance(detail, str) and detail:
        return detail
    return (exc.body or exc.message or "").strip()[:500]
