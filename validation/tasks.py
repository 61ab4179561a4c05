"""Celery tasks of the validation app: thin wrappers that take ids and call services."""

from celery import shared_task

from validation import services


@shared_task(name="validation.execute_run", ignore_result=True, time_limit=3600)
def execute_run(run_id: int) -> None:
    services.execute(run_id)


@shared_task(name="validation.nightly", ignore_result=True)
def nightly() -> None:
    """Beat's nightly run, so a regression shows up on the dashboard by morning."""
    services.start(trigger="schedule")
