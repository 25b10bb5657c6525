"""Schema migrations: an ordered list of steps, each applied once and recorded in ``schema_version``.

A plain list instead of Alembic: the workbench migrates itself on start on any user's laptop, with
no migration scripts folder or ini file to ship. Each step runs in one transaction under a lock,
so two processes starting at once do not both apply it. Steps after the first must use explicit
DDL (never ``create_all`` of the *current* schema), so an old database upgrades the same way a
new one was built.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from verify.events import GENESIS_HASH, now_iso
from verify.store import schema

Step = Callable[[Connection], None]

_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION verify_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the event log is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS event_no_update ON event;
CREATE TRIGGER event_no_update BEFORE UPDATE OR DELETE ON event
  FOR EACH ROW EXECUTE FUNCTION verify_event_append_only();
"""

_SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER IF NOT EXISTS event_no_update BEFORE UPDATE ON event "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS event_no_delete BEFORE DELETE ON event "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
]


#: The tables of version 1; later versions add theirs with their own DDL, so a new database is
#: built by the same steps an old one upgrades by.
V1_TABLES = ("media_item", "metadata", "fingerprint", "event", "chain_head", "item_state")


def _v1_initial(conn: Connection) -> None:
    schema.metadata_obj.create_all(conn, tables=[t for t in schema.metadata_obj.sorted_tables if t.name in V1_TABLES])
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_APPEND_ONLY)
    else:
        for stmt in _SQLITE_APPEND_ONLY:
            conn.exec_driver_sql(stmt)
    conn.execute(schema.chain_head.insert().values(id=1, last_hash=GENESIS_HASH, events=0))


def _v12_hash_banks(conn: Connection) -> None:
    """Partners' PDQ lists (issue 12). ``IF NOT EXISTS``: a database built by version 1 from the
    current schema already has the tables; an older one gets them here, the same columns."""
    big = "INTEGER" if conn.dialect.name == "sqlite" else "BIGINT"
    serial = "INTEGER NOT NULL PRIMARY KEY" if conn.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    for stmt in (
        f"CREATE TABLE IF NOT EXISTS hash_bank (id {serial}, name VARCHAR(100) NOT NULL UNIQUE, "
        "created_at VARCHAR(40) NOT NULL, created_by TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS bank_entry (id {serial}, bank_id {big} NOT NULL REFERENCES hash_bank (id), "
        f"pdq VARCHAR(64) NOT NULL, quality INTEGER, line_no INTEGER NOT NULL, file_name TEXT, label TEXT, "
        f"event_id {big} NOT NULL REFERENCES event (id))",
        "CREATE INDEX IF NOT EXISTS ix_bank_entry_bank ON bank_entry (bank_id)",
    ):
        conn.exec_driver_sql(stmt)


def _v15_search(conn: Connection) -> None:
    from verify.store import search

    search.create(conn)


def _v18_text(conn: Connection) -> None:
    """Text read in pictures: a searchable body per item and its distinctive terms."""
    id_type = "BIGINT" if conn.dialect.name == "postgresql" else "INTEGER"
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS item_text (item_id {id_type} PRIMARY KEY REFERENCES media_item(id), body TEXT NOT NULL)"
    )
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS text_term (item_id {id_type} NOT NULL REFERENCES media_item(id), "
        "term VARCHAR(240) NOT NULL, kind VARCHAR(16) NOT NULL)"
    )
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_text_term_term ON text_term (term)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_text_term_item ON text_term (item_id)")


