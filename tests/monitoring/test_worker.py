"""A real Celery worker through the real broker: its heartbeat, and its absence."""

import time
from datetime import timedelta

import pytest
import time_machine

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
    # The store's own thresholds (3 and 10 minutes); this process's clock is moved to each
    # moment instead of waiting for it.
    rule("worker_heartbeat_age_s", warning=180, critical=600, fire_after=1, resolve_after=1)
    queue = app.conf.task_default_queue
    with celery_worker(tmp_path, queue):
        first = beat_once(queue)
    assert first.successes >= 1 and first.last_duration_ms is not None
    # As if that worker had run five minutes ago, so that the moments below come before
    # the restarted worker's heartbeat, which it stamps with the real clock.
    ran = first.last_success_at - timedelta(minutes=5)
    TaskRun.objects.filter(pk=first.pk).update(last_success_at=ran)

    with at(ran, seconds=30):
        assert values(sample())["worker_heartbeat_age_s"] == 30
    assert not Alert.objects.exists()

    with at(ran, seconds=200):  # the worker is gone: no heartbeat since
        assert values(sample())["worker_heartbeat_age_s"] == 200
    alert = Alert.objects.get(metric="worker_heartbeat_age_s")
    assert alert.state == "open" and alert.severity == "warning"

    with celery_worker(tmp_path, queue):
        second = beat_once(queue, after=first.last_success_at)
    with at(second.last_success_at, seconds=30):
        assert values(sample())["worker_heartbeat_age_s"] == 30
    alert.refresh_from_db()
    assert alert.state == "resolved"


def at(moment, *, seconds: float):
    """This process's clock ``seconds`` after ``moment``."""
    return time_machine.travel(moment + timedelta(seconds=seconds), tick=False)
