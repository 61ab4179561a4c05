"""Database lanes: answers' database work overlaps, a sync caller keeps its connection."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model

from lineled.lanes import lane


def test_one_slow_call_does_not_hold_up_the_next_one():
    """An answer waiting on a slow query must not hold up another answer's query (on
    asgiref's one shared thread the second waited for the first)."""
    released = threading.Event()

    def slow():
        return released.wait(timeout=10)

    def quick():
        return "quick"

    async def both():
        waiting = asyncio.ensure_future(lane(slow)())
        done = await asyncio.wait_for(lane(quick)(), timeout=5)
        released.set()
        return done, await waiting

    assert asyncio.run(both()) == ("quick", True)


@pytest.mark.django_db
def test_a_sync_caller_keeps_its_thread_and_sees_its_own_uncommitted_rows():
    get_user_model().objects.create_user("dana")  # inside the test's open transaction
    caller = threading.get_ident()

    def look():
        return threading.get_ident(), get_user_model().objects.filter(username="dana").exists()

    async def ask():
        return await lane(look)()

    assert async_to_sync(ask)() == (caller, True)
