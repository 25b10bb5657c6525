"""Evidence bundles: a ZIP that proves itself to someone who never saw the desk's store.

A lawyer, an ombudsman or a partner newsroom gets one file. It holds, per item, the byte-exact
original and the record (metadata, findings, matches with the archive items' hashes and first-seen
dates, warnings, verdict with rationale), plus the slice of the hash-chained event log that
concerns the items, *linked to the global chain*: for every event from the items' first event to
the chain head, the bundle lists its id, ``prev_hash`` and ``hash`` (``chain/links.txt``), and
which bundled item it belongs to. The full content of the items' events (and of the timestamp
events in that span) is in ``chain/events.jsonl``. A reader re-hashes each full event, checks it
sits at its place in the links, and checks the links run unbroken to the chain head. Events of
other items appear only as hashes: their content is not disclosed, but the desk is committed to
it (asked to show event 57 later, it must produce content with exactly that hash).

Layout::

    README.txt              how to check, with standard tools
    report.html             the human-readable report (flagged media blurred)
    manifest.json           every other file with SHA-256 and size; chain head; flagged media
    SHA256SUMS              ``sha256sum -c`` list of every file, manifest.json included
    chain/head.txt          the chain head at export (64 hex, no newline)
    chain/links.txt         "<id> <prev_hash> <hash> <item id or ->" per event of the span
    chain/events.jsonl      the full events of the bundled items and the span's timestamp events
    timestamps/E-N.tsr      RFC 3161 responses carried by timestamp event E
    timestamps/E-N.head     the chain head that response stamps (the data for openssl ts -verify)
    timestamps/tsa-ca.pem   the root certificates the desk trusts for timestamps (if configured)
    items/ID/record.json    the item's report (build_report)
    items/ID/original.EXT   the original, byte for byte

``check_bundle`` is the other half: it needs nothing but the ZIP (and, to trust timestamps, the
authorities' root certificates).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.errors import VerifyError
from verify.events import canonical_json, derive_state, event_hash
from verify.models import Event
from verify.timestamps import EVENT_KIND as TIMESTAMP_KIND
from verify.timestamps import check_token, load_roots, roots_pem, tokens_of

if TYPE_CHECKING:  # pragma: no cover
    from verify.services import Services

BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
_UNLISTED = {MANIFEST, SUMS}
_EXT = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "image/tiff": "tif",
    "image/heic": "heic", "image/heif": "heif", "image/avif": "avif", "video/mp4": "mp4", "video/quicktime": "mov",
    "video/x-matroska": "mkv", "video/webm": "webm", "video/mp2t": "ts", "video/x-msvideo": "avi", "video/3gpp": "3gp",
}  # fmt: skip
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _event_dict(ev: Event) -> dict[str, Any]:
    return {"id": ev.id, "item_id": ev.item_id, "actor": ev.actor, "at": ev.at, "kind": ev.kind, "payload": ev.payload,
            "prev_hash": ev.prev_hash, "hash": ev.hash}  # fmt: skip


# -- building -----------------------------------------------------------------------------------


@dataclass
class BundleResult:
    path: Path
    items: list[int]
    chain_head: str
    events: int
    manifest_sha256: str
    files: int
    flagged: list[int]
    stamp_pending: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "items": self.items, "chain_head": self.chain_head, "events": self.events,
            "manifest_sha256": self.manifest_sha256, "files": self.files, "flagged": self.flagged,
            "timestamp_pending": [{"tsa": u, "reason": r} for u, r in self.stamp_pending],
        }  # fmt: skip


def build_bundle(services: Services, item_ids: Sequence[int], out: Path, *, actor: str, with_matches: bool = True) -> BundleResult:
    """Write the bundle for ``item_ids`` to ``out`` (atomically) and record an ``exported`` event.

    With timestamp authorities configured, the chain head is stamped first, so the bundle carries
    a token over a head that follows every one of the items' events.
    """
    from verify.report import build_report
    from verify.services import require_actor
    from verify.timestamps import stamp_head, tsa_urls

    actor = require_actor(actor)
    ids = sorted(dict.fromkeys(int(i) for i in item_ids))
    if not ids:
        raise VerifyError("Name at least one item to put in the bundle.")
    from verify.roles import Action

    services.require(actor, Action.READ)
    if not services.can(actor, Action.REVEAL) and any(services.store.state(i).warnings for i in ids):
        # A bundle carries the originals: flagged ones are revealed to whoever opens it.
        services.require(actor, Action.REVEAL, detail="exporting the originals of flagged media")
    pending: list[tuple[str, str]] = []
    if tsa_urls(services.settings):
        pending = stamp_head(services.store, services.settings, actor=actor).pending
    # The records and the chain slice are read one after the other; an editor deciding in between
    # would make them disagree, so both are read again until they describe the same moment.
    import time as _time

    for attempt in range(8):  # a busy desk: back off a little for a quiet moment
        views = [services.inspect(i, with_matches=with_matches) for i in ids]  # NotFound for an unknown id
        head, count, links, full, first_position = _chain_slice(services, ids)
        if all(derive_state(v.item.id, [e for e in full if e.item_id == v.item.id]).version == v.state.version for v in views):
            break
        _time.sleep(0.02 * (attempt + 1))
    else:
        # Still changing: the chain slice is the record (the state is derived from it), so the
        # items' state and history are taken from the slice, as of its head.
        for v in views:
            mine = [e for e in full if e.item_id == v.item.id]
            v.state = derive_state(v.item.id, mine)
            v.events = mine

    files: dict[str, bytes] = {}
    originals: dict[str, Path] = {}
    flagged: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for view in views:
        item = view.item
        rec = build_report(view, exported_by=actor)
        records.append(rec)
        base = f"items/{item.id}"
        name = f"{base}/original.{_EXT.get(item.mime, 'bin')}"
        originals[name] = services.original_path(item)
        files[f"{base}/record.json"] = (json.dumps(rec, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        own = sorted(w.category for w in view.state.warnings)
        # A copy of a flagged archive item shows the same scene: the precaution travels too.
        inherited = sorted({w.category for m in view.outcome.matches for w in services.store.state(m.item.id).warnings} - set(own))
        if own or inherited:
            entry: dict[str, Any] = {"item_id": item.id, "path": name, "warnings": own}
            if inherited:
                entry["from_matches"] = inherited
            flagged.append(entry)

    files["chain/head.txt"] = head.encode("ascii")
    files["chain/links.txt"] = ("\n".join(links) + "\n").encode("ascii")
    files["chain/events.jsonl"] = "".join(canonical_json(_event_dict(ev)) + "\n" for ev in full).encode("utf-8")
    stamps = []
    for ev in full:
        if ev.kind != TIMESTAMP_KIND:
            continue
        for n, (tsa, der) in enumerate(tokens_of(ev), start=1):
            stem = f"timestamps/{ev.id}-{n}"
            files[f"{stem}.tsr"] = der
            files[f"{stem}.head"] = str(ev.payload.get("covers", "")).encode("ascii")
            stamps.append({"event_id": ev.id, "tsa": tsa, "token": f"{stem}.tsr", "head": f"{stem}.head"})
    roots = load_roots(services.settings.tsa_ca) if services.settings.tsa_ca else []
    if roots:
        files["timestamps/tsa-ca.pem"] = roots_pem(roots)

    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    files["report.html"] = bundle_html(records, stamps, head, count, created_at, actor, services, flagged).encode("utf-8")
    files["README.txt"] = readme_text(head, stamps, flagged).encode("utf-8")

    listing: dict[str, dict[str, Any]] = {name: {"sha256": _sha(data), "bytes": len(data)} for name, data in files.items()}
    for name, path in originals.items():
        from verify.integrity import hash_file

        digest, size = hash_file(path)
        if digest != path.name:  # the media folder names each original by its SHA-256
            raise VerifyError(f"The stored original of item {name.split('/')[1]} was MODIFIED after it "
                              "was stored; nothing was exported. Run 'verify audit'.")
        listing[name] = {"sha256": digest, "bytes": size}
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "created_at": created_at,
        "created_by": actor,
        "items": ids,
        "chain_head": {"hash": head, "events": count},
        "span": {"first_position": first_position or count + 1, "events": len(links)},
        "timestamps": stamps,
        "content_warnings": flagged,
        "files": dict(sorted(listing.items())),
    }
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    sums = {**{n: v["sha256"] for n, v in listing.items()}, MANIFEST: _sha(manifest_bytes)}
    sums_bytes = "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())).encode("ascii")

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(SUMS, sums_bytes)
            zf.writestr(MANIFEST, manifest_bytes)
            for name in sorted(set(files) | set(originals)):
                if name in originals:
                    # stored, not deflated: the original goes in byte for byte, and media rarely shrinks
                    zf.write(originals[name], name, compress_type=zipfile.ZIP_STORED)
                else:
                    zf.writestr(name, files[name])
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    manifest_sha = _sha(manifest_bytes)
    for i in ids:
        services.store.append_event(
            i, actor, "exported",
            {"what": "evidence bundle", "items": ids, "chain_head": head, "manifest_sha256": manifest_sha},
        )  # fmt: skip
    return BundleResult(out, ids, head, count, manifest_sha, len(listing) + 2, [f["item_id"] for f in flagged], pending)


def _chain_slice(services: Services, ids: Sequence[int]) -> tuple[str, int, list[str], list[Event], int | None]:
    """The head, the link lines from the items' first event to it, and the events shown in full.

    The head is read first, then events up to it; events appended meanwhile are left out.
    """
    head, count = services.store.chain_head()
    wanted = set(ids)
    links: list[str] = []
    full: list[Event] = []
    first_position: int | None = None
    reached = head == "0" * 64
    for position, ev in _events_from(services, ids):
        if first_position is None:
            if ev.item_id not in wanted:
                continue
            first_position = position
        links.append(f"{ev.id} {ev.prev_hash} {ev.hash} {ev.item_id if ev.item_id in wanted else '-'}")
        if ev.item_id in wanted or (ev.item_id is None and ev.kind == TIMESTAMP_KIND):
            full.append(ev)
        if ev.hash == head:
            reached = True
            break
    if not reached:
        raise VerifyError("The event log does not reach its recorded chain head: run 'verify audit' before exporting.")
    return head, count, links, full, first_position


def _events_from(services: Services, ids: Sequence[int]) -> Iterator[tuple[int, Event]]:
    """(position in the chain, event) from the items' first event on, in chain order.

    Ids follow chain order (every append takes the chain-head lock before its INSERT), but may
    have gaps (a PostgreSQL sequence skips on rollback), so positions are counted, not derived.
    """
    from sqlalchemy import func, select

    from verify.store import schema
    from verify.store.db import _event_from_row

    ev = schema.event
    with services.store.read() as conn:
        first = conn.execute(select(func.min(ev.c.id)).where(ev.c.item_id.in_(list(ids)))).scalar()
        if first is None:
            return
        position = conn.execute(select(func.count()).select_from(ev).where(ev.c.id < first)).scalar_one()
    last = first - 1
    while True:
        with services.store.read() as conn:
            rows = conn.execute(select(ev).where(ev.c.id > last).order_by(ev.c.id).limit(5000)).all()
        if not rows:
            return
        for row in rows:
            position += 1
            yield position, _event_from_row(row)
        last = rows[-1].id


def _preview(path: Path, kind: str, blurred: bool, max_pixels: int) -> bytes | None:
    """A small JPEG for the report; blurred beyond recognition for flagged media."""
    from PIL import Image, ImageFilter

    from verify.media import decode_reduced, iter_keyframes

    try:
        if kind == "image":
            im = decode_reduced(path, max_pixels, target=160)
        else:
            im = next(iter(iter_keyframes(path, max_frames=1)))[1]
        im = im.convert("RGB")
        im.thumbnail((320, 320))
        if blurred:
            w, h = im.size
            im = im.resize((max(1, w // 16), max(1, h // 16))).filter(ImageFilter.GaussianBlur(2)).resize((w, h), Image.Resampling.BILINEAR)
            im = im.filter(ImageFilter.GaussianBlur(max(4, min(w, h) // 40)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
        return buf.getvalue()
    except Exception:  # noqa: BLE001 - a preview must never stop an export
        return None


def bundle_html(records: list[dict[str, Any]], stamps: list[dict[str, Any]], head: str, count: int, created_at: str,
                actor: str, services: Services, flagged: Sequence[dict[str, Any]] = ()) -> str:  # fmt: skip
    """One self-contained page: what is in the bundle and how to check it (every value escaped)."""
    import base64

    from verify.report import media_word, status_label, warning_label

    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        "<title>Evidence bundle</title>",
        "<style>body{font-family:sans-serif;max-width:62em;margin:2em auto}code,pre{background:#f4f4f4}"
        "pre{white-space:pre-wrap;padding:.5em}.warn{background:#fde8e8;padding:.5em}th{text-align:left;padding-right:1em}</style>",
        "</head><body><h1>Evidence bundle</h1>",
        f"<p>Made {e(created_at)} by {e(actor)}. {len(records)} item(s). Chain head at export: <code>{e(head)}</code> "
        f"({count:,} events in the desk's log).</p>",
        "<h2>How to check this bundle</h2><ol>",
        "<li>Unpack it and run <code>sha256sum -c SHA256SUMS</code>: every file must say OK, and no file may be "
        "present that the list does not name (<code>manifest.json</code> lists the same files with sizes).</li>",
        "<li>Each original's SHA-256 must equal the <code>sha256</code> of its item's <code>ingested</code> event in "
        "<code>chain/events.jsonl</code>: that event was written, hash-chained, when the desk received the file.</li>",
        "<li>Each line of <code>chain/events.jsonl</code> hashes (SHA-256 of the canonical JSON of item_id, actor, at, "
        "kind, payload and prev_hash) to its <code>hash</code>, and sits in <code>chain/links.txt</code> at that hash; "
        "in the links each line's prev_hash equals the hash of the line before, and the last hash is "
        "<code>chain/head.txt</code>. Lines of other items are given as hashes only.</li>",
    ]
    if stamps:
        parts.append(
            "<li>Each timestamp: <code>openssl ts -verify -data timestamps/E-N.head -in timestamps/E-N.tsr "
            "-CAfile AUTHORITY-ROOT.pem</code> (use the authority's own published root certificate; "
            "<code>timestamps/tsa-ca.pem</code> is the one the desk trusted). The stamped head must appear in "
            "<code>chain/links.txt</code>: every event at or above it existed at the stamp's time.</li>"
        )
    else:
        parts.append("<li>This bundle carries no trusted timestamp: compare the chain head with one the desk published elsewhere.</li>")
    parts.append("<li>Or run <code>verify audit --bundle THIS.zip</code>, which does all of the above.</li></ol>")
    for rec in records:
        item = rec["item"]
        iid = int(item["id"])
        parts.append(f"<h2>Item {iid}: {e(str(item.get('filename') or item['sha256'][:12]))}</h2>")
        flags = next((fl for fl in flagged if fl["item_id"] == iid), None)
        blurred = bool(rec["warnings"]) or flags is not None
        if blurred:
            categories = [w["category"] for w in rec["warnings"]] + list((flags or {}).get("from_matches", []))
            labels = ", ".join(warning_label(c) for c in categories)
            parts.append(f"<p class='warn'>Content warning: {e(labels)}. The preview is blurred; the original in "
                         f"<code>items/{iid}/</code> is not.</p>")
        try:
            path = services.original_path(services.store.item(iid))
            preview = _preview(path, item["kind"], blurred, services.settings.max_image_pixels)
        except VerifyError:
            preview = None
        if preview:
            parts.append(f"<img alt='preview' style='max-width:320px' src='data:image/jpeg;base64,{base64.b64encode(preview).decode()}'>")
        rows = [("SHA-256", item["sha256"]), ("Kind", media_word(item["kind"])), ("Bytes", item["bytes"]),
                ("Source", item.get("source")), ("First seen", item.get("first_seen_at")),
                ("Ingested", f"{item.get('ingested_at')} by {item.get('ingested_by')}"), ("Status", status_label(rec["status"]))]  # fmt: skip
        parts.append("<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e('' if v is None else str(v))}</td></tr>" for k, v in rows) + "</table>")
        v = rec.get("verdict")
        if v:
            parts.append(f"<p><b>Verdict: {e(status_label(v['status']))}</b> by {e(v['actor'])} on {e(v['at'])}</p><pre>{e(v['rationale'])}</pre>")
        if rec["findings"]:
            parts.append("<h3>Findings</h3><ul>" + "".join(f"<li>[{e(f['severity'])}] {e(f['title'])}: {e(f['evidence'])}</li>" for f in rec["findings"]) + "</ul>")
        if rec["matches"]:
            parts.append("<h3>Matches in the archive</h3><ul>")
            for m in rec["matches"]:
                parts.append(f"<li>item {int(m['item_id'])}, SHA-256 <code>{e(m['sha256'])}</code>, first seen "
                             f"{e(str(m.get('first_seen_at') or m.get('ingested_at') or 'unknown'))}, {e(str(m['method']))}</li>")
            parts.append("</ul>")
        parts.append("<h3>History</h3><ul>" + "".join(f"<li>{e(h['at'])}: {e(h['actor'])}: {e(h['kind'])}</li>" for h in rec["history"]) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def readme_text(head: str, stamps: list[dict[str, Any]], flagged: list[dict[str, Any]]) -> str:
    lines = [
        "EVIDENCE BUNDLE (verify)",
        "",
        "Open report.html for the human-readable record.",
    ]
    if flagged:
        lines += ["", "CONTENT WARNING: these files show distressing material:"]
        lines += [f"  {f['path']}: {', '.join(f['warnings'] + f.get('from_matches', []))}" for f in flagged]
    lines += [
        "",
        "To check this bundle with standard tools:",
        "  1. unzip BUNDLE.zip -d bundle && cd bundle && sha256sum -c SHA256SUMS",
        "     (every line OK; and no file present that SHA256SUMS does not list)",
        "  2. each original's SHA-256 equals the sha256 of its item's 'ingested' event in chain/events.jsonl",
        "  3. chain/links.txt: each line's prev_hash is the hash of the line before; the last hash is",
        f"     chain/head.txt = {head}",
    ]
    for s in stamps:
        lines.append(f"  4. openssl ts -verify -data {s['head']} -in {s['token']} -CAfile AUTHORITY-ROOT.pem")
    lines += ["", "Or, with verify installed: verify audit --bundle BUNDLE.zip", ""]
    return "\n".join(lines)


# -- checking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleProblem:
    code: str  # changed | added | removed | manifest | chain | event | record | timestamp | unreadable
    message: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "path": self.path, "message": self.message}


@dataclass
class BundleCheck:
    problems: list[BundleProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    events_checked: int = 0
    links_checked: int = 0
    items: list[int] = field(default_factory=list)
    chain_head: str | None = None
    timestamps: list[dict[str, Any]] = field(default_factory=list)
    created_at: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, code: str, message: str, path: str | None = None) -> None:
        self.problems.append(BundleProblem(code, message, path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "verdict": "INTACT" if self.ok else "NOT INTACT", "chain_head": self.chain_head,
            "created_at": self.created_at, "items": self.items, "files_checked": self.files_checked,
            "events_checked": self.events_checked, "links_checked": self.links_checked,
            "timestamps": self.timestamps, "problems": [p.to_dict() for p in self.problems], "notes": self.notes,
        }  # fmt: skip


_MAX_MEMBER = 8 * 1024**3


def check_bundle(path: Path, *, tsa_roots: Path | None = None) -> BundleCheck:
    """Everything a reader can prove from the ZIP alone; each problem named with its file."""
    report = BundleCheck()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.add("unreadable", f"The bundle cannot be opened as a ZIP file ({exc}).")
        return report
    with zf:
        try:
            _check(_Unfolded.of(zf, report), report, tsa_roots)
        except VerifyError as exc:
            report.add("unreadable", f"The bundle cannot be checked: {exc}.")
        except Exception as exc:  # noqa: BLE001 - a crafted bundle gets a verdict, never a traceback
            report.add("unreadable", f"The bundle is malformed: a file does not have the shape a bundle's has ({type(exc).__name__}).")
    return report


class _Unfolded:
    """The ZIP as the bundle's own names see it, also when it was unpacked and re-zipped in a folder.

    ``unzip b.zip -d case && zip -r again.zip case`` puts every name under ``case/``: the same
    files, so the same verdict; a note says the folder was stripped.
    """

    def __init__(self, zf: zipfile.ZipFile, prefix: str) -> None:
        self.zf, self.prefix = zf, prefix

    @classmethod
    def of(cls, zf: zipfile.ZipFile, report: BundleCheck) -> _Unfolded:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if MANIFEST not in names:
            tops = {n.split("/", 1)[0] for n in names}
            if len(tops) == 1 and all("/" in n for n in names) and f"{next(iter(tops))}/{MANIFEST}" in names:
                prefix = next(iter(tops)) + "/"
                report.notes.append(f"The bundle's files are inside a folder {prefix!r} (it was unpacked and zipped again); checked as if at the top.")
                return cls(zf, prefix)
        return cls(zf, "")

    def infolist(self) -> list[zipfile.ZipInfo]:
        out = []
        for info in self.zf.infolist():
            if self.prefix and info.filename.startswith(self.prefix):
                info.filename = info.filename[len(self.prefix):]  # orig_filename still opens the entry
                if not info.filename:
                    continue
            out.append(info)
        return out

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        return self.zf.getinfo(self.prefix + name)

    def read(self, name: str) -> bytes:
        return self.zf.read(self.prefix + name)

    def open(self, info: zipfile.ZipInfo) -> Any:
        return self.zf.open(info)


def _read(zf: Any, name: str, limit: int = 256 * 1024**2) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise VerifyError(f"{name} is larger than a bundle file of its kind can be")
    return zf.read(name)


def _hash_member(zf: Any, info: zipfile.ZipInfo) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with zf.open(info) as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
            size += len(chunk)
            if size > _MAX_MEMBER:
                break
    return h.hexdigest(), size


def _check(zf: Any, r: BundleCheck, tsa_roots: Path | None) -> None:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.filename
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            r.add("added", f"A file with an unsafe path was added: {name!r}.", name)
            continue
        if name in members:
            r.add("added", f"The file {name} appears twice in the ZIP (a second copy was added).", name)
        members[name] = info
    actual: dict[str, str] = {}
    for name, info in members.items():
        try:
            actual[name], _ = _hash_member(zf, info)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            r.add("changed", f"{name} cannot be read from the ZIP ({exc}): it was damaged.", name)
        r.files_checked += 1

    # 1. manifest and SHA256SUMS
    if MANIFEST not in members:
        r.add("removed", "manifest.json was removed: the list of files and their hashes is missing.", MANIFEST)
        return
    try:
        manifest = json.loads(_read(zf, MANIFEST))
        listed: dict[str, dict[str, Any]] = manifest["files"]
        assert isinstance(listed, dict)
    except Exception:  # noqa: BLE001
        r.add("manifest", "manifest.json is not a bundle manifest (it cannot be read).", MANIFEST)
        return
    r.created_at = str(manifest.get("created_at"))
    sums: dict[str, str] = {}
    if SUMS not in members:
        r.add("removed", "SHA256SUMS was removed.", SUMS)
    else:
        for line in _read(zf, SUMS).decode("ascii", "replace").splitlines():
            m = re.match(r"^([0-9a-f]{64}) [ *](.+)$", line)
            if m:
                sums[m.group(2)] = m.group(1)
            elif line.strip():
                r.add("manifest", f"SHA256SUMS has a line that is not 'hash  name': {line[:80]!r}.", SUMS)
        if sums.get(MANIFEST) != actual.get(MANIFEST):
            r.add("manifest", "manifest.json was changed or replaced: its SHA-256 differs from the one in SHA256SUMS.", MANIFEST)
        for name in sorted(set(sums) - set(listed) - {MANIFEST}):
            r.add("manifest", f"SHA256SUMS lists {name}, which manifest.json does not.", SUMS)
        for name in sorted(set(listed) - set(sums)):
            r.add("manifest", f"manifest.json lists {name}, which SHA256SUMS does not.", SUMS)
        for name in sorted(set(sums) & set(listed)):
            if sums[name] != listed[name].get("sha256"):
                r.add("manifest", f"SHA256SUMS and manifest.json disagree about {name}.", name)
    for name in sorted(set(members) - set(listed) - _UNLISTED):
        r.add("added", f"{name} was added: the manifest does not list it.", name)
    for name in sorted(set(listed) - set(members)):
        r.add("removed", f"{name} was removed: the manifest lists it but the bundle does not hold it.", name)
    for name in sorted(set(listed) & set(members)):
        want = listed[name]
        if actual.get(name) != want.get("sha256") or members[name].file_size != want.get("bytes"):
            r.add("changed", f"{name} was changed: its SHA-256 is not the one in the manifest.", name)

    # 2. the chain slice
    head_info = manifest.get("chain_head") or {}
    head = str(head_info.get("hash", ""))
    r.chain_head = head or None
    r.items = [int(i) for i in manifest.get("items", []) if isinstance(i, int)]
    try:
        head_file = _read(zf, "chain/head.txt").decode("ascii").strip()
    except (KeyError, VerifyError, UnicodeDecodeError):
        head_file = ""
    if head_file != head or not _HEX64.match(head):
        r.add("chain", "chain/head.txt and the manifest do not name the same chain head.", "chain/head.txt")
    links = _links(zf, r)
    span = manifest.get("span") or {}
    if links is not None:
        prev: str | None = None
        for i, (eid, p, h, _owner) in enumerate(links):
            if prev is not None and p != prev:
                r.add("chain", f"chain/links.txt: the link before event {eid} is broken (an event was dropped, "
                      "inserted or reordered there).", "chain/links.txt")  # fmt: skip
            prev = h
        r.links_checked = len(links)
        if links and links[-1][2] != head:
            r.add("chain", "chain/links.txt does not end at the chain head: the newest events were dropped.", "chain/links.txt")
        expected = head_info.get("events", 0) - span.get("first_position", 0) + 1
        if len(links) != span.get("events") or len(links) != expected:
            r.add("chain", f"chain/links.txt holds {len(links)} events but the span runs from event number "
                  f"{span.get('first_position')} to {head_info.get('events')} (events were dropped or added).", "chain/links.txt")  # fmt: skip
    events = _events(zf, r)
    if links is not None and events is not None:
        _check_events(events, links, r)
        _check_records(zf, events, listed, r)
        _check_timestamps(zf, events, links, listed, r, tsa_roots)
    for w in manifest.get("content_warnings") or []:
        if isinstance(w, dict) and w.get("path") not in listed:
            r.add("manifest", f"The content warning names {w.get('path')}, which the manifest does not list.", MANIFEST)


def _links(zf: Any, r: BundleCheck) -> list[tuple[int, str, str, str]] | None:
    try:
        text = _read(zf, "chain/links.txt").decode("ascii")
    except (KeyError, VerifyError, UnicodeDecodeError):
        r.add("chain", "chain/links.txt cannot be read: the link to the global chain is missing.", "chain/links.txt")
        return None
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split(" ")
        if len(parts) != 4 or not parts[0].isdigit() or not _HEX64.match(parts[1]) or not _HEX64.match(parts[2]):
            r.add("chain", f"chain/links.txt line {n} is not 'id prev_hash hash item'.", "chain/links.txt")
            continue
        out.append((int(parts[0]), parts[1], parts[2], parts[3]))
    return out


def _events(zf: Any, r: BundleCheck) -> list[dict[str, Any]] | None:
    try:
        text = _read(zf, "chain/events.jsonl").decode("utf-8")
    except (KeyError, VerifyError, UnicodeDecodeError):
        r.add("event", "chain/events.jsonl cannot be read: the items' events are missing.", "chain/events.jsonl")
        return None
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        try:
            ev = json.loads(line)
            assert isinstance(ev, dict) and isinstance(ev.get("payload"), dict)
            out.append(ev)
        except Exception:  # noqa: BLE001
            r.add("event", f"chain/events.jsonl line {n} is not an event.", "chain/events.jsonl")
    return out


def _check_events(events: list[dict[str, Any]], links: list[tuple[int, str, str, str]], r: BundleCheck) -> None:
    at_hash = {h: (i, eid, p, owner) for i, (eid, p, h, owner) in enumerate(links)}
    last_index = -1
    seen: set[str] = set()
    for ev in events:
        r.events_checked += 1
        try:
            digest = event_hash(item_id=ev["item_id"], actor=ev["actor"], at=ev["at"], kind=ev["kind"], payload=ev["payload"], prev_hash=ev["prev_hash"])
        except (KeyError, TypeError):
            r.add("event", f"Event {ev.get('id')} lacks fields an event has.", "chain/events.jsonl")
            continue
        label = f"event {ev.get('id')} ({ev.get('kind')} by {ev.get('actor')} at {ev.get('at')})"
        if digest != ev.get("hash"):
            r.add("event", f"The content of {label} was changed: it no longer hashes to its recorded hash.", "chain/events.jsonl")
        place = at_hash.get(ev.get("hash"))
        if place is None:
            r.add("event", f"{label.capitalize()} is not in the chain links (it was added, or its hash edited).", "chain/events.jsonl")
            continue
        index, eid, prev, _owner = place
        seen.add(ev["hash"])
        if eid != ev.get("id") or prev != ev.get("prev_hash"):
            r.add("event", f"{label.capitalize()} does not match its place in the chain links (id or previous hash differ).", "chain/events.jsonl")
        if index < last_index:
            r.add("event", f"{label.capitalize()} is out of order: events were reordered.", "chain/events.jsonl")
        last_index = max(last_index, index)
    wanted = {str(i) for i in r.items}
    for eid, _p, h, owner in links:
        if owner in wanted and h not in seen:
            r.add("event", f"Event {eid} of item {owner} was dropped: the chain links name it but its content is missing.", "chain/events.jsonl")
        elif owner != "-" and owner not in wanted:
            r.add("chain", f"chain/links.txt names item {owner}, which the bundle does not hold.", "chain/links.txt")


def _check_records(zf: Any, events: list[dict[str, Any]], listed: dict[str, Any], r: BundleCheck) -> None:
    """Each original against its ``ingested`` event; each record's verdict against the events."""
    by_item: dict[int, list[dict[str, Any]]] = {}
    for ev in events:
        if isinstance(ev.get("item_id"), int):
            by_item.setdefault(ev["item_id"], []).append(ev)
    for iid in r.items:
        evs = by_item.get(iid, [])
        ingested = [e for e in evs if e.get("kind") == "ingested"]
        originals = [n for n in listed if n.startswith(f"items/{iid}/original.")]
        if len(ingested) != 1:
            r.add("event", f"Item {iid}: its 'ingested' event is missing from chain/events.jsonl.", "chain/events.jsonl")
        elif not originals:
            r.add("removed", f"Item {iid}: its original is not in the bundle.", f"items/{iid}/")
        else:
            want = ingested[0]["payload"].get("sha256")
            for name in originals:
                if listed[name].get("sha256") != want:
                    r.add("changed", f"Item {iid}: {name} is not the file the desk received (its SHA-256 differs from the "
                          "one in the 'ingested' event).", name)  # fmt: skip
        name = f"items/{iid}/record.json"
        try:
            rec = json.loads(_read(zf, name))
        except KeyError:
            continue  # reported as removed above
        except Exception:  # noqa: BLE001
            r.add("record", f"{name} cannot be read as JSON.", name)
            continue
        state = derive_state(iid, [_as_event(e) for e in evs if isinstance(e.get("payload"), dict)])
        v = rec.get("verdict") or None
        if (v or {}).get("status") != (state.verdict.status if state.verdict else None) or (
            state.verdict and v and v.get("rationale") != state.verdict.rationale
        ):
            r.add("record", f"{name}: the verdict it states is not the one the item's events record.", name)
        if sorted(w.get("category") for w in rec.get("warnings") or []) != sorted(w.category for w in state.warnings):
            r.add("record", f"{name}: the content warnings it states are not the ones the item's events record.", name)
        if ingested and (rec.get("item") or {}).get("sha256") != ingested[0]["payload"].get("sha256"):
            r.add("record", f"{name}: the SHA-256 it states is not the one in the item's 'ingested' event.", name)


