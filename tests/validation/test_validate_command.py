"""``manage.py validate``: a run in its own process, printed as JSON or as a table."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from lineled.celery import app
from tests.support import celery_worker, child_env, free_port, run_python
from validation import services
from validation.models import Result, Run
from validation.suite import CATEGORIES, all_tests

KEYS = {"run", "score", "success_rate", "readiness", "duration_s", "tests"}
TEST_KEYS = {"id", "category", "name", "score", "passed", "blocking", "details"}


def validate(*args: str) -> str:
    out = io.StringIO()
    call_command("validate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.timeout(600)  # the whole suite, fifty users included, and a wait for the lock
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("one_load_at_a_time")
def test_validate_json_prints_all_25_tests_with_their_scores_and_evidence(demo, tmp_path):
    # Two golden cases of each kind: every test runs on them as on all 24, in a third of
    # the time (what the tests conclude on the whole set is bench validation's to say).
    cases, kinds = [], {}
    for case in json.loads(services.DEFAULT_CASES.read_text()):
        if kinds.setdefault(case["kind"], 0) < 2:
            kinds[case["kind"]] += 1
            cases.append(case)
    chosen = tmp_path / "two-of-each-kind.json"
    chosen.write_text(json.dumps(cases))

    with celery_worker(tmp_path, app.conf.task_default_queue):  # for the Celery round trip
        report = json.loads(validate("--json", "--cases", str(chosen)))

    assert set(report) >= KEYS
    assert len(report["tests"]) == 25
    assert [t["id"] for t in report["tests"]] == [t.id for t in all_tests()]
    assert {t["category"] for t in report["tests"]} == set(CATEGORIES)
    for test in report["tests"]:
        assert set(test) >= TEST_KEYS, test["id"]
        assert 0 <= test["score"] <= 100
        assert test["details"], f"{test['id']} kept no evidence"
        assert test["summary"], f"{test['id']} says nothing"
        if not test["passed"]:
            assert test["details"].get("recommendation"), f"{test['id']} failed without advice"
    run = Run.objects.get(pk=report["run"])
    assert run.status == Run.Status.DONE and run.trigger == Run.Trigger.CLI
    assert run.results.count() == 25
    assert report["readiness"] == run.readiness
    assert report["score"] == pytest.approx(sum(t["score"] for t in report["tests"]) / 25, abs=0.1)
    assert report["duration_s"] > 0  # how long is for `bench`/`validate` figures, not a test


def test_the_table_shows_each_test_its_score_and_the_verdict(demo, tmp_path):
    cases = [c for c in json.loads(services.DEFAULT_CASES.read_text()) if not c.get("history")]
    chosen = tmp_path / "three.json"
    chosen.write_text(json.dumps(cases[:3]))

    table = validate("--category", "text", "--cases", str(chosen))

    run = Run.objects.get()
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["category", "test", "score"]
    for result in run.results.all():
        row = next(line for line in lines if result.name in line)
        assert row.startswith("text")
        assert f"{result.score:.1f}" in row
        assert ("pass" if result.passed else "FAIL") in row
    assert lines[-1 if not run.blocking_failed else -2].startswith(
        f"{run.readiness}: score {run.score}"
    )
    assert f"(run {run.pk})" in table
    evidence = json.dumps([r.details for r in run.results.all()], ensure_ascii=False)
    assert all(c["question"] in evidence for c in cases[:3])  # only the file's cases ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--category", "speed"], "unknown category 'speed'", id="category"),
        pytest.param(["--live", "http://127.0.0.1:9"], "--live needs --token", id="no-token"),
        pytest.param(
            ["--cases", "/nonexistent/cases.json"], "cannot read the cases file", id="no-file"
        ),
        pytest.param(["--cases", "{cases}"], "case 1: a question is required", id="no-question"),
        pytest.param(["--cases", "{not_json}"], "the cases are not JSON", id="not-json"),
        pytest.param(
            ["--live", "http://127.0.0.1:{port}", "--token", "ll_x"],
            "cannot reach http://127.0.0.1:",
            id="unreachable",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_no_run(db, tmp_path, args, message):
    (tmp_path / "cases.json").write_text(json.dumps([{"kind": "fact", "facts": ["350°F"]}]))
    (tmp_path / "broken.json").write_text('[{"question": "How hot is the fryer?"')
    filled = [
        a.format(cases=tmp_path / "cases.json", not_json=tmp_path / "broken.json", port=free_port())
        for a in args
    ]

    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        validate(*filled)

    assert not Run.objects.exists()
    assert not Result.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_deployment_that_is_not_ready_still_exits_zero_with_its_verdict(db):
    services.ensure_default_cases()  # but no manuals: nothing can be answered

    done = run_python(["manage.py", "validate", "--category", "text", "--json"], child_env())

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["readiness"] == "NOT READY"
    assert report["status"] == "done"
    failed = [t["id"] for t in report["tests"] if not t["passed"]]
    assert "text.facts" in failed
    assert {"text.citations", "text.declines"} <= set(report["blocking_failed"])
    assert Run.objects.get().readiness == Run.Readiness.NOT_READY
