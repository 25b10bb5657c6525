"""The evidence store's tables (SQLAlchemy Core), the same for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata_obj = MetaData()

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere leaves room for 10M+ rows.
Id = BigInteger().with_variant(Integer(), "sqlite")

media_item = Table(
    "media_item",
    metadata_obj,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),
    Column("mime", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("duration_s", Float),
    Column("filename", Text),
    Column("origin", String(16), nullable=False),
    Column("source", Text),
    Column("source_url", Text),
    Column("source_contact", Text),
    Column("first_seen_at", DateTime(timezone=True)),
    Column("claimed_place", Text),
    Column("claimed_lat", Float),
    Column("claimed_lon", Float),
    Column("claimed_date", Date),
    Column("note", Text),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("ingested_by", Text, nullable=False),
)
Index("ix_media_item_first_seen", media_item.c.first_seen_at)
Index("ix_media_item_ingested_at", media_item.c.ingested_at)

item_metadata = Table(
    "metadata",
    metadata_obj,
    Column("item_id", Id, ForeignKey("media_item.id"), primary_key=True),
    Column("captured_at", Text),
    Column("make", Text),
    Column("model", Text),
    Column("software", Text),
    Column("gps_lat", Float),
    Column("gps_lon", Float),
    Column("data", Text, nullable=False),
)

fingerprint = Table(
    "fingerprint",
    metadata_obj,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("media_item.id"), nullable=False),
    Column("algorithm", String(32), nullable=False),
    Column("variant", String(48), nullable=False),
    Column("frame_time_s", Float),
    Column("value", LargeBinary, nullable=False),
)
Index("ix_fingerprint_item", fingerprint.c.item_id)

# Text read in the pixels (issue 18): the searchable body and the distinctive terms two posts of
# one picture share (handles, addresses, whole sentences), indexed for "shares text with".
item_text = Table(
    "item_text",
    metadata_obj,
    Column("item_id", Id, ForeignKey("media_item.id"), primary_key=True),
    Column("body", Text, nullable=False),
)

text_term = Table(
    "text_term",
    metadata_obj,
    Column("item_id", Id, ForeignKey("media_item.id"), nullable=False),
    Column("term", String(240), nullable=False),
    Column("kind", String(16), nullable=False),
)
Index("ix_text_term_term", text_term.c.term)
Index("ix_text_term_item", text_term.c.item_id)

event = Table(
    "event",
    metadata_obj,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("media_item.id")),
    Column("actor", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
Index("ix_event_item", event.c.item_id)

chain_head = Table(
    "chain_head",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("last_hash", String(64), nullable=False),
    Column("events", BigInteger, nullable=False),
)

item_state = Table(
    "item_state",
    metadata_obj,
    Column("item_id", Id, ForeignKey("media_item.id"), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_actor", Text),
    Column("warnings", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

schema_version = Table(
    "schema_version",
    metadata_obj,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", String(40), nullable=False),
)

# -- hash banks (issue 12, migration 12): partners' PDQ lists, hashes without originals ---------

hash_bank = Table(
    "hash_bank",
    metadata_obj,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", Text, nullable=False),
)

bank_entry = Table(
    "bank_entry",
    metadata_obj,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("bank_id", Id, ForeignKey("hash_bank.id"), nullable=False),
    Column("pdq", String(64), nullable=False),
    Column("quality", Integer),
    Column("line_no", Integer, nullable=False),
    Column("file_name", Text),
    Column("label", Text),
    Column("event_id", Id, ForeignKey("event.id"), nullable=False),
)
Index("ix_bank_entry_bank", bank_entry.c.bank_id)

# -- roles (issue 17, migration 17): who may do what, as appended, attributed grants ----------------

role_grant = Table(
    "role_grant",
    metadata_obj,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("granted_by", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Column("reason", Text),
    Column("event_id", Id, ForeignKey("event.id"), nullable=False),
)
Index("ix_role_grant_name", role_grant.c.name)

# -- API tokens (issue 17, migration 1702): the token's public id and an argon2 hash of its secret --

api_token = Table(
    "api_token",
    metadata_obj,
    Column("id", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("revoked_at", String(40)),
    Column("revoked_by", Text),
)
Index("ix_api_token_name", api_token.c.name)
