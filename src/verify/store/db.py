"""Queries over the evidence store. The same code serves SQLite (embedded) and PostgreSQL (teams).

Writes that append to the event chain run in a transaction that first locks the chain head
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so concurrent writers
from several processes form one unbroken chain.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event as sa_event, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from verify.errors import Conflict, NotFound, StoreError
from verify.events import derive_state, event_hash, now_iso
from verify.models import Claim, Event, Fingerprint, ItemState, MediaItem, Metadata
from verify.store import schema
from verify.store.migrations import migrate


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            # Writers take the write lock up front: a deferred transaction that later upgrades
            # can fail with "database is locked" instead of waiting its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _write_text(conn: Connection, item_id: int, text: dict[str, Any] | None) -> None:
    """The searchable body and the distinctive terms of an item's text, in the ingest transaction."""
    from verify.text.terms import body, index_terms

    if text is None:
        return  # not read (text reading off or unavailable): ``verify text --backfill`` reads it later
    content = body(text)
    # The row is also the marker that the pixels were read: an empty body means "read, no text",
    # so the back-fill neither reads a text-free picture again nor misses one stored unread.
    conn.execute(schema.item_text.insert().values(item_id=item_id, body=content))
    if not content:
        return
    from verify.store import search

    search.set_text(conn, item_id, "ocr", content)  # the inbox search (FTS5 / tsvector) finds the words
    terms = index_terms(text)
    if terms:
        conn.execute(schema.text_term.insert(), [{"item_id": item_id, "term": t[:240], "kind": k} for k, t in terms])


def _item_from_row(row: Any) -> MediaItem:
    m = row._mapping
    return MediaItem(
        id=m["id"],
        sha256=m["sha256"],
        kind=m["kind"],
        mime=m["mime"],
        bytes=m["bytes"],
        width=m["width"],
        height=m["height"],
        duration_s=m["duration_s"],
        filename=m["filename"],
        origin=m["origin"],
        ingested_at=_utc(m["ingested_at"]),  # type: ignore[arg-type]
        ingested_by=m["ingested_by"],
        source=m["source"],
        source_url=m["source_url"],
        source_contact=m["source_contact"],
        first_seen_at=_utc(m["first_seen_at"]),
        claimed_place=m["claimed_place"],
        claimed_lat=m["claimed_lat"],
        claimed_lon=m["claimed_lon"],
        claimed_date=m["claimed_date"],
        note=m["note"],
    )


