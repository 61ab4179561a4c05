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
    event = {"type": "notify.event", "group": group, "kind": kind, "payload": payload}

    def _send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(group, event)
        except Exception:
            logger.warning("could not push %s to %s", kind, group, exc_info=True)

    if on_commit:
        transaction.on_commit(_send)
    else:
        _send()


# --- Access changes -------------------------------------------------------------------
# Sockets keep the user they connected as; these tell them to look again when an
# account or its role groups change, so access ends when the role does (a socket also
# checks on each question, for changes made where these signals are not heard).


def access_changed(user_ids) -> None:
    """Tell the sockets of these users, after commit, to re-check their access."""
    groups = [user_group(pk) for pk in set(user_ids)]
    if not groups:
        return

    def _send() -> None:
        layer = get_channel_layer()
        try:
            for group in groups:
                async_to_sync(layer.group_send)(group, {"type": "access.changed"})
        except Exception:  # the save stands; sockets still re-check on each question
            logger.warning("could not tell sockets that access changed", exc_info=True)

    transaction.on_commit(_send)


def on_user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if created or (update_fields and set(update_fields) <= {"last_login"}):
        return  # a new account has no sockets; signing in changes no access
    access_changed([instance.pk])


def on_user_deleted(sender, instance, **kwargs) -> None:
    access_changed([instance.pk])


def on_groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """``user.groups`` changed, or (``reverse``) a group's ``user_set``."""
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if not reverse:
        if action != "pre_clear":
            access_changed([instance.pk])
    elif action == "pre_clear":  # the members are known only before they are removed
        access_changed(instance.user_set.values_list("pk", flat=True))
    elif pk_set:
        access_changed(pk_set)


def on_group_deleted(sender, instance, **kwargs) -> None:
    access_changed(instance.user_set.values_list("pk", flat=True))
