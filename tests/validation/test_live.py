"""Live mode: ``manage.py validate --live URL --token T`` against the real app served by
uvicorn, with a worker, on the demo manuals; every answer comes over HTTP."""

import json
import os
from pathlib import Path

import httpx
import pytest

from chat.models import Conversation
from knowledge.demo import loader
from lineled.services import create_token
from tests.support import celery_worker, child_env, run_python, web_server
from validation import services
from validation.clients import InProcessClient, LiveClient
from validation.models import Run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    """The app and a worker sharing a var folder (a filesystem broker, and the media
    folder the manuals are ingested into); yields the base URL and the folder."""
    var = tmp_path_factory.mktemp("live-var")
    # A loaded machine answers fifty users slowly; these tests judge the live path, and
    # leave the speed to `validate` and `bench`, so a slow answer is not an error here.
    env = {
        "LINELED_VAR_DIR": str(var),
        "REDIS_URL": "",
        "DEBUG": "false",
        "LINELED_MODEL_TIMEOUT_SECONDS": "300",
        # The fifty users are one token here: the server's per-user limits would refuse
        # them (a deployment validated live needs the same, for the validation user).
        "ANSWERS_PER_USER": "100",
        "RATE_ASK": "off",
        "RATE_CONVERSATIONS": "off",
        "RATE_API_USER": "off",
    }
    with celery_worker(var, "celery", **env), web_server(var, **env) as base:
        yield base, var


@pytest.fixture
def server(stack):
    return stack[0]


@pytest.fixture
def manuals(stack, settings):
    """The demo manuals, ingested into the server's media folder, and the golden cases."""
    settings.MEDIA_ROOT = stack[1] / "media"
    services.ensure_default_cases()
    return loader.load()


@pytest.fixture
def token(charlie):
    return create_token(charlie, "validation")[1]


def validate_live(base: str, token: str, category: str) -> dict:
    argv = ["manage.py", "validate", "--live", base, "--token", token, "--category", category]
    done = run_python([*argv, "--json"], child_env(), timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def logs(stack) -> str:
    return "\n".join((stack[1] / name).read_text()[-3000:] for name in ("web.log", "worker.log"))


def test_the_text_tests_ask_the_live_server_and_keep_its_answers(
    manuals, stack, server, token, charlie
):
    report = validate_live(server, token, "text")

    assert report["mode"] == "live" and report["target"] == server
    assert report["status"] == "done"
    tests = {t["id"]: t for t in report["tests"]}
    assert set(tests) == {
        "text.facts",
        "text.citations",
        "text.procedures",
        "text.safety",
        "text.declines",
    }
    facts = tests["text.facts"]
    assert facts["passed"], (facts["summary"], logs(stack))
    rows = facts["details"]["cases"]
    assert rows and all(r["answer"] for r in rows)
    assert any("350" in r["answer"] for r in rows)  # the fryer manual's figures, served live
    # The server answered as the token's user: the questions are in charlie's conversations.
    assert Conversation.objects.filter(user=charlie).count() >= len(rows)
    citations = tests["text.citations"]
    assert citations["passed"], (citations["summary"], citations["details"])


def test_the_integration_tests_reach_the_live_server_and_its_worker(manuals, stack, server, token):
    report = validate_live(server, token, "integration")

    tests = {t["id"]: t for t in report["tests"]}
    assert len(tests) == 5 and all(t.startswith("integration.") for t in tests)
    for test in tests.values():
        assert test["details"], test["id"]
        assert "could not run" not in test["summary"], (test["id"], test["summary"])
    for passing in ("integration.retrieval", "integration.ingestion", "integration.celery"):
        assert tests[passing]["passed"], (tests[passing]["summary"], logs(stack))
    # The ping went through the server's API to the worker started above, and back.
    reply = tests["integration.celery"]["details"]["detail"]["result"]
    assert reply["note"] == "validation" and reply["pid"] != os.getpid()
    assert Run.objects.get(pk=report["run"]).target == server


@pytest.mark.timeout(300)
def test_the_performance_tests_load_the_live_server_and_read_its_memory(manuals, server, token):
    report = validate_live(server, token, "performance")

    tests = {t["id"]: t for t in report["tests"]}
    assert len(tests) == 5
    assert all("could not run" not in t["summary"] for t in tests.values()), report
    throughput = tests["perf.throughput"]["details"]
    assert throughput["answered"] > 0 and throughput["errors"] == 0, throughput["error_kinds"]
    users = tests["perf.concurrent_users"]["details"]
    assert users["users"] == 50 and users["errors"] == 0, users["error_kinds"]
    assert all(u["transcript"] for u in users["each"] if u["mode"] == "voice")
    memory = tests["perf.memory"]["details"]
    assert memory["mode"] == "live" and memory["process"] == "the web server"
    assert memory["before_mb"] > 0 and memory["after_mb"] > 0


def test_memory_is_read_from_the_server_process_not_this_one(server, token):
    status = httpx.get(f"{server}/api/system/status", headers={"Authorization": f"Bearer {token}"})

    process = status.json()["process"]
    assert process["pid"] != os.getpid()
    assert process["rss_mb"] == pytest.approx(_rss_mb(process["pid"]), abs=20)
    assert LiveClient(server, token).memory_mb() == pytest.approx(process["rss_mb"], abs=20)


def test_a_citation_image_loads_with_the_token_a_live_run_uses(manuals, charlie, client):
    _, token = create_token(charlie, "validation")
    conversation = InProcessClient(charlie).conversation()
    answer = InProcessClient(charlie).ask(conversation, "How much oil does each fryer vat hold?")
    image = answer["citations"][0]["image_url"]

    with_token = client.get(image, HTTP_AUTHORIZATION=f"Bearer {token}")
    anonymous = client.get(image)
    revoked = client.get(image, HTTP_AUTHORIZATION="Bearer ll_not-a-real-token")

    assert with_token.status_code == 200 and with_token["Content-Type"] == "image/png"
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert revoked.status_code == 302


def test_a_live_client_waits_out_the_servers_429_and_asks_again(charlie, settings):
    from django.core.wsgi import get_wsgi_application

    settings.RATE_ASK = "1/s"
    transport = httpx.WSGITransport(app=get_wsgi_application())
    live = LiveClient(
        "http://testserver", create_token(charlie, "validation")[1], transport=transport
    )
    conversation = live.conversation()

    answers = [live.ask(conversation, "where is the mop sink") for _ in range(2)]

    assert [a["status"] for a in answers] == ["done", "done"]  # the second after a 429


def test_a_token_that_is_not_an_ops_users_is_refused_before_any_run(server, alice):
    crew_token = create_token(alice, "tablet")[1]

    done = run_python(
        ["manage.py", "validate", "--live", server, "--token", crew_token, "--json"], child_env()
    )

    assert done.returncode == 1
    assert "validation needs an ops user's token" in done.stderr
    assert not Run.objects.exists()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")
