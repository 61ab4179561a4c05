"""Table rows read as labelled values ("French fries (frozen, 3/8 in cut): Oil temp
350°F, Cook time 3 min 00 s"), whether the table came from a PDF, Markdown or Word."""

import io

import pytest
from docx import Document as WordDocument

from knowledge import services
from knowledge.demo.loader import MANUALS
from knowledge.ingest import chunking, pdf, textdocs
from knowledge.reading import embedded_units, labelled, read, units

HEADER = ["Product", "Vat", "Oil temp", "Cook time", "Done when", "Hold time"]
ROWS = [
    [
        "French fries (frozen, 3/8 in cut)",
        "1 or 2",
        "350°F",
        "3 min 00 s",
        "Shake at 30 s",
        "7 min",
    ],
    ["Onion rings (frozen, battered)", "3", "350°F", "2 min 30 s", "Golden brown", "10 min"],
]
COOK_TIMES = "\n".join(
    [
        "Table 2. Fryer cook times and hold times (brand standard)",
        *(" | ".join(row) for row in [HEADER, *ROWS]),
        "Start the timer the moment the basket is lowered into the oil.",
    ]
)


def rows(text: str) -> list:
    return [b for b in read(text) if b.kind == "row"]


def test_each_row_knows_its_cells_its_column_names_and_its_caption():
    fries, rings = rows(COOK_TIMES)
    assert (fries.cells, rings.cells) == (ROWS[0], ROWS[1])
    assert fries.header == rings.header == HEADER
    assert fries.caption == "Fryer cook times and hold times (brand standard)"
    assert fries.text == (
        "French fries (frozen, 3/8 in cut): Vat 1 or 2, Oil temp 350°F, Cook time 3 min 00 s, "
        "Done when Shake at 30 s, Hold time 7 min"
    )
    after = read(COOK_TIMES)[-1]
    assert (after.kind, after.text) == (
        "prose",
        "Start the timer the moment the basket is lowered into the oil.",
    )


def test_each_row_is_one_answer_unit_as_it_reads():
    assert units(COOK_TIMES) == [
        "French fries (frozen, 3/8 in cut): Vat 1 or 2, Oil temp 350°F, Cook time 3 min 00 s, "
        "Done when Shake at 30 s, Hold time 7 min",
        "Onion rings (frozen, battered): Vat 3, Oil temp 350°F, Cook time 2 min 30 s, "
        "Done when Golden brown, Hold time 10 min",
        "Start the timer the moment the basket is lowered into the oil.",
    ]


def test_labelled_can_keep_only_the_columns_asked_for_in_any_case():
    fries = rows(COOK_TIMES)[0]
    assert labelled(fries, ["oil TEMP", "Cook time"]) == (
        "French fries (frozen, 3/8 in cut): Oil temp 350°F, Cook time 3 min 00 s"
    )
    assert labelled(fries, ["hold time"]) == "French fries (frozen, 3/8 in cut): Hold time 7 min"
    assert labelled(fries, ["Calories"]) == "French fries (frozen, 3/8 in cut)"


def test_labelled_skips_empty_cells():
    text = "Product | Internal temp | Hold time\nVeggie patty |  | 20 min\nCaptain patty | 155°F | "
    veggie, captain = rows(text)
    assert labelled(veggie) == "Veggie patty: Hold time 20 min"
    assert labelled(captain) == "Captain patty: Internal temp 155°F"


def test_a_value_that_ends_a_sentence_is_followed_by_the_next_without_a_comma():
    text = (
        "Display | Meaning | What to do\n"
        "LOW TEMP | Oil is more than 15°F below the setpoint. | Do not drop product.\n"
        "READY | Oil is at 350°F. | Cook."
    )
    assert [r.text for r in rows(text)] == [
        "LOW TEMP: Meaning Oil is more than 15°F below the setpoint. What to do Do not drop "
        "product.",
        "READY: Meaning Oil is at 350°F. What to do Cook.",
    ]


def test_rows_whose_header_is_in_an_earlier_passage_read_as_their_cells():
    text = " | ".join(ROWS[0]) + "\n" + " | ".join(ROWS[1]) + "\nShake the basket once."
    fries, rings = rows(text)
    assert fries.header == [] and fries.cells == ROWS[0]
    assert fries.text == (
        "French fries (frozen, 3/8 in cut): 1 or 2, 350°F, 3 min 00 s, Shake at 30 s, 7 min"
    )
    assert labelled(rings, ["Cook time"]) == labelled(rings)  # no column names to pick by


def test_a_lone_bar_inside_a_sentence_is_not_a_table():
    text = "The timers are in the settings.\nPress MENU | SETTINGS to see every timer."
    assert [(b.kind, b.text) for b in read(text)] == [
        ("prose", "The timers are in the settings."),
        ("prose", "Press MENU | SETTINGS to see every timer."),
    ]


def test_text_ingested_before_tables_were_recognised_still_reads_its_rows():
    old = (
        "Table 2. Fryer cook times and hold times (brand standard)\n"
        "Product Vat Oil temp Cook time Done when Hold time\n"
        "French fries (frozen, 3/8 in\n"
        "cut)\n"
        "1 or 2 350°F 3 min 00 s Shake at 30 s\n"
        "7 min\n"
        "Onion rings (frozen, battered) 3 350°F 2 min 30 s Golden brown\n"
        "10 min"
    )
    fries, rings = rows(old)
    assert (
        fries.text
        == "French fries (frozen, 3/8 in cut) 1 or 2 350°F 3 min 00 s Shake at 30 s 7 min"
    )
    assert fries.cells == [] and labelled(fries) == fries.text
    assert rings.caption == "Fryer cook times and hold times (brand standard)"


