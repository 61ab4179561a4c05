import random
import re

import pytest

from voice.speech import SentenceSplitter, SpokenAnswer, for_the_ear

# --- for_the_ear --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Heat the oil [1].", "Heat the oil."),
        ("Hold it hot [2][3], then serve [1, 2].", "Hold it hot, then serve."),
        ("Wash hands.[4] Then glove up [1–3].", "Wash hands. Then glove up."),
        ("Salt the fries[^1].", "Salt the fries."),
    ],
)
def test_it_drops_citation_markers(text, spoken):
    assert for_the_ear(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Never** leave the fryer.", "Never leave the fryer."),
        ("Use the _blue_ cloth, not the __red__ one.", "Use the blue cloth, not the red one."),
        ("Press `RESET` twice.", "Press RESET twice."),
        ("See [the guide](https://manuals.example/fryer) first.", "See the guide first."),
        ("## Closing\nMop the floor.", "Closing. Mop the floor."),
        ("Do this:\n- Wipe\n* Rinse\n+ Sanitize", "Do this: Wipe. Rinse. Sanitize"),
        ("1. Heat the oil\n2) Drop the basket", "Heat the oil. Drop the basket"),
        ("> Tip: keep lids on.", "Tip: keep lids on."),
        ("```\nPress START\n```", "Press START"),
        ("~~Old~~ New rule.", "Old New rule."),
    ],
)
def test_it_speaks_the_words_of_markdown_not_its_marks(text, spoken):
    assert for_the_ear(text) == spoken


def test_it_reads_a_table_row_by_row():
    table = "| Item | Hold time |\n|---|:---:|\n| Fries | 7 min |\n| Nuggets | 20 min |"

    assert for_the_ear(table) == "Item, Hold time. Fries, 7 minutes. Nuggets, 20 minutes"


def test_it_leaves_underscores_and_stars_inside_words_alone():
    assert for_the_ear("Set mode_2_fast to 2 * 3.") == "Set mode_2_fast to 2 * 3."


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Heat to 350°F.", "Heat to 350 degrees Fahrenheit."),
        ("Hold at 41 °F or below.", "Hold at 41 degrees Fahrenheit or below."),
        ("Cook to 74°C.", "Cook to 74 degrees Celsius."),
        ("Cook to 165F.", "Cook to 165 degrees Fahrenheit."),
        ("Store at -10°F.", "Store at minus 10 degrees Fahrenheit."),
        ("Keep between 135–165°F.", "Keep between 135 to 165 degrees Fahrenheit."),
        ("Turn it 90°.", "Turn it 90 degrees."),
        ("Fry 3 min.", "Fry 3 minutes."),
        ("Fry 1 min. Then flip.", "Fry 1 minute. Then flip."),
        ("Fry 2 min. per side.", "Fry 2 minutes per side."),
        ("Fry 3 min 00 s.", "Fry 3 minutes."),
        ("Fry 2 min 30 s.", "Fry 2 minutes 30 seconds."),
        ("Rest 30 s, then 45 sec, then 1 sec.", "Rest 30 seconds, then 45 seconds, then 1 second."),
        ("Toss after 4 hrs or 1 hr.", "Toss after 4 hours or 1 hour."),
        ("Fry 3-5 min.", "Fry 3 to 5 minutes."),
        ("Sanitizer at 200 ppm.", "Sanitizer at 200 parts per million."),
        ("Fill to 50%.", "Fill to 50 percent."),
        ("Add 2 oz, then 1 lb, then 3 lbs.", "Add 2 ounces, then 1 pound, then 3 pounds."),
        ("Use 2 fl oz of syrup.", "Use 2 fluid ounces of syrup."),
        ("Mix 2 oz/gal.", "Mix 2 ounces per gallon."),
        ("Add 3/4 oz.", "Add 3 quarters of an ounce."),
        ("Add 1 1/2 cups.", "Add 1 and one half cups."),
        ("Opens at 6:00 AM.", "Opens at 6 AM."),
        ("Opens at 6:30 am.", "Opens at 6:30 am."),
        ("Lunch starts at 12:00 noon.", "Lunch starts at 12 noon."),
        ("Close at 10 p.m. Then count the till.", "Close at 10 PM. Then count the till."),
    ],
)
def test_it_spells_out_units_and_times(text, spoken):
    assert for_the_ear(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Use a cloth, e.g. a blue one.", "Use a cloth, for example, a blue one."),
        ("Use a cloth, e.g., a blue one.", "Use a cloth, for example, a blue one."),
        ("The cold side, i.e. the left.", "The cold side, that is, the left."),
        ("Cups, lids, etc. go here.", "Cups, lids, et cetera go here."),
        ("Cups, lids, etc.", "Cups, lids, et cetera."),
        ("Wait approx. 3 min.", "Wait approximately 3 minutes."),
        ("Salt & pepper.", "Salt and pepper."),
        ("Fries/hash browns.", "Fries or hash browns."),
        ("Use scoop No. 5 or #10 can.", "Use scoop number 5 or number 10 can."),
        ("Serve w/ ice, w/o lid.", "Serve with ice, without lid."),
    ],
)
def test_it_spells_out_abbreviations_and_symbols(text, spoken):
    assert for_the_ear(text) == spoken


