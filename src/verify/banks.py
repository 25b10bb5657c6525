"""Hash banks: partners' lists of PDQ hashes, and the archive's own list for them.

A *bank* is a named list of PDQ hashes without the pictures behind them: "known recycled pictures"
from another newsroom, a fact-checking network's list, a ThreatExchange or Hasher-Matcher-Actioner
export. Every query's PDQ hash (every sampled frame for videos) is checked against every bank; a
hit at PDQ distance <= 31 with query quality >= 50 (the exchange convention) is reported with the
bank's name and the entry (its hash, the line of the imported file it came from).

Formats read (``parse_hash_list``), detected from the content:

- ThreatExchange / HMA text: ``pdq <64 hex>`` per line (anything after the hash is kept as a label);
- bare hex: one 64-digit hash per line;
- CSV with a header naming a ``pdq`` column (``pdq_hex`` and ``pdq_hash`` too), optionally
  ``quality`` / ``pdq_quality`` and a label column (``label``, ``note``, ``ref``, ``id``, ``item_id``).

Blank lines and ``#`` comments are skipped. A file with any other line is refused as a whole, with
the line number: nothing half-imported. An import is one transaction with its ``bank_imported``
event (who, when, which file and its SHA-256, how many entries), so a bank's every entry is
attributable to the import that brought it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select

from verify.errors import VerifyError
from verify.events import now_iso
from verify.fingerprints import pdq
from verify.models import Fingerprint
from verify.store import Store
from verify.store import schema

#: Most hits reported per query (nearest first): a list of near-duplicates should not flood the page.
MAX_HITS = 20
_HEX = frozenset("0123456789abcdef")
_PDQ_COLUMNS = ("pdq", "pdq_hex", "pdq_hash")
_QUALITY_COLUMNS = ("quality", "pdq_quality")
_LABEL_COLUMNS = ("label", "note", "ref", "reference", "id", "item_id")


@dataclass(frozen=True)
class ParsedEntry:
    line_no: int
    pdq: str
    quality: int | None = None
    label: str | None = None


@dataclass
class ParsedList:
    format: str
    entries: list[ParsedEntry] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    bank: str
    added: int
    duplicates: int
    format: str
    event_id: int
    created_bank: bool


@dataclass(frozen=True)
class BankHit:
    """A query whose PDQ hash is near an entry of a partner's bank (no original to compare)."""

    bank: str
    entry_id: int
    pdq: str
    line_no: int
    file_name: str | None
    label: str | None
    distance: int
    query_quality: int
    query_time_s: float | None = None

    @property
    def method(self) -> str:
        return f"bank {self.bank} (PDQ d={self.distance}, entry line {self.line_no}, pdq {self.pdq})"

    @property
    def score(self) -> float:
        return round(1.0 - self.distance / 256, 3)

    def to_json(self) -> dict[str, Any]:
        """The shape of a ``verify match --json`` match, with no archive item behind it."""
        return {
            "sha256": None,
            "item_id": None,
            "filename": None,
            "score": self.score,
            "distance": self.distance,
            "method": self.method,
            "query_time_s": self.query_time_s,
            "match_time_s": None,
            "first_seen_at": None,
            "source": f"bank {self.bank}",
            "bank": {
                "name": self.bank,
                "entry_id": self.entry_id,
                "pdq": self.pdq,
                "line": self.line_no,
                "file": self.file_name,
                "label": self.label,
                "query_quality": self.query_quality,
            },
        }


def _clean_hex(text: str) -> str | None:
    t = text.strip().lower()
    return t if len(t) == 64 and set(t) <= _HEX else None


