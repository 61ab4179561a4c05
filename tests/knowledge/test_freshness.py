"""How a process's in-memory copies of the store learn that it changed."""

import pytest

from knowledge import freshness
from knowledge.models import Chunk, Document

pytestmark = pytest.mark.django_db


class Clock:
    """``time.monotonic`` as freshness reads it, moved by hand."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def add_chunk():
    document = Document.objects.create(title="Fryer", filename="fryer.md", checksum="f" * 64)

    def add(n: int) -> None:
        Chunk.objects.create(document=document, order=n, text=f"passage {n}")

    return add


def test_a_change_by_another_process_is_seen_after_the_check_interval(add_chunk, monkeypatch):
    clock = Clock(10_000.0)
    monkeypatch.setattr(freshness.time, "monotonic", clock)
    monkeypatch.setattr(freshness, "CHECK_SECONDS", 60)
    version = freshness.Version(Chunk.objects.all)
    add_chunk(1)
    first = version.current()
    add_chunk(2)  # as another process would: nobody tells this one
    clock.now += 59
    assert version.current() == first  # not counted again within the interval
    clock.now += 2
    assert version.current() == (2, first[1] + 1)


def test_forget_makes_the_next_read_count_again_however_young_the_machine(add_chunk, monkeypatch):
    """``time.monotonic`` starts near zero at boot: a forgotten copy must not look
    recent on a machine up for less than CHECK_SECONDS."""
    monkeypatch.setattr(freshness.time, "monotonic", Clock(5.0))  # up for five seconds
    monkeypatch.setattr(freshness, "CHECK_SECONDS", 3600)
    version = freshness.Version(Chunk.objects.all)
    add_chunk(1)
    first = version.current()
    add_chunk(2)  # this process changed the store, and says so:
    freshness.forget()
    assert version.current() == (2, first[1] + 1)
