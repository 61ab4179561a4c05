"""``manage.py bench validation``: the suite timed in a sandbox made like ``make run``'s
deployment, a worker included, without touching the store's own data."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from validation.models import Run


def bench(*args: str) -> dict:
    out = StringIO()
    call_command("bench", "validation", "--json", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_it_times_a_run_on_the_demo_manuals_with_a_worker_of_its_own():
    vocabularies = settings.VAR_DIR / "voice" / "lm"
    before = sorted(vocabularies.iterdir()) if vocabularies.exists() else []

    result = bench("--category", "integration")

    assert result["status"] == "done" and result["manuals"] == 7 and result["cases"] > 0
    assert result["worker"] == "started"
    ids = [t["id"] for t in result["tests"]]
    assert ids == [
        "integration.retrieval",
        "integration.ingestion",
        "integration.celery",
        "integration.errors",
        "integration.monitoring",
    ]
    assert result["failed"] == {}, result["failed"]  # the worker answered, monitoring sampled
    assert list(result["categories"]) == ["integration"]
    assert result["categories"]["integration"]["passed"] == 5
    assert result["duration_s"] > 0 and result["prepared_s"] > 0
    assert result["targets"] == {"duration_s": 60.0, "readiness": "READY", "score": 95.0}
    assert result["meets_targets"]["ready"] is False  # one category is not the full suite
    # It ran in a sandbox: no run here, and the store's speech vocabulary is as it was.
    assert not Run.objects.exists()
    after = sorted(vocabularies.iterdir()) if vocabularies.exists() else []
    assert after == before


def test_an_unknown_category_is_refused_before_anything_runs():
    with pytest.raises(CommandError, match="invalid choice: 'speed'"):
        bench("--category", "speed")
