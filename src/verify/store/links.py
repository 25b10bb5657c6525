"""The ``item_link`` table (migration 14): where an item was fetched from, as evidence.

Its own ``MetaData``: the table is made by migration 14's DDL, never by ``create_all`` of version 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Integer, MetaData, String, Table, Text, select

from verify.events import canonical_json, now_iso
from verify.links.provenance import LinkProvenance

_meta = MetaData()
item_link = Table(
    "item_link",
    _meta,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("item_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("url", Text, nullable=False),
    Column("final_url", Text),
    Column("media_url", Text),
    Column("via", String(16), nullable=False),
    Column("platform", String(100)),
    Column("published_at", String(40)),
    Column("published_at_basis", String(16)),
    Column("capture_sha256", String(64)),
    Column("capture_format", String(40)),
    Column("provenance", Text, nullable=False),
    Column("fetched_at", String(40), nullable=False),
    Column("fetched_by", Text, nullable=False),
    Column("event_id", BigInteger().with_variant(Integer, "sqlite")),
)


@dataclass(frozen=True)
class ItemLink:
    """One link an item came from, as recorded."""

    id: int
    item_id: int
    media_url: str | None
    provenance: LinkProvenance
    fetched_at: str
    fetched_by: str
    event_id: int | None


def add_link(conn: Connection, item_id: int, prov: LinkProvenance, media_url: str | None, actor: str, event_id: int | None) -> int:
    return conn.execute(
        item_link.insert()
        .values(
            item_id=item_id, url=prov.url[:8000], final_url=(prov.final_url or "")[:8000] or None, media_url=(media_url or "")[:8000] or None,
            via=prov.via, platform=prov.platform, published_at=prov.published_at, published_at_basis=prov.published_at_basis,
            capture_sha256=prov.capture_sha256, capture_format=prov.capture_format, provenance=canonical_json(prov.to_json()),
            fetched_at=now_iso(), fetched_by=actor, event_id=event_id,
        )  # fmt: skip
        .returning(item_link.c.id)
    ).scalar_one()


def links_for(conn: Connection, item_id: int) -> list[ItemLink]:
    rows = conn.execute(select(item_link).where(item_link.c.item_id == item_id).order_by(item_link.c.id)).all()
    out = []
    for r in rows:
        data: dict[str, Any] = json.loads(r.provenance)
        out.append(ItemLink(r.id, r.item_id, r.media_url, LinkProvenance.from_json(data), r.fetched_at, r.fetched_by, r.event_id))
    return out
