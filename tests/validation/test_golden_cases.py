"""Golden cases in either question-set format: this project's and the evaluation format
``bench chat`` reads (``must_include``, ``expected_sections``, kind ``off-corpus``),
through every import path (service, API, admin, ``validate --cases``), exported back
with their sections."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from lineled.errors import Invalid
from validation import services
from validation.models import Case

pytestmark = pytest.mark.django_db

# Written in the evaluation format, as a store's own question set would be.
EVALUATION_SET = [
    {
        "id": "ev-1",
        "question": "how long is opened deli ham good for in the cooler?",
        "answerable": True,
        "expected_sections": ["3-501.17"],
        "must_include": ["7 days", "41°F"],
        "kind": "fact",
        "note": "date marking",
    },
    {
        "id": "ev-2",
        "question": "what's the reading we need on the quat bucket?",
        "answerable": True,
        "expected_sections": ["4-501.114", "7-204.11"],
        "must_include": ["ppm"],
        "kind": "multi-section",
    },
    {
        "id": "ev-3",
        "question": "and the chlorine one?",
        "answerable": True,
        "expected_sections": ["4-501.114"],
        "must_include": ["50"],
        "kind": "follow-up",
        "history": ["what's the reading we need on the quat bucket?"],
    },
    {
        "id": "ev-4",
        "question": "can I trade my saturday shift in the scheduling app?",
        "answerable": False,
        "expected_sections": [],
        "must_include": [],
        "kind": "off-corpus",
    },
]


def test_an_evaluation_set_imports_as_golden_cases_with_sections():
    assert services.import_cases(json.dumps(EVALUATION_SET), replace=True) == 4
    deli, quat, chlorine, shift = Case.objects.order_by("pk")
    assert (deli.facts, deli.sections, deli.kind) == (["7 days", "41°F"], ["3-501.17"], "fact")
    assert deli.answerable and deli.document == "" and deli.pages == []
    assert quat.kind == "multi-section" and quat.sections == ["4-501.114", "7-204.11"]
    assert chlorine.history == ["what's the reading we need on the quat bucket?"]
    assert (shift.kind, shift.answerable, shift.sections) == ("off-topic", False, [])
    stored = {c.question: c for c in services.enabled_cases()}
    assert stored[deli.question].sections == ["3-501.17"]
    assert stored[deli.question].judged().sections == ["3-501.17"]


def test_a_follow_up_after_an_earlier_case_is_asked_in_its_conversation():
    chat_format = [
        {"id": "rings", "question": "how long do onion rings cook", "manual": "fryer.pdf"},
        {"id": "fish", "question": "and fish?", "kind": "follow-up", "after": "rings"},
        {"id": "hold", "question": "how long can it sit?", "kind": "follow-up", "after": "fish"},
    ]
    rings, fish, hold = services.parse_cases(chat_format)
    assert rings["document"] == "fryer.pdf" and rings["history"] == []
    assert fish["history"] == ["how long do onion rings cook"]
    assert hold["history"] == ["how long do onion rings cook", "and fish?"]


@pytest.mark.parametrize(
    ("cases", "message"),
    [
        ([{"question": "Q?", "expected_sections": "3-501.17"}], "case 1: expected_sections must"),
        ([{"question": "Q?", "must_include": "7 days"}], "case 1: must_include must be a list"),
        ([{"question": "Q?"}, {"question": "Q?", "sections": [3]}], "case 2: sections are"),
        ([{"question": "Q?", "kind": "trivia"}], "case 1: kind must be one of"),
        ([{"question": "Q?", "kind": ["fact"]}], "case 1: kind must be one of"),
        (
            [{"question": "and then?", "kind": "follow-up", "after": "nope"}],
            "case 1: after names no earlier case",
        ),
    ],
)
def test_bad_evaluation_cases_are_refused_naming_the_case(cases, message):
    services.import_cases([{"question": "Where is the mop sink?"}], replace=True)
    with pytest.raises(Invalid) as refused:
        services.import_cases(json.dumps(cases), replace=True)
    assert refused.value.message.startswith(message)
    assert list(Case.objects.values_list("question", flat=True)) == ["Where is the mop sink?"]


def test_the_api_and_the_admin_import_the_evaluation_format_and_export_sections(charlie):
    client = Client()
    client.force_login(charlie)
    response = client.post(
        "/api/validation/cases?replace=true",
        json.dumps(EVALUATION_SET),
        content_type="application/json",
    )
    assert response.json() == {"imported": 4, "total": 4}
    exported = client.get("/api/validation/cases").json()
    assert exported[0]["sections"] == ["3-501.17"] and exported[0]["facts"] == ["7 days", "41°F"]
    assert exported[3]["kind"] == "off-topic"

    upload = SimpleUploadedFile("eval.json", json.dumps(EVALUATION_SET[:2]).encode())
    page = client.post(
        "/admin/validation/case/import/", {"file": upload, "replace": "on"}, follow=True
    )
    assert "Imported 2 case(s)." in page.content.decode()
    assert [c.sections for c in Case.objects.order_by("pk")] == [
        ["3-501.17"],
        ["4-501.114", "7-204.11"],
    ]
    chosen = list(Case.objects.values_list("pk", flat=True))
    response = client.post(
        "/admin/validation/case/", {"action": "export_json", "_selected_action": chosen}
    )
    assert [c["sections"] for c in json.loads(response.content)] == [
        ["3-501.17"],
        ["4-501.114", "7-204.11"],
    ]


def test_validate_reads_an_evaluation_file_for_one_run(tmp_path, monkeypatch):
    ran = {}

    def run_here(*, cases, **options):
        ran["cases"] = cases
        raise Invalid("stop here: only the cases are checked")

    monkeypatch.setattr(services, "run_here", run_here)
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(EVALUATION_SET))
    with pytest.raises(CommandError, match="stop here"):
        call_command("validate", "--cases", str(path), stdout=io.StringIO())
    assert [c.sections for c in ran["cases"]] == [
        ["3-501.17"],
        ["4-501.114", "7-204.11"],
        ["4-501.114"],
        [],
    ]
    assert [c.kind for c in ran["cases"]][-1] == "off-topic"
    assert not Case.objects.filter(question=EVALUATION_SET[0]["question"]).exists()
