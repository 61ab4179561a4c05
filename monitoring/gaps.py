"""Knowledge gaps: the questions the assistant declined, grouped by similar wording.

Two questions fall in one group when their content words (stopwords dropped, a
plural's "s" trimmed) overlap enough (Jaccard at least ``SIMILAR``). Groups are
built greedily over the newest questions first, so each group is named by its most
recent wording; the largest groups come first.
"""

from __future__ import annotations

import re

from chat.models import Message
from lineled.services import by_people

SIMILAR = 0.5
MAX_QUESTIONS = 3000
_STOP = """
a an the and or but if of to in on at for with by from about as is are was were be been
do does did can could should would will i we you my our your it its this that these those
there what whats which who how when where why me us they them any some have has had get
got go put much many long often
"""
STOPWORDS = frozenset(_STOP.split())


def words(question: str) -> frozenset[str]:
    tokens = re.findall(r"[a-z0-9]+", question.lower())
    kept = [
        t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t for t in tokens
    ]
    return frozenset(t for t in kept if t not in STOPWORDS)


def _similar(a: frozenset, b: frozenset) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= SIMILAR


def declined_groups(since, limit: int) -> list[dict]:
    rows = (
        by_people(
            Message.objects.filter(
                role=Message.Role.ASSISTANT,
                declined=True,
                created_at__gte=since,
                reply_to__isnull=False,
            )
        )
        .order_by("-created_at")
        .values_list("reply_to__text", "created_at")[:MAX_QUESTIONS]
    )
    groups: list[dict] = []
    for text, at in rows:
        key = words(text)
        group = next((g for g in groups if _similar(g["key"], key)), None)
        if group is None:
            groups.append(
                {"key": key, "question": text, "count": 1, "examples": [text], "last_asked": at}
            )
            continue
        group["count"] += 1
        if text not in group["examples"] and len(group["examples"]) < 5:
            group["examples"].append(text)
    groups.sort(key=lambda g: (-g["count"], -g["last_asked"].timestamp()))
    return [{k: v for k, v in g.items() if k != "key"} for g in groups[:limit]]
