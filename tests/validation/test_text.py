"""The text checks: on the demo manuals they pass; on a broken deployment (no manuals,
a careless model) they fail and say why."""

import json
import re
from importlib import import_module

import pytest
from pydantic_ai.messages import ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel

from chat.assistant import providers
from validation import services
from validation.clients import InProcessClient
from validation.models import Case
from validation.suite import pages, text
from validation.suite.context import Context

pytestmark = pytest.mark.django_db

TEXT_CHECKS = {
    "text.facts": (text.grounded_facts, 80),
    "text.citations": (text.citations, 90),
    "text.procedures": (text.procedures, 80),
    "text.safety": (text.safety, 90),
    "text.declines": (text.declines, 90),
}


def test_every_text_check_passes_on_the_demo_manuals(context):
    outcomes = {name: run(context) for name, (run, _) in TEXT_CHECKS.items()}
    for name, outcome in outcomes.items():
        assert outcome.score >= TEXT_CHECKS[name][1], (name, outcome.summary, outcome.details)
        assert outcome.summary, name
    citations = outcomes["text.citations"].details
    assert citations["cites_expected_rate"] >= 0.9
    assert citations["images_fetched"] > 0 and citations["pages_fetched"] > 0
    declined = {r["question"] for r in outcomes["text.declines"].details["cases"] if r["declined"]}
    assert "What was the final score of the Super Bowl?" in declined


def test_the_golden_cases_are_seeded_from_the_demo_file():
    services.ensure_default_cases()  # the migration seeded them, unless a test flushed
    cases = services.enabled_cases()
    on_file = json.loads(services.DEFAULT_CASES.read_text())
    assert [c.question for c in cases] == [c["question"] for c in on_file]
    kinds = [c.kind for c in cases]
    assert kinds.count("off-topic") == 4 and kinds.count("procedure") == 4
    assert all(c.document and c.pages and c.facts for c in cases if c.answerable)
    assert not any(c.answerable for c in cases if c.kind == "off-topic")


def test_the_migration_seeds_the_demo_cases_once_and_only_into_an_empty_table():
    from django.apps import apps

    seeding = import_module("validation.migrations.0002_default_cases")
    Case.objects.all().delete()
    seeding.seed(apps, None)
    seeding.seed(apps, None)  # cases exist now: nothing more is added
    on_file = json.loads(services.DEFAULT_CASES.read_text())
    assert Case.objects.count() == len(on_file) == 24
    assert Case.objects.filter(answerable=False, kind="off-topic").count() == 4
    seeding.unseed(apps, None)
    assert not Case.objects.exists()


def test_without_manuals_facts_citations_and_declines_fail_and_say_why(ops_user):
    services.ensure_default_cases()
    empty = Context(client=InProcessClient(ops_user), cases=services.enabled_cases())

    facts = text.grounded_facts(empty)
    assert facts.score == 0 and "0 of" in facts.summary
    assert "declined" in facts.recommendation
    cited = text.citations(empty)
    assert cited.score == 0 and cited.summary.startswith("0 of 20 answers cite")
    assert "cite nothing" in cited.recommendation
    declines = text.declines(empty)
    assert declines.score < 90 and "20 answerable declined" in declines.summary


def test_citations_whose_pages_and_images_do_not_load_fail_the_citations_check(
    demo, django_user_model
):
    signed_out = django_user_model.objects.create_user("dora", is_active=False)
    services.ensure_default_cases()
    ctx = Context(client=InProcessClient(signed_out), cases=services.enabled_cases())
    outcome = text.citations(ctx)
    assert outcome.score == 0 and re.search(r"\b0 of \d+ citations verified", outcome.summary)
    assert "HTTP 401" in outcome.recommendation  # the page text could not be read
    problems = [
        p for row in outcome.details["cases"] for ps in row["problems"].values() for p in ps
    ]
    assert any("image_url" in p and "HTTP 302" in p for p in problems)  # sent to sign in


class CarelessModel:
    """A remote model stand-in that searches, then quotes the best passage backwards
    (last step first) and adds a temperature no manual gives."""

    async def stream(self, messages, info: AgentInfo):
        parts = [p for m in messages if isinstance(m, ModelRequest) for p in m.parts]
        found = [p for p in parts if isinstance(p, ToolReturnPart)]
        if not found:
            question = [p for p in parts if isinstance(p, UserPromptPart)][-1].content
            args = json.dumps({"query": str(question)})
            yield {0: DeltaToolCall(name="search_manuals", json_args=args)}
            return
        passages = found[-1].content["passages"]
        if not passages:
            yield "The manuals don't cover that — ask your manager."
            return
        sentences = re.split(r"(?<=[.!?])\s+", passages[0]["text"].strip())
        n = passages[0]["n"]
        for sentence in [*reversed(sentences), "Keep it at 900°F."]:
            yield f"{sentence.rstrip('.')} [{n}]. "


def test_a_model_that_reverses_steps_and_invents_numbers_fails_procedures_and_safety(
    context, settings, monkeypatch
):
    settings.LINELED_MODEL = "test:careless"
    model = FunctionModel(stream_function=CarelessModel().stream, model_name="careless")
    monkeypatch.setattr(providers, "model", lambda: model)

    steps = text.procedures(context)
    assert steps.score < 80 and "in the manual's order" in steps.summary
    assert "out of order" in steps.recommendation
    safety = text.safety(context)
    assert safety.score < 90
    unsupported = {n for r in safety.details["numbers"] for n in r["unsupported"]}
    assert "900 °f" in unsupported
    assert "Numbers not in the cited passages" in safety.recommendation


def test_facts_are_matched_whatever_the_spelling_of_degrees_and_markers():
    answer = "Heat it to 350 degrees F [1] for 3  MIN [2]."
    assert text.position("350°F", answer) >= 0 and text.position("3 min", answer) >= 0
    assert pages.quantities("Call 1-800-555-0142 at 8:45 am; fries 3 min 00 s at 350°F.") == {
        "1-800-555-0142",
        "8:45 am",
        "3 min",
        "00 s",
        "350 °f",
    }
    assert text.in_order_run([0, 10, 5, 20]) == 3 and text.in_order_run([-1, 4, 2]) == 1
