import os
import socket

from celery import shared_task
from django.utils import timezone


def _whoami() -> dict:
    return {"hostname": socket.gethostname(), "pid": os.getpid(), "at": timezone.now().isoformat()}


@shared_task(name="lineled.tasks.ping")
def ping(note: str = "") -> dict:
    """Answer with the worker's identity: proves a message crossed the broker."""
    return {**_whoami(), "note": note[:200]}


@shared_task(name="lineled.tasks.heartbeat", ignore_result=False)
def heartbeat() -> dict:
    """Run by beat every minute; its stored result shows beat and a worker are alive."""
    return _whoami()
