"""Celery tasks of the knowledge app: thin wrappers that take ids and call services."""

import logging

from billiard.exceptions import WorkerLostError
from celery import shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, worker_ready
from django.conf import settings
from django.db import connections

from knowledge import ragie, recovery, services, vectors
from knowledge.models import Document

logger = logging.getLogger(__name__)


@shared_task(
    name="knowledge.ingest_document",
    # Acknowledged once done: a worker that dies mid-way (killed, out of memory) has the
    # task sent again, INGEST_RETRIES times, and the new run finishes the document.
    acks_late=True,
    reject_on_worker_lost=True,
    retry_on_worker_lost=True,
    max_retries=settings.INGEST_RETRIES,
    default_retry_delay=settings.INGEST_RETRY_SECONDS,
    soft_time_limit=settings.INGEST_SOFT_TIME_LIMIT,
    time_limit=settings.INGEST_TIME_LIMIT,
)
def ingest_document(document_id: int) -> dict:
    try:
        document = services.ingest(document_id)
    except Document.DoesNotExist:
        return {"id": document_id, "status": "deleted"}
    return {"id": document.pk, "status": document.status, "chunks": document.chunk_count}


@task_failure.connect(sender=ingest_document)
def _ingestion_lost(sender=None, task_id=None, exception=None, args=(), **extra) -> None:
    """The worker's main process reports a run it lost for good (its process died once
    more than INGEST_RETRIES allow, or was killed at the hard time limit): the document
    fails now, with the reason, instead of waiting for the sweep."""
    if not isinstance(exception, WorkerLostError | TimeLimitExceeded) or not args:
        return
    if isinstance(exception, TimeLimitExceeded):
        reason = f"reading the file took longer than {settings.INGEST_TIME_LIMIT} s and was "
        reason += "stopped; split it into smaller documents"
    else:
        reason = "ingestion stopped: the worker process reading the file died each time it "
        reason += "tried (out of memory, or killed); the file is too large or damaged"
    recovery.stop_dead_ingestion(args[0], reason)


@shared_task(name="knowledge.sweep_ingestions")
def sweep_ingestions() -> dict:
    """Fail what a dead worker left "processing" (periodic, and at worker start), and
    queue documents whose pages still lack images."""
    return {
        "failed": recovery.stop_dead_ingestions(),
        "queued": services.queue_pages_without_images(),
    }


@worker_ready.connect
def _sweep_at_start(**extra) -> None:
    """Run here, in the worker's main process, rather than queued: a queued task could
    reach another worker's queue."""
    try:
        if failed := recovery.stop_dead_ingestions():
            logger.warning("documents left processing by a dead worker failed: %s", failed)
    except Exception:  # the database may not be up yet; beat's sweep follows
        logger.warning("could not sweep the ingestions left by a dead worker", exc_info=True)
    finally:
        connections.close_all()  # a pool process forked later must not share them


@shared_task(name="knowledge.embed_document", robust_on_commit=True)
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
        embed_document.delay_on_commit(document_id)
    return {"queued": pending}


@shared_task(
    name="knowledge.ragie_upload_document",
    bind=True,
    robust_on_commit=True,
    # Ragie takes seconds for a short text and minutes for a long hi_res PDF: check again
    # after 5 s, 10 s, 20 s ... at most 5 min apart, about 40 min in all, then give up.
    autoretry_for=(ragie.TryLater,),
    max_retries=14,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=False,
)
def ragie_upload_document(self, document_id: int) -> dict:
    """Send a READY document to Ragie, then check back until Ragie has it ready.

    Ragie's failures end up in the document's ``error``; its local status stays READY.
    """
    last_try = self.request.retries >= self.max_retries
    return ragie.sync(document_id, last_try=last_try, checks=self.max_retries)


@shared_task(
    name="knowledge.ragie_delete_document",
    robust_on_commit=True,
    autoretry_for=(ragie.TryLater,),
    max_retries=5,
    default_retry_delay=30,
)
def ragie_delete_document(ragie_id: str) -> dict:
    """Delete Ragie's copy of a document whose row is already gone."""
    deleted = ragie.enabled() and ragie.delete(ragie_id)
    return {"ragie_id": ragie_id, "deleted": deleted}


@shared_task(name="knowledge.prune_search_events")
def prune_search_events() -> dict:
    """Forget searches older than SEARCH_EVENT_DAYS (daily, from beat)."""
    return {"deleted": services.prune_search_events()}
