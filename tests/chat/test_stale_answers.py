"""Every answer ends done or failed: one a stopped or stalled process left pending or
streaming is failed by the sweep (beat, every minute; and when a worker starts), with
the reason, once it is older than any answer may run."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from chat import services, tasks
from chat.models import Message

pytestmark = pytest.mark.django_db


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
    left_pending = turn(conversation, "pending", stale + 5)
    being_written = turn(conversation, "streaming", 5)
    finished = turn(conversation, "done", stale + 5)

    assert tasks.fail_stale_answers() == 2

    for answer in (left_streaming, left_pending):
        answer.refresh_from_db()
        assert answer.status == "failed" and answer.finished_at is not None
        assert answer.error.startswith("the answer was left unfinished: the server process")
        assert answer.text == "Fries cook for"  # what was written is kept
    being_written.refresh_from_db()
    finished.refresh_from_db()
    assert (being_written.status, finished.status) == ("streaming", "done")
    assert tasks.fail_stale_answers() == 0


def test_the_sweep_is_on_beats_schedule_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["fail-stale-answers"]
    assert entry["task"] == tasks.fail_stale_answers.name
    assert entry["schedule"] == timedelta(minutes=1)