def parse_hash_list(data: bytes) -> ParsedList:
    """Read a partner's hash list; ``VerifyError`` naming the first bad line, nothing partial."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VerifyError("The hash list is not UTF-8 text; nothing was imported.") from exc
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        raise VerifyError("The hash list has no PDQ hashes in it; nothing was imported.")
    header = [c.strip().lower() for c in next(csv.reader([lines[first]]))]
    if len(header) > 1 and any(c in _PDQ_COLUMNS for c in header):
        return _parse_csv(lines, first, header)
    out = ParsedList("text")
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        label = None
        if parts[0].lower() == "pdq" and len(parts) >= 2:
            value, label = _clean_hex(parts[1]), (parts[2].strip() if len(parts) > 2 else None)
        elif len(parts) == 1:
            value = _clean_hex(parts[0])
            out.format = "hex" if out.format == "text" and not out.entries else out.format
        else:
            value = None
        if value is None:
            raise VerifyError(f"Line {n} of the hash list is not 'pdq <64 hex digits>' or a bare PDQ hash; nothing was imported.")
        out.entries.append(ParsedEntry(n, value, None, label or None))
    return out


def _parse_csv(lines: list[str], first: int, header: list[str]) -> ParsedList:
    col = next(header.index(c) for c in _PDQ_COLUMNS if c in header)
    qcol = next((header.index(c) for c in _QUALITY_COLUMNS if c in header), None)
    lcol = next((header.index(c) for c in _LABEL_COLUMNS if c in header), None)
    out = ParsedList("csv")
    for offset, row in enumerate(csv.reader(lines[first + 1 :])):
        n = first + 2 + offset
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        cell = row[col] if col < len(row) else ""
        cell = cell.strip()
        if cell.lower().startswith("pdq "):
            cell = cell[4:]
        value = _clean_hex(cell)
        if value is None:
            raise VerifyError(f"Line {n} of the hash list has no PDQ hash (64 hex digits) in its pdq column; nothing was imported.")
        quality = None
        if qcol is not None and qcol < len(row) and row[qcol].strip():
            try:
                quality = int(float(row[qcol]))
            except ValueError as exc:
                raise VerifyError(f"Line {n} of the hash list has a quality that is not a number; nothing was imported.") from exc
            if not 0 <= quality <= 100:
                raise VerifyError(f"Line {n} of the hash list has a quality outside 0..100; nothing was imported.")
        label = row[lcol].strip()[:500] or None if lcol is not None and lcol < len(row) else None
        out.entries.append(ParsedEntry(n, value, quality, label))
    if not out.entries:
        raise VerifyError("The hash list has a header but no PDQ hashes; nothing was imported.")
    return out


def clean_bank_name(name: str | None) -> str:
    """A bank's name as shown on every hit: short, printable, not empty."""
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in (name or "")).split())
    if not clean:
        raise VerifyError("Give the bank a name (--bank): it is shown on every hit, e.g. the partner's name.")
    if len(clean) > 100:
        raise VerifyError("A bank name can be at most 100 characters.")
    return clean


class Banks:
    """The banks in one store, with an in-memory copy of their entries for matching."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._loaded: tuple[int, int] | None = None  # (entry count, last entry id) the cache holds
        self._ids = np.zeros(0, np.int64)
        self._words = np.zeros((0, 4), np.uint64)

    # -- import ------------------------------------------------------------------------------

    def import_list(self, data: bytes, *, bank: str, actor: str, file_name: str | None) -> ImportResult:
        """Add a partner's list to a bank (created on first use), as one attributed event."""
        name = clean_bank_name(bank)
        parsed = parse_hash_list(data)
        digest = hashlib.sha256(data).hexdigest()
        hb, be = schema.hash_bank, schema.bank_entry
        with self.store.write() as conn:
            row = conn.execute(select(hb.c.id).where(hb.c.name == name)).first()
            created = row is None
            if created:
                bank_id = conn.execute(
                    hb.insert().values(name=name, created_at=now_iso(), created_by=actor).returning(hb.c.id)
                ).scalar_one()
                known: set[str] = set()
            else:
                bank_id = row.id
                known = set(conn.execute(select(be.c.pdq).where(be.c.bank_id == bank_id)).scalars())
            fresh: list[ParsedEntry] = []
            for e in parsed.entries:
                if e.pdq not in known:
                    known.add(e.pdq)
                    fresh.append(e)
            payload = {
                "bank": name,
                "file": file_name,
                "file_sha256": digest,
                "format": parsed.format,
                "entries": len(fresh),
                "duplicates": len(parsed.entries) - len(fresh),
                "created_bank": created,
            }
            # Private on purpose: the entries and their event commit together or not at all.
            event = self.store._append_event(conn, None, actor, "bank_imported", payload)
            if fresh:
                conn.execute(
                    be.insert(),
                    [
                        {"bank_id": bank_id, "pdq": e.pdq, "quality": e.quality, "line_no": e.line_no,
                         "file_name": file_name, "label": e.label, "event_id": event.id}
                        for e in fresh
                    ],
                )  # fmt: skip
        self._loaded = None
        return ImportResult(name, len(fresh), len(parsed.entries) - len(fresh), parsed.format, event.id, created)

    def list_banks(self) -> list[dict[str, Any]]:
        hb, be = schema.hash_bank, schema.bank_entry
        q = (
            select(hb.c.name, hb.c.created_at, hb.c.created_by, func.count(be.c.id).label("entries"))
            .select_from(hb.outerjoin(be, be.c.bank_id == hb.c.id))
            .group_by(hb.c.id, hb.c.name, hb.c.created_at, hb.c.created_by)
            .order_by(hb.c.name)
        )
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- matching ----------------------------------------------------------------------------

    def _sync(self) -> None:
        be = schema.bank_entry
        with self.store.read() as conn:
            state = tuple(conn.execute(select(func.count(be.c.id), func.coalesce(func.max(be.c.id), 0))).one())
            if state == self._loaded:
                return
            rows = conn.execute(select(be.c.id, be.c.pdq).order_by(be.c.id)).all()
        self._ids = np.array([r.id for r in rows], np.int64)
        buf = b"".join(bytes.fromhex(r.pdq) for r in rows)
        self._words = np.frombuffer(buf, dtype=">u8").astype(np.uint64).reshape(-1, 4) if rows else np.zeros((0, 4), np.uint64)
        self._loaded = (int(state[0]), int(state[1]))

    def match(self, fingerprints: Sequence[Fingerprint]) -> list[BankHit]:
        """Bank entries within PDQ distance 31 of a query hash of quality >= 50, nearest first.

        One hit per entry (a video's nearest frame); the query's low-quality hashes are not used:
        near-flat pictures have near-random PDQ bits.
        """
        queries = [fp for fp in fingerprints if fp.algorithm == pdq.NAME and pdq.quality_of(fp) >= pdq.MIN_QUALITY]
        if not queries:
            return []
        self._sync()
        if not len(self._ids):
            return []
        best: dict[int, tuple[int, Fingerprint]] = {}
        for fp in queries:
            q = np.frombuffer(fp.value, dtype=">u8").astype(np.uint64)
            dist = np.bitwise_count(self._words ^ q).sum(axis=1)
            for idx in np.flatnonzero(dist <= pdq.MATCH_DISTANCE):
                entry, d = int(self._ids[idx]), int(dist[idx])
                if entry not in best or d < best[entry][0]:
                    best[entry] = (d, fp)
        if not best:
            return []
        nearest = sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:MAX_HITS]
        hb, be = schema.hash_bank, schema.bank_entry
        with self.store.read() as conn:
            rows = {
                r.id: r
                for r in conn.execute(
                    select(be.c.id, be.c.pdq, be.c.line_no, be.c.file_name, be.c.label, hb.c.name)
                    .join(hb, hb.c.id == be.c.bank_id)
                    .where(be.c.id.in_([e for e, _ in nearest]))
                )
            }
        hits = []
        for entry, (d, fp) in nearest:
            r = rows.get(entry)
            if r is None:
                continue
            hits.append(BankHit(r.name, entry, r.pdq, r.line_no, r.file_name, r.label, d, pdq.quality_of(fp), fp.frame_time_s))
        return hits