def word_table(rows: list[list[str]]) -> bytes:
    word = WordDocument()
    word.add_heading("Fryer cook times", level=1)
    table = word.add_table(rows=len(rows), cols=len(rows[0]))
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def markdown_table(rows: list[list[str]]) -> bytes:
    lines = ["# Fryer cook times", ""]
    lines += [f"| {' | '.join(row)} |" for row in rows[:1]]
    lines += ["|" + "---|" * len(rows[0])]
    lines += [f"| {' | '.join(row)} |" for row in rows[1:]]
    return "\n".join(lines).encode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "make"), [("fryer.md", markdown_table), ("fryer.docx", word_table)]
)
def test_markdown_and_word_tables_read_the_same_as_the_pdf_table(settings, tmp_path, name, make):
    settings.MEDIA_ROOT = tmp_path / "media"
    fryer = pdf.open_pdf((MANUALS / "hb-eq-101-fryer.pdf").read_bytes())
    drafts = chunking.chunk(pdf.blocks(pdf.read_pages(fryer)))
    from_pdf = next(rows(d.text) for d in drafts if "Cook time" in d.text and "fries" in d.text)
    table = [from_pdf[0].header, *(r.cells for r in from_pdf)]

    document, _ = services.add_document(filename=name, data=make(table))
    document = services.ingest(document.pk)
    assert document.status == "ready", document.error
    (chunk,) = document.chunks.all()
    from_file = rows(chunk.text)
    assert [r.text for r in from_file] == [r.text for r in from_pdf]
    assert from_file[0].text.startswith(
        "French fries (frozen, 3/8 in cut): Vat 1 or 2, Oil temp 350°F, Cook time 3 min 00 s"
    )


# A chart whose layout a conversion to text lost: its column names, then its values a
# row at a time, in the middle of a paragraph (figures as a holding chart gives them).
FLATTENED = (
    "Hold the soup for the time the chart gives for its temperature: Temperature °C (°F) "
    "Time1 in Minutes 60.0 (140) 12 62.2 (144) 5 62.8 (145) 4 1Holding time starts when "
    "the probe reads the temperature. Stir the soup before it is probed."
)


def test_a_chart_flattened_into_a_paragraph_reads_back_as_labelled_rows():
    blocks, charted = read(FLATTENED), rows(FLATTENED)
    assert [b.text for b in charted] == [
        "Temperature °C (°F) 60.0 (140): Time in Minutes 12",
        "Temperature °C (°F) 62.2 (144): Time in Minutes 5",
        "Temperature °C (°F) 62.8 (145): Time in Minutes 4",
    ]
    # the sentence before says what the values are; the chart's footnote explains its
    # mark and is not quoted on its own; the words after it stay a paragraph
    assert all(b.lead.startswith("Hold the soup for the time") for b in charted)
    assert blocks[0].text.startswith("Hold the soup") and blocks[0].kind != "row"
    assert blocks[-1].text == "Stir the soup before it is probed."
    assert not any("Holding time starts" in b.text for b in blocks)


def test_numbers_in_a_row_with_nothing_to_tell_their_columns_apart_stay_a_sentence():
    text = "Vats 1 2 3 4 5 6 are filtered in that order: 1 2 3 4 5 6 each night."
    assert not rows(text)


def test_a_line_opening_with_a_chart_value_in_parentheses_is_not_a_list_item():
    lines = "Time in Minutes 54.4 (130) 112 55.0\n(131) 89 56.1 (133) 56\n(2) The next rule."
    blocks = textdocs.text_blocks(lines)
    assert [b.kind for b in blocks] == ["para", "item"]  # "(2)" is an item, "(131)" is not
    assert "55.0 (131) 89" in blocks[0].text


# A chart with a label before each row's values, its column names values themselves
# (made-up settings, laid out as a conversion to text leaves such charts).
OVENS = (
    "Preheat the oven for the roast's weight as the chart shows: Oven Settings by Roast "
    "Weight Oven Kind Less than 4 kg (9 lbs) 4 kg (9 lbs) or More Deck 175°C (347°F) or "
    "more 150°C (302°F) or more Convection 160°C (320°F) or more 140°C (284°F) or more "
    "Combi Steam 1 120°C (248°F) or less 120°C (248°F) or less 1 Steam mode with the vent "
    "shut."
)


def test_a_flattened_chart_with_a_label_on_each_row_reads_back_as_labelled_rows():
    blocks, charted = read(OVENS), rows(OVENS)
    assert [b.text for b in charted] == [
        "Deck — Less than 4 kg (9 lbs): 175°C (347°F) or more; "
        "4 kg (9 lbs) or More: 150°C (302°F) or more",
        "Convection — Less than 4 kg (9 lbs): 160°C (320°F) or more; "
        "4 kg (9 lbs) or More: 140°C (284°F) or more",
        "Combi Steam — Less than 4 kg (9 lbs): 120°C (248°F) or less; "
        "4 kg (9 lbs) or More: 120°C (248°F) or less",
    ]  # the footnote's 1 after "Combi Steam" is not a value
    assert charted[0].lead.endswith("as the chart shows: Oven Settings by Roast Weight Oven Kind")
    assert blocks[-1] is charted[-1]  # the footnote after the chart is not quoted alone


def test_a_chart_row_is_embedded_with_its_lead_in_and_stored_under_its_own_text():
    embedded, stored = embedded_units(FLATTENED), units(FLATTENED)
    assert len(embedded) == len(stored)
    charted = [i for i, text in enumerate(stored) if text.startswith("Temperature °C (°F)")]
    assert charted and all(
        embedded[i].startswith("Hold the soup for the time") and embedded[i].endswith(stored[i])
        for i in charted
    )
    others = [i for i in range(len(stored)) if i not in charted]
    assert all(embedded[i] == stored[i] for i in others)
