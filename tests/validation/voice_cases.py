"""What the voice and cross-modal tests share: golden questions the default offline
recogniser hears word for word, a sample of the demo's golden cases, and what the
recogniser learns of the demo manuals, built in a folder of its own."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager

from validation.suite.context import Case, Context
from voice import services, stt, tts

FRYER = "hb-eq-101-fryer.pdf"
ONION_RINGS = "how long do onion rings cook"

# Found by speaking the chat benchmark's and the demo's golden questions with
# validation.speech.speak: these come back from whisper base (prompted with the demo
# manuals' key terms) without a word wrong.
HEARD_RIGHT = [
    Case(9001, ONION_RINGS, [], True, ["2 min 30 s"], FRYER, [3], "fact"),
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
        "how do i pour new mix into a soft serve hopper",
        [],
        True,
        ["sanitize the bag spout", "Stop at the FILL mark"],
        "hb-eq-103-soft-serve-freezer.pdf",
        [2],
        "procedure",
    ),
    Case(9004, "what about fish?", [ONION_RINGS], True, ["3 min 30 s"], FRYER, [3], "follow-up"),
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
    """What the recogniser learns of the knowledge base now (the demo manuals), built in
    a var dir of this session's own: key terms another test picked from another
    knowledge base in the shared var dir must not change what is heard."""
    settings.VAR_DIR = tmp_path_factory.getbasetemp() / "validation-voice-var"
    stt.reset()
    tts.reset()
    services.rebuild_vocabulary()
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
