"""Push events to the browsers of a user or a role, from any process.

Consumers in ``lineled.consumers`` join ``user.<id>`` and ``role.<name>`` groups;
these helpers send to them through the channel layer (Redis in production, so a
Celery worker can reach a browser connected to any web process).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from lineled.roles import Role

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def role_group(role: Role) -> str:
    return f"role.{role.label}"


def send(group: str, kind: str, payload: dict, *, on_commit: bool = True) -> None:
    """Send ``{"kind": kind, **payload}`` to every socket in ``group``.

    By default it waits for the current transaction to commit, so a browser never
    hears about a row it cannot read yet. A push is a courtesy (pages refresh on their
    own): when the channel layer is down it is logged and dropped, never raised, so the
    work that caused it (a sampling pass, a validation run) stands. Raising from an
    on-commit callback would fail that work after its rows were already saved.
    """
    event = {"type": "notify.event", "kind": kind, "payload": payload}

    def _send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(group, event)
        except Exception:
            logger.warning("could not push %s to %s", kind, group, exc_info=True)

    if on_commit:
        transaction.on_commit(_send)
    else:
        _send()
