"""Each pytest process's var folder (``var/test/run-<run>/<worker>``, chosen in
``lineled.settings``): held while the process lives, removed when it ends, and what a
killed run left behind is pruned by the next run.

A process holds an exclusive ``flock`` on ``<folder>/.in-use`` for its lifetime; the
kernel lets it go when the process ends, however it ends. A folder nobody holds, older
than ``GRACE_SECONDS`` (a process creates its folder when Django's settings load,
moments before it takes the lock), belongs to no running test process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import time
from pathlib import Path

from django.conf import settings

LOCK_NAME = ".in-use"
GRACE_SECONDS = 120


def test_root() -> Path:
    """``var/test`` of the store whose var folder this process's is inside."""
    return settings.VAR_DIR.parent.parent


def database_suffix() -> str:
    """What this run's PostgreSQL test databases end in (``test_test_gw0_<suffix>``): the
    store's var folder, hashed, and the run. Two runs at once on one server, from one
    checkout or two, then never create or drop each other's databases."""
    store = hashlib.sha256(str(test_root()).encode()).hexdigest()[:6]
    return f"{store}_{settings.VAR_DIR.parent.name.replace('-', '_')}"


def orphan_databases(names) -> list[str]:
    """Of the database ``names``, those of this store's runs whose folder is gone: the run
    ended without dropping them (killed), and its folder has been pruned since."""
    store = database_suffix().split("_", 1)[0]
    run = re.compile(rf"_{store}_run_([0-9a-f]{{12}})(?:_|$)")
    return [
        name
        for name in names
        if (found := run.search(name)) and not (test_root() / f"run-{found[1]}").exists()
    ]


def hold(folder: Path):
    """Take ``folder`` for this process; returns the open lock file, to keep open."""
    lock = (folder / LOCK_NAME).open("a")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if another process has it
    return lock


def in_use(folder: Path) -> bool:
    """Whether a live process holds ``folder`` (or, for a run, any folder in it)."""
    locks = [folder / LOCK_NAME, *folder.glob(f"*/{LOCK_NAME}")]
    for path in locks:
        try:
            with path.open("r") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            continue  # gone meanwhile
    return False


def prune(root: Path, keep: Path, *, grace: float = GRACE_SECONDS) -> list[Path]:
    """Remove the folders under ``root`` that no live process holds and that are older
    than ``grace`` seconds, except ``keep``'s run. Returns what was removed."""
    removed = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if not folder.is_dir() or folder == keep.parent:
            continue
        try:
            recent = time.time() - folder.stat().st_mtime < grace
        except OSError:
            continue
        if recent or in_use(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def release(folder: Path, lock) -> None:
    """Remove this process's folder, and its run's once no other process is in it."""
    shutil.rmtree(folder, ignore_errors=True)
    lock.close()
    with contextlib.suppress(OSError):  # other workers of the run may still be at work
        folder.parent.rmdir()  # (only an empty folder goes)
