"""What both local engines rank by, and the SQL they share.

The terms of a question are OR-ed, each weighted by how rare it is (BM25's IDF), so a
chunk matching more of the question, and its rarer words, ranks higher; headings count
more than body text (``schema.FTS_WEIGHTS``). Thesaurus terms count ``EXPANSION_WEIGHT``
of the user's own words, or fully when the manuals mostly use the thesaurus wording
instead of the user's (``expansion_weight``). Measured on 39 crew questions over the
FDA Food Code sections (mean reciprocal rank of the right section, SQLite / PostgreSQL):
no thesaurus 0.59 / 0.60, thesaurus at equal weight 0.76 / 0.81, always at 0.5
0.78 / 0.80, this rule 0.79 / 0.80.
"""

from __future__ import annotations

from knowledge.models import Document

from .base import Filters

# How much a thesaurus term counts next to one the user typed...
EXPANSION_WEIGHT = 0.5
# ...unless the thesaurus wording is this many times more common in the manuals than the
# user's word: then the user's word is not how the manuals say it, and the thesaurus
# terms stand in for it at full weight ("chicken" -> "poultry").
SYNONYM_DOMINANCE = 4

# What each engine's search() selects per chunk, then (score, marked text): the text with
# the matched words between snippet.OPEN and snippet.CLOSE, or None if unknown.
COLUMNS = """c.id, c.document_id, d.title, d.filename, c.first_page, c.last_page, c.heading,
    c.text, c.boxes"""


def expansion_weight(source_frequency: float, synonyms_frequency: float) -> float:
    """Weight of thesaurus terms, from how often (chunks or share of chunks) the manuals
    use the user's word and the thesaurus terms."""
    if source_frequency * SYNONYM_DOMINANCE < synonyms_frequency:
        return 1.0
    return EXPANSION_WEIGHT


def filter_sql(filters: Filters) -> tuple[str, list]:
    """AND-conditions on ``c`` (chunk) and ``d`` (document): READY documents, filters."""
    sql, params = " AND d.status = %s", [Document.Status.READY.value]
    if filters.document_ids is not None:
        sql += f" AND c.document_id IN ({', '.join(['%s'] * len(filters.document_ids))})"
        params += list(filters.document_ids)
    if filters.kinds is not None:
        sql += f" AND d.kind IN ({', '.join(['%s'] * len(filters.kinds))})"
        params += list(filters.kinds)
    return sql, params
