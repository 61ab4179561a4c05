"""Search over the manuals, as a crew member would notice it.

The suite runs on SQLite (FTS5) and, with DATABASE_URL set, on PostgreSQL (tsvector);
every expectation here holds on both, so both runs agreeing is the cross-backend check.
"""

import hashlib
import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection, models

from knowledge import services as knowledge
from knowledge import vectors
from knowledge.demo import loader
from knowledge.models import Chunk, Document
from knowledge.search import MAX_TOP_K, Passage, postgres, schema, search
from knowledge.search.bench import latency

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "fda-food-code-2022"

# A small crew manual in the wording such manuals use; keys name the chunks in asserts.
MANUAL = {
    "handwashing": (
        "Food Safety › Handwashing",
        "Wash your hands with soap and warm water for at least 20 seconds: before starting "
        "work, after using the restroom, after touching raw meat or poultry, after taking "
        "out garbage and after touching your face or phone. Dry them with a paper towel.",
    ),
    "animals": (
        "Food Safety › Animals",
        "Live animals are not allowed in the kitchen or any food preparation area. A "
        "service animal may stay with its guest in the dining room. Pets stay outside.",
    ),
    "soft-serve": (
        "Equipment › Soft-serve freezer",
        "Run the heat treatment cycle on the soft-serve freezer every night. Do not open "
        "the freezer door or pull product while the cycle is running; call the manager if "
        "the freezer shows an error code.",
    ),
    "walk-in": (
        "Cold Holding › Walk-in cooler",
        "Keep the walk-in cooler at 41ºF (5ºC) or colder. Record the cooler temperature on "
        "the temperature log every four hours and tell the manager if it reads warmer.",
    ),
    "chicken": (
        "Cooking › Chicken",
        "Cook breaded chicken fillets until the thickest piece reaches an internal "
        "temperature of 165°F for 15 seconds. Check with a calibrated probe thermometer.",
    ),
    "patties": (
        "Cooking › Beef patties",
        "Grill ground beef patties to 155°F for 17 seconds. Never serve a patty that is "
        "pink in the center; put it back on the grill.",
    ),
    "illness": (
        "Employee Health › Reporting illness",
        "Employees who are vomiting or have diarrhea, a fever with a sore throat, or "
        "jaundice must not work with food. Tell the person in charge and go home.",
    ),
    "sanitizer": (
        "Cleaning › Sanitizer buckets",
        "Mix chlorine sanitizer to 50-100 ppm in the red buckets and check it with a test "
        "strip. Keep wiping cloths in the sanitizer between uses and change it every "
        "four hours.",
    ),
    "fries": (
        "Fry Station › French fries",
        "Drop french fries in the fryer at 350°F for three minutes, shake the basket "
        "halfway through and salt them in the fry station bin.",
    ),
    "gloves": (
        "Food Safety › Gloves",
        "Wear single-use gloves when you handle ready-to-eat food such as lettuce, "
        "tomatoes and buns. Change gloves after touching raw meat or the register.",
    ),
}


