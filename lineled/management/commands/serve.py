import os
import sys
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lineled.lib.env import env_int, env_str
from lineled.lib.procs import Child, Supervisor


class Command(BaseCommand):
    help = (
        "Serve Line Lead in the foreground: the ASGI web server (uvicorn), one Celery "
        "worker and Celery beat. One Ctrl-C or SIGTERM stops all three."
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
        python = sys.executable
        children = [
            Child(
                "web",
                [
                    python,
                    "-m",
                    "uvicorn",
                    "lineled.asgi:application",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--ws",
                    "websockets-sansio",
                    "--lifespan",
                    "off",
                    "--timeout-graceful-shutdown",
                    "10",
                    "--log-level",
                    "info",
                ],
            )
        ]
        if not no_worker:
            concurrency = str(env_int("WORKER_CONCURRENCY", 2, minimum=1))
            children += [
                Child(
                    "worker",
                    [
                        python,
                        "-m",
                        "celery",
                        "-A",
                        "lineled",
                        "worker",
                        "-l",
                        "INFO",
                        "-n",
                        "worker@%h",
                        "--concurrency",
                        concurrency,
                    ],
                ),
                Child("beat", [python, "-m", "celery", "-A", "lineled", "beat", "-l", "INFO"]),
            ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        supervisor = Supervisor(children, env, out=self.stdout._out)
        shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
        url = f"http://{shown_host}:{port}/"
        announced = False

        def announce_when_up():
            nonlocal announced
            if announced:
                return
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz"
                    if shown_host == "localhost"
                    else f"{url}healthz",
                    timeout=1,
                ):
                    announced = True
            except OSError:
                return
            supervisor.say(
                f"Line Lead is running at {url}  (profile: {_profile()}; Ctrl-C stops it)"
            )

        supervisor.start()
        sys.exit(supervisor.wait(on_tick=announce_when_up))


def _profile() -> str:
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    return f"{settings.LINELED_ENV}, {db}, {broker} broker"
