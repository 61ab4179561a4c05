"""Search on SQLite: FTS5 MATCH ranked with bm25(), highlight() for snippets."""

from __future__ import annotations

from knowledge.models import Document

from . import query as q
from . import schema
from .base import Filters
from .ranking import COLUMNS, expansion_weight, filter_sql
from .snippet import CLOSE, OPEN

FTS = schema.FTS_TABLE
BM25 = f"bm25({FTS}, {', '.join(str(w) for w in schema.FTS_WEIGHTS)})"
COUNT_CAP = 1000  # counting a term's chunks stops here: enough to compare frequencies


def match(terms: tuple[str, ...]) -> str:
    """An FTS5 query OR-ing the terms as phrases.

    Terms hold only letters, digits and spaces (``query.parse``), so double quotes make
    each a plain phrase: no operator, column filter or prefix can come from the user.
    """
    return " OR ".join(f'"{term}"' for term in terms)


def search(connection, parsed: q.ParsedQuery, top_k: int, filters: Filters) -> list[tuple]:
    """Rows of ``ranking.COLUMNS`` + (score, marked text), best first."""
    schema.ensure(connection)
    ranked = dict(_rank(connection, parsed, top_k, filters))
    if not ranked:
        return []
    sql = f"""
        SELECT {COLUMNS}, highlight({FTS}, {schema.FTS_COLUMNS.index("text")}, %s, %s)
        FROM {FTS} f
        JOIN {schema.CHUNK_TABLE} c ON c.id = f.rowid
        JOIN {Document._meta.db_table} d ON d.id = c.document_id
        WHERE {FTS} MATCH %s AND f.rowid IN ({", ".join(["%s"] * len(ranked))})"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [OPEN, CLOSE, match(parsed.all_terms), *ranked])
        rows = {row[0]: row for row in cursor.fetchall()}
    return [(*rows[i][:-1], score, rows[i][-1]) for i, score in ranked.items() if i in rows]


def _rank(connection, parsed: q.ParsedQuery, top_k: int, filters: Filters):
    clauses = [(parsed.terms, 1.0)]
    clauses += zip((e.terms for e in parsed.expansions), _weights(connection, parsed), strict=True)
    hits = " UNION ALL ".join(
        f"SELECT rowid, -%s * {BM25} FROM {FTS} WHERE {FTS} MATCH %s" for _ in clauses
    )
    params = [p for terms, weight in clauses for p in (weight, match(terms))]
    where, where_params = filter_sql(filters)
    # MATERIALIZED keeps SQLite from flattening the MATCH into the join or the GROUP BY,
    # where bm25() cannot run.
    sql = f"""
        WITH hits(id, score) AS MATERIALIZED ({hits})
        SELECT c.id, SUM(h.score) AS total
        FROM hits h
        JOIN {schema.CHUNK_TABLE} c ON c.id = h.id
        JOIN {Document._meta.db_table} d ON d.id = c.document_id
        WHERE 1 = 1 {where}
        GROUP BY c.id
        ORDER BY total DESC, c.id
        LIMIT %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *where_params, top_k])
        return cursor.fetchall()


def _weights(connection, parsed: q.ParsedQuery) -> list[float]:
    """``expansion_weight`` of each expansion, from how many chunks use which words."""
    if not parsed.expansions:
        return []
    count = f"(SELECT count(*) FROM (SELECT 1 FROM {FTS} WHERE {FTS} MATCH %s LIMIT {COUNT_CAP}))"
    params = [m for e in parsed.expansions for m in (match((e.source,)), match(e.terms))]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join([count] * len(params))}", params)
        counts = cursor.fetchone()
    return [expansion_weight(counts[i], counts[i + 1]) for i in range(0, len(counts), 2)]
