"""Routing a question to a topic by keywords, with no model call: equipment,
food_safety, procedures or emergencies.

The topic steers the answer: emergencies (and injuries, chemicals and illness) put the
safety step first and tell the model so; search results whose heading is about the
topic rank a little higher. A question matching none is "general".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMERGENCIES = "emergencies"
FOOD_SAFETY = "food_safety"
EQUIPMENT = "equipment"
PROCEDURES = "procedures"
GENERAL = "general"


def _words(*words: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)


# First match wins, so the more urgent topics come first.
_RULES = [
    (
        EMERGENCIES,
        _words(
            r"fire\b",
            r"flames?\b",
            r"smok(?:e|ing)\b",
            r"burn(?:s|ed|t|ing)?\b",
            r"popped",
            r"scald",
            r"cut (?:my|his|her|their)",
            r"bleed",
            r"blood",
            r"injur",
            r"hurt",
            r"fell\b",
            r"fall(?:en)?\b",
            r"slipp?ed",
            r"faint",
            r"unconscious",
            r"chok",
            r"can'?t breathe",
            r"trouble breathing",
            r"allergic reaction",
            r"swelling",
            r"hives\b",
            r"911",
            r"emergenc",
            r"trapped",
            r"stuck in",
            r"locked in",
            r"gas (?:leak|smell)",
            r"smell(?:s)? (?:gas|bleach|chemical)",
            r"splash",
            r"in (?:my|his|her|their) eyes?",
            r"swallow",
            r"robb",
            r"gun\b",
            r"weapon",
            r"break-?in",
            r"intruder",
            r"shock(?:ed)?\b",
            r"sparks?\b",
            r"evacuat",
            r"knocking",
        ),
    ),
    (
        FOOD_SAFETY,
        _words(
            r"sick",
            r"ill\b",
            r"illness",
            r"vomit",
            r"threw up",
            r"throw(?:ing)? up",
            r"diarrh",
            r"fever",
            r"jaundice",
            r"yellow",
            r"allerg",
            r"gluten",
            r"peanut",
            r"(?<!-)temp",  # not a display message such as HI-TEMP
            r"hot hold",
            r"cold hold",
            r"cook(?:ed)? to",
            r"internal",
            r"cool(?:ing)?\b",
            r"thaw",
            r"defrost",
            r"date mark",
            r"label",
            r"expire",
            r"shelf life",
            r"good for",
            r"gloves?",
            r"wash (?:my |your |our )?hands",
            r"handwash",
            r"hand sink",
            r"sanitiz",
            r"bleach",
            r"pest",
            r"mouse",
            r"mice",
            r"rat\b",
            r"roach",
            r"bugs?\b",
            r"flies\b",
            r"dog\b",
            r"animal",
            r"pet\b",
            r"raw\b",
            r"cross.?contam",
            r"danger zone",
            r"toss",
            r"throw (?:it|them) (?:away|out)",
            r"discard",
        ),
    ),
    (
        EQUIPMENT,
        _words(
            r"fryer",
            r"fry vat",
            r"vats?\b",
            r"grill",
            r"platen",
            r"clamshell",
            r"freezer",
            r"shake machine",
            r"ice cream machine",
            r"soft.?serve",
            r"walk.?in",
            r"cooler",
            r"dish ?machine",
            r"dishwasher",
            r"hood",
            r"oil\b",
            r"filter",
            r"boil.?out",
            r"gasket",
            r"thermometer",
            r"probe",
            r"error",
            r"code\b",
            r"display",
            r"screen",
            r"says\b",
            r"beeping",
            r"alarm",
            r"broken",
            r"\bdown\b",
            r"not working",
        ),
    ),
    (
        PROCEDURES,
        _words(
            r"open(?:ing|er)?\b",
            r"clos(?:e|ing|er)\b",
            r"cash",
            r"drawer",
            r"deposit",
            r"safe\b",
            r"lock",
            r"alarm code",
            r"shift",
            r"checklist",
            r"log\b",
            r"how do i",
            r"how to",
            r"steps?\b",
            r"procedure",
            r"walk me through",
            r"set ?up",
        ),
    ),
]
# Safety first also for injuries' and illnesses' cousins that are not emergencies.
_SAFETY_FIRST = _words(
    r"vomit",
    r"threw up",
    r"diarrh",
    r"jaundice",
    r"chemical",
    r"bleach",
    r"toxic",
    r"never mix",
    r"mix .* with",
    r"eyes?\b",
)


@dataclass(frozen=True)
class Route:
    topic: str
    safety_first: bool


def route(question: str) -> Route:
    """The topic of a (standalone) question and whether safety comes first."""
    topic = next((name for name, pattern in _RULES if pattern.search(question)), GENERAL)
    return Route(topic, topic == EMERGENCIES or bool(_SAFETY_FIRST.search(question)))


# Words in a search result's heading that mark it as about the topic.
HEADINGS = {
    EMERGENCIES: _words(
        r"safety",
        r"fire",
        r"first aid",
        r"burn",
        r"emergenc",
        r"trapped",
        r"robbery",
        r"eye-wash",
        r"chemical",
        r"security",
    ),
    FOOD_SAFETY: _words(
        r"food safety",
        r"temperature",
        r"hygiene",
        r"illness",
        r"allergen",
        r"gloves",
        r"hands",
        r"date marking",
        r"cooling",
        r"thawing",
        r"holding",
        r"pests?",
        r"animals",
    ),
}
