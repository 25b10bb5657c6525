"""Inbox text search in the database's own engine: SQLite FTS5, PostgreSQL full-text search.

A ``LIKE '%text%'`` scan over items joined to their metadata took 17 s at a million items (issue
15). Here every item has a few searchable **parts** in one table ``item_search``: ``claim`` (file
name, source, claimed place, note) and ``camera`` (make, model), kept current by triggers on
``media_item`` and ``metadata``, so every writer (ingest, claim corrections, an older version of the
program) keeps the index right without knowing about it. The table is open to more parts: OCR
text, a transcript, written with ``Store.set_search_text(item_id, part, text)``; register the part's
code in ``PARTS`` (codes are stable: they are part of the stored rowids).

SQLite: an FTS5 table (``unicode61`` tokenizer, diacritics folded), rowid ``item_id * 16 + part``
so a part is replaced by rowid, without a scan. PostgreSQL: a table with a generated
``tsvector`` (``simple`` configuration: no stemming, no stop words, so Arabic, Cyrillic and names
work the same as English) and a GIN index; underscores, dots, slashes, ``@``, ``:`` and ``+`` count as spaces first, so
``beirut_port.jpg`` gives three words, as in SQLite (PostgreSQL's parser would keep it one "file"
token). Accents are folded in SQLite only (``simple`` has no ``unaccent``): "cafe" finds "Café"
there, PostgreSQL needs the accent. A query is the words of the search text, each a prefix
("beir" finds "Beirut"), all required.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

#: Searchable parts and their stable codes (< 16).
PARTS = {"claim": 1, "camera": 2, "ocr": 3, "transcript": 4}

_CLAIM = "coalesce({p}.filename, '') || ' ' || coalesce({p}.source, '') || ' ' || coalesce({p}.claimed_place, '') || ' ' || coalesce({p}.note, '')"
_CAMERA = "coalesce({p}.make, '') || ' ' || coalesce({p}.model, '')"
_WORD = re.compile(r"\w+", re.UNICODE)

_SQLITE = [
    "CREATE VIRTUAL TABLE item_search USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER item_search_claim_new AFTER INSERT ON media_item BEGIN
        INSERT INTO item_search(rowid, body) VALUES (new.id * 16 + {PARTS['claim']}, {_CLAIM.format(p='new')}); END""",
    f"""CREATE TRIGGER item_search_claim_changed AFTER UPDATE OF filename, source, claimed_place, note ON media_item BEGIN
        DELETE FROM item_search WHERE rowid = old.id * 16 + {PARTS['claim']};
        INSERT INTO item_search(rowid, body) VALUES (new.id * 16 + {PARTS['claim']}, {_CLAIM.format(p='new')}); END""",
    """CREATE TRIGGER item_search_item_gone AFTER DELETE ON media_item BEGIN
        DELETE FROM item_search WHERE rowid BETWEEN old.id * 16 AND old.id * 16 + 15; END""",
    f"""CREATE TRIGGER item_search_camera_new AFTER INSERT ON metadata BEGIN
        INSERT INTO item_search(rowid, body) VALUES (new.item_id * 16 + {PARTS['camera']}, {_CAMERA.format(p='new')}); END""",
    f"""CREATE TRIGGER item_search_camera_changed AFTER UPDATE OF make, model ON metadata BEGIN
        DELETE FROM item_search WHERE rowid = old.item_id * 16 + {PARTS['camera']};
        INSERT INTO item_search(rowid, body) VALUES (new.item_id * 16 + {PARTS['camera']}, {_CAMERA.format(p='new')}); END""",
    f"INSERT INTO item_search(rowid, body) SELECT id * 16 + {PARTS['claim']}, {_CLAIM.format(p='media_item')} FROM media_item",
    f"INSERT INTO item_search(rowid, body) SELECT item_id * 16 + {PARTS['camera']}, {_CAMERA.format(p='metadata')} FROM metadata",
]

