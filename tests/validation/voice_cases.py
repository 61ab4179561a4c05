"""What the voice and cross-modal tests share: golden questions this machine's offline
recogniser hears word for word, a sample of the demo's golden cases, and a speech
vocabulary built from the demo manuals in a folder of its own."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager

from validation.suite.context import Case, Context
from voice import stt, tts
from voice.stt import vocabulary

SHAKES = "hb-eq-103-soft-serve-freezer.pdf"

# Found by speaking the chat benchmark's questions with validation.speech.speak: these
# come back from pocketsphinx (with the demo vocabulary) without a word wrong.
HEARD_RIGHT = [
    Case(9001, "how many ounces is a medium shake", [], True, ["16 oz"], SHAKES, [3], "fact"),
    Case(
        9002,
        "how often do we change the sanitizer bucket",
        [],
        True,
        ["every 4 hours", "below 200 ppm"],
        "hb-fs-301-food-safety.pdf",
        [5],
        "fact",
    ),
    Case(
        9003,
        "how do i set up the three compartment sink",
        [],
        True,
        ["110°F or above", "75°F or above", "200 to 400 ppm"],
        "hb-eq-105-dish-machine.pdf",
        [3],
        "procedure",
    ),
    Case(
        9004,
        "and the small shake?",
        ["how many ounces is a medium shake"],
        True,
        ["12 oz"],
        SHAKES,
        [3],
        "follow-up",
    ),
]


def sample(context: Context, per_kind: int = 2) -> Context:
    """The first ``per_kind`` golden cases of each kind, in a context of their own (the
    whole set is what ``manage.py validate`` speaks; this keeps the tests fast)."""
    taken: dict[str, int] = defaultdict(int)
    cases = []
    for case in context.cases:
        if taken[case.kind] < per_kind:
            taken[case.kind] += 1
            cases.append(case)
    return Context(client=context.client, cases=cases)


@contextmanager
def demo_vocabulary(settings, tmp_path_factory):
    """The speech vocabulary built from the knowledge base now (the demo manuals) in a
    var dir of this session's own: a vocabulary another test built from another
    knowledge base in the shared var dir must not change what is heard."""
    settings.VAR_DIR = tmp_path_factory.getbasetemp() / "validation-voice-var"
    stt.reset()
    tts.reset()
    vocabulary.ensure()
    try:
        yield
    finally:
        stt.reset()
        tts.reset()


def run_checks(category: str, ctx: Context, *ids: str) -> dict:
    """The outcomes of ``category``'s checks (all, or those ``ids``) on ``ctx``."""
    from validation.suite import all_tests

    tests = {t.id: t for t in all_tests() if t.category == category}
    return {i: tests[i].function(ctx) for i in ids or tests}


def registered_pass_marks(category: str) -> dict:
    from validation.suite import all_tests

    return {t.id: t.pass_mark for t in all_tests() if t.category == category}
