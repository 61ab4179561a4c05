"""Each pytest process keeps its files in a var folder of its own (issue 18): two runs
started in one checkout at once, or two workers of one run, never write to one."""

import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from tests import var_folders
from tests.support import ROOT, clean_env


def test_this_process_writes_to_a_var_folder_no_other_process_holds():
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = settings.VAR_DIR
    assert folder.name == worker
    assert folder.parent.name.startswith("run-")
    if run:  # the workers of one run share a parent, named after the run
        assert folder.parent.name == f"run-{run[:12]}"
    assert var_folders.in_use(folder)  # held by this process, so no other can take it
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert settings.DATABASES["default"]["TEST"]["NAME"].startswith(str(folder))
    assert str(settings.MEDIA_ROOT).startswith(str(folder))
    # The caches made to be shared stay shared: outside any one run.
    assert "run-" not in settings.EMBED_CACHE and "run-" not in settings.VOICE_MODELS_DIR


def test_a_server_or_worker_a_test_starts_uses_the_folder_it_is_given(tmp_path):
    show = "from django.conf import settings as s; print(s.VAR_DIR)"
    env = clean_env(DJANGO_SETTINGS_MODULE="lineled.settings", LINELED_VAR_DIR=str(tmp_path))
    env.update(PYTEST_XDIST_WORKER="gw0", PYTEST_XDIST_TESTRUNUID="f" * 32)  # inherited
    result = subprocess.run(
        [sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path)


def _start_run(base):
    """A pytest run of its own in this checkout (it only collects), its var under
    ``base``: it reports its var folder in the header."""
    env = clean_env(LINELED_VAR_DIR=str(base))
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID", "PYTEST_VERSION"):
        env.pop(name, None)  # a run of its own, not a worker of this one
    argv = ["-m", "pytest", "-p", "no:cacheprovider", "-n0", "--collect-only"]
    argv.append("tests/lineled/test_team.py")
    return subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


def _folder_of(process) -> str:
    out, _ = process.communicate(timeout=110)
    assert process.returncode == 0, out
    found = re.search(r"^var folder: (\S+)", out, re.M)
    assert found, f"the run does not say which var folder it used:\n{out}"
    return found[1]


def test_two_runs_at_once_in_one_checkout_use_two_folders_and_leave_neither(tmp_path):
    # What a killed run left (nobody holds it) goes; a live run's folder stays.
    dead = tmp_path / "test" / "run-killed" / "gw0"
    dead.mkdir(parents=True)
    past = time.time() - var_folders.GRACE_SECONDS - 60
    os.utime(dead.parent, (past, past))
    live = tmp_path / "test" / "run-alive" / "gw1"
    live.mkdir(parents=True)
    os.utime(live.parent, (past, past))
    held = var_folders.hold(live)
    try:
        first, second = _start_run(tmp_path), _start_run(tmp_path)
        folders = {_folder_of(first), _folder_of(second)}
        assert len(folders) == 2
        for folder in folders:
            assert folder.startswith(str(tmp_path / "test" / "run-"))
            assert not os.path.exists(folder)  # removed when its run ended
        assert not dead.parent.exists()
        assert live.exists()
    finally:
        held.close()


@pytest.mark.django_db
def test_postgresql_test_databases_are_named_after_the_run_and_a_killed_runs_are_dropped():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is a file in this process's var folder")
    suffix = var_folders.database_suffix()
    assert connection.settings_dict["NAME"].endswith(suffix)
    store = suffix.split("_", 1)[0]
    killed = f"test_test_gw0_{store}_run_{'0' * 12}"  # its folder is gone
    elsewhere = f"test_test_gw0_ffffff_run_{'0' * 12}"  # another checkout's run
    names = [connection.settings_dict["NAME"], f"{connection.settings_dict['NAME']}_bench"]
    assert var_folders.orphan_databases([*names, killed, elsewhere]) == [killed]
