"""Celery tasks of the voice app: thin wrappers that take ids and call services."""

from celery import shared_task

from voice import services


@shared_task(name="voice.rebuild_vocabulary")
def rebuild_vocabulary() -> dict:
    """Rebuild what the recogniser learns from the knowledge base (after it changed)."""
    return services.rebuild_vocabulary()