# -- export --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    item_id: int
    sha256: str
    pdq: str
    quality: int
    first_seen_at: datetime | None
    source: str | None


def export_rows(store: Store, *, min_quality: int = 0, batch: int = 10_000) -> Iterator[ExportRow]:
    """Each stored picture's PDQ hash (the whole picture), in item order, in batches."""
    fp, mi = schema.fingerprint, schema.media_item
    last = 0
    while True:
        q = (
            select(mi.c.id, mi.c.sha256, mi.c.first_seen_at, mi.c.source, fp.c.variant, fp.c.value)
            .join(fp, fp.c.item_id == mi.c.id)
            .where(fp.c.algorithm == pdq.NAME, fp.c.frame_time_s.is_(None), mi.c.id > last)
            .order_by(mi.c.id, fp.c.id)
            .limit(batch)
        )
        with store.read() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return
        for r in rows:
            quality = pdq.quality_of(Fingerprint(pdq.NAME, r.variant, b""))
            if r.id > last and quality >= min_quality:
                yield ExportRow(r.id, r.sha256, bytes(r.value).hex(), quality, r.first_seen_at, r.source)
            last = r.id


def export_text(rows: Iterator[ExportRow]) -> Iterator[str]:
    """ThreatExchange / HMA text: ``pdq <hex>`` per line."""
    for r in rows:
        yield f"pdq {r.pdq}\n"


CSV_HEADER = ("item_id", "sha256", "pdq", "first_seen_at", "source", "pdq_quality")


def export_csv(rows: Iterator[ExportRow]) -> Iterator[str]:
    """CSV with a header: item id, SHA-256, PDQ, first seen, source (and the PDQ quality)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    yield buf.getvalue()
    for r in rows:
        buf.seek(0)
        buf.truncate()
        source = r.source
        if source and source[0] in "=+-@\t\r":
            source = "'" + source  # never a formula when a partner opens the file in a spreadsheet
        seen = r.first_seen_at
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)  # stored in UTC; SQLite hands it back without the zone
        w.writerow([r.item_id, r.sha256, r.pdq, seen.isoformat() if seen else "", source or "", r.quality])
        yield buf.getvalue()


__all__ = ["BankHit", "Banks", "ExportRow", "ImportResult", "export_csv", "export_rows", "export_text", "parse_hash_list"]