_PG = f"""
CREATE TABLE item_search (
  item_id bigint NOT NULL REFERENCES media_item(id),
  part smallint NOT NULL,
  body text NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', translate(body, '_./\\@:+', '        '))) STORED,
  PRIMARY KEY (item_id, part)
);
CREATE INDEX ix_item_search_tsv ON item_search USING gin (tsv);
CREATE OR REPLACE FUNCTION verify_item_search_claim() RETURNS trigger AS $$
BEGIN
  INSERT INTO item_search(item_id, part, body) VALUES (NEW.id, {PARTS['claim']}, {_CLAIM.format(p='NEW')})
    ON CONFLICT (item_id, part) DO UPDATE SET body = EXCLUDED.body;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION verify_item_search_camera() RETURNS trigger AS $$
BEGIN
  INSERT INTO item_search(item_id, part, body) VALUES (NEW.item_id, {PARTS['camera']}, {_CAMERA.format(p='NEW')})
    ON CONFLICT (item_id, part) DO UPDATE SET body = EXCLUDED.body;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER item_search_claim AFTER INSERT OR UPDATE OF filename, source, claimed_place, note ON media_item
  FOR EACH ROW EXECUTE FUNCTION verify_item_search_claim();
CREATE TRIGGER item_search_camera AFTER INSERT OR UPDATE OF make, model ON metadata
  FOR EACH ROW EXECUTE FUNCTION verify_item_search_camera();
INSERT INTO item_search(item_id, part, body) SELECT id, {PARTS['claim']}, {_CLAIM.format(p='media_item')} FROM media_item;
INSERT INTO item_search(item_id, part, body) SELECT item_id, {PARTS['camera']}, {_CAMERA.format(p='metadata')} FROM metadata;
"""

#: Indexes for the inbox's other filters and for ``Store.items_lacking``.
_INDEXES = [
    "CREATE INDEX ix_item_state_flagged ON item_state (item_id) WHERE warnings <> '[]'",
    "CREATE INDEX ix_item_state_status ON item_state (status)",
    "CREATE INDEX ix_fingerprint_algorithm_item ON fingerprint (algorithm, item_id)",
    "CREATE INDEX ix_media_item_kind ON media_item (kind, id)",
]


def create(conn: Connection) -> None:
    """Migration 15: the search table, its triggers and backfill, the listing indexes, and the
    table of archive keypoints stored at ingest (``matching/stored_features.py``)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG)
        conn.exec_driver_sql(
            "CREATE TABLE item_features (item_id bigint PRIMARY KEY REFERENCES media_item(id), version varchar(16) NOT NULL, data bytea NOT NULL)"
        )
    else:
        for stmt in _SQLITE:
            conn.exec_driver_sql(stmt)
        conn.exec_driver_sql(
            "CREATE TABLE item_features (item_id INTEGER PRIMARY KEY REFERENCES media_item(id), version VARCHAR(16) NOT NULL, data BLOB NOT NULL)"
        )
    for stmt in _INDEXES:
        conn.exec_driver_sql(stmt)


def words(query: str) -> list[str]:
    return _WORD.findall(query.lower())[:16]


def matching_ids_sql(dialect: str, query: str) -> tuple[str, dict[str, str]] | None:
    """SQL selecting the ids of items whose searchable text has every word of ``query`` (as prefixes)."""
    ws = words(query)
    if not ws:
        return None
    if dialect == "postgresql":
        return "SELECT item_id FROM item_search WHERE tsv @@ to_tsquery('simple', :q)", {"q": " & ".join(f"{w}:*" for w in ws)}
    return "SELECT rowid / 16 FROM item_search WHERE item_search MATCH :q", {"q": " ".join(f'"{w}"*' for w in ws)}


def set_text(conn: Connection, item_id: int, part: str, body: str) -> None:
    """Replace one searchable part of an item (e.g. OCR text), in the caller's transaction."""
    code = PARTS[part]
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("INSERT INTO item_search(item_id, part, body) VALUES (:i, :p, :b) ON CONFLICT (item_id, part) DO UPDATE SET body = EXCLUDED.body"),
            {"i": item_id, "p": code, "b": body},
        )
    else:
        conn.execute(text("DELETE FROM item_search WHERE rowid = :r"), {"r": item_id * 16 + code})
        conn.execute(text("INSERT INTO item_search(rowid, body) VALUES (:r, :b)"), {"r": item_id * 16 + code, "b": body})
