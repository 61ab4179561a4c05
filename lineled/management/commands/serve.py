import os
import shutil
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


def web_processes(requested: int | None = None) -> int:
    """How many web processes to serve with: ``requested``, or by default one per core
    with a shared channel layer (Redis), else one (``WEB_CONCURRENCY``, which uvicorn
    and gunicorn read too, overrides the default). CommandError for more than one on
    the embedded profile's in-memory channel layer, which is one process's."""
    default = (os.cpu_count() or 1) if settings.REDIS_URL else 1
    web = env_int("WEB_CONCURRENCY", default, minimum=1) if requested is None else requested
    if web < 1:
        raise CommandError(f"--web {web}: at least one web process is needed")
    if web > 1 and not settings.REDIS_URL:
        raise CommandError(
            f"--web {web} needs REDIS_URL: without it the channel layer is in memory, "
            "one process's, so an answer or a notification sent from one web process "
            "would never reach a socket held by another. Set REDIS_URL (and "
            "DATABASE_URL for PostgreSQL) to serve with several web processes."
        )
    return web


class Command(BaseCommand):
    help = (
        "Serve Line Lead in the foreground: the ASGI web server (uvicorn, --web processes "
        "behind one port), one Celery worker, Celery beat and the monitoring watchdog "
        "(which samples when no worker does, so a stopped worker still raises its alert). "
        "A worker, beat or watchdog that dies is restarted with back-off, a web process "
        "by uvicorn; one Ctrl-C or SIGTERM stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=env_str("HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=env_int("PORT", 8000, minimum=1, maximum=65535)
        )
        parser.add_argument(
            "--web",
            type=int,
            metavar="N",
            default=None,
            help="web (ASGI) processes sharing the port: default one per core with "
            "REDIS_URL, one without (WEB_CONCURRENCY overrides the default)",
        )
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, host, port, web, no_worker, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a TCP port")
        web = web_processes(web)
        if settings.DEBUG and host not in LOOPBACK:
            raise CommandError(
                f"DEBUG is on: serve on 127.0.0.1, not {host}. Debug pages show settings, "
                "paths and code to whoever gets one; turn DEBUG off to serve a network."
            )
        py = [sys.executable]
        uvicorn = [*UVICORN.split(), "--host", host, "--port", str(port)]
        uvicorn += ["--timeout-graceful-shutdown", "10"]
        if web > 1:
            uvicorn += ["--workers", str(web)]  # uvicorn restarts a web process that dies
        children = [Child("web", py + uvicorn)]
        if not no_worker:
            concurrency = str(env_int("WORKER_CONCURRENCY", 2, minimum=1))
            # A dead worker (killed for its memory, say), beat or watchdog is started
            # again with back-off; only the web server's exit stops everything.
            worker = py + WORKER.split() + ["--concurrency", concurrency]
            children.append(Child("worker", worker, restart=True))
            children.append(Child("beat", py + BEAT.split(), restart=True))
            watch = py + [MANAGE, "sample_metrics", "--watch", "10"]
            children.append(Child("watch", watch, restart=True))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **_metrics_folder(web)}
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
            processes = f"{web} web processes" if web > 1 else "one web process"
            supervisor.say(
                f"Line Lead is running at {url}  ({_profile()}, {processes}; Ctrl-C stops it)"
            )

        supervisor.start()
        sys.exit(supervisor.wait(on_tick=announce_when_up))


def _profile() -> str:
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    return f"profile {settings.LINELED_ENV}: {db} database, {broker} broker"


def _metrics_folder(web: int) -> dict[str, str]:
    """With several web processes, each counts its HTTP requests into files of a folder
    emptied at start, and ``/metrics`` adds every process's up (prometheus_client's
    multiprocess mode): otherwise a scrape would get the counts of whichever process
    answered it."""
    if web == 1:
        return {}
    folder = settings.VAR_DIR / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(folder)}
