"""Celery tasks of the knowledge app: thin wrappers that take ids and call services."""

from celery import shared_task

from knowledge import services


@shared_task(name="knowledge.ingest_document")
def ingest_document(document_id: int) -> dict:
    document = services.ingest(document_id)
    return {"id": document.pk, "status": document.status, "chunks": document.chunk_count}
