"""An ingestion whose worker died is finished by the task sent again, or failed by the
sweep with the reason; re-ingesting is allowed at once and nothing it wrote is left."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from knowledge import services
from knowledge.models import Document
from knowledge.search import search
from knowledge.tasks import sweep_ingestions
from lineled.lib import process
from tests.knowledge.samples import signed_in, text_pdf

NOTES = b"# Closing\n\nLock the back door and set the alarm."


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def dead_process() -> str:
    """The identity of a process that has run and exited."""
    code = "from lineled.lib.process import identity; print(identity())"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def left_processing(owner: str, *, idle: timedelta, name: str = "closing.md") -> Document:
    """A document whose run ``owner`` claimed and wrote two page images, ``idle`` ago."""
    document, _ = services.add_document(filename=name, data=NOTES + name.encode())
    run = uuid.uuid4().hex[:12]
    for image in ("1.png", "1-thumb.png"):
        default_storage.save(f"pages/{document.pk}/{run}/{image}", ContentFile(b"\x89PNG"))
    then = timezone.now() - idle
    Document.objects.filter(pk=document.pk).update(
        status="processing",
        ingest_run=run,
        ingest_process=owner,
        ingest_started_at=then,
        updated_at=then,
    )
    document.refresh_from_db()
    return document


def run_files(media: Path, document: Document) -> list[Path]:
    folder = media / "pages" / str(document.pk) / document.ingest_run
    return list(folder.glob("*")) if folder.exists() else []


@pytest.mark.django_db
def test_the_sweep_fails_what_a_dead_process_left_processing_and_removes_its_images(media):
    dead = left_processing(dead_process(), idle=timedelta(minutes=2))
    live = left_processing(process.identity(), idle=timedelta(minutes=2), name="open.md")
    just_died = left_processing(dead_process(), idle=timedelta(seconds=5), name="new.md")
    elsewhere = left_processing("another-host/pid:[1]/42/1", idle=timedelta(hours=2), name="far.md")
    assert run_files(media, dead)

    result = sweep_ingestions.apply().get()

    assert sorted(result["failed"]) == sorted([dead.pk, elsewhere.pk])
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.error == (
        "ingestion stopped: the worker process reading the file died (out of memory, "
        "or killed); re-ingest to try again"
    )
    assert run_files(media, dead) == []
    elsewhere.refresh_from_db()
    assert elsewhere.error.startswith("ingestion stopped: its worker has not been heard of")
    # A live run, and a dead one whose task may yet be sent again, are left for now.
    assert Document.objects.get(pk=live.pk).status == "processing"
    assert Document.objects.get(pk=just_died.pk).status == "processing"


@pytest.mark.django_db
def test_the_sweep_runs_from_beat(settings):
    from lineled.celery import app

    assert app.conf.beat_schedule["sweep-ingestions"]["task"] == "knowledge.sweep_ingestions"


@pytest.mark.django_db
def test_a_manager_may_reingest_at_once_when_the_run_died_and_it_finishes(
    media, bob, django_capture_on_commit_callbacks
):
    document = left_processing(dead_process(), idle=timedelta(seconds=1))
    partial = run_files(media, document)
    client = signed_in(bob)
    response = client.post(f"/api/knowledge/documents/{document.pk}/reingest")
    assert response.status_code == 202  # was 409 for 30 minutes
    finished = services.ingest(document.pk)
    assert finished.status == "ready" and finished.chunk_count >= 1
    assert not any(path.exists() for path in partial)

    busy = left_processing(process.identity(), idle=timedelta(seconds=1), name="busy.md")
    response = client.post(f"/api/knowledge/documents/{busy.pk}/reingest")
    assert response.status_code == 409  # a live run has it


@pytest.mark.django_db
def test_deleting_a_document_removes_the_images_of_a_run_that_never_finished(media):
    document = left_processing(dead_process(), idle=timedelta(minutes=5))
    assert run_files(media, document)
    services.delete_document(document)
    assert not (media / "pages" / str(document.pk)).exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def prefork_worker(queue: str) -> list[str]:
    from lineled.bench import worker_argv

    argv = worker_argv(queue, f"test-{queue}")
    at = argv.index("--pool")
    return [*argv[:at], "--pool", "prefork", "--concurrency", "1", *argv[at + 2 :]]


def wait_until(check, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{what} within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_ingestion_has_the_task_sent_again_and_the_document_finishes(
    tmp_path,
):
    """Also: ``ingest --queue`` hands the document to a real worker."""
    from lineled.bench import purge, wait_for_line
    from lineled.celery import app
    from tests.support import child_env, running

    # Tasks earlier tests of this session left in its queue (no worker ran them) would
    # come first, a second apiece on the filesystem broker: this test's worker starts
    # on an empty queue.
    purge(app.conf.task_default_queue)
    marker = uuid.uuid4().hex[:10]
    path = tmp_path / f"walk-in-{marker}.pdf"
    path.write_bytes(text_pdf(*([f"Page {n}: walk-in alarm code {marker}."] for n in range(60))))
    out = io.StringIO()
    call_command("ingest", str(path), "--queue", "--json", stdout=out)
    row = json.loads(out.getvalue())
    assert row["status"] == "queued"
    document = Document.objects.get(pk=row["id"])
    log = tmp_path / "worker.log"
    env = child_env(INGEST_RETRY_SECONDS="0", CELERY_WORKER_LOST_WAIT="1")
    try:
        with running(prefork_worker(app.conf.task_default_queue), env, log) as worker:
            wait_for_line(log, " ready.", timeout=90, process=worker)

            def started():
                document.refresh_from_db()
                return document.pages_done >= 2 and document.status == "processing"

            wait_until(started, 60, "no page was rendered", log)
            first_run = document.ingest_run
            os.kill(int(document.ingest_process.split("/")[2]), signal.SIGKILL)

            def finished():
                document.refresh_from_db()
                return document.status in ("ready", "failed")

            wait_until(finished, 90, "the document was not finished", log)
        assert document.status == "ready", document.error
        assert document.page_count == 60 and document.ingest_run != first_run
        pages = Path(settings.MEDIA_ROOT) / "pages" / str(document.pk)
        assert [p.name for p in pages.iterdir()] == [document.ingest_run]  # no partial run
        assert search(f"alarm code {marker}", top_k=1)[0].document_id == document.pk
    finally:
        services.delete_document(document)
