"""Email and webhook notifications of alert changes, sent by a task and retried.

Each is a ``Notification`` row first, so a slow or failing mail server or chat tool
never holds up sampling, and what was sent (or why not) is on record. The task that
sends one lives here, beside what it runs: alerts queue it, and nothing it runs queues
anything back.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from lineled.errors import NotFound
from monitoring.models import Alert, Notification
from monitoring.schemas import NotificationOut

logger = logging.getLogger(__name__)


def notify(alert: Alert, event: str) -> list[Notification]:
    """A notification of the change for each channel configured, each sent by a worker
    once the transaction commits (when the broker is down, the watchdog sends it)."""
    wanted = []
    if settings.ALERT_EMAILS:
        wanted.append((Notification.Channel.EMAIL, ", ".join(settings.ALERT_EMAILS)))
    if settings.ALERT_WEBHOOK_URL:
        wanted.append((Notification.Channel.WEBHOOK, settings.ALERT_WEBHOOK_URL))
    created = []
    for channel, target in wanted:
        notification = Notification.objects.create(
            alert=alert, event=event, channel=channel, target=target
        )
        deliver_notification.delay_on_commit(notification.pk)
        created.append(notification)
    return created


@shared_task(
    name="monitoring.deliver_notification",
    bind=True,
    max_retries=8,
    ignore_result=True,
    robust_on_commit=True,  # deliver_due (the watchdog) sends what was never queued
)
def deliver_notification(self, notification_id: int) -> None:
    """Send one alert notification; a failure is recorded and tried again later."""
    if deliver(notification_id) == Notification.Status.PENDING:
        raise self.retry(countdown=_seconds_to_next_attempt(notification_id))


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


def _seconds_to_next_attempt(notification_id: int) -> int:
    row = Notification.objects.filter(pk=notification_id).values("next_attempt_at").first()
    if row is None:
        return 60
    return max(1, int((row["next_attempt_at"] - timezone.now()).total_seconds()))


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


def notification_payload(notification: Notification) -> NotificationOut:
    alert = notification.alert
    return NotificationOut(
        event=notification.event,
        alert=alert,
        text=f"[Line Lead] {notification.event}: {alert.message}",
    )


def _send(notification: Notification) -> None:
    payload = notification_payload(notification)
    alert = notification.alert
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(
            subject=f"[Line Lead] {alert.severity} alert {notification.event}: {alert.metric}",
            message=payload.text,
            from_email=None,
            recipient_list=[a.strip() for a in notification.target.split(",") if a.strip()],
        )
    else:
        response = httpx.post(notification.target, json=payload.model_dump(mode="json"), timeout=10)
        response.raise_for_status()
