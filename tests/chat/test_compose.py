"""The built-in model's writer choosing what to quote, on passages given directly (no
store, no embeddings): what a crew member would read."""

import re
from collections import Counter

from chat.assistant import compose
from chat.assistant.question import understand
from chat.assistant.scoring import Source
from chat.assistant.vocabulary import Vocabulary
from knowledge.words import stems

# Two rules about the cooler, one of them a lead-in with its conditions run inline.
COOLER = [
    (
        "Storage Code",
        "9-501.11 Shell Eggs",
        "Shell eggs shall be stored in a cooler that keeps the air at 45°F or less.",
    ),
    (
        "Storage Code",
        "9-501.12 Cold Holding",
        "Other food in the cooler shall be kept: (1) At 41°F or less; (2) Covered or wrapped; "
        "and (3) On shelves below ready-to-eat food.",
    ),
    (
        "Storage Code",
        "9-501.13 Dry Storage",
        "Dry goods shall be stored six inches above the floor.",
    ),
]


def answer(question: str, passages, *, voice: bool = False, safety_first: bool = False) -> str:
    sources = [
        Source(n, title, heading, text) for n, (title, heading, text) in enumerate(passages, 1)
    ]
    counts: Counter[str] = Counter()
    for title, heading, text in passages:
        counts.update(set(stems(f"{title} {heading} {text}")))
    plan = compose.plan(
        understand(question),
        sources,
        Vocabulary(len(passages), dict(counts)),
        voice=voice,
        safety_first=safety_first,
    )
    assert plan is not None, "declined"
    return "".join(compose.write(plan, voice=voice))


def test_a_lead_in_quoted_as_a_second_fact_comes_with_its_list():
    text = answer("how cold do the eggs and the other food in the cooler have to be kept?", COOLER)
    assert text.startswith("Shell eggs shall be stored in a cooler"), text
    # "... shall be kept:" says nothing on its own: the conditions follow it
    assert (
        "Other food in the cooler shall be kept [2]:\n- At 41°F or less [2]\n- Covered" in text
    ), text
    assert not text.rstrip().endswith(":"), text


def test_a_spoken_answer_keeps_a_lead_ins_list_short():
    text = answer(
        "how cold do the eggs and the other food in the cooler have to be kept?", COOLER, voice=True
    )
    assert "41°F" in text, text
    assert text.count("[2]") <= 1 + compose.MAX_ITEMS["voice"], text


# A rule that answers "how soon" without a number, beside rules that hold numbers of days.
PESTS = [
    (
        "Premises Code",
        "9-601.12 Removing Dead Pests",
        "Dead or trapped rodents and insects shall be removed from traps and the premises "
        "often enough to prevent their decomposition.",
    ),
    (
        "Employee Health",
        "9-102.11 Exclusion",
        "A food employee who had a fever shall stay home for 3 days after it ends.",
    ),
    ("Premises Code", "9-601.13 Outer Openings", "Outer doors shall be kept closed."),
]


def test_a_rule_far_better_than_any_with_a_figure_answers_how_soon_alone():
    text = answer("theres a dead mouse stuck in a trap. how soon do we remove it?", PESTS)
    assert text.startswith("Dead or trapped rodents and insects shall be removed"), text
    assert "3 days" not in text, text  # a number of days about something else is not said


# A rule whose conditions are fragments that mean nothing without the lead-in.
EXCLUSION = [
    (
        "Employee Health",
        "9-201.12 Exclusions",
        "The person in charge shall exclude a food employee if the food employee is: "
        "(1) Symptomatic with vomiting or diarrhea; (2) Jaundiced; (3) Diagnosed with "
        "hepatitis A; (4) Diagnosed with typhoid fever; or (5) Linked to an outbreak.",
    ),
    (
        "Employee Health",
        "9-201.13 Reporting",
        "Food employees shall report a diagnosis to the person in charge the same day. "
        "The person in charge keeps the report on file.",
    ),
    (
        "Employee Health",
        "9-201.14 Returning",
        "An excluded food employee may return to work when a doctor's note is provided.",
    ),
]


def test_a_list_item_that_is_no_sentence_is_quoted_after_its_lead_in():
    text = answer("can the cook work with vomiting or diarrhea?", EXCLUSION)
    lines = text.splitlines()
    assert lines[0].startswith("The person in charge shall exclude a food employee"), text
    assert lines[1].startswith("- Symptomatic with vomiting or diarrhea"), text  # as its list