@pytest.mark.parametrize(
    "text",
    [
        "Call 555-1234 about the 2024-01-05 delivery.",
        "Open 24/7 on 1/2/2024.",
        "Turn the A/C on.",
        "Use 3.5 inches of oil.",
        "Set timer 2 to 45.",
        "Is it done? Yes!",
    ],
)
def test_it_leaves_what_it_does_not_understand_unchanged(text):
    assert for_the_ear(text) == text


def test_it_collapses_whitespace_into_one_line():
    assert for_the_ear("  Heat   the\toil .\n\n\nThen   drop , shake.  ") == (
        "Heat the oil. Then drop, shake."
    )


@pytest.mark.parametrize("text", ["", "   ", "[1]", " [2][3] ", "|---|---|", "```"])
def test_it_has_nothing_to_say_for_marks_alone(text):
    assert for_the_ear(text) == ""


# --- SentenceSplitter ---------------------------------------------------------------


def split_whole(text: str) -> list[str]:
    splitter = SentenceSplitter()
    return splitter.feed(text) + splitter.flush()


def split_in_chunks(text: str, sizes) -> list[str]:
    splitter, pieces, at = SentenceSplitter(), [], 0
    for size in sizes:
        if at >= len(text):
            break
        pieces += splitter.feed(text[at : at + size])
        at += size
    return pieces + splitter.feed(text[at:]) + splitter.flush()


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


ANSWERS = [
    "Heat the oil to 350°F [1]. Drop the basket! Is it golden? Shake it.",
    "Use 3.5 oz of salt, e.g. one scoop. Wait approx. 3 min. Then serve [2, 3].",
    "Wash hands.[1] Then glove up. Open at 6 a.m. and close at 10 p.m. Then count.",
    "Steps:\n1. Heat the oil\n2. Drop the basket\n\n## Safety\n- Gloves on\n- Apron on",
    "When the fryer alarm sounds during a busy lunch rush and the basket is still full of "
    "fries, lift the basket, let it drain for ten seconds, and shake it before you salt. "
    "Then serve.",
    'Done [1]. Next one!"Quoted." (See the guide.) Last line without a stop',
    "Step 1: Fill the sink.\nStep 2: Add sanitizer to 200 ppm [4].\nStep 3: Soak 60 s.",
    "Fries, nuggets, etc. Then the cups. It is No. 5 on the list, vs. No. 6.",
    "Drop it. [2, 3] Shake it [4]. Salt it [5. 6] lightly.[7][8] Serve. [9",
]


@pytest.mark.parametrize("text", ANSWERS)
def test_it_splits_the_same_however_the_text_arrives(text):
    whole = split_whole(text)
    rng = random.Random(text)

    assert split_in_chunks(text, [1] * len(text)) == whole
    assert split_in_chunks(text, [2] * len(text)) == whole
    assert split_in_chunks(text, [rng.randint(1, 12) for _ in text]) == whole


@pytest.mark.parametrize("text", ANSWERS)
def test_it_neither_loses_nor_repeats_text(text):
    pieces = split_in_chunks(text, [1] * len(text))

    assert squeezed("".join(pieces)) == squeezed(text)
    assert all(piece == piece.strip() and piece for piece in pieces)


def test_it_splits_at_sentence_ends():
    assert split_whole("Heat the oil. Drop the basket! Is it golden? Yes.") == [
        "Heat the oil.",
        "Drop the basket!",
        "Is it golden?",
        "Yes.",
    ]


def test_it_returns_a_sentence_as_soon_as_the_next_one_starts():
    splitter = SentenceSplitter()

    assert splitter.feed("Heat the oil.") == []
    assert splitter.feed(" ") == []
    assert splitter.feed("D") == ["Heat the oil."]
    assert splitter.feed("rop it.") == []
    assert splitter.flush() == ["Drop it."]
    assert splitter.flush() == []


def test_it_does_not_split_decimals_or_abbreviations():
    text = "Use 3.5 oz, e.g. one scoop, i.e. the small one. Ask Dr. Lee about approx. 2 cups."

    assert split_whole(text) == [
        "Use 3.5 oz, e.g. one scoop, i.e. the small one.",
        "Ask Dr. Lee about approx. 2 cups.",
    ]


def test_it_ends_a_sentence_at_a_unit_when_a_new_sentence_starts():
    assert split_whole("Fry 3 min. Then flip. Fry 3 min. per side.") == [
        "Fry 3 min.",
        "Then flip.",
        "Fry 3 min. per side.",
    ]


def test_it_keeps_citation_markers_with_their_sentence():
    text = "Heat to 350°F.[1] Drop it. [2, 3] Shake it [4]. Salt it [5. 6] lightly. Serve."

    assert split_whole(text) == [
        "Heat to 350°F.[1]",
        "Drop it. [2, 3]",
        "Shake it [4].",
        "Salt it [5. 6] lightly.",
        "Serve.",
    ]


