"""Attacks on ingestion: small files that would cost the worker gigabytes or minutes, and
the worker killed in the middle of a document (issue 16, points 4 and 5)."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pypdfium2 as pdfium

from knowledge.benchmarks import bombs
from knowledge.demo.loader import MANUALS
from knowledge.models import Document
from lineled.benchmarks.abuse.base import Outcome, Store, attack
from lineled.lib.env import env_int

BOMB_SECONDS = 10.0  # a bomb is refused or stopped within this
KILL_AT_PAGE = 20  # the worker is killed once this many page images are written


def _explode(store: Store, name: str, data: bytes) -> dict:
    """Upload ``data`` as ``name``; what became of it: refused at upload, or the
    document's end (ready, failed, or still going at the cap) and how long the worker
    spent on it."""
    store.strike()
    started = time.monotonic()
    response = store.upload(name, data)
    if response.status_code != 201:
        return {
            "ended": f"refused {response.status_code}",
            "seconds": round(time.monotonic() - started, 2),
            "reason": response.json().get("message", ""),
        }
    document = store.finished(response.json()["id"], every=0.1)
    worked = document.updated_at - (document.ingest_started_at or document.created_at)
    return {
        "ended": document.status,
        "seconds": round(worked.total_seconds(), 2),
        "reason": document.error,
    }


def _bomb_outcome(did: str, ends: dict[str, dict]) -> Outcome:
    return Outcome(
        did=did,
        came_back={name: end["ended"] for name, end in ends.items()},
        checks=[
            (
                f"refused, or ended with a reason, within {BOMB_SECONDS:g} s",
                all(
                    end["seconds"] <= BOMB_SECONDS
                    and (
                        end["ended"].startswith("refused 4") or end["ended"] in ("failed", "ready")
                    )
                    and (end["reason"] or end["ended"] == "ready")
                    for end in ends.values()
                ),
            )
        ],
        figures={"ends": ends},
    )


@attack("pdf-page-bomb", cap=60, worker=True, memory=True)
def pdf_page_bomb(store: Store) -> Outcome:
    """A 600-byte PDF whose page is 200 inches square (3.3 GB in the worker before)."""
    bomb = bombs.big_page_pdf(14400)
    return _bomb_outcome(
        f"upload a {len(bomb)}-byte PDF with one 14400 × 14400 pt page",
        {"poster.pdf": _explode(store, "poster.pdf", bomb)},
    )


@attack("docx-zip-bomb", cap=60, worker=True, memory=True)
def docx_zip_bomb(store: Store) -> Outcome:
    """A 2 MB Word file holding 2 GB of zeros (4 GB in the worker before), once with an
    honest zip directory and once with one that says the zeros are 1 byte."""
    honest = bombs.zeros_docx(2048)
    lying = bombs.understated(honest, "word/media/zeros.bin")
    return _bomb_outcome(
        f"upload a {len(honest) / 2**20:.1f} MB DOCX holding 2 GB of zeros; again with its "
        "zip directory saying the zeros are 1 byte",
        {
            "zeros.docx": _explode(store, "zeros.docx", honest),
            "zeros-understated.docx": _explode(store, "zeros-understated.docx", lying),
        },
    )


@attack("docx-paragraphs", cap=60, worker=True, memory=True)
def docx_paragraphs(store: Store) -> Outcome:
    """A small Word file of 540,000 paragraphs (held a worker 10+ minutes before)."""
    bomb = bombs.many_paragraphs_docx(540_000)
    return _bomb_outcome(
        f"upload a {len(bomb) // 1024} KB DOCX of 540,000 paragraphs",
        {"steps.docx": _explode(store, "steps.docx", bomb)},
    )


def long_pdf(copies: int) -> bytes:
    """The seven demo manuals ``copies`` times over in one PDF (about 30 pages a copy)."""
    out = pdfium.PdfDocument.new()
    sources = [pdfium.PdfDocument(path) for path in sorted(MANUALS.glob("*.pdf"))]
    for _ in range(copies):
        for source in sources:
            out.import_pages(source)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def _pid(identity: str) -> int | None:
    """The process id in a document's ``ingest_process`` (host/namespace/pid/start)."""
    try:
        return int(identity.rsplit("/", 3)[2])
    except (ValueError, IndexError):
        return None