# A step whose last sentence leads into a sub-list the manual never wrote out.
DISH_CHECKS = [
    (
        "Dish Machine",
        "4. Daily Checks",
        "Check the machine each morning.\n\n"
        "1. Stick a heat label on a clean plate and run it through a cycle. The label must "
        "turn black at 160°F. For the chemical machine:\n"
        "2. Dip a chlorine test strip in the final rinse water.\n"
        "3. Write both readings in the log.",
    ),
    (
        "Dish Machine",
        "2. Temperatures",
        "The wash water must be 150°F or hotter on the high-temperature machine.",
    ),
]


def test_a_fact_does_not_end_on_a_lead_in_to_nothing():
    text = answer("what temp is the wash water on the dish machine", DISH_CHECKS)
    assert text.startswith("The wash water must be 150°F"), text
    assert "160°F" in text and "For the chemical machine" not in text, text


# Asked how, a list in one section and the rule that answers just as well in another.
RAW_MEATS = [
    (
        "Food Code",
        "9-602.11 Cleaning Frequency",
        "Utensils shall be cleaned: (1) Before each use with raw chicken, beef or fish; "
        "(2) Each time prep changes from raw food to ready-to-eat food; and (3) At any time "
        "contamination may have occurred.",
    ),
    (
        "Food Code",
        "9-302.11 Separation",
        "Raw animal foods such as chicken and beef shall be separated from each other during "
        "prep by using separate equipment, separate areas or different times.",
    ),
]


def test_a_procedures_notes_include_the_rule_that_answers_from_another_section():
    text = answer(
        "how do we keep raw chicken and beef from contaminating each other during prep?", RAW_MEATS
    )
    assert "1. " in text, text  # the steps...
    assert "separate equipment" in text, text  # ...and the rule that says how


def test_a_procedures_note_from_another_list_comes_after_that_lists_lead_in():
    separation = (
        "Food Code",
        "9-302.11 Separation",
        "Food shall be protected from cross contamination by: (1) Separating raw chicken and "
        "beef from each other during prep by using separate equipment, separate areas or "
        "different times; (2) Covering food in storage; and (3) Storing food off the floor.",
    )
    text = answer(
        "how do we keep raw chicken and beef from contaminating each other during prep?",
        [RAW_MEATS[0], separation],
    )
    lead_in, steps, notes = text.split("\n\n")
    assert lead_in.endswith(":") and steps.startswith("1. "), text  # one list, numbered
    # the other list's best item is a note: after its own lead-in, as a bullet, never as
    # another "1." beside the procedure's steps
    lead, _, item = notes.partition("\n")
    assert lead.endswith(":") and item.startswith("- "), text
    assert not re.search(r"^\d\. ", notes, re.MULTILINE), text


def test_a_procedures_note_that_leads_into_a_list_comes_with_its_items():
    serving = (
        "Food Code",
        "9-401.11 Raw Animal Foods",
        "(C) A rare whole beef steak may be served if: (1) The steak is cooked on the top "
        "and bottom to 145°F; and (2) The steak stays whole.\n"
        "(D) A raw animal food such as rare meat other than a whole beef steak may be served "
        "if: (1) The guest is told of the risk; and (2) The food is not on a children's menu.",
    )
    text = answer("guest wants a rare steak, what are the rules for serving it?", [serving])
    # two rules, each a lead-in: the one that is not the procedure still says its items
    assert text.count(" if [1]:") == 2, text
    assert "top and bottom to 145°F" in text and "told of the risk" in text, text
    assert not text.rstrip().endswith(":"), text


def test_an_answer_does_not_open_on_a_lead_in_whose_list_is_not_there():
    wounds = [
        (
            "Food Code",
            "9-201.13 Wounds",
            "A worker with an infected cut on the hand may keep working if the cut is "
            "properly covered with one of the following:",
        ),
        (
            "Food Code",
            "9-302.14 Bandages",
            "A cut on the hand is covered with a waterproof bandage and a single-use glove "
            "while working with food.",
        ),
    ]
    text = answer("one of my cooks has an infected cut on his hand, can he keep working?", wounds)
    assert "waterproof bandage" in text, text
    assert not text.rstrip().endswith(":"), text


def test_an_emergencys_steps_are_not_followed_by_their_own_lead_in():
    burns = [
        (
            "First Aid",
            "9-801.11 Burns",
            "A worker burned on the fryer or grill shall be cared for as follows: (1) Cool "
            "the burn under cold running water for 20 minutes; (2) Cover the burn with a clean "
            "dressing; and (3) Tell the manager on duty.",
        )
    ]
    # an emergency: the first thing to do is said first, without the lead-in ...
    text = answer("i burned my hand on the fryer, what do i do?", burns, safety_first=True)
    assert text.startswith("1. Cool the burn"), text
    assert not text.rstrip().endswith(":"), text  # ... nor with it after the steps
