"""Spoken and typed number words in crew questions become the digits the manuals use."""

import sys

import pytest

from knowledge.search.numbers import digits

# (question as asked, question as search should see it)
CARDINALS = [
    ("the walk-in is at forty five degrees", "the walk-in is at 45 degrees"),
    ("The walk-in is at forty-five degrees.", "The walk-in is at 45 degrees."),
    ("cook it to a hundred and sixty five", "cook it to 165"),
    ("Cook chicken to one hundred sixty-five.", "Cook chicken to 165."),
    ("one hundred and forty five for fish", "145 for fish"),
    ("twelve hundred calories in the burrito", "1200 calories in the burrito"),
    ("two thousand watts on the microwave", "2000 watts on the microwave"),
    ("two thousand five hundred steps", "2500 steps"),
    ("two minutes", "2 minutes"),
    ("how long do fries go for three minutes or four", "how long do fries go for 3 minutes or 4"),
    ("twenty one ounce shake how many scoops", "21 ounce shake how many scoops"),
    ("ten foot candles in the walk in", "10 foot candles in the walk in"),
    ("sanitizer should be two hundred ppm", "sanitizer should be 200 ppm"),
    ("wash hands for twenty seconds", "wash hands for 20 seconds"),
    ("thirty second rinse", "30 second rinse"),
    ("the reach in reads thirty eight", "the reach in reads 38"),
    ("throw it out after seven days", "throw it out after 7 days"),
    ("is it ok if the cooler was fourty one", "is it ok if the cooler was 41"),
    ("its been sitting out for eleven hours", "its been sitting out for 11 hours"),
    ("a hundred", "100"),
    ("FORTY FIVE degrees", "45 degrees"),
]

SHORTHAND = [
    ("fryer's at three fifty", "fryer's at 350"),
    ("the fryer is at three fifty", "the fryer is at 350"),
    ("cook it to one sixty five", "cook it to 165"),
    ("is one fifty five ok for ground beef", "is 155 ok for ground beef"),
    ("set the oven to four twenty five", "set the oven to 425"),
    ("water boils at two twelve right", "water boils at 212 right"),
    ("hot holding has to stay above one thirty five", "hot holding has to stay above 135"),
    ("the soup only hit one twenty", "the soup only hit 120"),
    ("thermometer reads one forty", "thermometer reads 140"),
    ("oven reading around three twenty five", "oven reading around 325"),
    ("its like three seventy five", "its like 375"),
    ("what's one sixty five in celsius", "what's 165 in celsius"),
    ("pork should be one forty five", "pork should be 145"),
    ("an internal temp of one fifty five", "an internal temp of 155"),
    ("between one thirty five and one forty", "between 135 and 140"),
    ("is it one sixty or one sixty five", "is it 160 or 165"),
    ("three fifty degrees for the fries", "350 degrees for the fries"),
    ("fries at three fifty F", "fries at 350 F"),
    ("three fifty°F", "350°F"),
    ("a three fifty-degree oven", "a 350-degree oven"),
    ("the pizza oven runs seven fifty degrees", "the pizza oven runs 750 degrees"),
    ("three oh five", "305"),
    ("one oh five for the dish machine", "105 for the dish machine"),
    ("Cook It To One Sixty Five", "Cook It To 165"),
    ("is one fifty five point five ok", "is 155.5 ok"),
]

DECIMALS_AND_FRACTIONS = [
    ("three quarters full", "3/4 full"),
    ("fill the third pan two thirds of the way", "fill the third pan 2/3 of the way"),
    ("one quarter inch dice", "1/4 inch dice"),
    ("one sixth pan of pico", "1/6 pan of pico"),
    ("one and a half cups of water", "1.5 cups of water"),
    ("two and a half minutes", "2.5 minutes"),
    ("two point five ounces", "2.5 ounces"),
    ("body temp is ninety eight point six", "body temp is 98.6"),
    ("zero point five ppm", "0.5 ppm"),
]

LONE_ONE_AND_ZERO = [
    ("one minute", "1 minute"),
    ("wait one second", "wait 1 second"),
    ("one gallon of sanitizer", "1 gallon of sanitizer"),
    ("one-inch cubes", "1-inch cubes"),
    ("one or two minutes", "1 or 2 minutes"),
    ("one to 2 hours", "1 to 2 hours"),
    ("one %", "1 %"),
    ("set it to zero degrees", "set it to 0 degrees"),
]

COUNTS_AND_SIZES = [
    ("we need three fifty pound bags of flour", "we need 3 50 pound bags of flour"),
    ("is two twelve ounce cups enough", "is 2 12 ounce cups enough"),
    ("grab three two ounce ramekins", "grab 3 2 ounce ramekins"),
]

