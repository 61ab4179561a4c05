"""``manage.py bench retrieval|ingest``: real figures from a throwaway database.

The command runs in a child process (it creates and drops its own database), on the
same database server as the tests, with its own var/ folder.
"""

import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from knowledge.benchmarks import corpus
from knowledge.demo.loader import MANUALS
from lineled.bench import database_url
from tests import support

SECTIONS = corpus.SHARED_CORPUS / "fda-food-code-2022"
needs_corpus = pytest.mark.skipif(
    not SECTIONS.is_dir(), reason="../shared/corpus is not beside the project"
)


def bench(tmp_path: Path, *args: str):
    env = support.clean_env(SECRET_KEY=settings.SECRET_KEY, LINELED_VAR_DIR=str(tmp_path / "var"))
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = database_url()
    return support.run_python(["manage.py", "bench", *args], env, timeout=300)


def test_bench_ingest_reports_pages_per_second_of_real_pdfs(tmp_path):
    done = bench(
        tmp_path, "ingest", str(MANUALS / "hb-eq-101-fryer.pdf"), "--repeat", "2", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["benchmark"] == "ingest"
    assert (result["files"], result["pages"], result["rounds"]) == (1, 6, 2)
    assert result["chunks"] > 6
    assert len(result["pages_per_second_rounds"]) == 2
    assert result["pages_per_second"] > 0
    assert result["per_file"]["hb-eq-101-fryer.pdf"]["pages"] == 6
    leftovers = list((tmp_path / "var").glob("*.sqlite3"))
    assert leftovers == [], "the benchmark's database must be dropped"


@needs_corpus
def test_bench_retrieval_judges_hits_by_section_and_grows_the_index(tmp_path):
    folder = tmp_path / "sections"
    folder.mkdir()
    for section in ("2-301.12", "3-401.11", "6-501.115", "3-501.16"):
        shutil.copy(SECTIONS / f"{section}.md", folder)
    questions = tmp_path / "questions.json"
    questions.write_text(
        json.dumps(
            [
                {"question": "can a guest bring a dog inside", "sections": ["6-501.115"]},
                {"question": "what temperature to cook chicken", "sections": ["3-401.11"]},
                # Judged against a section that is not there: must count as a miss.
                {"question": "how long to scrub hands", "sections": ["9-999.99"]},
                {"question": "what is the wifi password", "kind": "off-topic"},
            ]
        )
    )
    done = bench(
        tmp_path,
        "retrieval",
        str(folder),
        "--questions",
        str(questions),
        "--chunks",
        "40",
        "--repeat",
        "1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    scores = result["sets"]["questions"]
    assert scores["count"] == 3  # the off-topic question is not judged
    assert scores["hit_at_4"] == pytest.approx(2 / 3, abs=0.001)
    assert [m["question"] for m in scores["misses"]] == ["how long to scrub hands"]
    assert result["documents"] == 4 and result["failed"] == []
    assert result["latency"]["count"] == 4
    assert result["latency"]["p50_ms"] <= result["latency"]["p95_ms"]
    assert result["latency_grown"]["chunks"] >= 40 > result["chunks"]


def test_bench_explains_bad_input(tmp_path):
    done = bench(tmp_path, "retrieval", str(tmp_path / "missing"), "--json")
    assert done.returncode != 0
    assert "does not exist" in done.stderr
    done = bench(tmp_path, "nonsense")
    assert done.returncode != 0
    assert "invalid choice: 'nonsense'" in done.stderr
    questions = tmp_path / "q.json"
    questions.write_text("{not json")
    done = bench(tmp_path, "retrieval", str(MANUALS), "--questions", str(questions))
    assert done.returncode != 0
    assert "cannot read question set" in done.stderr
