"""`make run` in miniature: a fresh embedded profile, served by `manage.py serve`."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support import (
    ROOT,
    child_env,
    clean_env,
    free_port,
    run_python,
    running,
    wait_for_http,
)


def manage(env, *args) -> str:
    result = run_python(["manage.py", *args], env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def processes_using(var_dir: Path) -> list[int]:
    """PIDs whose environment points at this test's var dir."""
    marker = f"LINELED_VAR_DIR={var_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def assert_no_debug_page(url: str, headers: dict, status: int, shown: bytes) -> None:
    request = urllib.request.Request(url, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=10)
    page = answered.value.read()
    assert answered.value.code == status and shown in page
    for leak in (b"URLconf", b"Traceback", b"DisallowedHost", b"settings", b"SECRET_KEY"):
        assert leak not in page, leak


def test_serve_refuses_to_show_debug_pages_beyond_this_machine(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="DEBUG is on: serve on 127.0.0.1, not 0.0.0.0"):
        call_command("serve", "--host", "0.0.0.0", "--no-worker")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_a_fresh_embedded_install_serves_runs_beat_and_stops_cleanly(tmp_path):
    """Each ``manage.py`` here is a process of its own that imports the whole project
    (3 to 5 s each on this machine, more under load), so only what a fresh install
    needs runs here; setup_demo's second run is tests/lineled/test_setup_demo.py's.
    The served processes hear speech with pocketsphinx: whisper, the default, loads
    its model in the web process and in each of the worker's pool processes (seconds
    of CPU each, beside their start) and made stopping them take 5 to 9 s instead of
    under 2; serving, beat and stopping are what this test is about, and whisper is
    heard through a real server in tests/e2e/test_voice.py."""
    var = tmp_path / "var"
    env = clean_env(LINELED_VAR_DIR=str(var), HEARTBEAT_SECONDS="5", VOICE_STT="pocketsphinx")
    manage(env, "migrate", "--noinput")
    first = manage(env, "setup_demo")
    assert len(re.findall(r"password (\S+)", first)) == 3
    token = json.loads(manage(env, "create_token", "ops", "--json"))["token"]

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/readyz", timeout=60, process=serve)
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/accounts/login/", timeout=10) as response:
            assert b'name="password"' in response.read()
        # DEBUG is off: a stranger's 404 and a foreign Host get plain pages, no debug page
        # listing URL patterns or settings; static files are still served.
        assert_no_debug_page(f"{base}/no-such-page", {}, 404, b"Page not found")
        assert_no_debug_page(f"{base}/", {"Host": "evil.example"}, 400, b"Bad Request")
        with urllib.request.urlopen(f"{base}/static/js/chat.js", timeout=10) as response:
            assert response.status == 200
        # Beat sends the heartbeat, the worker runs it, its result is stored.
        deadline = time.monotonic() + 60
        status = {}
        while time.monotonic() < deadline:
            status = get_json(f"{base}/api/system/status", token)
            if status["last_heartbeat"]:
                break
            time.sleep(1)
        assert status["last_heartbeat"], log.read_text()[-3000:]
        assert status["database"] == "sqlite" and status["broker"] == "filesystem"
        assert f"Line Lead is running at http://localhost:{port}/" in log.read_text()
        assert len(processes_using(var)) >= 3  # web, worker (and its pool), beat
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=40)
    assert code == 0, log.read_text()[-3000:]
    time.sleep(0.5)
    assert processes_using(var) == [], log.read_text()[-3000:]
    assert "all stopped" in log.read_text()


def test_serve_refuses_several_web_processes_on_the_in_memory_channel_layer(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="--web 2 needs REDIS_URL: without it the channel"):
        call_command("serve", "--web", "2", "--no-worker")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_several_web_processes_serve_one_port_and_metrics_count_them_all(
    tmp_path, redis_url, transactional_db
):
    port = free_port()
    env = child_env(LINELED_VAR_DIR=str(tmp_path / "var"), METRICS_TOKEN="scrape-me-" + "x" * 20)
    log = tmp_path / "serve.log"
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--web", "2", "--no-worker"]
    with running(argv, env, log) as serve:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", timeout=90, process=serve)
        deadline = time.monotonic() + 90
        while log.read_text().count("Started server process") < 2:  # the second one too
            assert time.monotonic() < deadline and serve.poll() is None, log.read_text()
            time.sleep(0.2)
        for _ in range(20):  # each on a new connection: either process may take it
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
                assert response.status == 200
        request = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": f"Bearer {env['METRICS_TOKEN']}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            metrics = response.read().decode()
    counted = re.search(
        r'^lineled_http_requests_total\{method="GET",route="/healthz",status="2xx"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert counted and float(counted.group(1)) >= 20, metrics  # 20, and the start-up probes
    assert "2 web processes" in log.read_text()
