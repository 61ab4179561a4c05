"""Celery through the real broker (Redis in CI) and a real worker process."""

import json
import os
import time
import uuid

import pytest
from django.conf import settings
from django_celery_results.models import TaskResult

from lineled.tasks import ping
from tests.support import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_result(task_id: str, timeout: float = 60) -> TaskResult:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first()
        if row is not None:
            return row
        time.sleep(0.25)
    raise AssertionError(f"no stored result for {task_id} within {timeout}s")


def test_a_task_sent_through_the_broker_is_run_by_a_worker_and_its_result_is_stored(tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with celery_worker(tmp_path, queue) as worker:
        sent = ping.apply_async(args=["through the broker"], queue=queue)
        try:
            row = wait_for_result(sent.id)
        except AssertionError:
            raise AssertionError((tmp_path / "worker.log").read_text()) from None
        assert worker.poll() is None
    assert row.task_name == "lineled.tasks.ping"
    assert row.worker.startswith(f"test-{queue}@")
    result = json.loads(row.result)
    assert result["note"] == "through the broker"
    assert result["pid"] != os.getpid()  # ran in the worker, not here
    expected_broker = "redis" if settings.REDIS_URL else "filesystem"
    assert settings.CELERY_BROKER_URL.startswith(expected_broker)


def test_the_ops_api_sends_a_ping_and_reports_the_workers_answer(tmp_path, charlie):
    from django.test import Client

    from lineled.celery import app

    queue = app.conf.task_default_queue
    client = Client()
    client.force_login(charlie)
    with celery_worker(tmp_path, queue):
        sent = client.post("/api/system/ping", {"note": "api"}, content_type="application/json")
        assert sent.status_code == 202
        task_id = sent.json()["task_id"]
        wait_for_result(task_id)
    state = client.get(f"/api/system/tasks/{task_id}").json()
    assert state["status"] == "SUCCESS"
    assert state["task_name"] == "lineled.tasks.ping"
    assert state["result"]["note"] == "api"
