"""``bench calibrate`` on a small question set over the demo manuals: it reports the
ceiling any unit weights could reach beside what the weights in use reach."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

QUESTIONS = [  # this project's question format: where the answer is, and its facts
    {
        "question": "how long do fries go in?",
        "manual": "hb-eq-101-fryer.pdf",
        "pages": [3],
        "section": "4.1 Cook times and temperatures",
        "facts": ["3 min 00 s", "350°F"],
    },
    {
        "question": "how often do we filter the fryers",
        "manual": "hb-eq-101-fryer.pdf",
        "pages": [5],
        "section": "6. Filtering",
        "facts": ["twice a day", "at close"],
    },
    {"question": "what's the wifi password for guests?", "answerable": False},
]


@pytest.mark.django_db(transaction=True)
def test_calibrate_says_how_much_of_the_answer_search_found(tmp_path):
    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps(QUESTIONS))
    out = StringIO()
    call_command(
        "bench", "calibrate", "--json", "--questions", str(questions), "--steps", "5", stdout=out
    )
    result = json.loads(out.getvalue())
    assert result["questions"] == 3
    ceiling = result["facts_in_passages_read"]
    assert ceiling == 1.0  # both answers are in the fryer manual, and search finds them
    assert result["in_use"]["facts_in_best_three"] <= ceiling
    assert result["fitted"]["facts_in_best_three"] <= ceiling