def _as_event(d: dict[str, Any]) -> Event:
    return Event(d.get("id", 0), d.get("item_id"), d.get("actor", ""), d.get("at", ""), d.get("kind", ""), d.get("payload", {}),
                 d.get("prev_hash", ""), d.get("hash", ""))  # fmt: skip


def _check_timestamps(zf: Any, events: list[dict[str, Any]], links: list[tuple[int, str, str, str]],
                      listed: dict[str, Any], r: BundleCheck, tsa_roots: Path | None) -> None:  # fmt: skip
    roots = []
    if tsa_roots:
        roots = load_roots(tsa_roots)
        source = f"the roots in {tsa_roots}"
    elif "timestamps/tsa-ca.pem" in listed:
        from cryptography import x509

        try:
            roots = list(x509.load_pem_x509_certificates(_read(zf, "timestamps/tsa-ca.pem")))
        except (ValueError, KeyError):
            r.add("timestamp", "timestamps/tsa-ca.pem holds no certificate.", "timestamps/tsa-ca.pem")
        source = "the root certificate shipped in the bundle (compare its fingerprint with the authority's published one, or pass --tsa-ca)"
    else:
        source = ""
    position = {h: i for i, (_e, _p, h, _o) in enumerate(links)}
    stamped_index = -1
    for ev in events:
        if ev.get("kind") != TIMESTAMP_KIND or ev.get("item_id") is not None:
            continue
        covers = str(ev["payload"].get("covers", ""))
        where = position.get(covers)
        own = position.get(ev.get("hash"), -1)
        if where is None and covers != ev.get("prev_hash"):
            r.notes.append(f"Timestamp event {ev.get('id')} stamps a head older than this bundle's span.")
        elif where is not None and where >= own:
            r.add("timestamp", f"Timestamp event {ev.get('id')} claims to stamp a head that comes after it.", "chain/events.jsonl")
        for n, (tsa, der) in enumerate(tokens_of(_as_event(ev)), start=1):
            name = f"timestamps/{ev.get('id')}-{n}.tsr"
            if name in listed:
                try:
                    if _read(zf, name) != der:
                        r.add("timestamp", f"{name} is not the token recorded in timestamp event {ev.get('id')}.", name)
                except KeyError:
                    pass
            check = check_token(der, covers, roots, tsa=tsa)
            entry = check.to_dict() | {"event_id": ev.get("id"), "file": name}
            r.timestamps.append(entry)
            if check.problem:
                r.add("timestamp", f"{name}: {check.problem}.", name)
            elif where is not None:
                stamped_index = max(stamped_index, where)
            if not check.trusted:
                r.notes.append(f"{name}: stamp over the right head, but its signature was not checked (no trusted root: pass --tsa-ca).")
            elif source and check.problem is None:
                entry["trusted_by"] = source
    wanted = {str(i) for i in r.items}
    item_links = [i for i, (_e, _p, _h, owner) in enumerate(links) if owner in wanted]
    if item_links and r.timestamps:
        later = sum(1 for i in item_links if i > stamped_index)
        if later:
            r.notes.append(f"{later} event(s) of the bundled items come after the last valid timestamp: their time rests on the desk's clock alone.")
    elif item_links:
        r.notes.append("No trusted timestamp: the events' times rest on the desk's clock; compare the chain head with one published elsewhere.")


__all__ = ["BundleCheck", "BundleProblem", "BundleResult", "build_bundle", "check_bundle"]