# Questions in which no word is a quantity, or the reading is in doubt.
LEFT_ALONE = [
    "one of the cooks said the walk in is broken",
    "no one cleaned the slicer",
    "the one on the left or the right",
    "someone left the door open",
    "once the oil is hot",
    "i need a new one",
    "at one point the cooler was warm",
    "first in first out",
    "second shift closes the line",
    "is it the fifth or the third day",
    "keep it a sixth pan",
    "third pan of lettuce",
    "rotate the tens and ones in the drawer",
    "is a half pan enough",
    "fill it half full",
    "oh no the fryer",
    "zero tolerance for bare hand contact",
    "one sixty five for chicken",  # no cue: the first word may be a count
    "three fifty",
    "nine one one",  # read digit by digit
    "two three",
    "twenty twenty five menu",  # a year
    "twelve fifty for the combo",  # a price
    "it's a hundreds of orders night",
    "hundred",
    "anyone know the thousand island recipe",
]

CLOCK_TIMES = [
    "at three fifteen pm",
    "we close at ten thirty p.m.",
    "the truck comes at five o'clock",
    "is lunch at two am",
    "at nine thirty",
    "we open at nine thirty",
    "my shift starts at two fifteen",
    "open at seven oh five",
    "truck comes around seven thirty",
    "breakfast ends at ten thirty",
    "until eleven fifteen",
]

EVERY_QUESTION = [
    *(text for text, _ in CARDINALS + SHORTHAND + DECIMALS_AND_FRACTIONS),
    *(text for text, _ in LONE_ONE_AND_ZERO + COUNTS_AND_SIZES),
    *LEFT_ALONE,
    *CLOCK_TIMES,
]


@pytest.mark.parametrize(("text", "expected"), CARDINALS)
def test_spelled_out_cardinals_become_digits(text, expected):
    assert digits(text) == expected


@pytest.mark.parametrize(("text", "expected"), SHORTHAND)
def test_temperatures_said_in_two_groups_become_one_number_where_safe(text, expected):
    assert digits(text) == expected


@pytest.mark.parametrize(("text", "expected"), DECIMALS_AND_FRACTIONS)
def test_decimals_and_kitchen_fractions_become_digits(text, expected):
    assert digits(text) == expected


@pytest.mark.parametrize(("text", "expected"), LONE_ONE_AND_ZERO)
def test_a_lone_one_or_zero_counts_only_before_a_unit_or_a_range(text, expected):
    assert digits(text) == expected


@pytest.mark.parametrize(("text", "expected"), COUNTS_AND_SIZES)
def test_a_count_before_a_size_is_not_read_as_one_number(text, expected):
    assert digits(text) == expected


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_words_that_are_not_quantities_stay_as_they_are(text):
    assert digits(text) == text


@pytest.mark.parametrize("text", CLOCK_TIMES)
def test_clock_times_stay_words(text):
    assert digits(text) == text


@pytest.mark.parametrize("text", EVERY_QUESTION)
def test_rewriting_twice_changes_nothing_more(text):
    once = digits(text)
    assert digits(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "it's sittin at like 46 degrees",
        "Is 165°F OK for chicken? (asking for the 3-401.11 table)",
        "how do i clean the ice machine",
        "🍟 fries 🍟",
    ],
)
def test_a_question_without_number_words_comes_back_as_the_same_string(text):
    assert digits(text) is text


def test_nothing_else_in_the_sentence_changes():
    text = "Hey —  the Walk-In's at FORTY FIVE°F,\tright?!  (Chef said: 'cook to ONE SIXTY-FIVE')"
    assert digits(text) == "Hey —  the Walk-In's at 45°F,\tright?!  (Chef said: 'cook to 165')"


def test_punctuation_between_number_words_keeps_them_apart():
    assert digits("forty, five minutes") == "40, 5 minutes"
    assert digits("cook it to one, sixty five") == "cook it to one, 65"


def test_speech_recogniser_output_without_punctuation_or_capitals():
    assert digits("hey so the fryers at three fifty and the fish has to be one forty five") == (
        "hey so the fryers at 350 and the fish has to be 145"
    )
    assert digits("how long can food sit out at seventy degrees before i toss it") == (
        "how long can food sit out at 70 degrees before i toss it"
    )
    assert digits("whats the temp for reheating is it one sixty five for fifteen seconds") == (
        "whats the temp for reheating is it 165 for 15 seconds"
    )


def calls(text: str) -> int:
    """The function calls ``digits(text)`` makes: the work it does, counted the same on
    any machine however busy (its time is for benchmarks)."""
    made = 0

    def count(frame, event, arg):
        nonlocal made
        made += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        digits(text)
    finally:
        sys.setprofile(None)
    return made


def test_a_two_thousand_character_question_is_read_in_a_bounded_number_of_steps():
    phrase = "is one sixty five ok or a hundred and forty five at three oh five for two minutes "
    text = (phrase * (2000 // len(phrase) + 1))[:2000]
    once = digits(text)
    assert "165" in once and "145" in once and "305" in once
    assert digits(once) == once
    assert calls(text) < 100 * len(text.split())  # each word looked at a bounded number of times


def test_the_work_grows_with_the_length_not_faster():
    phrase = "twenty one one two three fifty oh one and a half point "
    short, long = calls(phrase * 200), calls(phrase * 2000)
    assert long < short * 12  # ten times the text; quadratic work would be ~100 times
