"""The supervisor behind `manage.py serve`: a child marked for restart that dies is
started again with back-off, and the web server keeps serving meanwhile."""

import io
import signal
import sys

from lineled.lib.procs import Child, Supervisor

DIES = "import sys; print('worker up', flush=True); sys.exit(3)"
SERVES = "import time; print('web up', flush=True); time.sleep(60)"


def test_a_dead_worker_is_restarted_with_back_off_and_the_web_server_keeps_serving():
    web = Child("web", [sys.executable, "-c", SERVES])
    worker = Child("worker", [sys.executable, "-c", DIES], restart=True)
    out = io.StringIO()
    supervisor = Supervisor([web, worker], {}, out=out, backoff=(0.1, 0.4), stable=30)
    first_web = None
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def tick():
        nonlocal first_web
        first_web = first_web or web.process.pid
        assert web.process.poll() is None and web.process.pid == first_web
        if out.getvalue().count("restarting it in") >= 4:
            supervisor.stopping.set()

    try:
        supervisor.start()
        code = supervisor.wait(on_tick=tick)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    log = out.getvalue()
    assert code == 0, log
    delays = [line.rsplit(" ", 1)[1] for line in log.splitlines() if "restarting it in" in line]
    assert delays[:4] == ["0.1s", "0.2s", "0.4s", "0.4s"], log  # doubling, up to the most
    assert "worker exited with code 3" in log
    assert log.count("worker | worker up") >= 4
    assert web.process.returncode is not None  # stopped with the rest at the end
    assert "all stopped" in log


def test_a_dead_web_server_still_stops_everything():
    web = Child("web", [sys.executable, "-c", "import sys; sys.exit(2)"])
    worker = Child("worker", [sys.executable, "-c", SERVES], restart=True)
    out = io.StringIO()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        supervisor = Supervisor([web, worker], {}, out=out)
        supervisor.start()
        code = supervisor.wait()
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert code == 2
    assert "web exited with code 2; stopping the rest" in out.getvalue()
    assert worker.process.returncode is not None
