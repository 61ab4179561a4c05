"""How a question becomes search terms, and how snippets are cut: no database needed."""

import re

import pytest

from knowledge.search import query
from knowledge.search.snippet import CLOSE, OPEN, make_snippet
from knowledge.thesaurus import REPHRASE, THESAURUS

SAFE_TERM = re.compile(r"^[^\W_]+( [^\W_]+)*$")


def terms(text):
    return query.parse(text).terms


@pytest.mark.parametrize(
    "text",
    [
        '"chicken" AND NOT fries*',
        "NEAR(chicken fries, 2) heading:chicken -bleach ^gloves",
        "'; DROP TABLE knowledge_chunk; --",
        "((unbalanced \"quote ' )]}",
        "chicken & fries | !gloves <-> bleach:*",
        "🐶 鸡肉 ｃｈｉｃｋｅｎ e\u0301 nul\x00 \ud800 \u202ewash\u202c",
    ],
)
def test_terms_are_only_letters_digits_and_single_spaces(text):
    parsed = query.parse(text)
    assert parsed.all_terms
    assert all(SAFE_TERM.match(term) for term in parsed.all_terms)
    assert not {"and", "or", "not"} & set(parsed.terms)


def test_stopwords_and_filler_are_dropped():
    assert terms("can you tell me how long I should wash my hands please") == (
        "long",
        "wash",
        "hands",
    )
    assert terms("what is the") == ()
    assert not query.parse("   \n")


def test_hyphenated_and_dotted_words_stay_together_as_phrases():
    assert terms("walk-in temp") == ("walk in", "temp")
    assert terms("see 3-401.11") == ("see", "3 401 11")


@pytest.mark.parametrize(
    "text", ["41°F", "41 °F", "41ºF", "41 º F", "41 F", "41F", "41 degrees", "41 deg. F", "41℉"]
)
def test_temperatures_fold_to_the_number(text):
    assert terms(f"hold at {text}") == ("hold", "41")


def test_temperature_folding_leaves_other_words_alone():
    assert terms("41 fries for 2 cooks") == ("41", "fries", "2", "cooks")


def test_long_questions_are_capped():
    parsed = query.parse(" ".join(f"word{i}" for i in range(5000)))
    assert len(parsed.terms) == query.MAX_TERMS
    assert terms("x" * 10_000) == ()  # one absurdly long "word" is not a term


def test_crew_words_bring_in_the_manual_wording():
    parsed = query.parse("can my dogs come in the back")
    assert "dogs" in parsed.terms
    assert "live animals" in parsed.expansion_terms
    assert "service animal" in parsed.expansion_terms
    assert "food preparation areas" in parsed.terms  # "in the back" is rephrased...
    assert "back" not in parsed.terms  # ...not searched literally
    assert "soft serve freezer" in query.parse("the shake machine").expansion_terms
    assert "vomiting" in terms("someone is throwing up")
    assert "temperature" in query.parse("fridge temps").expansion_terms


def test_expansions_say_which_crew_words_they_stand_for():
    parsed = query.parse("how hot for chicken")
    assert parsed.terms == ("cooked", "temperature", "chicken")
    assert [(e.source, e.terms) for e in parsed.expansions] == [("chicken", ("poultry",))]


def test_the_thesaurus_is_big_and_well_formed():
    assert len(THESAURUS) >= 40
    for table in (THESAURUS, REPHRASE):
        for key, values in table.items():
            assert key == key.lower().strip() and values
            assert all(isinstance(v, str) and v.strip() for v in values)
    keys = {query.fold(w) for key in THESAURUS for w in key.split()}
    for crew_word in ("dog", "walk", "sick", "bleach", "temp", "fries", "gloves", "chicken"):
        assert query.fold(crew_word) in keys


# --- Snippets --------------------------------------------------------------------------


def marked(text, *words):
    for word in words:
        text = text.replace(word, f"{OPEN}{word}{CLOSE}")
    return text


def test_a_snippet_escapes_html_and_marks_matches():
    snippet = make_snippet(marked("<b>Wash</b> & rinse", "Wash"))
    assert snippet == "&lt;b&gt;<mark>Wash</mark>&lt;/b&gt; &amp; rinse"


def test_a_snippet_is_the_window_with_the_most_distinct_matches():
    text = " ".join(["filler"] * 100 + ["soap", "x", "soap"] * 3 + ["filler"] * 50)
    text += " soap and water and towel " + " ".join(["filler"] * 100)
    snippet = make_snippet(marked(text, "soap", "water", "towel"), window=12)
    assert "<mark>soap</mark> and <mark>water</mark> and <mark>towel</mark>" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")


def test_a_snippet_never_leaves_a_mark_open():
    text = " ".join(["filler"] * 40) + f" {OPEN}live animals{CLOSE} " + " ".join(["x"] * 40)
    for window in (1, 2, 3, 41, 200):
        snippet = make_snippet(text, window=window)
        assert snippet.count("<mark>") == snippet.count("</mark>")


def test_a_snippet_of_a_short_text_is_the_whole_text():
    assert make_snippet("Keep it cold.") == "Keep it cold."
    assert make_snippet("") == ""
