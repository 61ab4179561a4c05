"""Every answer ends done or failed: one a stopped or stalled process left pending or
streaming is failed by the sweep (when a worker starts, and every minute by beat), with
the reason, once it is older than any answer may run."""

from datetime import timedelta

import pytest
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from chat import services, tasks
from chat.models import Message

# The start-up sweep closes the database connections it used: no test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def turn(conversation, status: str, age_s: float) -> Message:
    at = timezone.now() - timedelta(seconds=age_s)
    question = Message.objects.create(
        conversation=conversation, role="user", text="how long do fries cook", created_at=at
    )
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        status=status,
        text="Fries cook for",
        reply_to=question,
        created_at=at,
    )


def test_answers_left_unfinished_by_a_dead_process_are_failed_with_the_reason(alice):
    conversation = services.create_conversation(alice)
    stale = settings.CHAT_STALE_ANSWER_SECONDS
    left_streaming = turn(conversation, "streaming", stale + 5)
    being_written = turn(conversation, "streaming", 5)
    finished = turn(conversation, "done", stale + 5)

    worker_ready.send(sender=None)  # a worker starts after the crash

    left_streaming.refresh_from_db()
    assert left_streaming.status == "failed" and left_streaming.finished_at is not None
    assert left_streaming.error.startswith("the answer was left unfinished: the server process")
    assert left_streaming.public_error == "the assistant could not finish this answer"
    assert left_streaming.text == "Fries cook for"  # what was written is kept
    being_written.refresh_from_db()
    finished.refresh_from_db()
    assert (being_written.status, finished.status) == ("streaming", "done")

    # Beat's sweep, a minute later, takes what has grown stale since.
    left_pending = turn(conversation, "pending", stale + 5)
    assert tasks.fail_stale_answers() == 1
    left_pending.refresh_from_db()
    assert left_pending.status == "failed"
    assert settings.CELERY_BEAT_SCHEDULE["fail-stale-answers"]["task"] == "chat.fail_stale_answers"
