"""The full-text index beside knowledge_chunk, for each database vendor.

SQLite: an external-content FTS5 table over knowledge_chunk (rowid = chunk id), kept in
sync by AFTER INSERT/UPDATE/DELETE triggers. PostgreSQL: a ``search_vector`` tsvector
column with a GIN index, filled by a BEFORE INSERT/UPDATE trigger. The Chunk model
knows neither; migration 0004 calls ``install``/``uninstall`` (0002 installed an earlier
version without the context column, and 0004 replaces it).

A trigger-filled column rather than a generated one on PostgreSQL: a generated column
would make any later ``ALTER COLUMN ... TYPE`` of heading or text (a max_length change)
fail. On SQLite, Django rebuilds a table to alter it and the rebuild drops its
triggers; ``ensure`` puts them back and re-indexes (search calls it on SQLite, and it
is safe to call after every migrate).

Both vendors see the same words: letters and digits, everything else a separator.
FTS5's unicode61 does that, with the masculine ordinal (º, used for degrees in some
manuals) added as a separator; PostgreSQL's parser would keep "3-401.11", "hands.P" or
"41ºF" whole, so the punctuation it joins on is turned into spaces before parsing.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)

CHUNK_TABLE = "knowledge_chunk"
FTS_TABLE = "knowledge_chunk_fts"
# bm25() weights of the FTS5 columns, in order: a heading hit counts 6 body hits, a hit
# in the document's title (the chunk's context: "Soft-Serve Freezer" for every chunk of
# that manual, whose own text may just say "the machine") CONTEXT_WEIGHT body hits.
FTS_COLUMNS = ("context", "heading", "text")
CONTEXT_WEIGHT = 2.0
FTS_WEIGHTS = (CONTEXT_WEIGHT, 6.0, 1.0)
TOKENIZE = "porter unicode61 remove_diacritics 2 separators 'º'"

PG_COLUMN = "search_vector"
PG_CONFIG = "english"
# Characters PostgreSQL's parser joins words with (hyphenated words, numbers, hosts,
# paths, e-mail, tags) and the masculine ordinal; each becomes a space.
PG_SEPARATORS = "-./@:+_~<>º"

_TRIGGERS = {
    f"{FTS_TABLE}_insert": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON {CHUNK_TABLE} BEGIN
            INSERT INTO {FTS_TABLE}(rowid, context, heading, text)
            VALUES (new.id, new.context, new.heading, new.text);
        END""",
    f"{FTS_TABLE}_delete": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON {CHUNK_TABLE} BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, context, heading, text)
            VALUES ('delete', old.id, old.context, old.heading, old.text);
        END""",
    f"{FTS_TABLE}_update": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update
        AFTER UPDATE OF id, context, heading, text ON {CHUNK_TABLE} BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, context, heading, text)
            VALUES ('delete', old.id, old.context, old.heading, old.text);
            INSERT INTO {FTS_TABLE}(rowid, context, heading, text)
            VALUES (new.id, new.context, new.heading, new.text);
        END""",
}

_SQLITE_TABLE = f"""
    CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        context, heading, text, content='{CHUNK_TABLE}', content_rowid='id',
        tokenize="{TOKENIZE}"
    )"""

_SQLITE_REBUILD = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"

