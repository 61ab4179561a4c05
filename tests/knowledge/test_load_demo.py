"""The demo manuals load into a fresh store, and loading again changes nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from knowledge.demo import loader
from knowledge.models import Chunk, Document
from knowledge.search import search

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def load_json() -> list[dict]:
    out = StringIO()
    call_command("load_demo", "--json", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_load_demo_ingests_every_manual_with_its_title_and_is_searchable():
    rows = load_json()
    assert len(rows) == len(loader.manual_paths()) >= 5
    assert {r["status"] for r in rows} == {"ready"}
    assert {r["action"] for r in rows} == {"added"}
    fryer = Document.objects.get(filename="hb-eq-101-fryer.pdf")
    assert fryer.title == "Harbor Burger Co. Open-Well Fryer (HB-EQ-101)"
    assert fryer.page_count == 6 and fryer.pages.filter(image="").count() == 0
    assert search("how long do fries cook", top_k=3)[0].filename == "hb-eq-101-fryer.pdf"


def test_loading_again_keeps_the_same_documents_and_repairs_a_failed_one():
    first = load_json()
    chunks = Chunk.objects.count()
    broken = Document.objects.get(pk=first[0]["id"])
    Document.objects.filter(pk=broken.pk).update(status=Document.Status.FAILED, error="boom")
    second = load_json()
    assert [r["id"] for r in second] == [r["id"] for r in first]
    actions = {r["id"]: r["action"] for r in second}
    assert actions.pop(broken.pk) == "reingested"
    assert set(actions.values()) == {"present"}
    assert Document.objects.count() == len(first)
    assert Chunk.objects.count() == chunks
    assert Document.objects.get(pk=broken.pk).status == Document.Status.READY


def test_the_plain_output_names_each_manual():
    out = StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    assert "Harbor Burger Co. Dish Machine (HB-EQ-105) (4 pages" in text
    assert "Demo manuals ready: 7 (7 loaded now)." in text


def test_manuals_ingested_by_older_rules_are_ingested_again():
    from knowledge import services

    first = load_json()
    old = first[1]["id"]
    Document.objects.filter(pk=old).update(ingest_version=services.INGEST_VERSION - 1)
    actions = {r["id"]: r["action"] for r in load_json()}
    assert actions.pop(old) == "reingested"
    assert set(actions.values()) == {"present"}
    assert Document.objects.get(pk=old).ingest_version == services.INGEST_VERSION
