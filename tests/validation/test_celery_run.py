"""A run started from the ops console is executed by a real Celery worker through the
real broker: its results are stored and its progress reaches ops browsers."""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import Client

from knowledge import services as knowledge
from knowledge.demo import loader
from lineled.celery import app
from lineled.notify import role_group
from lineled.roles import Role
from tests.support import celery_worker
from validation import services
from validation.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = 180  # s: the worker starts, then asks the text questions


@pytest.fixture
def manuals(settings):
    """The demo manuals where the worker finds their pages: the var folder's media (a
    transactional test sees no seeded cases either: seed them again)."""
    settings.MEDIA_ROOT = settings.VAR_DIR / "media"
    documents = [loaded.document for loaded in loader.load()]
    services.ensure_default_cases()
    yield documents
    for document in documents:
        knowledge.delete_document(document)


def listening_as_ops():
    """A channel in the ops group, as an ops browser's socket is: (layer, name)."""
    layer = get_channel_layer()
    name = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(role_group(Role.OPS), name)
    return layer, name


def heard(layer, name) -> list[dict]:
    async def drain():
        events = []
        try:
            while True:
                events.append(await asyncio.wait_for(layer.receive(name), timeout=1))
        except TimeoutError:
            return events

    return async_to_sync(drain)()


def wait_until_finished(run: Run, log) -> Run:
    deadline = time.monotonic() + FINISHED
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("done", "failed"):
            return run
        time.sleep(0.25)
    raise AssertionError(f"run {run.pk} is still {run.status}\n{log.read_text()[-4000:]}")


@pytest.mark.timeout(FINISHED + 120)
def test_a_run_started_from_the_admin_is_finished_by_a_worker_with_its_results_stored(
    tmp_path, charlie, manuals
):
    ops = Client()
    ops.force_login(charlie)
    layer, name = listening_as_ops() if settings.REDIS_URL else (None, None)
    with celery_worker(tmp_path, app.conf.task_default_queue) as worker:
        response = ops.post("/admin/validation/run/start/", {"category": "text"})
        assert response.status_code == 302
        run = Run.objects.get()
        assert (run.trigger, run.started_by, run.category) == ("admin", charlie, "text")
        run = wait_until_finished(run, tmp_path / "worker.log")
        assert worker.poll() is None
    log = (tmp_path / "worker.log").read_text()
    assert run.status == "done", f"{run.error}\n{log[-4000:]}"
    assert "validation.execute_run" in log and "succeeded" in log  # the worker ran it
    results = list(run.results.order_by("order"))
    assert len(results) == run.tests_total == run.tests_done > 0
    assert {r.category for r in results} == {"text"}
    assert all(r.details and r.summary for r in results)
    assert run.readiness in ("READY", "CONDITIONAL", "NOT READY")
    assert run.score is not None and run.duration_s > 0

    page = ops.get(f"/validation/runs/{run.pk}/").content.decode()
    assert f">{run.readiness}</h2>" in page
    assert page.count('<details class="val-test"') == len(results)

    if layer is not None:  # the worker's broadcasts reach the ops group through Redis
        events = [e for e in heard(layer, name) if e.get("payload", {}).get("run") == run.pk]
        kinds = [e["kind"] for e in events]
        assert kinds == ["validation.progress"] * len(results) + ["validation.finished"]
        assert [e["payload"]["done"] for e in events[:-1]] == list(range(1, len(results) + 1))
        assert events[-1]["payload"]["readiness"] == run.readiness