_PG_SPACES = " " * len(PG_SEPARATORS)
_PG_INSTALL = [
    f"ALTER TABLE {CHUNK_TABLE} ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector",
    f"""
    CREATE OR REPLACE FUNCTION {CHUNK_TABLE}_tsvector(context text, heading text, body text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(to_tsvector('{PG_CONFIG}'::regconfig,
                   translate(coalesce(context, ''), '{PG_SEPARATORS}', '{_PG_SPACES}')), 'C')
            || setweight(to_tsvector('{PG_CONFIG}'::regconfig,
                   translate(coalesce(heading, ''), '{PG_SEPARATORS}', '{_PG_SPACES}')), 'A')
            || setweight(to_tsvector('{PG_CONFIG}'::regconfig,
                   translate(coalesce(body, ''), '{PG_SEPARATORS}', '{_PG_SPACES}')), 'B')
    $$""",
    f"""
    CREATE OR REPLACE FUNCTION {CHUNK_TABLE}_{PG_COLUMN}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.{PG_COLUMN} := {CHUNK_TABLE}_tsvector(NEW.context, NEW.heading, NEW.text);
        RETURN NEW;
    END
    $$""",
    f"DROP TRIGGER IF EXISTS {CHUNK_TABLE}_{PG_COLUMN} ON {CHUNK_TABLE}",
    f"""
    CREATE TRIGGER {CHUNK_TABLE}_{PG_COLUMN}
    BEFORE INSERT OR UPDATE OF context, heading, text ON {CHUNK_TABLE}
    FOR EACH ROW EXECUTE FUNCTION {CHUNK_TABLE}_{PG_COLUMN}()""",
    f"""CREATE INDEX IF NOT EXISTS {CHUNK_TABLE}_{PG_COLUMN}_gin
    ON {CHUNK_TABLE} USING gin ({PG_COLUMN})""",
    f"UPDATE {CHUNK_TABLE} SET {PG_COLUMN} = {CHUNK_TABLE}_tsvector(context, heading, text)",
]
_PG_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {CHUNK_TABLE}_{PG_COLUMN} ON {CHUNK_TABLE}",
    f"DROP FUNCTION IF EXISTS {CHUNK_TABLE}_{PG_COLUMN}()",
    f"DROP INDEX IF EXISTS {CHUNK_TABLE}_{PG_COLUMN}_gin",
    f"ALTER TABLE {CHUNK_TABLE} DROP COLUMN IF EXISTS {PG_COLUMN}",
    f"DROP FUNCTION IF EXISTS {CHUNK_TABLE}_tsvector(text, text, text)",
    f"DROP FUNCTION IF EXISTS {CHUNK_TABLE}_tsvector(text, text)",  # before migration 0004
]


def install(connection) -> None:
    """Create the index, its triggers, and index every existing chunk."""
    statements = {
        "sqlite": [_SQLITE_TABLE, *_TRIGGERS.values(), _SQLITE_REBUILD],
        "postgresql": _PG_INSTALL,
    }[_vendor(connection)]
    _run(connection, statements)


def uninstall(connection) -> None:
    statements = {
        "sqlite": [
            *(f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS),
            f"DROP TABLE IF EXISTS {FTS_TABLE}",
        ],
        "postgresql": _PG_UNINSTALL,
    }[_vendor(connection)]
    _run(connection, statements)


def ensure(connection) -> bool:
    """Put back a missing index or trigger (and re-index); True if anything was missing.

    Does nothing before knowledge_chunk exists (migrate creates both).
    """
    if _vendor(connection) == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE name IN (%s, %s, %s, %s, %s)"
        names = [CHUNK_TABLE, FTS_TABLE, *_TRIGGERS]
    else:
        sql = """SELECT tgname FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal
            UNION ALL SELECT relname FROM pg_class
            WHERE relname = %s AND relnamespace = current_schema()::regnamespace"""
        names = [f"{CHUNK_TABLE}_{PG_COLUMN}", CHUNK_TABLE]
    with connection.cursor() as cursor:
        cursor.execute(sql, names)
        found = {row[0] for row in cursor.fetchall()}
    if CHUNK_TABLE not in found or found == set(names):
        return False
    logger.warning("the full-text index of knowledge chunks was incomplete; rebuilding it")
    install(connection)
    return True


def _vendor(connection) -> str:
    if connection.vendor not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"local search has no index for {connection.vendor}")
    return connection.vendor


def _run(connection, statements) -> None:
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyze(connection) -> None:
    """Refresh PostgreSQL's statistics of chunks and documents after an ingestion.

    The ranking reads term frequencies from pg_stats and the planner needs row counts
    to pick the GIN index; autovacuum gets there eventually, a new manual should be
    searched well at once. Cheap at this size (sampled); nothing to do on SQLite.
    """
    if _vendor(connection) != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CHUNK_TABLE}, knowledge_document")
    # Here, not at the top: postgres reads this module's names as it is imported.
    from knowledge.search import postgres

    postgres.forget_statistics()