def _event_from_row(row: Any) -> Event:
    m = row._mapping
    return Event(
        id=m["id"],
        item_id=m["item_id"],
        actor=m["actor"],
        at=m["at"],
        kind=m["kind"],
        payload=json.loads(m["payload"]),
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


@dataclass(frozen=True)
class NewItem:
    """Everything the store records about a file at ingest, in one transaction."""

    sha256: str
    kind: str
    mime: str
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    filename: str | None
    origin: str
    claim: Claim
    metadata: Metadata
    fingerprints: Sequence[Fingerprint]


@dataclass(frozen=True)
class ItemFilter:
    origin: str | None = None
    status: str | None = None
    has_warning: bool | None = None
    text: str | None = None
    since: date | None = None
    until: date | None = None
    item_ids: Sequence[int] | None = None
    limit: int = 500


class WriterQueue:
    """First come, first served among this process's writers to one SQLite database.

    SQLite's own lock is not fair: a writer that commits and begins again at once (an editor
    clicking fast, a batch loop) wins the lock over and over while another thread's busy handler
    sleeps, and that one ends with "database is locked" after the whole busy timeout. The
    workbench runs every browser session as a thread of one process, so the queue is taken in
    ticket order here before SQLite's lock is asked for; other processes still wait on SQLite.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._serving = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._cond:
            ticket = self._next
            self._next += 1
            while self._serving != ticket:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._serving += 1
                self._cond.notify_all()


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._writers = WriterQueue() if self.engine.dialect.name == "sqlite" else None
        try:
            migrate(self.engine.execution_options(write=True))
        except OperationalError as exc:
            raise StoreError(f"The database cannot be opened: {str(exc.orig).splitlines()[0][:200]}") from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._writers.turn() if self._writers else nullcontext():
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- events ------------------------------------------------------------------------------

    def _append_event(self, conn: Connection, item_id: int | None, actor: str, kind: str, payload: dict[str, Any]) -> Event:
        head = conn.execute(select(schema.chain_head).where(schema.chain_head.c.id == 1).with_for_update()).one()
        at = now_iso()
        digest = event_hash(item_id=item_id, actor=actor, at=at, kind=kind, payload=payload, prev_hash=head.last_hash)
        from verify.events import canonical_json

        new_id = conn.execute(
            schema.event.insert()
            .values(item_id=item_id, actor=actor, at=at, kind=kind, payload=canonical_json(payload), prev_hash=head.last_hash, hash=digest)
            .returning(schema.event.c.id)
        ).scalar_one()
        conn.execute(
            update(schema.chain_head).where(schema.chain_head.c.id == 1).values(last_hash=digest, events=schema.chain_head.c.events + 1)
        )
        return Event(new_id, item_id, actor, at, kind, json.loads(canonical_json(payload)), head.last_hash, digest)

    def append_event(self, item_id: int | None, actor: str, kind: str, payload: dict[str, Any]) -> Event:
        """A non-editorial event (``exported``, system notes): no version check."""
        with self.write() as conn:
            return self._append_event(conn, item_id, actor, kind, payload)

    def events(self, item_id: int | None = None, kinds: Iterable[str] | None = None) -> list[Event]:
        q = select(schema.event).order_by(schema.event.c.id)
        if item_id is not None:
            q = q.where(schema.event.c.item_id == item_id)
        if kinds is not None:
            q = q.where(schema.event.c.kind.in_(list(kinds)))
        with self.read() as conn:
            return [_event_from_row(r) for r in conn.execute(q)]

    def iter_events(self, batch: int = 5000) -> Iterator[Event]:
        last = 0
        while True:
            with self.read() as conn:
                rows = conn.execute(select(schema.event).where(schema.event.c.id > last).order_by(schema.event.c.id).limit(batch)).all()
            if not rows:
                return
            for r in rows:
                yield _event_from_row(r)
            last = rows[-1].id

    def chain_head(self) -> tuple[str, int]:
        with self.read() as conn:
            row = conn.execute(select(schema.chain_head).where(schema.chain_head.c.id == 1)).one()
            return row.last_hash, row.events

    def apply_editorial(
        self,
        item_id: int,
        actor: str,
        kind: str,
        payload: dict[str, Any],
        expected_version: int | None,
        default_status: str = "unverified",
        also: Callable[[Connection], None] | None = None,
    ) -> ItemState:
        """Append an editorial event unless someone else changed the item since ``expected_version``.

        The projection in ``item_state`` is updated in the same transaction, so the list views
        never disagree with the log. ``also`` runs in that transaction after the version check
        (a claim correction updates the item's row there), so the row and its event land together.
        """
        with self.write() as conn:
            exists = conn.execute(select(schema.media_item.c.id).where(schema.media_item.c.id == item_id)).first()
            if exists is None:
                raise NotFound(f"There is no item {item_id}.")
            current = conn.execute(
                select(schema.item_state).where(schema.item_state.c.item_id == item_id).with_for_update()
            ).first()
            version = current.version if current else 0
            if expected_version is not None and expected_version != version:
                who = current.last_actor if current else "someone"
                raise Conflict(
                    f"This item was changed by {who} meanwhile; your change was not saved. "
                    "Reload to see their change, then try again."
                )
            if also is not None:
                also(conn)
            self._append_event(conn, item_id, actor, kind, payload)
            return self._write_projection(conn, item_id, exists=current is not None, default_status=default_status)

    def _write_projection(self, conn: Connection, item_id: int, *, exists: bool, default_status: str) -> ItemState:
        """Re-derive an item's ``item_state`` row from its events, inside the caller's transaction."""
        evs = [
            _event_from_row(r)
            for r in conn.execute(select(schema.event).where(schema.event.c.item_id == item_id).order_by(schema.event.c.id))
        ]
        state = derive_state(item_id, evs, default_status)
        values = {
            "status": state.status,
            "version": state.version,
            "last_actor": state.last_actor,
            "warnings": json.dumps(sorted(w.category for w in state.warnings)),
            "updated_at": now_iso(),
        }
        if exists:
            conn.execute(update(schema.item_state).where(schema.item_state.c.item_id == item_id).values(**values))
        else:
            conn.execute(schema.item_state.insert().values(item_id=item_id, **values))
        return state

    def rederive_projection(self, item_id: int, default_status: str = "unverified") -> ItemState:
        """Rewrite one item's ``item_state`` row from its events, under the item's lock (repairs)."""
        st = schema.item_state
        with self.write() as conn:
            current = conn.execute(select(st).where(st.c.item_id == item_id).with_for_update()).first()
            return self._write_projection(conn, item_id, exists=current is not None, default_status=default_status)

    def state(self, item_id: int, default_status: str = "unverified") -> ItemState:
        return derive_state(item_id, self.events(item_id), default_status)

    # -- items -------------------------------------------------------------------------------

    def add_item(self, new: NewItem, actor: str, before_commit: Callable[[], None] | None = None) -> tuple[MediaItem, bool]:
        """Record a new item, its metadata, fingerprints and ``ingested`` event in one transaction.

        ``before_commit`` puts the original in the media folder; if it or anything else fails the
        transaction rolls back. Returns ``(item, created)``; the same bytes again return the
        existing item with ``created=False``.
        """
        existing = self.item_by_sha(new.sha256)
        if existing is not None:
            return existing, False
        now = datetime.now(UTC)
        c = new.claim
        meta = new.metadata
        try:
            with self.write() as conn:
                item_id = conn.execute(
                    schema.media_item.insert()
                    .values(
                        sha256=new.sha256,
                        kind=new.kind,
                        mime=new.mime,
                        bytes=new.bytes,
                        width=new.width,
                        height=new.height,
                        duration_s=new.duration_s,
                        filename=new.filename,
                        origin=new.origin,
                        source=c.source,
                        source_url=c.source_url,
                        source_contact=c.source_contact,
                        first_seen_at=_utc(c.first_seen_at) or now,
                        claimed_place=c.claimed_place,
                        claimed_lat=c.claimed_lat,
                        claimed_lon=c.claimed_lon,
                        claimed_date=c.claimed_date,
                        note=c.note,
                        ingested_at=now,
                        ingested_by=actor,
                    )
                    .returning(schema.media_item.c.id)
                ).scalar_one()
                conn.execute(
                    schema.item_metadata.insert().values(
                        item_id=item_id,
                        captured_at=meta.captured_at,
                        make=meta.make,
                        model=meta.model,
                        software=meta.software,
                        gps_lat=meta.gps.lat if meta.gps else None,
                        gps_lon=meta.gps.lon if meta.gps else None,
                        data=json.dumps(meta.to_dict(), default=str),
                    )
                )
                if new.fingerprints:
                    conn.execute(schema.fingerprint.insert(), _fingerprint_rows(item_id, new.fingerprints))
                _write_text(conn, item_id, meta.text)
                conn.execute(
                    schema.item_state.insert().values(
                        item_id=item_id, status="unverified", version=0, last_actor=None, warnings="[]", updated_at=now_iso()
                    )
                )
                self._append_event(
                    conn,
                    item_id,
                    actor,
                    "ingested",
                    {
                        "sha256": new.sha256,
                        "filename": new.filename,
                        "bytes": new.bytes,
                        "origin": new.origin,
                        "source": c.source,
                        "first_seen_at": (_utc(c.first_seen_at) or now).isoformat(),
                        "claimed_place": c.claimed_place,
                        "claimed_date": c.claimed_date.isoformat() if c.claimed_date else None,
                    },
                )
                if before_commit is not None:
                    before_commit()
        except IntegrityError:
            # Another process stored the same bytes first: that is the same item.
            existing = self.item_by_sha(new.sha256)
            if existing is None:
                raise StoreError("The item could not be stored (database constraint); nothing was kept.") from None
            return existing, False
        item = self.item(item_id)
        return item, True

    def item(self, item_id: int) -> MediaItem:
        with self.read() as conn:
            row = conn.execute(select(schema.media_item).where(schema.media_item.c.id == item_id)).first()
        if row is None:
            raise NotFound(f"There is no item {item_id}.")
        return _item_from_row(row)

    def item_by_sha(self, sha256: str) -> MediaItem | None:
        with self.read() as conn:
            row = conn.execute(select(schema.media_item).where(schema.media_item.c.sha256 == sha256)).first()
        return _item_from_row(row) if row else None

    def items_by_sha_prefix(self, prefix: str, limit: int = 20) -> list[MediaItem]:
        with self.read() as conn:
            rows = conn.execute(
                select(schema.media_item).where(schema.media_item.c.sha256.startswith(prefix.lower())).limit(limit)
            ).all()
        return [_item_from_row(r) for r in rows]

    def items_by_ids(self, ids: Iterable[int]) -> dict[int, MediaItem]:
        ids = list(set(ids))
        if not ids:
            return {}
        with self.read() as conn:
            rows = conn.execute(select(schema.media_item).where(schema.media_item.c.id.in_(ids))).all()
        return {r.id: _item_from_row(r) for r in rows}

    def has_sha(self, sha256: str) -> bool:
        with self.read() as conn:
            return conn.execute(select(schema.media_item.c.id).where(schema.media_item.c.sha256 == sha256)).first() is not None

    def all_shas(self) -> set[str]:
        with self.read() as conn:
            return set(conn.execute(select(schema.media_item.c.sha256)).scalars())

    def count_items(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(schema.media_item)).scalar_one()

    def list_items(self, f: ItemFilter = ItemFilter()) -> list[tuple[MediaItem, str, list[str]]]:
        """Items (newest first) with their status and warning categories, for the inbox/archive."""
        mi, st, md = schema.media_item, schema.item_state, schema.item_metadata
        q = (
            select(mi, st.c.status, st.c.warnings)
            .select_from(mi.outerjoin(st, st.c.item_id == mi.c.id).outerjoin(md, md.c.item_id == mi.c.id))
            .order_by(mi.c.ingested_at.desc(), mi.c.id.desc())
            .limit(f.limit)
        )
        if f.origin:
            q = q.where(mi.c.origin == f.origin)
        if f.status:
            q = q.where(st.c.status == f.status)
        if f.has_warning is True:
            # through the partial index of flagged items (a handful), not a pass over every item
            q = q.where(mi.c.id.in_(select(st.c.item_id).where(st.c.warnings != "[]")))
        elif f.has_warning is False:
            q = q.where(or_(st.c.warnings == "[]", st.c.warnings.is_(None)))
        if f.item_ids is not None:
            q = q.where(mi.c.id.in_(list(f.item_ids)))
        if f.since:
            q = q.where(mi.c.first_seen_at >= datetime.combine(f.since, datetime.min.time(), UTC))
        if f.until:
            q = q.where(mi.c.first_seen_at < datetime.combine(f.until, datetime.max.time(), UTC))
        if f.text:
            q = q.where(_text_matches(self.dialect, f.text))
        with self.read() as conn:
            rows = conn.execute(q).all()
        return [(_item_from_row(r), r.status or "unverified", json.loads(r.warnings or "[]")) for r in rows]

    def items_sharing_text(self, terms: Sequence[str], *, exclude_item_id: int | None = None, limit: int = 20) -> list[tuple[int, list[str]]]:
        """Items whose text has any of ``terms`` (see ``verify.text.terms``), most terms shared first.

        A term found in very many items (a platform's own name, a big outlet's handle on every
        repost) says little; terms in more than ``limit * 10`` items are left out.
        """
        tt = schema.text_term
        if not terms:
            return []
        with self.read() as conn:
            common = set(
                conn.execute(
                    select(tt.c.term).where(tt.c.term.in_(list(terms))).group_by(tt.c.term).having(func.count() > limit * 10)
                ).scalars()
            )
            wanted = [t for t in terms if t not in common]
            if not wanted:
                return []
            q = select(tt.c.item_id, tt.c.term).where(tt.c.term.in_(wanted))
            if exclude_item_id is not None:
                q = q.where(tt.c.item_id != exclude_item_id)
            rows = conn.execute(q.limit(limit * 50)).all()
        shared: dict[int, list[str]] = {}
        for item_id, term in rows:
            shared.setdefault(int(item_id), []).append(term)
        ranked = sorted(shared.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return ranked[:limit]

    def text_terms(self, item_id: int) -> list[str]:
        tt = schema.text_term
        with self.read() as conn:
            return list(conn.execute(select(tt.c.term).where(tt.c.item_id == item_id)).scalars())

    def metadata(self, item_id: int) -> Metadata:
        with self.read() as conn:
            data = conn.execute(select(schema.item_metadata.c.data).where(schema.item_metadata.c.item_id == item_id)).scalar()
        return Metadata.from_dict(json.loads(data)) if data else Metadata()

    def fingerprints(self, item_id: int) -> list[Fingerprint]:
        fp = schema.fingerprint
        with self.read() as conn:
            rows = conn.execute(select(fp).where(fp.c.item_id == item_id).order_by(fp.c.id)).all()
        return [Fingerprint(r.algorithm, r.variant, bytes(r.value), r.frame_time_s) for r in rows]

    def items_lacking(self, algorithm: str, kind: str = "image") -> list[tuple[int, str]]:
        """(id, sha256) of stored ``kind`` items without a fingerprint of ``algorithm``: items
        stored before that algorithm existed, or whose pictures gave it nothing to work with."""
        fp, mi = schema.fingerprint, schema.media_item
        has = exists().where(fp.c.item_id == mi.c.id, fp.c.algorithm == algorithm)
        with self.read() as conn:
            rows = conn.execute(select(mi.c.id, mi.c.sha256).where(mi.c.kind == kind, ~has).order_by(mi.c.id)).all()
        return [(r.id, r.sha256) for r in rows]

    def add_fingerprints(self, item_id: int, fingerprints: Sequence[Fingerprint]) -> None:
        """Add derived fingerprints to a stored item (a newer algorithm). Never touches the original,
        its events or the fingerprints it already has."""
        if not fingerprints:
            return
        with self.write() as conn:
            conn.execute(schema.fingerprint.insert(), _fingerprint_rows(item_id, fingerprints))

    def iter_fingerprints(self, batch: int = 100_000) -> Iterator[tuple[int, Fingerprint]]:
        """Every stored fingerprint, in batches, for loading the in-memory index."""
        fp = schema.fingerprint
        last = 0
        while True:
            with self.read() as conn:
                rows = conn.execute(select(fp).where(fp.c.id > last).order_by(fp.c.id).limit(batch)).all()
            if not rows:
                return
            for r in rows:
                yield r.item_id, Fingerprint(r.algorithm, r.variant, bytes(r.value), r.frame_time_s)
            last = rows[-1].id

    def add_features(self, item_id: int, version: str, data: bytes) -> None:
        """Store an item's confirmation keypoints (derived, replaceable; the first record is kept)."""
        from sqlalchemy import text as sql_text

        with self.write() as conn:
            if conn.execute(sql_text("SELECT 1 FROM item_features WHERE item_id = :i"), {"i": item_id}).first() is None:
                conn.execute(sql_text("INSERT INTO item_features (item_id, version, data) VALUES (:i, :v, :d)"), {"i": item_id, "v": version, "d": data})

    def features(self, item_id: int, version: str) -> bytes | None:
        """An item's stored confirmation keypoints of ``version``, if any."""
        from sqlalchemy import text as sql_text

        with self.read() as conn:
            row = conn.execute(sql_text("SELECT data FROM item_features WHERE item_id = :i AND version = :v"), {"i": item_id, "v": version}).first()
        return bytes(row[0]) if row else None

    def items_lacking_text(self, limit: int | None = None) -> list[tuple[int, str, str]]:
        """(id, sha256, kind) of stored pictures and videos whose pixels were never read for text:
        stored before text reading existed, or while it was off. Oldest first."""
        mi, it = schema.media_item, schema.item_text
        read = exists().where(it.c.item_id == mi.c.id)
        q = select(mi.c.id, mi.c.sha256, mi.c.kind).where(mi.c.kind.in_(("image", "video")), ~read).order_by(mi.c.id)
        with self.read() as conn:
            rows = conn.execute(q if limit is None else q.limit(limit)).all()
        return [(r.id, r.sha256, r.kind) for r in rows]

    def set_item_text(self, item_id: int, text: dict[str, Any]) -> None:
        """Store text read later (the back-fill): the item's metadata record gains ``text``, and the
        search body and terms are written, in one transaction (the original is never touched)."""
        md = schema.item_metadata
        with self.write() as conn:
            data = conn.execute(select(md.c.data).where(md.c.item_id == item_id)).scalar()
            record = json.loads(data) if data else {}
            record["text"] = text
            if data is None:
                conn.execute(md.insert().values(item_id=item_id, data=json.dumps(record, default=str)))
            else:
                conn.execute(md.update().where(md.c.item_id == item_id).values(data=json.dumps(record, default=str)))
            conn.execute(schema.text_term.delete().where(schema.text_term.c.item_id == item_id))
            conn.execute(schema.item_text.delete().where(schema.item_text.c.item_id == item_id))
            _write_text(conn, item_id, text)

    def set_search_text(self, item_id: int, part: str, body: str) -> None:
        """Make more of an item searchable in the inbox (``part`` from ``store.search.PARTS``, e.g. ``ocr``)."""
        from verify.store import search

        with self.write() as conn:
            search.set_text(conn, item_id, part, body)

    def fingerprint_columns(self, after_id: int, limit: int = 200_000) -> FingerprintColumns:
        """Fingerprint rows with ``id > after_id`` in id order, at most ``limit``, as columns.

        Read with the driver's cursor (no SQLAlchemy row objects, no ``Fingerprint`` per row) and the
        garbage collector paused: a million-picture archive has eleven million rows, and the collector
        walking millions of fresh tuples was half the load time.
        """
        import gc

        import numpy as np

        mark = "?" if self.dialect == "sqlite" else "%s"
        sql = f"SELECT id, item_id, algorithm, variant, frame_time_s, value FROM fingerprint WHERE id > {mark} ORDER BY id LIMIT {int(limit)}"
        enabled = gc.isenabled()
        gc.disable()
        try:
            with self.engine.connect() as conn:
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cur.execute(sql, (int(after_id),))
                    rows = cur.fetchall()
                finally:
                    cur.close()
            if not rows:
                empty = np.zeros(0, np.int64)
                return FingerprintColumns(empty, empty, [], [], np.zeros(0, np.float64), [])
            ids, items, algos, variants, times, values = zip(*rows)
            del rows
            return FingerprintColumns(
                np.array(ids, dtype=np.int64),
                np.array(items, dtype=np.int64),
                list(algos),
                list(variants),
                np.array([np.nan if t is None else t for t in times], dtype=np.float64),
                [bytes(v) for v in values],
            )
        finally:
            if enabled:
                gc.enable()


    def fingerprint_mark(self, last_id: int) -> tuple[int, str]:
        """(rows with ``id <= last_id``, a digest of row ``last_id``): what a saved index is checked against."""
        import hashlib

        fp = schema.fingerprint
        with self.read() as conn:
            # The whole count walks the smallest index (SQLite) or an index-only scan (PostgreSQL);
            # a count restricted to ``id <= last_id`` would walk the table itself, blobs and all.
            total = conn.execute(select(func.count()).select_from(fp)).scalar_one()
            above = conn.execute(select(func.count()).select_from(fp).where(fp.c.id > last_id)).scalar_one()
            count = total - above
            row = conn.execute(select(fp).where(fp.c.id == last_id)).first()
        if row is None:
            return count, ""
        h = hashlib.sha256(f"{row.id}|{row.item_id}|{row.algorithm}|{row.variant}|{row.frame_time_s}|".encode())
        h.update(bytes(row.value))
        return count, h.hexdigest()[:32]


    def identity(self) -> str:
        """Which database this is: the hash of its first event (unique per store), or ``empty``."""
        ev = schema.event
        with self.read() as conn:
            first = conn.execute(select(ev.c.hash).order_by(ev.c.id).limit(1)).scalar()
        return first or "empty"


def _text_matches(dialect: str, needle: str) -> Any:
    """Items whose words match (full-text index) or whose SHA-256 starts with ``needle``: a condition."""
    import re

    from sqlalchemy import BigInteger, and_, false, text as sql_text

    from verify.store import search

    mi = schema.media_item
    conds = []
    found = search.matching_ids_sql(dialect, needle)
    if found is not None:
        sql, params = found
        conds.append(mi.c.id.in_(sql_text(sql).bindparams(**params).columns(item_id=BigInteger)))
    hexed = needle.strip().lower()
    if re.fullmatch(r"[0-9a-f]{4,64}", hexed):
        # a range on the unique index (LIKE 'abc%' cannot use it in SQLite)
        conds.append(and_(mi.c.sha256 >= hexed, mi.c.sha256 < hexed + "g"))
    if not conds:
        return false()
    return conds[0] if len(conds) == 1 else or_(*conds)


def _fingerprint_rows(item_id: int, fingerprints: Sequence[Fingerprint]) -> list[dict[str, Any]]:
    return [
        {"item_id": item_id, "algorithm": f.algorithm, "variant": f.variant, "frame_time_s": f.frame_time_s, "value": f.value}
        for f in fingerprints
    ]


@dataclass(frozen=True)
class FingerprintColumns:
    """Fingerprint rows as columns, for loading the match index: no Python object per row kept.

    ``ids``, ``item_ids`` (``int64``) and ``frame_times`` (``float64``, NaN for stills) are numpy
    arrays; ``algorithms``, ``variants`` and ``values`` are lists straight from the driver.
    """

    ids: Any
    item_ids: Any
    algorithms: list[str]
    variants: list[str]
    frame_times: Any
    values: list[bytes]

    def __len__(self) -> int:
        return len(self.values)
