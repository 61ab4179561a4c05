"""Celery tasks of the monitoring app: thin wrappers that take ids and call services."""

from celery import shared_task

from monitoring import services


@shared_task(name="monitoring.sample", ignore_result=True)
def sample() -> None:
    """Beat's every-minute sampling pass (skipped if the watchdog just sampled)."""
    services.sample()


@shared_task(name="monitoring.prune", ignore_result=True)
def prune() -> int:
    return services.prune()


@shared_task(name="monitoring.deliver_notification", bind=True, max_retries=8, ignore_result=True)
def deliver_notification(self, notification_id: int) -> None:
    """Send one alert notification; a failure is recorded and tried again later."""
    from monitoring.models import Notification

    status = services.deliver(notification_id)
    if status == Notification.Status.PENDING:
        row = Notification.objects.filter(pk=notification_id).values("next_attempt_at").first()
        from django.utils import timezone

        wait = max(1, int((row["next_attempt_at"] - timezone.now()).total_seconds())) if row else 60
        raise self.retry(countdown=wait)
