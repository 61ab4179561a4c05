"""Celery tasks of the chat app: thin wrappers that take ids and call services."""

from celery import shared_task
from celery.signals import worker_ready

from chat import services


@shared_task(name="chat.fail_stale_answers", ignore_result=True)
def fail_stale_answers() -> int:
    """Answers a stopped or stalled process left unfinished end failed, with the reason."""
    return services.fail_stale_answers()


@worker_ready.connect
def sweep_when_a_worker_starts(**kwargs) -> None:
    """After a crash, the sweep runs as soon as the service is back, not a minute later.
    Queued rather than run here: this is the worker's parent process."""
    fail_stale_answers.delay()
