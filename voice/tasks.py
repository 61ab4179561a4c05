"""Celery tasks of the voice app: thin wrappers that take ids and call services."""

from celery import shared_task

from voice.stt import vocabulary


@shared_task(name="voice.rebuild_vocabulary")
def rebuild_vocabulary() -> dict:
    """Rebuild the speech vocabulary from the knowledge base (after it changed)."""
    model = vocabulary.build()
    return {"version": model.version, "words": model.words, "sentences": model.sentences}