def test_it_splits_at_line_breaks():
    text = "Steps:\n1. Heat the oil\n2. Drop the basket\n\nStep 3: Shake it"

    assert split_whole(text) == [
        "Steps:",
        "1. Heat the oil",
        "2. Drop the basket",
        "Step 3: Shake it",
    ]


def test_it_cuts_a_long_first_sentence_at_its_last_clause_within_twenty_words():
    first = (
        "When the fryer alarm sounds during a busy lunch rush, and the basket is still full "
        "of fries, lift the basket and let it drain for ten seconds before you salt them."
    )

    assert split_whole(first + " Then serve.") == [
        "When the fryer alarm sounds during a busy lunch rush, and the basket is still full "
        "of fries,",
        "lift the basket and let it drain for ten seconds before you salt them.",
        "Then serve.",
    ]


def test_it_cuts_a_long_first_sentence_at_the_next_clause_when_none_came_sooner():
    first = (
        "When the fryer alarm sounds during a busy lunch rush and the basket is still full "
        "of fries that are not quite done yet because the oil was cold, lift it; then salt."
    )

    assert split_whole(first) == [
        "When the fryer alarm sounds during a busy lunch rush and the basket is still full "
        "of fries that are not quite done yet because the oil was cold,",
        "lift it; then salt.",
    ]


def test_it_cuts_only_the_first_sentence_at_clauses():
    second = (
        "When the fryer alarm sounds during a busy lunch rush and the basket is still full "
        "of fries that are not quite done yet, lift it."
    )

    assert split_whole("Listen. " + second) == ["Listen.", second]


def test_it_leaves_a_first_sentence_of_twenty_words_whole():
    first = " ".join(f"word{i}," for i in range(19)) + " end."

    assert split_whole(first) == [first]


def test_it_waits_for_more_text_before_cutting_a_long_first_sentence():
    splitter = SentenceSplitter(first_words=5)

    assert splitter.feed("One two three, four five") == []
    assert splitter.feed(" six") == ["One two three,"]


# --- SpokenAnswer: the whole answer, shaped for the ear -----------------------------

FILTER_ANSWER = (
    "Filter with the oil hot, between 325°F and 350°F [1]. One vat at a time [1].\n\n"
    "1. Put on the face shield and gloves [1].\n"
    "2. Check the filter pan [1]. Use a clean paper [1].\n"
    "3. Turn the vat **OFF** [1].\n"
    "4. Open the drain valve slowly [1].\n"
    "5. Scrape the vat walls [1].\n\n"
    "Caution: The filter pan stays hot for 30 minutes [2]."
)


def spoken_pieces(text: str, step: int = 3) -> list[str]:
    shaper = SpokenAnswer()
    out = []
    for i in range(0, len(text), step):
        out += shaper.feed(text[i : i + step])
    return out + shaper.flush()


def test_a_spoken_answer_gives_three_steps_then_points_at_the_screen():
    pieces = spoken_pieces(FILTER_ANSWER)
    assert pieces == [
        "Filter with the oil hot, between 325 degrees Fahrenheit and 350 degrees Fahrenheit.",
        "One vat at a time.",
        "Step 1: Put on the face shield and gloves.",
        "Step 2: Check the filter pan. Use a clean paper.",
        "Step 3: Turn the vat OFF.",
        "The rest of the steps are on your screen.",
        "Caution: The filter pan stays hot for 30 minutes.",
    ]


def test_a_spoken_answer_is_the_same_however_the_text_arrives():
    assert spoken_pieces(FILTER_ANSWER, 1) == spoken_pieces(FILTER_ANSWER, 50)


def test_long_prose_is_cut_short_for_the_ear():
    text = "Fries cook 3 min 00 s [1]. Shake at 30 s [2]. Hold 7 min [2]. Salt them. Bag them."
    pieces = spoken_pieces(text)
    assert pieces[:3] == ["Fries cook 3 minutes.", "Shake at 30 seconds.", "Hold 7 minutes."]
    assert pieces[3:] == ["The rest is on your screen."]


def test_the_first_sentence_is_ready_before_the_answer_is_finished():
    shaper = SpokenAnswer()
    assert shaper.feed("Fries cook for 3 min 00 s at 350°F [1]. Shake the bas") == [
        "Fries cook for 3 minutes at 350 degrees Fahrenheit."
    ]


def test_an_answer_that_arrives_in_one_piece_is_cut_short_as_a_streamed_one_is():
    text = (
        "Turn the vat off at once [1]. Tell the manager on duty [1]. Let the oil cool "
        "for 30 minutes [2]. Skim the crumbs [2]. Filter the oil [2]. Check the level [2].\n"
        "Log it on the sheet [3].\n"
    )
    streamed = SpokenAnswer()
    pieces = [p for ch in text for p in streamed.feed(ch)] + streamed.flush()
    whole = SpokenAnswer()
    at_once = whole.feed(text) + whole.flush()
    assert at_once == pieces
    assert len(at_once) == 4 and at_once[-1] == "The rest is on your screen."