@pytest.fixture(autouse=True)
def _media_and_statistics(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # PostgreSQL ranking caches column statistics; each test starts from its own data.
    postgres.forget_statistics()
    yield
    postgres.forget_statistics()


def add_document(title, chunks, *, kind=Document.Kind.MARKDOWN, status=Document.Status.READY):
    """A document with ``chunks``: a list of (heading, text) or dicts of Chunk fields."""
    name = re.sub(r"\W+", "-", title.lower()).strip("-") + ".md"
    document = Document.objects.create(
        title=title,
        filename=name,
        original=ContentFile(b"# manual\n", name=name),
        checksum=hashlib.sha256(f"{title}-{Document.objects.count()}".encode()).hexdigest(),
        kind=kind,
        status=status,
    )
    for order, chunk in enumerate(chunks):
        fields = (
            dict(zip(("heading", "text"), chunk, strict=True))
            if isinstance(chunk, tuple)
            else chunk
        )
        Chunk.objects.create(document=document, order=order, **fields)
    return document


@pytest.fixture
def manual():
    """The crew manual; returns {key: Chunk}."""
    document = add_document("Crew Operations Manual", list(MANUAL.values()))
    chunks = document.chunks.order_by("order")
    return dict(zip(MANUAL, chunks, strict=True))


def analyze():
    """Refresh PostgreSQL's column statistics, which its ranking reads for IDF."""
    schema.analyze(connection)


def top(query, **kwargs):
    results = search(query, **kwargs)
    return results[0].chunk_id if results else None


def indexed(word):
    """Chunk ids the full-text index itself holds for ``word``, bypassing search()."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT rowid FROM knowledge_chunk_fts WHERE knowledge_chunk_fts MATCH %s",
                [f'"{word}"'],
            )
        else:
            cursor.execute(
                "SELECT id FROM knowledge_chunk"
                " WHERE search_vector @@ plainto_tsquery('english', %s)",
                [word],
            )
        return {row[0] for row in cursor.fetchall()}


# --- Finding the right passage --------------------------------------------------------


def test_a_plain_question_finds_the_right_passage_first(manual):
    results = search("how long do I have to wash my hands")
    assert results[0].chunk_id == manual["handwashing"].pk
    assert [p.score for p in results] == sorted((p.score for p in results), reverse=True)


def test_a_passage_carries_what_a_citation_needs(manual):
    document = add_document(
        "Allergen Guide",
        [
            {
                "heading": "Allergens › Peanuts",
                "text": "Peanut oil is never used in the fryer.",
                "first_page": 3,
                "last_page": 4,
                "boxes": {"3": [[0.1, 0.8, 0.9, 0.95]], "4": [[0.1, 0.05, 0.9, 0.2]]},
            }
        ],
        kind=Document.Kind.PDF,
    )
    [passage] = search("peanut oil", top_k=1)
    assert isinstance(passage, Passage)
    assert passage.chunk_id == document.chunks.get().pk
    assert passage.document_id == document.pk
    assert passage.title == "Allergen Guide"
    assert passage.filename == "allergen-guide.md"
    assert passage.pages == [3, 4]
    assert passage.heading == ["Allergens", "Peanuts"]
    assert passage.text == "Peanut oil is never used in the fryer."
    assert passage.boxes == {3: [[0.1, 0.8, 0.9, 0.95]], 4: [[0.1, 0.05, 0.9, 0.2]]}
    assert isinstance(passage.score, float) and passage.score > 0
    assert search("soap", top_k=1)[0].boxes == {}  # markdown chunks have no boxes


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("can my dog come in the back", "animals"),
        ("the shake machine is beeping", "soft-serve"),
        ("ice cream machine cleaning cycle", "soft-serve"),
        ("what temp should the walk-in be", "walk-in"),
        ("a guy on my shift is throwing up", "illness"),
        ("how much bleach goes in the sani bucket", "sanitizer"),
        ("how long do fries cook", "fries"),
        ("do I need gloves for lettuce", "gloves"),
        ("how hot does chicken need to be", "chicken"),
        ("burger temp", "patties"),
    ],
)
def test_crew_words_find_the_manual_wording(manual, question, expected):
    assert top(question) == manual[expected].pk


def test_the_users_own_words_outrank_thesaurus_words():
    fridge = add_document("Kitchen notes", [("Storage", "Label everything in the fridge.")])
    cooler = add_document("Manual", [("Storage", "Label everything in the refrigerator.")])
    results = search("fridge")
    assert [p.document_id for p in results] == [fridge.pk, cooler.pk]


def test_a_passage_matching_more_of_the_question_ranks_higher():
    one = add_document("A", [("Notes", "Fryer oil is filtered daily.")])
    both = add_document("B", [("Notes", "Fryer oil is changed weekly and filtered daily.")])
    add_document("C", [("Notes", "Oil deliveries arrive on Monday.")])
    results = search("when is fryer oil changed")
    assert [p.document_id for p in results][:2] == [both.pk, one.pk]


def test_a_heading_match_counts_more_than_a_body_match():
    heading = add_document("A", [("Grease trap", "Empty it weekly.")])
    body = add_document("B", [("Weekly tasks", "Check the grease trap level and the lights.")])
    assert [p.document_id for p in search("grease trap")] == [heading.pk, body.pk]


@pytest.mark.parametrize("question", ["41 degrees", "41°F", "41 ºF", "41 F", "41F"])
def test_temperatures_match_however_they_are_written(manual, question):
    # The walk-in chunk writes it "41ºF" (masculine ordinal), the commonest scan artifact.
    assert top(question) == manual["walk-in"].pk


def test_stemming_matches_other_forms_of_a_word(manual):
    assert top("rules for employees reporting illnesses") == manual["illness"].pk
    assert top("grilling patties") == manual["patties"].pk


# --- Input that must never break search ------------------------------------------------

HOSTILE = [
    '"',
    "'",
    '"unbalanced quote',
    "chicken AND",
    "OR OR OR",
    "NOT chicken",
    "NEAR(chicken fries, 2)",
    "fries*",
    "*",
    "-chicken",
    "heading:chicken",
    "text : fries",
    "((chicken",
    "chicken))",
    "'; DROP TABLE knowledge_chunk; --",
    'chicken" OR 1=1 --',
    "{curly} [square] <angle> ^caret $dollar",
    "chicken & fries | !gloves <-> bleach",
    "?",
    "🍔🍟🐶 can the 🐶 come in?",
    "鸡肉 temperature",
    "\u202ewash hands\u202c",
    "ｃｈｉｃｋｅｎ",  # full-width letters
    "e\u0301 chicken",  # combining accent
    "nul\x00byte chicken",
    "lone \ud800 surrogate chicken",
    "x" * 5000,
    " ".join(["chicken", "fries", "gloves", "hands"] * 1250),  # 5,000 words
]


@pytest.mark.parametrize("question", HOSTILE)
def test_hostile_input_returns_results_or_nothing_without_raising(manual, question):
    results = search(question, top_k=MAX_TOP_K)
    assert isinstance(results, list)
    assert all(isinstance(p, Passage) for p in results)


def test_query_syntax_in_a_question_is_searched_as_words(manual):
    found = [p.chunk_id for p in search('"chicken" AND NOT -fries* NEAR/2')]
    assert set(found[:2]) == {manual["chicken"].pk, manual["fries"].pk}
    assert Chunk.objects.count() == len(MANUAL)  # nothing was dropped along the way


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "the and of to", "?!", "🍔"])
def test_an_empty_question_finds_nothing(manual, question):
    assert search(question) == []


def test_bad_arguments_are_refused_clearly(manual):
    for top_k in (0, -1, MAX_TOP_K + 1, "5", True):
        with pytest.raises(ValueError, match="top_k"):
            search("chicken", top_k=top_k)
    with pytest.raises(ValueError, match="unknown search filter"):
        search("chicken", filters={"documents": [1]})
    with pytest.raises(ValueError, match="kinds"):
        search("chicken", filters={"kinds": ["spreadsheet"]})
    for document_ids in ("12", 12, [1, "2"], [True]):
        with pytest.raises(ValueError, match="document_ids"):
            search("chicken", filters={"document_ids": document_ids})


# --- What is searched ------------------------------------------------------------------


def test_filters_restrict_the_documents_and_kinds_searched():
    pdf = add_document("Fryer PDF", [("Fryer", "Filter the fryer oil")], kind=Document.Kind.PDF)
    doc = add_document("Fryer notes", [("Fryer", "Filter fryer oil")], kind=Document.Kind.DOCX)
    md = add_document("Fryer wiki", [("Fryer", "Fryer oil filter")], kind=Document.Kind.MARKDOWN)

    def found(**filters):
        return {p.document_id for p in search("fryer oil", filters=filters)}

    assert found() == {pdf.pk, doc.pk, md.pk}
    assert found(document_ids=[pdf.pk, md.pk]) == {pdf.pk, md.pk}
    assert found(kinds=[Document.Kind.DOCX]) == {doc.pk}
    assert found(kinds=["pdf", "markdown"], document_ids=[pdf.pk, doc.pk]) == {pdf.pk}
    assert found(document_ids=[]) == set()
    assert found(kinds=[]) == set()


@pytest.mark.parametrize(
    "status",
    [Document.Status.QUEUED, Document.Status.PROCESSING, Document.Status.FAILED],
)
def test_documents_that_are_not_ready_are_not_searched(status):
    document = add_document("Draft", [("Drive-thru", "Greet guests within five seconds")])
    Document.objects.filter(pk=document.pk).update(status=status)
    assert search("greet guests drive-thru") == []
    Document.objects.filter(pk=document.pk).update(status=Document.Status.READY)
    assert top("greet guests drive-thru") == document.chunks.get().pk


def test_deleting_a_document_removes_its_chunks_from_the_index(manual):
    other = add_document("Old menu", [("Desserts", "The pistachio sundae is discontinued")])
    assert indexed("pistachio") == {other.chunks.get().pk}
    other.delete()
    assert indexed("pistachio") == set()
    assert search("pistachio sundae") == []
    assert top("shake machine") == manual["soft-serve"].pk  # the rest is still indexed


def test_edited_chunk_text_is_reindexed(manual):
    chunk = manual["fries"]
    chunk.text = "Drop hash browns in the fryer for two minutes."
    chunk.save()
    assert search("basket halfway") == []  # words only the old text had
    assert top("hash browns") == chunk.pk
    Chunk.objects.filter(pk=chunk.pk).update(heading="Breakfast › Hash browns", text="Tater")
    assert indexed("browns") == {chunk.pk}  # now from the heading
    assert indexed("drop") == set()
    assert top("tater") == chunk.pk


def test_a_chunk_is_found_by_its_documents_title_which_follows_a_rename():
    document = add_document("Headset Guide", [("Charging", "Put the units on the dock nightly.")])
    [chunk] = document.chunks.all()
    assert search("headset dock") and search("headset") == []  # no title on the chunk yet
    document.save()  # saving a document puts its title on its chunks
    assert top("headset") == chunk.pk
    document.title = "Drive-Thru Radio Guide"
    document.save()
    assert top("radio") == chunk.pk
    assert search("headset") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds tables to alter them")
def test_search_repairs_the_index_after_django_rebuilds_the_chunk_table():
    old = add_document("Ice", [("Ice machine", "Descale the ice machine monthly")])
    # A later migration adding a field with a default makes Django copy knowledge_chunk
    # into a new table, which drops the triggers that keep the index in sync.
    field = models.CharField(max_length=10, null=True, default="x")
    field.set_attributes_from_name("scratch")
    with connection.schema_editor() as editor:
        editor.add_field(Chunk, field)
    try:
        assert not _triggers()
        new = add_document("Ice 2", [("Ice bin", "Descale the ice bin weekly")])
        found = {p.document_id for p in search("descale")}
        assert found == {old.pk, new.pk}
        assert len(_triggers()) == 3
    finally:
        with connection.schema_editor() as editor:
            editor.remove_field(Chunk, field)
        schema.ensure(connection)


def _triggers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall() if row[0].startswith("knowledge_chunk_fts")}


# --- Snippets --------------------------------------------------------------------------


def test_snippets_mark_the_matched_words(manual):
    [passage] = search("washing hands with soap", top_k=1)
    assert "<mark>Wash</mark>" in passage.snippet
    assert "<mark>hands</mark>" in passage.snippet
    assert "<mark>soap</mark>" in passage.snippet
    assert "<mark>" not in re.sub(r"<mark>(Wash|hands|soap)</mark>", "", passage.snippet)


def test_snippets_are_html_escaped():
    add_document(
        "Tampered",
        [("Notes <b>bold</b>", '<script>alert("x")</script> Sweep & mop the lobby at 2 < 3 pm')],
    )
    [passage] = search("mop the lobby script", top_k=1)
    assert "<script>" not in passage.snippet
    assert "&lt;<mark>script</mark>&gt;alert(&quot;x&quot;)" in passage.snippet
    assert "Sweep &amp; <mark>mop</mark>" in passage.snippet
    assert "2 &lt; 3" in passage.snippet
    assert passage.text.startswith("<script>")  # the text itself is returned as stored
    assert re.sub(r"</?mark>", "", passage.snippet).count("<") == 0


def test_snippets_are_a_short_window_around_the_matches():
    filler = " ".join(f"word{i}" for i in range(200))
    add_document("Long", [("Long section", f"{filler} the pickles go on last {filler}")])
    [passage] = search("pickles", top_k=1)
    assert "<mark>pickles</mark>" in passage.snippet
    assert passage.snippet.startswith("… ") and passage.snippet.endswith(" …")
    assert len(passage.snippet.split()) < 45


# --- Real manual text: FDA Food Code sections -------------------------------------------


@pytest.fixture
def food_code():
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    for path in sorted(CORPUS.glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        title = raw.splitlines()[0].removeprefix("# FDA Food Code 2022 ").strip()
        blocks = re.split(r"^## .*$", raw, flags=re.MULTILINE)[1:]
        add_document(
            f"Food Code {title}",
            [(f"Food Code › {title}", " ".join(block.split())) for block in blocks],
        )
    analyze()


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("how hot for chicken", "3-401.11"),
        ("can a dog come in the kitchen", "6-501.115"),
        ("when must employees wash hands", "2-301.14"),
        ("can I wear my wedding ring", "2-303.11"),
        ("reheat leftovers", "3-403.11"),
        ("employee throwing up", "2-501.11"),
    ],
)
def test_questions_find_the_food_code_section_that_answers_them(food_code, question, section):
    titles = [p.title for p in search(question, top_k=3)]
    assert any(f" {section} " in title for title in titles), titles


def test_search_latency_is_reported_as_percentiles_of_every_search(food_code):
    # How fast is for `bench retrieval`; this checks what the figures are made of.
    timing = latency(["how hot for chicken", "can a dog come in the kitchen"], repeat=3)
    assert timing["count"] == 6
    assert 0 < timing["p50_ms"] <= timing["p95_ms"] <= timing["max_ms"]


def test_crew_worded_manuals_do_not_outrank_the_code_by_their_way_of_writing():
    # The demo manuals speak as crews do, so every crew question comes close to them in
    # meaning; the code's part 4 says what to do about baked-on grease, they do not.
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    loader.load()
    for path in sorted(CORPUS.glob("4-6*.md")):
        document, _ = knowledge.add_document(filename=path.name, data=path.read_bytes())
        knowledge.ingest(document.pk)
        vectors.embed_document(document.pk)
    question = "the sheet pans have that black baked-on crud. do they really have to be scrubbed?"
    nearest = vectors.nearest(vectors.question(question), 1)
    assert Chunk.objects.get(pk=nearest[0][0]).document.filename.startswith("4-60")
    found = [p.filename for p in search(question, top_k=2)]
    assert any(name.startswith("4-60") for name in found), found


# --- The management command ------------------------------------------------------------


def run_search(*args):
    out = StringIO()
    call_command("search", *args, stdout=out)
    return out.getvalue()


def test_the_search_command_prints_passages_as_json(manual):
    assert len(json.loads(run_search("raw meat", "--json", "--top-k", "2"))) == 2
    passages = json.loads(run_search("can my dog come in the back", "--json"))
    assert set(passages[0]) == {
        "chunk_id",
        "document_id",
        "title",
        "filename",
        "pages",
        "heading",
        "snippet",
        "score",
    }
    assert passages[0]["chunk_id"] == manual["animals"].pk
    assert passages[0]["heading"] == ["Food Safety", "Animals"]
    assert json.loads(run_search("", "--json")) == []


def test_the_search_command_prints_a_readable_listing(manual):
    out = run_search("shake machine")
    assert out.startswith("1. Crew Operations Manual (crew-operations-manual.md, p. 1)\n")
    assert "Equipment › Soft-serve freezer" in out
    assert re.search(r"\[soft\S*\s?\S*freezer\]", out)
    assert "No passages found." in run_search("xylophone")


@pytest.mark.parametrize("top_k", ["0", "51", "-3"])
def test_the_search_command_refuses_a_bad_top_k(top_k):
    with pytest.raises(CommandError, match="--top-k must be between 1 and 50"):
        run_search("chicken", "--top-k", top_k)
