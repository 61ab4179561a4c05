"""Validation's verdict, for the apps that report on readiness: monitoring reads it
here, never through validation's models or the app registry."""

from __future__ import annotations

from validation.models import Run


def latest_run() -> Run | None:
    """The newest run, whatever its state or scope (the ops dashboard shows it)."""
    return Run.objects.order_by("-pk").first()


def latest_verdict() -> Run | None:
    """The newest finished run of the whole suite that gave a verdict: READY,
    CONDITIONAL or NOT READY."""
    return (
        Run.objects.filter(status=Run.Status.DONE, category="")
        .exclude(readiness="")
        .order_by("-finished_at")
        .first()
    )
