"""Search on PostgreSQL: the search_vector column, ts_rank_cd, ts_headline for snippets.

ts_rank_cd knows nothing of how rare a word is, so each user term (and each group of
thesaurus terms) is ranked on its own and weighted by an IDF taken from the planner's
statistics of the column: pg_stats keeps the share of rows holding each common lexeme,
refreshed by ANALYZE (autovacuum runs it); a lexeme it does not list is rarer than
those it does. Ranking every term of every chunk that holds a common word would be slow,
so the rarer terms pick a pool of candidates first (all terms, on a small table) and
only those are ranked term by term.
"""

from __future__ import annotations

import math
import threading
import time

from knowledge.models import Document

from . import query as q
from . import schema
from .base import Filters
from .ranking import COLUMNS, expansion_weight, filter_sql
from .snippet import CLOSE, OPEN

CONFIG = schema.PG_CONFIG
VECTOR = schema.PG_COLUMN
POOL = 200  # candidates ranked term by term
# Candidates are picked by the rarest terms, as many as keep the estimated number of
# matching chunks within this budget (at least one term): the common words of a
# question then still count in the ranking, without scanning every chunk for them.
SCAN_BUDGET = 500
UNKNOWN = 0.01  # share assumed for every term while the column has no statistics
STATS_SECONDS = 300  # how long the statistics are reused; ANALYZE runs far less often
# ts_rank_cd weights of D (unused), C (context), B (body) and A (heading) lexemes, in the
# same proportions as the FTS5 column weights on SQLite.
_CONTEXT, _HEADING, _TEXT = schema.FTS_WEIGHTS
WEIGHTS = f"{{0.1, {_CONTEXT / _HEADING}, {_TEXT / _HEADING}, 1.0}}"
# BM25's k1, in ts_rank_cd's units (one body hit ranks about the body weight), and b.
K = 0.3
B = 0.75
HEADLINE = f"HighlightAll=true, StartSel={OPEN}, StopSel={CLOSE}"
_SPACES = " " * len(schema.PG_SEPARATORS)


def tsquery(count: int) -> str:
    """SQL OR-ing ``count`` terms given as parameters.

    phraseto_tsquery reads its argument as plain text, so no tsquery operator can come
    from the user; a multi-word term becomes a phrase (followed-by).
    """
    return "(" + " || ".join([f"phraseto_tsquery('{CONFIG}', %s)"] * count) + ")"


def search(connection, parsed: q.ParsedQuery, top_k: int, filters: Filters) -> list[tuple]:
    """Rows of ``ranking.COLUMNS`` + (score, marked text), best first."""
    stats = _statistics(connection)
    share = _shares(connection, (*parsed.all_terms, *(e.source for e in parsed.expansions)), stats)
    groups = _groups(parsed, share)
    if not groups:
        return []  # only words the english configuration ignores
    terms = [t for group, _, _ in groups for t in group]
    picking = _picking(terms, share, stats[3])
    # BM25's saturation and length normalisation over ts_rank_cd's raw rank r of each
    # group: weight * r / (r + K * (1 - B + B * size / average size)).
    width = stats[2]  # average size of a search vector, None before the first ANALYZE
    length = f"(1 - {B} + {B} * pg_column_size(v)::float8 / %s)" if width else "1"
    ranks = " + ".join(
        f"{weight} * r{i} / (r{i} + {K} * {length})" for i, (_, weight, _) in enumerate(groups)
    )
    columns = ", ".join(
        f"ts_rank_cd('{WEIGHTS}', v, {tsquery(len(group))}) AS r{i}"
        for i, (group, _, _) in enumerate(groups)
    )
    where, where_params = filter_sql(filters)
    # The text is parsed with the same separators as the index; translate() keeps every
    # offset, so the marks ts_headline puts in can be moved onto the original text.
    sql = f"""
        WITH pool AS MATERIALIZED (
            SELECT c.id, c.{VECTOR} AS v
            FROM {schema.CHUNK_TABLE} c
            JOIN {Document._meta.db_table} d ON d.id = c.document_id
            WHERE c.{VECTOR} @@ {tsquery(len(picking))} {where}
            ORDER BY ts_rank(c.{VECTOR}, {tsquery(len(picking))}) DESC, c.id
            LIMIT {POOL}
        ), ranked AS MATERIALIZED (
            SELECT id, v, {columns} FROM pool
        ), best AS (
            SELECT id, {ranks} AS total FROM ranked ORDER BY total DESC, id LIMIT %s
        )
        SELECT {COLUMNS}, best.total, ts_headline('{CONFIG}',
            translate(c.text, %s, '{_SPACES}'), {tsquery(len(terms))}, %s)
        FROM best
        JOIN {schema.CHUNK_TABLE} c ON c.id = best.id
        JOIN {Document._meta.db_table} d ON d.id = c.document_id
        ORDER BY best.total DESC, best.id"""
    params = [*picking, *where_params, *picking, *terms]
    for _, _, weight_params in groups:
        params += [*weight_params, width] if width else weight_params
    params += [top_k, schema.PG_SEPARATORS, *terms, HEADLINE]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(*row[:-1], restore(row[7], row[-1])) for row in cursor.fetchall()]


