"""Beat's Celery tasks of the monitoring app: thin wrappers that call services. The task
that sends an alert's notification lives beside what it runs, in
``monitoring.services.notifications``."""

from celery import shared_task

from monitoring import services


@shared_task(name="monitoring.sample", ignore_result=True)
def sample() -> None:
    """Beat's every-minute sampling pass (skipped if the watchdog just sampled)."""
    services.sample()


@shared_task(name="monitoring.prune", ignore_result=True)
def prune() -> int:
    return services.prune()
