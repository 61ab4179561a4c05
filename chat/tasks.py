"""Celery tasks of the chat app: thin wrappers that take ids and call services."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections

from chat import services

logger = logging.getLogger(__name__)


@shared_task(name="chat.fail_stale_answers", ignore_result=True)
def fail_stale_answers() -> int:
    """Answers a stopped or stalled process left unfinished end failed, with the reason."""
    return services.fail_stale_answers()


@worker_ready.connect
def sweep_when_a_worker_starts(**kwargs) -> None:
    """After a crash the sweep runs as soon as a worker is back, not a minute later.
    Run here rather than queued: a queued task could reach another worker's queue."""
    try:
        if failed := services.fail_stale_answers():
            logger.warning("%s answers left unfinished before this start were failed", failed)
    except Exception:  # the database may not be up yet; beat's sweep follows
        logger.exception("the start-up sweep of unfinished answers failed")
    finally:
        connections.close_all()  # a pool child forked later must not share it