def _groups(parsed: q.ParsedQuery, share: dict) -> list[tuple[tuple[str, ...], str, list]]:
    """(terms, weight SQL, its parameters) of each user term and each thesaurus group."""
    groups = [((t,), "%s", [idf(share[t])]) for t in parsed.terms if share[t] is not None]
    for expansion in parsed.expansions:
        terms = tuple(t for t in expansion.terms if share[t] is not None)
        if not terms:
            continue
        together = max(share[t] for t in terms)
        absent = expansion_weight(0.0, together) * idf(together)
        if share[expansion.source] is None:
            groups.append((terms, "%s", [absent]))
            continue
        # The statistics cannot tell a rare word from one the manuals never use, nor
        # whether a phrase occurs at all: ask the index (one cheap lookup per query).
        present = expansion_weight(share[expansion.source], together) * idf(together)
        exists = f"EXISTS (SELECT 1 FROM {schema.CHUNK_TABLE} WHERE {VECTOR} @@ {tsquery(1)})"
        weight = f"(CASE WHEN {exists} THEN %s ELSE %s END)"
        groups.append((terms, weight, [expansion.source, present, absent]))
    return groups


def _picking(terms: list[str], share: dict, chunks: float | None) -> list[str]:
    """The terms that pick candidates: rarest first, within SCAN_BUDGET chunks."""
    if not chunks:
        return terms  # never analysed, so the table is small or new: use them all
    picking, expected = [], 0.0
    for term in sorted(terms, key=lambda t: share[t]):
        expected += share[term] * chunks
        if picking and expected > SCAN_BUDGET:
            break
        picking.append(term)
    return picking


def idf(share: float) -> float:
    """BM25's inverse document frequency of a term held by ``share`` of the chunks."""
    share = min(max(share, 0.0), 1.0)
    return math.log(1 + (1 - share + 0.001) / (share + 0.001))


def restore(text: str, headline: str | None) -> str | None:
    """The marks of ``headline`` (a translated copy of ``text``) put into ``text``."""
    marks = headline.count(OPEN) + headline.count(CLOSE) if headline else 0
    if headline is None or len(headline) - marks != len(text):
        return None  # not the copy we expected: show the snippet unmarked
    out, i = [], 0
    for ch in headline:
        if ch in (OPEN, CLOSE):
            out.append(ch)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# --- Term statistics --------------------------------------------------------------

_lock = threading.Lock()
_lexemes: dict[str, tuple[str, ...]] = {}  # term -> its lexemes; never changes
_stats: dict[str, tuple[float, tuple]] = {}  # alias -> (when, _statistics())


def forget_statistics() -> None:
    """Drop the cached column statistics (after ANALYZE, in tests)."""
    with _lock:
        _stats.clear()


def _shares(connection, terms, stats) -> dict[str, float | None]:
    """Estimated share of chunks holding each term; None for a term with no lexeme."""
    lexemes = _term_lexemes(connection, terms)
    shares, floor = stats[:2]
    result: dict[str, float | None] = {}
    for term in terms:
        known = [shares.get(lexeme, floor) for lexeme in lexemes[term]]
        # A phrase is at most as common as its rarest word.
        result[term] = min(known) if known else None
    return result


def _term_lexemes(connection, terms) -> dict[str, tuple[str, ...]]:
    result = {t: _lexemes.get(t) for t in terms}
    missing = [t for t, lexemes in result.items() if lexemes is None]
    if missing:
        sql = f"""SELECT t, tsvector_to_array(to_tsvector('{CONFIG}', t))
            FROM unnest(%s::text[]) AS t"""
        with connection.cursor() as cursor:
            cursor.execute(sql, [missing])
            found = {term: tuple(lexemes) for term, lexemes in cursor.fetchall()}
        result.update(found)
        with _lock:
            if len(_lexemes) > 50_000:
                _lexemes.clear()  # a bound, not an LRU: terms repeat, this rarely happens
            _lexemes.update(found)
    return result


def _statistics(connection) -> tuple[dict[str, float], float, float | None, float | None]:
    """From pg_stats: the share of chunks holding each common lexeme, the share assumed
    for the others, the average size of a search vector and the number of chunks (both
    None before the first ANALYZE)."""
    alias = connection.alias
    cached = _stats.get(alias)
    if cached and time.monotonic() - cached[0] < STATS_SECONDS:
        return cached[1]
    sql = """
        SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, s.avg_width,
            c.reltuples
        FROM pg_stats s
        JOIN pg_class c ON c.relname = s.tablename
            AND c.relnamespace = to_regnamespace(s.schemaname)
        WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [schema.CHUNK_TABLE, VECTOR])
        row = cursor.fetchone()
    shares, floor, width, chunks = {}, UNKNOWN, None, None
    if row:
        width = float(row[2]) if row[2] else None
        chunks = float(row[3]) if row[3] and row[3] > 0 else None
        if row[0] and row[1]:
            shares = dict(zip(row[0], row[1], strict=False))  # freqs end: min, max, nulls
            floor = min(shares.values()) / 2
    with _lock:
        _stats[alias] = (time.monotonic(), (shares, floor, width, chunks))
    return shares, floor, width, chunks
