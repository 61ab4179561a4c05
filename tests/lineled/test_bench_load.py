"""``manage.py bench load``: users asking at once over the sockets of a private
deployment. Small runs only; the figures of 50 users belong to the README."""

import json
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db(transaction=True)
SPREAD = {"p50", "p95", "max"}


@pytest.fixture(autouse=True)
def _sandbox_of_its_own(settings, tmp_path):
    """The benchmark's SQLite sandbox is a file in VAR_DIR: one per test, so that tests
    running at once do not share it."""
    settings.VAR_DIR = tmp_path


def bench(*args: str) -> dict:
    out = StringIO()
    call_command("bench", "load", "--json", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def assert_timed(figures: dict, answers: int) -> None:
    assert figures["answers"] == answers and figures["errors"] == 0, figures["error_kinds"]
    for name in ("first_token_ms", "total_ms"):
        spread = figures[name]
        assert set(spread) == SPREAD
        assert 0 < spread["p50"] <= spread["p95"] <= spread["max"]
    assert figures["first_token_ms"]["max"] <= figures["total_ms"]["max"]


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="the spoken questions need espeak-ng")
def test_typed_and_spoken_questions_of_several_users_are_all_answered_and_timed():
    result = bench("--users", "3", "--questions", "2", "--voice", "1", "--web", "1")

    assert result["benchmark"] == "load"
    assert result["deployment"]["private"] is True
    assert result["deployment"]["web_processes"] == 1
    assert result["plan"]["users"] == 3 and result["plan"]["voice_users"] == 1
    assert_timed(result, 6)
    assert result["questions"] == 6 and result["answers_per_s"] > 0
    assert_timed(result["by_mode"]["text"], 4)
    assert_timed(result["by_mode"]["voice"], 2)
    assert result["cpu_ms_per_answer"] > 0
    memory = result["web_memory_mb"]
    assert len(memory["before"]) == len(memory["after"]) == 1
    assert memory["after"][0] > 100  # a web process holding the models
    assert "after_100" not in memory  # the run did not get there


def test_an_answer_slower_than_the_timeout_is_counted_as_a_timeout():
    result = bench("--users", "2", "--questions", "2", "--timeout", "0.001")

    assert result["answers"] == 0
    # Each user asks again on a new connection after a timeout.
    assert result["errors"] == 4 and result["error_kinds"] == {"timeout": 4}


def test_several_web_processes_share_their_sockets_through_redis(redis_url):
    result = bench("--users", "4", "--questions", "2", "--web", "2")

    assert result["deployment"]["web_processes"] == 2
    assert result["deployment"]["channel_layer"] == "redis"
    assert_timed(result, 8)
    assert len(result["web_memory_mb"]["after"]) == 2


def test_several_web_processes_are_refused_on_the_in_memory_channel_layer(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="--web 2 needs REDIS_URL"):
        bench("--users", "1", "--web", "2")


def test_a_given_url_needs_a_token():
    with pytest.raises(CommandError, match="--url needs --token"):
        bench("--url", "http://127.0.0.1:9")
