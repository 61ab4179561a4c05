"""The one citation-marker module every reader of answers uses."""

import pytest

from chat import markers


@pytest.mark.parametrize(
    "answer",
    [
        "Cook fries 3 min [1].",
        "Cook fries 3 min [12].",
        "Cook fries 3 min [1, 2].",
        "Cook fries 3 min [1–3].",
        "Cook fries 3 min [^1].",
        "Cook fries 3 min [1] [2].",
    ],
)
def test_every_form_of_marker_is_left_out_of_what_is_read(answer):
    assert markers.plain(answer) == "Cook fries 3 min."


def test_brackets_that_are_not_markers_stay():
    assert markers.plain("Set dial to [HIGH] for 2 [min]") == "Set dial to [HIGH] for 2 [min]"
    assert markers.plain("A 1,234-word [1000 5] note") == "A 1,234-word [1000 5] note"


def test_sources_are_listed_once_in_the_order_first_cited():
    assert markers.numbers("a [3] b [1] c [3] d [100]") == [3, 1, 100]


def test_renumbering_keeps_or_drops_each_marker():
    shown = {3: 1, 1: 2}
    assert markers.renumber("a [3] b [1] c [7]", shown.get) == "a [1] b [2] c "


@pytest.mark.parametrize(
    ("streamed", "held"), [("Fries [", "["), ("Fries [1", "[1"), ("Fries [1, ", "[1, ")]
)
def test_a_marker_cut_by_the_stream_is_recognised(streamed, held):
    assert markers.CUT.search(streamed)[0] == held
    assert markers.CUT.search("Fries [1] done") is None