def _v14_links(conn: Connection) -> None:
    """Links (issue 14): where an item was fetched from or which capture it came in, as evidence.

    One row per item and link (the same picture fetched from two posts has two rows); the full
    provenance is JSON, the fields the lists and reports sort or filter by are columns.
    """
    id_type = "BIGINT" if conn.dialect.name == "postgresql" else "INTEGER"
    serial = "INTEGER NOT NULL PRIMARY KEY" if conn.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS item_link (id {serial}, item_id {id_type} NOT NULL REFERENCES media_item(id), "
        "url TEXT NOT NULL, final_url TEXT, media_url TEXT, via VARCHAR(16) NOT NULL, platform VARCHAR(100), "
        "published_at VARCHAR(40), published_at_basis VARCHAR(16), capture_sha256 VARCHAR(64), capture_format VARCHAR(40), "
        f"provenance TEXT NOT NULL, fetched_at VARCHAR(40) NOT NULL, fetched_by TEXT NOT NULL, event_id {id_type} REFERENCES event(id))"
    )
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_item_link_item ON item_link (item_id)")
def _v17_roles(conn: Connection) -> None:
    """Role grants (issue 17): appended, never changed; a person's role is their latest grant.

    Each row points at the ``role_granted`` event in the hash chain that records the same grant,
    so the audit trail holds who gave whom which role, and the table is only the fast lookup.
    """
    pg = conn.dialect.name == "postgresql"
    big = "BIGINT" if pg else "INTEGER"
    serial = "BIGSERIAL PRIMARY KEY" if pg else "INTEGER NOT NULL PRIMARY KEY"
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS role_grant (id {serial}, name TEXT NOT NULL, role VARCHAR(16) NOT NULL, "
        f"granted_by TEXT NOT NULL, at VARCHAR(40) NOT NULL, reason TEXT, event_id {big} NOT NULL REFERENCES event (id))"
    )
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_role_grant_name ON role_grant (name)")
    if pg:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION verify_role_grant_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'role grants are append-only'; END; $$ LANGUAGE plpgsql"
        )
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS role_grant_no_update ON role_grant")
        conn.exec_driver_sql(
            "CREATE TRIGGER role_grant_no_update BEFORE UPDATE OR DELETE ON role_grant "
            "FOR EACH ROW EXECUTE FUNCTION verify_role_grant_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS role_grant_no_{verb.lower()} BEFORE {verb} ON role_grant "
                "BEGIN SELECT RAISE(ABORT, 'role grants are append-only'); END"
            )


def _v1702_api_tokens(conn: Connection) -> None:
    """API tokens (issue 17, part 3): a public id (the token's prefix, the lookup key) and an argon2
    hash of the secret; never the token itself. Revoked rows stay (who revoked, when)."""
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS api_token (id VARCHAR(32) NOT NULL PRIMARY KEY, name TEXT NOT NULL, "
        "role VARCHAR(16) NOT NULL, secret_hash TEXT NOT NULL, created_at VARCHAR(40) NOT NULL, "
        "created_by TEXT NOT NULL, revoked_at VARCHAR(40), revoked_by TEXT)"
    )
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_api_token_name ON api_token (name)")
def _v1502_jobs(conn: Connection) -> None:
    """The background job queue (issue 15, second step): ``store/jobs.py``."""
    from verify.store import jobs

    jobs.create(conn)


MIGRATIONS: list[tuple[int, str, Step]] = [
    (1, "initial schema: items, metadata, fingerprints, hash-chained events", _v1_initial),
    (12, "hash banks: partners' PDQ lists (hashes without originals)", _v12_hash_banks),
    (14, "links: item_link (the URL, published time and basis, capture of each fetched or imported item)", _v14_links),
    (15, "inbox text search (FTS5 / tsvector), indexes for the flagged and lacking-fingerprint lists, archive keypoints", _v15_search),
    (17, "roles: appended role grants (role_grant), each recorded in the event chain", _v17_roles),
    (18, "text read in pictures: item_text, text_term", _v18_text),
    (1702, "API tokens: public id and argon2 hash of the secret (api_token)", _v1702_api_tokens),
    (1502, "background jobs: a queue claimed with leases (SKIP LOCKED on PostgreSQL)", _v1502_jobs),
]


def migrate(engine: Engine) -> int:
    """Bring the database to the newest version; returns the version it is at."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        schema.schema_version.create(conn, checkfirst=True)
        done = set(conn.execute(select(schema.schema_version.c.version)).scalars())
        if not done and inspect(conn).has_table("media_item"):
            raise RuntimeError("database has verify tables but no schema_version: refusing to guess")
        for version, description, step in MIGRATIONS:
            if version in done:
                continue
            step(conn)
            conn.execute(schema.schema_version.insert().values(version=version, description=description, applied_at=now_iso()))
        return max([v for v, _, _ in MIGRATIONS])


def current_version(conn: Connection) -> int:
    return conn.execute(text("SELECT max(version) FROM schema_version")).scalar() or 0
