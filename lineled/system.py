"""Read models for the ops status page and API: readiness and Celery state."""

from __future__ import annotations

import os

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_results.models import TaskResult

from lineled.health import run_checks

HEARTBEAT_TASK = "lineled.tasks.heartbeat"


def status() -> dict:
    checks = async_to_sync(run_checks)()
    beat = (
        TaskResult.objects.filter(task_name=HEARTBEAT_TASK, status="SUCCESS")
        .order_by("-date_done")
        .values_list("date_done", flat=True)
        .first()
    )
    return {
        "environment": settings.LINELED_ENV,
        "debug": settings.DEBUG,
        "database": connection.vendor,
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
        "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1],
        "ready": all(c.ok for c in checks),
        "checks": [c.as_dict() for c in checks],
        "last_heartbeat": beat,
        "heartbeat_age_s": round((timezone.now() - beat).total_seconds(), 1) if beat else None,
        "process": {"pid": os.getpid(), "rss_mb": rss_mb()},
    }


def rss_mb() -> float | None:
    """Resident memory of this process in MB, from Linux's /proc (None elsewhere)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def recent_tasks(limit: int = 15):
    return TaskResult.objects.order_by("-date_created")[:limit]


def task_state(task_id: str) -> dict:
    """The stored outcome of a task, or PENDING if no worker has reported yet."""
    row = TaskResult.objects.filter(task_id=task_id).first()
    if row is None:
        return {"task_id": task_id, "task_name": None, "status": "PENDING"}
    return {
        "task_id": row.task_id,
        "task_name": row.task_name,
        "status": row.status,
        "result": _decoded(row.result),
        "date_created": row.date_created,
        "date_done": row.date_done,
    }


def _decoded(raw: str | None):
    import json

    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw
