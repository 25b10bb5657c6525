"""Is the evidence intact? ``audit`` proves it; ``doctor`` finds and repairs what a crash leaves.

Audit (read-only) answers the question a court or a correction notice asks: has anything been
changed since it was recorded? It walks the hash-chained event log against the recorded chain
head, checks each item's row against the ``ingested`` event written with it, and re-hashes every
stored original against its SHA-256 name. Any difference is reported; nothing is repaired,
because a repair would destroy the trace of the tampering.

Doctor handles the harmless debris a crash or ``kill -9`` can leave between the media folder and
the database: a blob linked into place whose transaction never committed (orphan), a half-written
upload in ``.incoming``, an ``item_state`` projection that lags the log. With ``repair`` it deletes
orphans and stale uploads and re-derives projections from the events. It never deletes or alters
an original that a row refers to; a row whose original is missing is reported loudly and left.

What the chain cannot prove on its own: someone with write access to the database who rewrites
the *whole* chain from the altered event onward (and the chain head) leaves a consistent log. The
audit prints the chain head hash so it can be written down or published elsewhere; comparing a
later head with a recorded one closes that gap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select, text

from verify.events import EDITORIAL_KINDS, GENESIS_HASH, derive_state, verify_chain
from verify.models import Event
from verify.store import BlobStore, Store
from verify.store import schema
from verify.store.blobs import CHUNK

Severity = Literal["error", "warning"]

#: Debris younger than this is left alone: it may belong to an ingest that is still running.
DEFAULT_GRACE_S = 15 * 60
_PARTIAL_COPY = re.compile(r"^[0-9a-f]{64}\.[0-9a-f]{32}\.tmp$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong, in words an editor (or a lawyer) can read."""

    severity: Severity
    code: str
    message: str
    item_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message, "item_id": self.item_id}


@dataclass
class AuditReport:
    events_checked: int = 0
    items_checked: int = 0
    originals_checked: int = 0
    chain_head: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)
    #: every RFC 3161 token found in the log, checked against the head it covers
    timestamps: list[dict[str, Any]] = field(default_factory=list)
    #: events after the newest valid timestamp (their time rests on the desk's clock alone)
    unstamped_events: int = 0

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "items_checked": self.items_checked,
            "originals_checked": self.originals_checked,
            "chain_head": self.chain_head,
            "problems": [p.to_dict() for p in self.problems],
            "timestamps": self.timestamps,
            "unstamped_events": self.unstamped_events,
        }


@dataclass
class DoctorReport:
    database_ok: bool = True
    orphan_blobs: list[str] = field(default_factory=list)
    missing_originals: list[tuple[int, str]] = field(default_factory=list)
    incoming_leftovers: list[str] = field(default_factory=list)
    stray_files: list[str] = field(default_factory=list)
    stale_projections: list[int] = field(default_factory=list)
    writable_originals: list[str] = field(default_factory=list)
    skipped_recent: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Healthy now: no unrepaired problem of any severity-``error`` kind remains."""
        return not any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "database_ok": self.database_ok,
            "orphan_blobs": self.orphan_blobs,
            "missing_originals": [{"item_id": i, "sha256": s} for i, s in self.missing_originals],
            "incoming_leftovers": self.incoming_leftovers,
            "stray_files": self.stray_files,
            "stale_projections": self.stale_projections,
            "writable_originals": self.writable_originals,
            "skipped_recent": self.skipped_recent,
            "repaired": self.repaired,
            "problems": [p.to_dict() for p in self.problems],
        }


# -- shared reads ------------------------------------------------------------------------------


def _iter_items(store: Store, batch: int = 5000) -> Iterator[Any]:
    mi = schema.media_item
    last = 0
    while True:
        with store.read() as conn:
            rows = conn.execute(
                select(mi.c.id, mi.c.sha256, mi.c.bytes, mi.c.filename).where(mi.c.id > last).order_by(mi.c.id).limit(batch)
            ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _projections(store: Store) -> dict[int, Any]:
    st = schema.item_state
    with store.read() as conn:
        return {r.item_id: r for r in conn.execute(select(st))}


def _projection_differs(row: Any, state: Any) -> bool:
    if row is None:
        return True
    warnings = json.dumps(sorted(w.category for w in state.warnings))
    return (row.status, row.version, row.last_actor, row.warnings) != (state.status, state.version, state.last_actor, warnings)


def hash_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# -- audit ---------------------------------------------------------------------------------------


def audit(
    store: Store,
    blobs: BlobStore,
    *,
    rehash: bool = True,
    default_status: str = "unverified",
    progress: Callable[[str, int], None] | None = None,
    tsa_roots: list[Any] | None = None,
) -> AuditReport:
    """Check the event chain, each item against its ``ingested`` event, and every original's bytes.

    Every RFC 3161 token in the log is checked against the chain head it covers (and, with
    ``tsa_roots``, its signature against those roots): a rewrite of the chain at or before a
    stamped head changes that head, so the token no longer fits.
    """
    from collections import OrderedDict

    from verify.timestamps import EVENT_KIND as STAMP, check_token, tokens_of

    report = AuditReport()
    recent: OrderedDict[str, int] = OrderedDict()  # hash -> position, for the heads tokens cover
    stamped_at = 0
    head_hash, head_count = store.chain_head()
    report.chain_head = head_hash

    ingested: dict[int, list[Event]] = {}
    editorial: dict[int, list[Event]] = {}
    renamed: set[int] = set()

    def walk() -> Iterator[Event]:
        for ev in store.iter_events():
            report.events_checked += 1
            if progress and report.events_checked % 10_000 == 0:
                progress("events", report.events_checked)
            if ev.item_id is not None:
                if ev.kind == "ingested":
                    ingested.setdefault(ev.item_id, []).append(ev)
                elif ev.kind in EDITORIAL_KINDS:
                    editorial.setdefault(ev.item_id, []).append(ev)
                if ev.kind != "ingested" and isinstance(ev.payload, dict) and "filename" in ev.payload:
                    renamed.add(ev.item_id)
            if ev.kind == STAMP and ev.item_id is None:
                check_stamp(ev)
            recent[ev.hash] = report.events_checked
            if len(recent) > 100_000:
                recent.popitem(last=False)
            yield ev

    def check_stamp(ev: Event) -> None:
        nonlocal stamped_at
        covers = str(ev.payload.get("covers", "")) if isinstance(ev.payload, dict) else ""
        where = recent.get(covers)
        if where is None:
            report.problems.append(
                Problem("error", "timestamp", f"Event log: timestamp event {ev.id} stamps a chain head that is not in the log before it "
                        "(the events it covered were rewritten).")
            )
        for tsa, der in tokens_of(ev):
            check = check_token(der, covers, tsa_roots or [], tsa=tsa)
            report.timestamps.append(check.to_dict() | {"event_id": ev.id})
            if check.problem:
                report.problems.append(Problem("error", "timestamp", f"Event log: timestamp event {ev.id} from {tsa}: {check.problem}."))
            elif where is not None:
                stamped_at = max(stamped_at, where)
            if not check.trusted and not check.problem:
                report.problems.append(
                    Problem("warning", "timestamp_untrusted", f"Timestamp event {ev.id} from {tsa}: fits its head, but the signature was not "
                            "checked (set VERIFY_TSA_CA to the authority's root certificate).")
                )

    for message in verify_chain(walk(), head_hash):
        report.problems.append(Problem("error", "chain", f"Event log: {message}."))
    report.unstamped_events = report.events_checked - stamped_at
    if report.events_checked != head_count:
        report.problems.append(
            Problem(
                "error",
                "chain_count",
                f"Event log: {report.events_checked} events found but {head_count} were recorded "
                "(events were deleted or inserted).",
            )
        )

    projections = _projections(store)
    seen_items: set[int] = set()
    for row in _iter_items(store):
        report.items_checked += 1
        seen_items.add(row.id)
        evs = ingested.get(row.id, [])
        if len(evs) != 1:
            report.problems.append(
                Problem("error", "ingest_event", f"Item {row.id}: expected one 'ingested' event, found {len(evs)}.", row.id)
            )
        else:
            p = evs[0].payload
            changed = [
                name
                for name, recorded, now in (
                    ("SHA-256", p.get("sha256"), row.sha256),
                    ("size", p.get("bytes"), row.bytes),
                    ("filename", p.get("filename"), row.filename),
                )
                if recorded != now and not (name == "filename" and row.id in renamed)
            ]
            if changed:
                report.problems.append(
                    Problem(
                        "error",
                        "row_changed",
                        f"Item {row.id}: its record was changed after ingest ({', '.join(changed)} "
                        "differ from the signed 'ingested' event).",
                        row.id,
                    )
                )
        state = derive_state(row.id, editorial.get(row.id, []), default_status)
        if _projection_differs(projections.get(row.id), state):
            report.problems.append(
                Problem(
                    "error",
                    "projection",
                    f"Item {row.id}: the status and warnings shown in lists disagree with its event log "
                    "(run 'verify doctor --repair' to re-derive them from the log).",
                    row.id,
                )
            )
        if rehash:
            _check_original(blobs, row, report)
            if progress and report.originals_checked % 1000 == 0:
                progress("originals", report.originals_checked)
    for item_id in sorted(set(ingested) - seen_items):
        report.problems.append(
            Problem("error", "row_deleted", f"Item {item_id}: it has an 'ingested' event but its record is gone.", item_id)
        )
    return report


def _check_original(blobs: BlobStore, row: Any, report: AuditReport) -> None:
    path = blobs.path_for(row.sha256)
    try:
        digest, size = hash_file(path)
    except FileNotFoundError:
        report.problems.append(
            Problem("error", "original_missing", f"Item {row.id}: EVIDENCE MISSING: its original file is not in the media folder.", row.id)
        )
        return
    except OSError as exc:
        report.problems.append(
            Problem("error", "original_unreadable", f"Item {row.id}: its original cannot be read ({exc.strerror}).", row.id)
        )
        return
    report.originals_checked += 1
    if digest != row.sha256 or size != row.bytes:
        report.problems.append(
            Problem(
                "error",
                "original_modified",
                f"Item {row.id}: its original was MODIFIED after it was stored (the bytes no longer match "
                f"SHA-256 {row.sha256[:16]}..., now {digest[:16]}..., {size:,} bytes).",
                row.id,
            )
        )
    elif os.stat(path).st_mode & 0o222:
        report.problems.append(
            Problem("warning", "original_writable", f"Item {row.id}: its original is writable (expected read-only); doctor --repair fixes that.", row.id)
        )


# -- doctor --------------------------------------------------------------------------------------


def doctor(
    store: Store,
    blobs: BlobStore,
    *,
    repair: bool = False,
    grace_s: float = DEFAULT_GRACE_S,
    default_status: str = "unverified",
    incoming_grace_s: float | None = None,
) -> DoctorReport:
    """Find (and with ``repair``, fix) what an interrupted ingest leaves behind.

    ``grace_s`` spares young debris; ``incoming_grace_s`` (default: the same) applies to uploads
    in ``.incoming``, which are written outside any lock, so only their age says they are dead.
    Orphan originals are also re-checked under the chain lock before removal.
    """
    if incoming_grace_s is None:
        incoming_grace_s = grace_s
    report = DoctorReport()
    now = time.time()

    # 1. The database file itself.
    for message in _database_check(store):
        report.database_ok = False
        report.problems.append(Problem("error", "database", f"Database check: {message}"))

    # 2. Rows and files, both ways.
    referenced: dict[str, int] = {}
    for row in _iter_items(store):
        referenced[row.sha256] = row.id
    on_disk: set[str] = set()
    for path in sorted(blobs.root.glob("??/??/*")):
        if not path.is_file():
            continue
        name = path.name
        if _PARTIAL_COPY.match(name):  # an interrupted copy (filesystems without hard links)
            report.incoming_leftovers.append(name)
            if now - _changed_at(path) < incoming_grace_s:
                report.skipped_recent.append(name)
            elif repair:
                path.unlink(missing_ok=True)
                report.repaired.append(f"removed unfinished copy {name[:16]}...")
            else:
                report.problems.append(Problem("warning", "incoming", f"Unfinished copy of an original left in the media folder: {name[:16]}..."))
            continue
        if len(name) != 64 or any(c not in "0123456789abcdef" for c in name) or path.parent.parent.name != name[:2] or path.parent.name != name[2:4]:
            report.stray_files.append(str(path.relative_to(blobs.root)))
            report.problems.append(Problem("warning", "stray_file", f"Unexpected file in the media folder: {path.relative_to(blobs.root)} (left alone)."))
            continue
        on_disk.add(name)
        if name in referenced:
            if os.stat(path).st_mode & 0o222:
                report.writable_originals.append(name)
                if repair:
                    os.chmod(path, 0o444)
                    report.repaired.append(f"made original {name[:16]}... read-only")
                else:
                    report.problems.append(Problem("warning", "original_writable", f"Original {name[:16]}... is writable (expected read-only)."))
            continue
        report.orphan_blobs.append(name)
        if now - _changed_at(path) < grace_s:
            report.skipped_recent.append(name)
            report.problems.append(
                Problem("warning", "orphan_recent", f"File {name[:16]}... has no record yet; it is recent and may belong to an ingest in progress (left alone).")
            )
            continue
        if repair:
            if _remove_orphan(store, blobs, name):
                report.repaired.append(f"removed orphan file {name[:16]}... (no record refers to it)")
            continue
        report.problems.append(
            Problem("warning", "orphan", f"File {name[:16]}... is in the media folder but no record refers to it (left over from an interrupted ingest).")
        )
    for sha, item_id in sorted(referenced.items(), key=lambda kv: kv[1]):
        if sha not in on_disk:
            report.missing_originals.append((item_id, sha))
            report.problems.append(
                Problem("error", "original_missing", f"Item {item_id}: EVIDENCE MISSING: the original ({sha[:16]}...) is not in the media folder. Restore it from a backup.", item_id)
            )

    # 3. Half-written uploads.
    for path in sorted(blobs.iter_incoming()):
        report.incoming_leftovers.append(path.name)
        if now - _changed_at(path) < incoming_grace_s:
            report.skipped_recent.append(path.name)
            continue
        if repair:
            try:
                if path.is_dir():
                    continue
                path.unlink()
                report.repaired.append(f"removed unfinished upload {path.name}")
            except FileNotFoundError:
                pass
            continue
        report.problems.append(Problem("warning", "incoming", f"Unfinished upload left in the incoming folder: {path.name}."))

    # 4. Projections against the log.
    stale = _stale_projections(store, default_status)
    report.stale_projections = stale
    for item_id in stale:
        if repair:
            rederive_projection(store, item_id, default_status)
            report.repaired.append(f"re-derived status and warnings of item {item_id} from its events")
        else:
            report.problems.append(
                Problem("error", "projection", f"Item {item_id}: the status shown in lists disagrees with its event log.", item_id)
            )
    return report


def _changed_at(path: Path) -> float:
    """ctime moves when a file is linked or chmodded, so it tracks the ingest step, not the copy."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0.0
    return max(st.st_ctime, st.st_mtime)


def _remove_orphan(store: Store, blobs: BlobStore, sha256: str) -> bool:
    """Delete an unreferenced blob, re-checking under the write lock that no row refers to it."""
    with store.write() as conn:
        # Take the chain head lock first: every ingest holds it from before it links its original
        # until it commits (SQLite: the write lock, same effect). So an ingest of these bytes is
        # either committed (its row is visible below) or has not linked anything yet.
        conn.execute(select(schema.chain_head.c.id).where(schema.chain_head.c.id == 1).with_for_update()).first()
        if conn.execute(select(schema.media_item.c.id).where(schema.media_item.c.sha256 == sha256)).first() is not None:
            return False
        blobs.remove_uncommitted(sha256)
    return True


def _database_check(store: Store) -> list[str]:
    problems: list[str] = []
    with store.read() as conn:
        if store.dialect == "sqlite":
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
            if rows != ["ok"]:
                problems.extend(str(r) for r in rows[:20])
            fk = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if fk:
                problems.append(f"{len(fk)} rows refer to records that do not exist")
        else:
            conn.execute(text("SELECT 1"))
        mi, ev = schema.media_item, schema.event
        no_event = conn.execute(
            select(func.count()).select_from(mi).where(~select(ev.c.id).where(ev.c.item_id == mi.c.id, ev.c.kind == "ingested").exists())
        ).scalar_one()
        if no_event:
            problems.append(f"{no_event} items have no 'ingested' event")
    return problems


def _stale_projections(store: Store, default_status: str) -> list[int]:
    projections = _projections(store)
    editorial: dict[int, list[Event]] = {}
    for ev in store.iter_events():
        if ev.item_id is not None and ev.kind in EDITORIAL_KINDS:
            editorial.setdefault(ev.item_id, []).append(ev)
    stale = []
    for row in _iter_items(store):
        state = derive_state(row.id, editorial.get(row.id, []), default_status)
        if _projection_differs(projections.get(row.id), state):
            stale.append(row.id)
    return stale


def rederive_projection(store: Store, item_id: int, default_status: str = "unverified") -> None:
    """Rewrite one item's ``item_state`` row from its events, under the item's lock."""
    store.rederive_projection(item_id, default_status)


__all__ = ["AuditReport", "DoctorReport", "Problem", "audit", "doctor", "hash_file", "rederive_projection"]
