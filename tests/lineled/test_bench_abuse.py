"""``manage.py bench abuse``: attacks on a private deployment, each judged safe or not.
Three quick attacks only; the full suite takes minutes and is run by hand."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lineled.benchmarks.abuse import ATTACKS

ROW = {
    "attack", "did", "came_back", "seconds", "attack_s", "healthz", "worker_peak_mb", "left",
    "safe", "rule", "failed",
}  # fmt: skip


def bench(*args: str) -> dict:
    out = StringIO()
    call_command("bench", "abuse", "--json", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_it_attacks_a_deployment_of_its_own_and_judges_each_attack():
    # deactivated-socket saves the admin form on a thread of its own: on PostgreSQL, a
    # database connection left open there kept the sandbox database from being dropped.
    result = bench("--only", "lone-surrogate,big-body,deactivated-socket")

    assert result["benchmark"] == "abuse"
    assert result["deployment"]["worker"] is False  # no attack here needs one
    rows = {row["attack"]: row for row in result["attacks"]}
    assert list(rows) == ["big-body", "lone-surrogate", "deactivated-socket"]  # the suite's order
    for row in rows.values():
        assert set(row) >= ROW, row
        assert row["safe"], row["failed"]
        assert row["healthz"]["probes"] > 0 and row["healthz"]["failed"] == 0
        assert row["left"] == {
            "answers_unfinished": 0,
            "documents_processing": 0,
            "orphan_page_images": 0,
        }
    assert rows["big-body"]["came_back"]["declared"] == 413
    assert "400 from the API" in rows["lone-surrogate"]["rule"]
    assert rows["deactivated-socket"]["came_back"]["admin save"] == 302
    assert result["summary"] == {"attacks": 3, "safe": 3, "unsafe": [], "left_after_run": 0}
    assert result["all_safe"] is True


def test_an_unknown_attack_is_refused_before_anything_starts():
    with pytest.raises(CommandError, match="unknown attack 'fork-bomb'; the attacks are: "):
        bench("--only", "big-body,fork-bomb")
    assert "worker-kill" in ATTACKS
