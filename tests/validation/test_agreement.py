"""Validation and ``bench chat`` judge alike, on documents nobody on the team wrote.

The shared development question set (shared/eval) is imported as golden cases into a
store holding part of the Food Code corpus (its chapter 2 PDF, ingested by ``bench
chat``'s own ``build_store``: agreement does not need the whole corpus, and a store
that lacks some answers gives both judges declines and misses to agree on as well).
``bench chat``'s code asks the questions and computes its figures
(``chat.benchmarks.chat.ask_all`` and ``quality``); the five text tests then judge the
very same answers, and the figures in their details must equal the benchmark's within
0.03. The absolute figures say how good the assistant is; this test only says that
validation tells the same story as the benchmark.

Cost: about 15 s for the whole set (92 questions) once the chapter's embeddings are
cached under var/cache; the first run on a machine takes about 20 s more to make them.
"""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from chat import judging
from chat import services as chat
from chat.benchmarks import chat as bench
from chat.models import Message
from knowledge.benchmarks import corpus
from validation import services
from validation.clients import InProcessClient
from validation.suite import all_tests
from validation.suite.context import Context
from validation.suite.pages import Pages

SHARED = Path(settings.BASE_DIR).parent / "shared"
QUESTIONS = SHARED / "eval" / "dev_questions.json"
CORPUS = SHARED / "corpus"
FIGURES = (
    "fact_recall",
    "section_cited",
    "decline_accuracy",
    "false_decline_rate",
    "follow_up_accuracy",
)
TOLERANCE = 0.03

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not QUESTIONS.exists() or not CORPUS.exists(),
        reason=f"the shared evaluation set or corpus is not here ({QUESTIONS}, {CORPUS})",
    ),
]


class Replay(InProcessClient):
    """The answers ``bench chat`` got, given back by question; pages and images are
    read through the services as a validation run reads them."""

    def __init__(self, user, answers: dict[str, dict]):
        super().__init__(user)
        self.answers = answers

    def conversation(self) -> int:
        return 0

    def ask(self, conversation: int, text: str) -> dict:
        return self.answers.get(text) or {"text": "", "citations": []}


def ask_as_bench_does(entries: list[dict], path: Path, monkeypatch, user) -> tuple[dict, dict]:
    """``bench chat``'s figures over ``entries``, and each final answer as the API
    shows it (``MessageOut``'s JSON), by question."""
    path.write_text(json.dumps(entries))
    shown = {}
    ask = bench.ask

    def keeping(conversation, asker, entry, sections):
        judged = ask(conversation, asker, entry, sections)
        answer = conversation.messages.filter(role=Message.Role.ASSISTANT).latest("pk")
        shown[entry["question"]] = chat.message_out(answer).model_dump(mode="json")
        return judged

    monkeypatch.setattr(bench, "ask", keeping)
    sections = judging.SectionPages.find([corpus.SHARED_CORPUS])  # as bench chat finds them
    answers = bench.ask_all(bench.load_questions(path), user, sections)
    return bench.quality(answers), shown


@pytest.mark.timeout(900)
def test_the_text_tests_figures_agree_with_bench_chat_on_the_shared_dev_set(
    tmp_path, monkeypatch, django_user_model
):
    entries = json.loads(QUESTIONS.read_text())
    chapter = CORPUS / "pdf" / "fda-food-code-2022-chapter-2.pdf"
    bench.build_store({"no_demo": True, "corpus": [chapter]}, log=lambda line: None)
    assert services.import_cases(json.dumps(entries), replace=True) == len(entries)

    crew = django_user_model.objects.create_user("bench-crew", password=None)
    expected, shown = ask_as_bench_does(entries, tmp_path / "set.json", monkeypatch, crew)
    ctx = Context(client=Replay(services.validation_user(), shown), cases=services.enabled_cases())
    outcomes = {t.id: t.function(ctx) for t in all_tests() if t.category == "text"}
    measured = {}
    for outcome in outcomes.values():
        measured.update(outcome.details.get("figures") or {})

    side_by_side = {name: (measured.get(name), expected[name]) for name in FIGURES}
    print(f"validation vs bench chat on {len(entries)} cases: {side_by_side}")
    for name, (ours, theirs) in side_by_side.items():
        if theirs is None:
            assert ours is None, (name, side_by_side)
        else:
            assert ours == pytest.approx(theirs, abs=TOLERANCE), (name, side_by_side)
    facts = outcomes["text.facts"]
    assert facts.score == pytest.approx(100 * expected["fact_recall"], abs=100 * TOLERANCE)
    assert measured["answerable"] == expected["counts"]["answerable"]
    assert measured["off_topic"] == expected["counts"]["off_topic"]
    assert measured["follow_ups"] == expected["counts"]["follow_ups"]


@pytest.mark.timeout(900)
def test_the_sections_a_store_page_holds_are_those_the_corpus_pages_json_lists():
    """Validation has no pages.json: it reads which sections a cited page of a chapter
    PDF holds from the headings of the passages on it (``Pages.sections``)."""
    documents = [d for d, _ in corpus.ingest(corpus.files(CORPUS / "pdf"), embed=False)]
    listed = judging.SectionPages.find([corpus.SHARED_CORPUS]).mapping
    pages = Pages(InProcessClient(services.validation_user()))
    assert documents, "the corpus has no chapter PDFs"
    for document in documents:
        held: dict[str, set[int]] = {}
        for number in range(1, document.page_count + 1):
            for section in pages.sections(document.pk, number):
                held.setdefault(section, set()).add(number)
        chapter = re.search(r"chapter-(\d+)", document.filename).group(1)
        expected = {s: p for s, p in listed.items() if s.split("-", 1)[0] == chapter}
        assert held == expected, document.filename
