import os
import sys
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lineled.lib.env import env_int, env_str
from lineled.lib.procs import Child, Supervisor

UVICORN = "-m uvicorn lineled.asgi:application --ws websockets-sansio --lifespan off"
WORKER = "-m celery -A lineled worker -l INFO -n worker@%h"
BEAT = "-m celery -A lineled beat -l INFO"
MANAGE = str(settings.BASE_DIR / "manage.py")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Command(BaseCommand):
    help = (
        "Serve Line Lead in the foreground: the ASGI web server (uvicorn), one Celery "
        "worker, Celery beat and the monitoring watchdog (which samples when no worker "
        "does, so a stopped worker still raises its alert). A worker, beat or watchdog "
        "that dies is restarted with back-off; one Ctrl-C or SIGTERM stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=env_str("HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=env_int("PORT", 8000, minimum=1, maximum=65535)
        )
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, host, port, no_worker, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a TCP port")
        if settings.DEBUG and host not in LOOPBACK:
            raise CommandError(
                f"DEBUG is on: serve on 127.0.0.1, not {host}. Debug pages show settings, "
                "paths and code to whoever gets one; turn DEBUG off to serve a network."
            )
        py = [sys.executable]
        web = [*UVICORN.split(), "--host", host, "--port", str(port)]
        children = [Child("web", py + web + ["--timeout-graceful-shutdown", "10"])]
        if not no_worker:
            concurrency = str(env_int("WORKER_CONCURRENCY", 2, minimum=1))
            # A dead worker (killed for its memory, say), beat or watchdog is started
            # again with back-off; only the web server's exit stops everything.
            worker = py + WORKER.split() + ["--concurrency", concurrency]
            children.append(Child("worker", worker, restart=True))
            children.append(Child("beat", py + BEAT.split(), restart=True))
            watch = py + [MANAGE, "sample_metrics", "--watch", "10"]
            children.append(Child("watch", watch, restart=True))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        supervisor = Supervisor(children, env, out=self.stdout._out)
        local = host in ("0.0.0.0", "127.0.0.1", "::", "localhost")
        url = f"http://{'localhost' if local else host}:{port}/"
        probe = f"http://127.0.0.1:{port}/healthz" if local else f"{url}healthz"
        announced = False

        def announce_when_up():
            nonlocal announced
            if announced:
                return
            try:
                with urllib.request.urlopen(probe, timeout=1):
                    announced = True
            except OSError:
                return
            supervisor.say(f"Line Lead is running at {url}  ({_profile()}; Ctrl-C stops it)")

        supervisor.start()
        sys.exit(supervisor.wait(on_tick=announce_when_up))


def _profile() -> str:
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    return f"profile {settings.LINELED_ENV}: {db} database, {broker} broker"
