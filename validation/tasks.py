"""Celery tasks of the validation app: thin wrappers that take ids and call services."""

import logging

from celery import shared_task

from lineled.errors import Conflict
from validation import services
from validation.models import RUN_TIME_LIMIT_S

logger = logging.getLogger(__name__)


@shared_task(
    name="validation.execute_run",
    ignore_result=True,
    time_limit=RUN_TIME_LIMIT_S,
    soft_time_limit=RUN_TIME_LIMIT_S - 60,  # not the shorter default for any task
)
def execute_run(run_id: int) -> None:
    services.execute(run_id)


@shared_task(name="validation.nightly", ignore_result=True)
def nightly() -> None:
    """Beat's nightly run, so a regression shows up on the dashboard by morning."""
    try:
        services.start(trigger="schedule")
    except Conflict as exc:  # someone's run is going: it tells the same
        logger.info("nightly validation skipped: %s", exc.message)
