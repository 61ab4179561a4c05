"""Ingestion runs whose worker died: telling them from live ones, failing what they
left "processing" with the reason, and removing the page images they wrote.

A run claims its document under a run id and the identity of its process
(lineled.lib.process), and writes its page images under pages/<document id>/<run id>/.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from knowledge.models import Document, Page
from lineled.lib import process


def stuck_after() -> timedelta:
    """How long after its start an ingestion whose process no one here can see (another
    machine) is presumed dead: its task's hard time limit, plus the sweep's grace."""
    return timedelta(seconds=settings.INGEST_TIME_LIMIT + settings.INGEST_SWEEP_GRACE_SECONDS)


def may_be_running(document: Document) -> bool:
    """Might the ingestion that last claimed the document still be running? No once its
    process is gone (on this host that is known at once), or once it has outlived every
    time limit."""
    if document.ingest_process and process.is_running(document.ingest_process) is False:
        return False
    started = document.ingest_started_at or document.updated_at
    return started >= timezone.now() - stuck_after()


def stop_dead_ingestions() -> list[int]:
    """Fail the documents left "processing" by a run that no longer runs, with the
    reason, removing what that run had written; the ids of those failed.

    A run whose process is known to be gone is left INGEST_SWEEP_GRACE_SECONDS after its
    last progress, so that the task Celery sends again after its worker died can take
    the document over and finish it instead.
    """
    grace = timedelta(seconds=settings.INGEST_SWEEP_GRACE_SECONDS)
    now, failed = timezone.now(), []
    for document in Document.objects.filter(status=Document.Status.PROCESSING):
        if may_be_running(document) or document.updated_at > now - grace:
            continue
        gone = process.is_running(document.ingest_process) is False
        reason = (
            "ingestion stopped: the worker process reading the file died (out of memory, "
            "or killed); re-ingest to try again"
            if gone
            else "ingestion stopped: its worker has not been heard of since "
            f"{document.updated_at:%Y-%m-%d %H:%M} UTC; re-ingest to try again"
        )
        if fail_run(document, reason):
            failed.append(document.pk)
    return failed


def stop_dead_ingestion(document_id: int, reason: str) -> bool:
    """Fail the document with ``reason`` if its latest run no longer runs."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or document.status != Document.Status.PROCESSING:
        return False
    return not may_be_running(document) and fail_run(document, reason)


def fail_run(document: Document, reason: str) -> bool:
    stopped = Document.objects.filter(
        pk=document.pk, status=Document.Status.PROCESSING, ingest_run=document.ingest_run
    ).update(status=Document.Status.FAILED, error=reason, updated_at=timezone.now())
    if stopped and document.ingest_run:
        remove_folder(f"{pages_folder(document.pk)}/{document.ingest_run}")
    return bool(stopped)


def pages_folder(document_id: int) -> str:
    return f"pages/{int(document_id)}"


def remove_unused_pages(document_id: int, *, keep: str) -> None:
    """Remove the run folders under pages/<id>/ that no page points at, but ``keep``."""
    used = {
        name.split("/")[2]
        for pair in Page.objects.filter(document_id=document_id).values_list("image", "thumbnail")
        for name in pair
        if name.startswith(pages_folder(document_id) + "/") and name.count("/") >= 3
    }
    try:
        folders, _ = default_storage.listdir(pages_folder(document_id))
    except (FileNotFoundError, NotImplementedError):
        return
    for folder in set(folders) - used - {keep}:
        remove_folder(f"{pages_folder(document_id)}/{folder}")


def remove_folder(prefix: str) -> None:
    """Delete every file under ``prefix`` in the default storage (and the folders, where
    the storage has them)."""
    try:
        folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotImplementedError):
        return
    for folder in folders:
        remove_folder(f"{prefix}/{folder}")
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(default_storage.path(prefix))
