"""Email and webhook notifications of alert changes, sent by a task and retried.

Each is a ``Notification`` row first, so a slow or failing mail server or chat tool
never holds up sampling, and what was sent (or why not) is on record.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from lineled.errors import NotFound
from monitoring.models import Alert, Notification

logger = logging.getLogger(__name__)


def create_for(alert: Alert, event: str) -> list[Notification]:
    wanted = []
    if settings.ALERT_EMAILS:
        wanted.append((Notification.Channel.EMAIL, ", ".join(settings.ALERT_EMAILS)))
    if settings.ALERT_WEBHOOK_URL:
        wanted.append((Notification.Channel.WEBHOOK, settings.ALERT_WEBHOOK_URL))
    return [
        Notification.objects.create(alert=alert, event=event, channel=channel, target=target)
        for channel, target in wanted
    ]


def enqueue(notification_id: int) -> None:
    from monitoring.tasks import deliver_notification

    try:
        deliver_notification.delay(notification_id)
    except Exception:  # the broker is down: the watchdog delivers it later
        logger.warning(
            "could not queue notification %s; it stays pending", notification_id, exc_info=True
        )


def deliver(notification_id: int) -> str:
    """Send one notification if it is due; returns its status afterwards.

    A failure is recorded on the row with the time of the next attempt (backing off);
    after ``ALERT_NOTIFY_ATTEMPTS`` tries it is marked failed.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(minutes=5), attempts=F("attempts") + 1)
    notification = Notification.objects.select_related("alert").filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(f"no notification {notification_id}")
    if not claimed:
        return notification.status
    try:
        _send(notification)
    except Exception as exc:
        gave_up = notification.attempts >= settings.ALERT_NOTIFY_ATTEMPTS
        notification.status = Notification.Status.FAILED if gave_up else Notification.Status.PENDING
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        notification.next_attempt_at = now + timedelta(
            seconds=30 * 2 ** (notification.attempts - 1)
        )
        notification.save(update_fields=["status", "last_error", "next_attempt_at"])
        logger.warning(
            "notification %s failed (attempt %s): %s", notification.pk, notification.attempts, exc
        )
        return notification.status
    notification.status, notification.sent_at = Notification.Status.SENT, timezone.now()
    notification.save(update_fields=["status", "sent_at"])
    return notification.status


def deliver_due() -> int:
    """Send every pending notification whose time has come (the watchdog's backstop)."""
    due = Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:50]
    return sum(deliver(pk) == Notification.Status.SENT for pk in list(due))


def retry_notification(notification_id: int) -> str:
    Notification.objects.filter(pk=notification_id).exclude(status=Notification.Status.SENT).update(
        status=Notification.Status.PENDING, next_attempt_at=timezone.now()
    )
    return deliver(notification_id)


def notification_payload(notification: Notification) -> dict:
    from monitoring.services.alerts import alert_json  # alerts imports this module

    alert = notification.alert
    return {
        "event": notification.event,
        "alert": {
            **alert_json(alert),
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "escalated_at": alert.escalated_at.isoformat() if alert.escalated_at else None,
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        },
        "text": f"[Line Lead] {notification.event}: {alert.message}",
    }


def _send(notification: Notification) -> None:
    payload = notification_payload(notification)
    alert = notification.alert
    if notification.channel == Notification.Channel.EMAIL:
        from django.core.mail import send_mail

        send_mail(
            subject=f"[Line Lead] {alert.severity} alert {notification.event}: {alert.metric}",
            message=payload["text"],
            from_email=None,
            recipient_list=[a.strip() for a in notification.target.split(",") if a.strip()],
        )
    else:
        import httpx

        response = httpx.post(notification.target, json=payload, timeout=10)
        response.raise_for_status()
