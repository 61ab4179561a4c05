"""Celery tasks of the knowledge app: thin wrappers that take ids and call services."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from knowledge import ragie, services, vectors
from knowledge.models import Document, SearchEvent

logger = logging.getLogger(__name__)

# Ragie takes seconds for a short text and minutes for a long hi_res PDF: check again
# after 5 s, 10 s, 20 s ... at most 5 min apart, about 40 min in all, then give up.
RAGIE_MAX_CHECKS = 14
RAGIE_FIRST_DELAY = 5
RAGIE_MAX_DELAY = 300


@shared_task(name="knowledge.ingest_document")
def ingest_document(document_id: int) -> dict:
    document = services.ingest(document_id)
    return {"id": document.pk, "status": document.status, "chunks": document.chunk_count}


@shared_task(name="knowledge.embed_document")
def embed_document(document_id: int) -> dict:
    """Store a READY document's embeddings (after its ingestion; progress in vectors_done)."""
    document = vectors.embed_document(document_id)
    if document is None:
        return {"id": document_id, "embedded": False}
    return {"id": document_id, "embedded": vectors.is_current(document)}


@shared_task(name="knowledge.embed_outdated")
def embed_outdated() -> dict:
    """Embed what an interrupted worker or a new embedding model left without vectors."""
    pending = vectors.outdated()
    for document_id in pending:
        embed_document.delay(document_id)
    return {"queued": pending}


@shared_task(name="knowledge.ragie_upload_document", bind=True, max_retries=RAGIE_MAX_CHECKS)
def ragie_upload_document(self, document_id: int) -> dict:
    """Send a READY document to Ragie, then check back until Ragie has it ready.

    Ragie's failures end up in the document's ``error``; its local status stays READY.
    """
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not settings.RAGIE_API_KEY:
        return {"id": document_id, "ragie": "skipped"}
    if document.status != Document.Status.READY:
        return {"id": document_id, "ragie": "skipped"}  # a re-ingest enqueues us again
    uploaded = False
    try:
        if not document.ragie_id:
            ragie.upload(document)
            uploaded = True
        status = ragie.poll(document)
    except ragie.RagieError as exc:
        gone = getattr(exc.__cause__, "status_code", None) == 404
        if gone and not uploaded:
            # Ragie lost its copy: forget the id and upload again on the next try.
            Document.objects.filter(pk=document_id).update(ragie_id="")
            status = "missing"
        elif (exc.retry or gone) and self.request.retries < self.max_retries:
            logger.warning("Ragie sync of document %s: %s; will retry", document_id, exc)
            status = "retrying"
        else:
            ragie.record_error(document, str(exc))
            return {"id": document_id, "ragie": "failed", "error": str(exc)}
    if status in ragie.FINAL:
        return {"id": document_id, "ragie": status, "ragie_id": document.ragie_id}
    if self.request.retries >= self.max_retries:
        ragie.record_error(document, f"still {status} after {self.max_retries} checks")
        return {"id": document_id, "ragie": status, "ragie_id": document.ragie_id}
    delay = min(RAGIE_FIRST_DELAY * 2**self.request.retries, RAGIE_MAX_DELAY)
    raise self.retry(countdown=delay)


@shared_task(
    name="knowledge.ragie_delete_document",
    bind=True,
    max_retries=5,
    default_retry_delay=30,
)
def ragie_delete_document(self, ragie_id: str) -> dict:
    """Delete Ragie's copy of a document whose row is already gone."""
    if not settings.RAGIE_API_KEY:
        return {"ragie_id": ragie_id, "deleted": False}
    try:
        deleted = ragie.delete(ragie_id)
    except ragie.RagieError as exc:
        if exc.retry:
            raise self.retry(exc=exc) from exc
        raise
    return {"ragie_id": ragie_id, "deleted": deleted}


@shared_task(name="knowledge.prune_search_events")
def prune_search_events() -> dict:
    """Forget searches older than SEARCH_EVENT_DAYS (daily, from beat)."""
    cutoff = timezone.now() - timedelta(days=settings.SEARCH_EVENT_DAYS)
    deleted, _ = SearchEvent.objects.filter(created_at__lt=cutoff).delete()
    return {"deleted": deleted}
