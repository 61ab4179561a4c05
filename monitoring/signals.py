"""Every Celery task run is written down by the worker that ran it (``TaskRun``): the
heartbeat of periodic tasks and the source of the task counters of ``/metrics``."""

from __future__ import annotations

import logging
import time

from celery import signals
from django.db.models import F
from django.utils import timezone

from monitoring.models import TaskRun

logger = logging.getLogger(__name__)
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _on_start(task_id=None, task=None, **kwargs):
    _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _on_end(task_id=None, task=None, state=None, **kwargs):
    began = _started.pop(task_id, None)
    if task is None or state == "RETRY":
        return
    name = task.name
    duration = round((time.perf_counter() - began) * 1000, 1) if began else None
    now = timezone.now()
    fields = {"last_started_at": now, "last_duration_ms": duration}
    if state == "SUCCESS":
        fields.update(last_success_at=now, successes=F("successes") + 1)
    else:
        fields.update(last_failure_at=now, failures=F("failures") + 1)
    try:
        TaskRun.objects.get_or_create(task=name)
        TaskRun.objects.filter(task=name).update(**fields)
    except Exception:  # recording must never break the task or the worker
        logger.warning("could not record the run of %s", name, exc_info=True)


@signals.task_failure.connect
def _on_failure(task_id=None, exception=None, sender=None, **kwargs):
    if sender is None:
        return
    try:
        TaskRun.objects.filter(task=sender.name).update(
            last_error=f"{type(exception).__name__}: {exception}"[:2000]
        )
    except Exception:
        logger.warning("could not record the failure of %s", sender.name, exc_info=True)
