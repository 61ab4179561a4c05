"""The numbers the built-in model decides with, and where they come from.

Two decisions, both fitted by ``manage.py bench calibrate`` on a whole question set and
checked on another (never tuned to single questions):

- ``UNIT_WEIGHTS``: how a unit (sentence, step, row) is scored for stating what the
  question asks, from its features (``scoring``). It orders the candidates. Fitted to
  the share of required facts the three best units state, in the right place.
- ``RELEVANCE`` and ``CLOSENESS``: the two ways passages show they answer a question at
  all (``decision``): by its words, or by its meaning; failing both, the assistant
  declines.

Fitted on ``shared/eval/dev_questions.json`` over the Food Code corpus (documents
nobody on the team wrote; ``bench calibrate --no-demo --corpus --questions ...``),
checked on this project's demo set over the demo manuals (``bench chat``). Fitting on
the demo set instead gave weights that did worse on the Food Code than these do on the
demo manuals. Re-fit after changing a feature, and report both sets.
"""

from __future__ import annotations

CAPTION_SHARE = 0.8  # a row's caption names what its values are: nearly its own words

UNIT_WEIGHTS = {
    "bias": 0.0,
    "words": 7.61,
    "context": -1.17,
    "section": 1.96,
    "meaning": 15.02,
    "cosine": -14.23,
    "chunk": 9.02,
    "figure": 1.47,
    "numbers": 0.0,
    "rank": 1.52,
    "search": 2.81,
}
KIND_OFFSETS = {"fragment": -0.57}

# The decline (``decision``): the passages answer when one block of them names this
# share of the question's weight (fitted on the demo set by the earlier composer)...
RELEVANCE = 0.6
# ... or when the best unit is this many background spreads closer in meaning to the
# question than everyday questions come (``background``): the highest value that keeps
# false declines on the Food Code development set at 5% or less.
CLOSENESS = 1.2


def unit_score(features: dict[str, float], kind: str = "prose") -> float:
    """The unit's score (higher: more likely to state the answer)."""
    total = UNIT_WEIGHTS["bias"] + KIND_OFFSETS.get(kind, 0.0)
    return total + sum(UNIT_WEIGHTS.get(name, 0.0) * value for name, value in features.items())
