"""A real Celery worker through the real broker: its heartbeat, and its absence."""

import time

import pytest

from lineled.celery import app
from lineled.tasks import heartbeat
from monitoring.metrics import HEARTBEAT_TASK
from monitoring.models import Alert, TaskRun
from tests.monitoring.conftest import rule, sample, values
from tests.support import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


def beat_once(queue: str, after=None, timeout: float = 60):
    """Send the heartbeat as beat does; wait until the worker has recorded running it."""
    heartbeat.apply_async(queue=queue)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = TaskRun.objects.filter(task=HEARTBEAT_TASK).first()
        if run and run.last_success_at and (after is None or run.last_success_at > after):
            return run
        time.sleep(0.2)
    raise AssertionError("the worker did not record the heartbeat")


def test_a_stopped_worker_raises_the_heartbeat_alert_and_a_restarted_one_resolves_it(tmp_path):
    # Seconds instead of minutes, so the test need not wait three minutes.
    rule("worker_heartbeat_age_s", warning=3, critical=600, fire_after=1, resolve_after=1)
    queue = app.conf.task_default_queue
    with celery_worker(tmp_path, queue):
        first = beat_once(queue)
        assert values(sample())["worker_heartbeat_age_s"] < 3
    assert first.successes >= 1 and first.last_duration_ms is not None
    assert not Alert.objects.exists()

    time.sleep(3.5)  # the worker is gone: nobody runs the heartbeat
    assert values(sample())["worker_heartbeat_age_s"] > 3
    alert = Alert.objects.get(metric="worker_heartbeat_age_s")
    assert alert.state == "open" and alert.severity == "warning"

    with celery_worker(tmp_path, queue):
        beat_once(queue, after=first.last_success_at)
        sample()
    alert.refresh_from_db()
    assert alert.state == "resolved"