def _kill_mid_ingestion(store: Store, name: str, copies: int, victim) -> dict:
    """Upload a long PDF; once KILL_AT_PAGE pages are rendered, SIGKILL ``victim(document,
    processes)`` (a pid of the deployment's worker, or None); wait for the document to
    end; if it failed, re-ingest it (refused for 30 minutes in issue 16) and wait again;
    delete it. What happened, step by step."""
    data = long_pdf(copies)
    store.strike()
    response = store.upload(name, data)
    response.raise_for_status()
    document_id = response.json()["id"]
    rendering = Document.objects.filter(pk=document_id, pages_done__gte=KILL_AT_PAGE)
    document = store.wait(lambda: rendering.filter(status="processing").first(), every=0.05)
    pid = victim(document, store.deployment.processes())
    if pid is None:
        return {"killed": None}
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    document = store.finished(document_id, every=0.25)
    happened = {
        "killed": pid,
        "pages": document.page_count,
        "ended": document.status,
        "reason": document.error,
        "ended_s": round(time.monotonic() - killed_at, 1),
    }
    with store.deployment.client(store.account("morgan")) as client:
        if document.status == "failed":
            again = client.post(f"/api/knowledge/documents/{document_id}/reingest")
            happened["reingest"] = again.status_code
            happened["reingest_ended"] = again.is_success and store.finished(document_id).status
        happened["delete"] = client.delete(f"/api/knowledge/documents/{document_id}").status_code
    folder = store.deployment.media / "pages" / str(document_id)
    happened["files_after_delete"] = sum(1 for p in folder.rglob("*") if p.is_file())
    return happened


def _kill_checks(happened: dict) -> list[tuple[str, bool]]:
    ended, reingested = happened.get("ended"), happened.get("reingest_ended")
    return [
        ("a worker process was killed mid-ingestion", happened["killed"] is not None),
        (
            "the document ended ready, or failed with a reason and then re-ingested",
            ended == "ready"
            or (ended == "failed" and bool(happened["reason"]) and reingested == "ready"),
        ),
        ("deleting it left no page images", happened.get("files_after_delete") == 0),
    ]


def _alive(pid: int) -> bool:
    """Is ``pid`` running (not gone, not a zombie waiting for its parent)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@attack("worker-child-kill", cap=150, worker=True)
def worker_child_kill(store: Store) -> Outcome:
    """kill -9 of the pool process ingesting a long PDF (issue 16 point 5: the document
    stayed 'processing' for good, re-ingest refused, its partial images left on disk)."""

    def ingesting(document, processes):
        pid = _pid(document.ingest_process)
        return pid if pid in processes["pool"] else None

    happened = _kill_mid_ingestion(store, "long-manual.pdf", 3, ingesting)
    pool = store.wait(lambda: len(store.deployment.processes()["pool"]) >= _concurrency())
    return Outcome(
        did=f"upload a long PDF, SIGKILL the worker's pool process reading it at page "
        f"{KILL_AT_PAGE}, wait for the document to end (re-ingest it if it failed), delete it",
        came_back=_came_back(happened),
        checks=[*_kill_checks(happened), ("the pool is whole again", bool(pool))],
        figures=happened,
    )


@attack("worker-kill", cap=200, worker=True)
def worker_kill(store: Store) -> Outcome:
    """kill -9 of the worker's main process mid-ingestion: serve starts a new worker (in
    issue 16 a dead worker stopped the web server too) and the document still ends."""
    before = store.deployment.processes()
    old = before["worker"] + before["pool"]

    def main_process(document, processes):
        return processes["worker"][0] if processes["worker"] else None

    happened = _kill_mid_ingestion(store, "longer-manual.pdf", 4, main_process)
    restarted = store.wait(
        lambda: [pid for pid in store.deployment.processes()["worker"] if pid not in old]
    )
    left_running = [pid for pid in old if _alive(pid)]
    return Outcome(
        did=f"upload a long PDF, SIGKILL the worker's main process at page {KILL_AT_PAGE}, "
        "wait for the document to end (re-ingest it if it failed), delete it",
        came_back={
            **_came_back(happened),
            "new worker": bool(restarted),
            "old worker processes still running": len(left_running),
        },
        checks=[
            *_kill_checks(happened),
            ("serve started a new worker", bool(restarted)),
            ("no process of the killed worker left running", not left_running),
        ],
        figures=happened,
    )


def _came_back(happened: dict) -> dict:
    return {
        "document": happened.get("ended"),
        **({"re-ingested": happened["reingest_ended"]} if "reingest" in happened else {}),
        "delete": happened.get("delete"),
        "page images after delete": happened.get("files_after_delete"),
    }


def _concurrency() -> int:
    return env_int("WORKER_CONCURRENCY", 2, minimum=1)  # as serve reads it


ATTACKS = [pdf_page_bomb, docx_zip_bomb, docx_paragraphs, worker_child_kill, worker_kill]
