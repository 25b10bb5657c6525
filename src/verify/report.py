"""Exports that leave the desk: the per-item verification report, the case list, the media itself.

A report is built once as a plain dictionary (``build_report``) and then written as JSON, Markdown
or HTML, so the three never disagree. Everything that came from outside (file names, tags, sources,
notes, even an editor's rationale) is escaped for the target format: a crafted EXIF string must not
become a remote image in a Markdown viewer or a script in a browser. Media exports drop GPS and
device data, because sources are people at risk.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.errors import UnreadableMedia, VerifyError
from verify.findings import camera_line
from verify.models import Claim, Finding, Match, MediaItem

if TYPE_CHECKING:  # pragma: no cover
    from verify.services import ItemView

REPORT_VERSION = 1

WARNING_LABELS = {
    "graphic_violence": "Graphic violence",
    "injury_blood": "Injury / blood",
    "dead_bodies": "Dead bodies",
    "children": "Children",
    "distressing_audio": "Distressing audio",
    "other": "Other",
}

STATUS_LABELS = {
    "unverified": "Unverified",
    "in_progress": "In progress",
    "verified": "Verified",
    "false": "False",
    "misattributed": "Misattributed",
    "inconclusive": "Inconclusive",
}


def media_word(kind: str | None) -> str:
    """"picture" or "footage": what an editor calls the thing."""
    return "footage" if kind == "video" else "picture"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def warning_label(category: str) -> str:
    return WARNING_LABELS.get(category, category.replace("_", " ").capitalize())


# -- findings (provided by verify.findings when it exists) ------------------------------------


def claim_of(item: MediaItem) -> Claim:
    return Claim(
        source=item.source,
        source_url=item.source_url,
        source_contact=item.source_contact,
        first_seen_at=item.first_seen_at,
        claimed_place=item.claimed_place,
        claimed_lat=item.claimed_lat,
        claimed_lon=item.claimed_lon,
        claimed_date=item.claimed_date,
        note=item.note,
    )


def findings_for(view: ItemView) -> list[Finding]:
    """The plain-language flags for an item, or none while the findings rules are not installed.

    A failing rule must not take the item page down: the editor still sees facts and matches.
    """
    try:
        from verify.findings import evaluate
    except ImportError:
        return []
    try:
        found = evaluate(view.item, view.metadata, list(view.outcome.matches), claim_of(view.item))
    except VerifyError:
        return []
    except Exception:  # noqa: BLE001 - a rule bug must not hide the rest of the record
        import logging

        logging.getLogger(__name__).exception("findings failed for item %s", view.item.id)
        return []
    return [f for f in found if isinstance(f, Finding)]


def earliest_match(matches: Sequence[Match]) -> Match | None:
    """The archive item seen first among confident matches: the "it was already there" date."""
    dated = [m for m in matches if (m.item.first_seen_at or m.item.ingested_at) is not None]
    if not dated:
        return None
    return min(dated, key=lambda m: _aware(m.item.first_seen_at or m.item.ingested_at))


def seen_date(item: MediaItem) -> datetime:
    return item.first_seen_at or item.ingested_at


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- the report ----------------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _item_dict(item: MediaItem) -> dict[str, Any]:
    d = asdict(item)
    for key, value in d.items():
        if isinstance(value, (date, datetime)):
            d[key] = value.isoformat()
    return d


def _match_dict(m: Match) -> dict[str, Any]:
    return {
        "item_id": m.item.id,
        "sha256": m.item.sha256,
        "filename": m.item.filename,
        "score": m.score,
        "distance": m.distance,
        "method": m.method,
        "confident": m.confident,
        "query_time_s": m.query_time_s,
        "match_time_s": m.match_time_s,
        "first_seen_at": _iso(m.item.first_seen_at),
        "ingested_at": _iso(m.item.ingested_at),
        "source": m.item.source,
        "source_url": m.item.source_url,
        "origin": m.item.origin,
    }


def build_report(view: ItemView, findings: Sequence[Finding] | None = None, *, exported_by: str | None = None,
                 forensics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything an outside reader needs about one item, as JSON-ready values.

    ``forensics`` is the item's stored forensic reading (``verify.forensics.cache``), when one was
    computed; the report then carries it with its caution.
    """
    if findings is None:
        findings = findings_for(view)
    meta = view.metadata
    state = view.state
    first = earliest_match(view.outcome.matches)
    history = [
        {"at": ev.at, "actor": ev.actor, "kind": ev.kind, "payload": ev.payload, "hash": ev.hash}
        for ev in view.events
    ]
    return {
        "report_version": REPORT_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generated_by": exported_by,
        "item": _item_dict(view.item),
        "facts": {
            "captured_at": meta.captured_at,
            "make": meta.make,
            "model": meta.model,
            "camera": camera_line(meta.make, meta.model),
            "lens": meta.lens,
            "software": meta.software,
            "gps": asdict(meta.gps) if meta.gps else None,
            "width": meta.width,
            "height": meta.height,
            "duration_s": meta.duration_s,
            "fps": meta.fps,
            "video_codec": meta.video_codec,
            "encoder": meta.encoder,
            "c2pa": meta.c2pa,
            "reader_errors": list(meta.errors),
        },
        "text": meta.text,
        "findings": [asdict(f) for f in findings],
        "earliest_match": _match_dict(first) if first else None,
        "matches": [_match_dict(m) for m in view.outcome.matches],
        "candidates": [_match_dict(m) for m in view.outcome.candidates],
        "warnings": [
            {"category": w.category, "note": w.note, "added_by": w.added_by, "added_at": w.added_at.isoformat()}
            for w in state.warnings
        ],
        "status": state.status,
        "verdict": (
            {
                "status": state.verdict.status,
                "rationale": state.verdict.rationale,
                "evidence_links": list(state.verdict.evidence_links),
                "actor": state.verdict.actor,
                "at": state.verdict.at.isoformat(),
            }
            if state.verdict
            else None
        ),
        "history": history,
        "tags": dict(sorted(meta.raw.items())),
        "forensics": _forensics_section(forensics),
        **_bank_section(view),
        "links": links_section(view.events),
    }


def links_section(events: Sequence[Any]) -> list[dict[str, Any]]:
    """Where the item was fetched from or imported with (links issue), from its ``fetched`` events."""
    keys = ("url", "final_url", "media_url", "via", "platform", "title", "uploader", "channel", "published_at",
            "published_at_basis", "server_modified_at", "captured_at", "capture_sha256", "capture_format", "proxy")  # fmt: skip
    out = []
    for ev in events:
        if ev.kind != "fetched" or not isinstance(ev.payload, dict):
            continue
        entry = {k: ev.payload.get(k) for k in keys}
        entry.update(fetched_by=ev.actor, fetched_at=ev.at, event_hash=ev.hash,
                     basis_label=basis_label(ev.payload.get("published_at_basis")) if ev.payload.get("published_at") else None,
                     requests=len(ev.payload.get("request_log") or []))  # fmt: skip
        out.append(entry)
    return out


def _links_lines(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for link in report.get("links") or []:
        pub = f"{link['published_at']} ({link['basis_label']})" if link.get("published_at") else "not stated"
        out.append(f"- {md_text(link.get('url'))}: media {md_text(link.get('media_url'))}; published {md_text(pub)}; "
                   f"uploader {md_text(link.get('uploader'))}; title {md_text(link.get('title'))}; "
                   f"{'imported' if link.get('via') == 'import' else 'fetched'} by {md_text(link.get('fetched_by'))} "
                   f"at {md_text(_when(link.get('fetched_at')))}"
                   + (f"; capture {md_text(link.get('capture_format'))} SHA-256 `{link['capture_sha256']}`" if link.get("capture_sha256") else "")
                   + (f"; server's Last-Modified {md_text(link['server_modified_at'])} (server-reported, not the post's date)"
                      if link.get("server_modified_at") else ""))
    return out


def _bank_section(view: ItemView) -> dict[str, Any]:
    """Partners' hash-bank hits, only when there are any (older reports keep their exact shape)."""
    hits = getattr(view.outcome, "bank_hits", None) or []
    return {"bank_hits": [h.to_json()["bank"] | {"distance": h.distance, "method": h.method, "query_time_s": h.query_time_s} for h in hits]} if hits else {}


def _forensics_section(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if not record:
        return None
    from verify.forensics.cache import CAUTION

    keep = ("jpeg", "clone", "sun", "findings", "reduced", "notes")
    return {**{k: record.get(k) for k in keep}, "caution": CAUTION}


def _forensics_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) lines summarising the forensic readings, for Markdown and HTML alike."""
    fx = report.get("forensics")
    if not fx:
        return []
    out: list[tuple[str, str]] = []
    j = fx.get("jpeg")
    if j:
        dq = {True: "yes", False: "no sign", None: "inconclusive"}.get(j.get("double_compressed"), "inconclusive")
        out.append(("JPEG", f"last saved at about quality {j.get('quality')} with "
                            f"{'standard IJG' if j.get('standard_tables') else 'custom'} tables, {j.get('subsampling')}, "
                            f"{'progressive' if j.get('progressive') else 'baseline'}; saved twice: {dq}"
                            + (f" (confidence {j['confidence']:.2f})" if j.get("confidence") is not None else "")))
    c = fx.get("clone")
    if c is not None:
        out.append(("Copied regions", "; ".join(f"{p['source']} -> {p['target']}" for p in c.get("pairs", [])) or "none found"))
    sun = fx.get("sun")
    if sun:
        where = (f"{sun['elevation_deg']:+.1f} degrees elevation, azimuth {sun['azimuth_deg']:.0f} degrees"
                 if sun.get("elevation_deg") is not None else "no time of day")
        out.append(("Sun", f"{where}; sunrise {sun.get('sunrise')}, sunset {sun.get('sunset')} ({sun.get('basis')})"))
    for f in fx.get("findings") or []:
        out.append((f"[{f.get('severity')}] {f.get('title')}", str(f.get("evidence"))))
    out.append(("Caution", fx["caution"]))
    return out


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str)


# -- Markdown ------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$&])")
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def md_text(value: object) -> str:
    r"""Untrusted text made literal for Markdown: every markup character escaped, one line.

    CommonMark lets any ASCII punctuation be backslash-escaped: every character that can open a
    link, an image, HTML, emphasis, code or a table cell is escaped, and bare URLs are broken up
    (``http\://``) so that GitHub-style autolinking cannot make them clickable. Dates, dots and
    dashes stay readable.
    """
    if value is None:
        return "—"
    text = _CONTROL.sub(" ", str(value)).replace("\r", " ").replace("\n", " ")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _AUTOLINK.sub(lambda m: {"://": "\\://", "@": "\\@"}.get(m.group(1), m.group(1)[:3] + "\\."), text)


def _fence(text: str) -> str:
    """A fenced block long enough that the content cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}"


def to_markdown(report: dict[str, Any]) -> str:
    item = report["item"]
    facts = report["facts"]
    out: list[str] = []
    out.append(f"# Verification report: item {item['id']}")
    out.append("")
    out.append(f"- File: {md_text(item.get('filename'))}")
    out.append(f"- SHA-256: `{item['sha256']}`")
    out.append(f"- Kind: {md_text(item['kind'])} ({md_text(item['mime'])}), {item['bytes']:,} bytes")
    out.append(f"- Status: **{md_text(status_label(report['status']))}**")
    out.append(f"- Source: {md_text(item.get('source'))}")
    out.append(f"- Claimed place: {md_text(item.get('claimed_place'))} {_coords(item.get('claimed_lat'), item.get('claimed_lon'))}")
    out.append(f"- Claimed date: {md_text(item.get('claimed_date'))}")
    out.append(f"- First seen: {md_text(_when(item.get('first_seen_at')))}; received {md_text(_when(item.get('ingested_at')))} by {md_text(item.get('ingested_by'))}")
    out.append(f"- Report generated {md_text(_when(report['generated_at']))} by {md_text(report.get('generated_by'))}")
    out.append("")
    if report["warnings"]:
        out.append("## Content warnings")
        out.append("")
        for w in report["warnings"]:
            note = f": {md_text(w['note'])}" if w.get("note") else ""
            out.append(f"- **{md_text(warning_label(w['category']))}**{note} (added by {md_text(w['added_by'])}, {md_text(_when(w['added_at']))})")
        out.append("")
    first = report.get("earliest_match")
    if first:
        out.append("## Seen before")
        out.append("")
        when = first.get("first_seen_at") or first.get("ingested_at")
        out.append(f"**This {media_word(item['kind'])} was in the archive on {md_text((when or '')[:10])}** "
                   f"(item {first['item_id']}, source {md_text(first.get('source'))}).")
        out.append("")
    if report.get("links"):
        out.append("## Where it came from (links)")
        out.append("")
        out.extend(_links_lines(report))
        out.append("")
    out.append("## Key facts")
    out.append("")
    for label, key in (("Captured at", "captured_at"), ("Camera", "camera"),
                       ("Software", "software"), ("Video codec", "video_codec"), ("Encoder", "encoder")):
        if facts.get(key):
            out.append(f"- {label}: {md_text(facts[key])}")
    gps = facts.get("gps")
    out.append(f"- GPS: {_coords(gps['lat'], gps['lon']) if gps else 'none in the file'}")
    out.append(f"- Size: {facts.get('width')} x {facts.get('height')}" + (f", {facts['duration_s']:.1f} s" if facts.get("duration_s") else ""))
    out.append(f"- C2PA content credentials: {'present' if facts.get('c2pa') else 'none'}")
    for err in facts.get("reader_errors") or []:
        out.append(f"- Reader problem: {md_text(err)}")
    out.append("")
    out.append("## Findings")
    out.append("")
    if report["findings"]:
        for f in report["findings"]:
            out.append(f"- [{md_text(f['severity'])}] **{md_text(f['title'])}**: {md_text(f['evidence'])}")
    else:
        out.append("- No findings.")
    text_lines = (report.get("text") or {}).get("lines") or []
    if text_lines:
        out.append("")
        out.append("## Text in the picture (machine-read)")
        out.append("")
        out.extend(f"- {md_text(line['text'])} ({float(line['confidence']):.2f}"
                   f"{', watermark' if line.get('kind') == 'watermark' else ''})" for line in text_lines)  # fmt: skip
    out.append("")
    out.append("## Matches in the archive")
    out.append("")
    if report["matches"] or report["candidates"]:
        out.append("| item | confident | score | method | first seen | source | frame |")
        out.append("|---|---|---|---|---|---|---|")
        for m in report["matches"] + report["candidates"]:
            frame = _fmt_time(m.get("match_time_s"))
            out.append(
                f"| {m['item_id']} | {'yes' if m['confident'] else 'candidate'} | {m['score']:.2f} | {md_text(m['method'])} | "
                f"{md_text((m.get('first_seen_at') or m.get('ingested_at') or '')[:10])} | {md_text(m.get('source'))} | {md_text(frame)} |"
            )
    else:
        out.append("No earlier copy found in the archive.")
    out.append("")
    if report.get("bank_hits"):
        out.append("## Listed in partners' hash banks")
        out.append("")
        out.append("A partner's PDQ list (hashes without originals) has an entry this close; there is no original here to compare.")
        out.append("")
        out.append("| bank | entry line | file | PDQ | distance |")
        out.append("|---|---|---|---|---|")
        for h in report["bank_hits"]:
            out.append(f"| {md_text(h['name'])} | {int(h['line'])} | {md_text(h.get('file') or '')} | `{h['pdq']}` | {int(h['distance'])} |")
    lines = _forensics_lines(report)
    if lines:
        out.append("## Forensic readings")
        out.append("")
        out.extend(f"- **{md_text(label)}**: {md_text(text)}" for label, text in lines)
        out.append("")
    out.append("## Verdict")
    out.append("")
    v = report.get("verdict")
    if v:
        out.append(f"**{md_text(status_label(v['status']))}** by {md_text(v['actor'])} on {md_text(_when(v['at']))}")
        out.append("")
        out.append(_fence(v["rationale"]))
        for link in v.get("evidence_links") or []:
            out.append(f"- Evidence: `{link.replace('`', '')}`")
    else:
        out.append("No verdict recorded yet.")
    out.append("")
    out.append("## History")
    out.append("")
    for ev in report["history"]:
        out.append(f"- {md_text(_when(ev['at']))}: {md_text(ev['actor'])}: {md_text(_describe_event(ev['kind'], ev['payload']))}")
    out.append("")
    out.append("## All tags")
    out.append("")
    out.append(_fence("\n".join(f"{k}: {v}" for k, v in report["tags"].items()) or "(none)"))
    out.append("")
    return "\n".join(out)


def _when(at: str | None) -> str:
    """An event time for people: to the second, in UTC."""
    if not at:
        return ""
    return at[:19].replace("T", " ") + " UTC"


def _coords(lat: float | None, lon: float | None) -> str:
    if lat is None or lon is None:
        return ""
    return f"({lat:.5f}, {lon:.5f})"


CLAIM_LABELS = {
    "source": "source", "source_url": "posted at", "source_contact": "contact", "claimed_place": "claimed place",
    "claimed_lat": "claimed latitude", "claimed_lon": "claimed longitude", "claimed_date": "claimed date", "note": "note",
    "first_seen_at": "first seen",
}


def _shown(value: object) -> str:
    return "(none)" if value is None or value == "" else f"'{value}'"


BASIS_LABELS = {
    "platform": "the platform's upload time",
    "page": "the page's own published time",
    "server": "server-reported (Last-Modified), not the post's date",
}


def basis_label(basis: str | None) -> str:
    """What a published time rests on, in words (links issue: the basis is always shown)."""
    return BASIS_LABELS.get(basis or "", "basis unknown")


def describe_event(kind: str, payload: dict[str, Any]) -> str:
    """One sentence per event, for the history shown to editors and in reports."""
    return _describe_event(kind, payload)


def _describe_event(kind: str, payload: dict[str, Any]) -> str:
    p = payload or {}
    if kind == "ingested":
        return f"received the file ({p.get('origin') or 'submission'})"
    if kind == "warning_added":
        note = f" ({p['note']})" if p.get("note") else ""
        return f"added content warning: {warning_label(str(p.get('category')))}{note}"
    if kind == "warning_removed":
        reason = f" ({p['reason']})" if p.get("reason") else ""
        return f"removed content warning: {warning_label(str(p.get('category')))}{reason}"
    if kind == "verdict_set":
        links = p.get("evidence_links") or []
        extra = f"; evidence: {', '.join(links)}" if links else ""
        return f"set status to {status_label(str(p.get('status')))}: {p.get('rationale', '')}{extra}"
    if kind == "claim_updated":
        changes = p.get("changes") or {}
        previous = p.get("previous") or {}
        parts = [
            f"{CLAIM_LABELS.get(k, k)} {_shown(previous.get(k))} → {_shown(v)}" for k, v in changes.items()
        ]
        return "corrected the claim: " + "; ".join(parts)
    if kind == "exported":
        return f"exported {p.get('what', 'the item')}"
    if kind == "note":
        return f"note: {p.get('text', '')}"
    if kind == "fetched":
        what = "imported a capture of" if p.get("via") == "import" else "fetched"
        when = f"; published {p['published_at']} ({basis_label(p.get('published_at_basis'))})" if p.get("published_at") else ""
        return f"{what} {p.get('url')} (media {p.get('media_url')}){when}"
    if kind == "bank_imported":
        return f"imported {p.get('entries', 0)} PDQ hashes from {p.get('file') or 'a list'} into hash bank {p.get('bank')}"
    return kind


# -- HTML ----------------------------------------------------------------------------------------


def to_html(report: dict[str, Any], preview_jpeg: bytes | None = None) -> str:
    """A self-contained page (no remote resources); every value escaped.

    ``preview_jpeg`` is embedded as a data URI; callers pass a blurred preview for flagged items.
    """
    import base64

    e = html.escape
    item = report["item"]
    rows = []

    def row(label: str, value: object) -> None:
        rows.append(f"<tr><th>{e(label)}</th><td>{e('' if value is None else str(value))}</td></tr>")

    row("File", item.get("filename"))
    row("SHA-256", item["sha256"])
    row("Status", status_label(report["status"]))
    row("Source", item.get("source"))
    row("Claimed place", item.get("claimed_place"))
    row("Claimed date", item.get("claimed_date"))
    facts = report["facts"]
    for label, key in (("Captured at", "captured_at"), ("Camera", "camera"), ("Software", "software")):
        row(label, facts.get(key))
    gps = facts.get("gps")
    row("GPS", _coords(gps["lat"], gps["lon"]) if gps else "none")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>Verification report: item {int(item['id'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}th{text-align:left;padding-right:1em}"
        "pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em}.warn{background:#fde8e8;padding:.5em}</style>",
        "</head><body>",
        f"<h1>Verification report: item {int(item['id'])}</h1>",
    ]
    if preview_jpeg:
        parts.append(f"<img alt='preview' style='max-width:320px' src='data:image/jpeg;base64,{base64.b64encode(preview_jpeg).decode()}'>")
    if report["warnings"]:
        labels = ", ".join(warning_label(w["category"]) for w in report["warnings"])
        parts.append(f"<p class='warn'>Content warning: {e(labels)}</p>")
    first = report.get("earliest_match")
    if first:
        when = (first.get("first_seen_at") or first.get("ingested_at") or "")[:10]
        parts.append(f"<p><strong>This {e(media_word(item['kind']))} was in the archive on {e(when)}</strong> (item {int(first['item_id'])}).</p>")
    parts.append("<table>" + "".join(rows) + "</table>")
    if report.get("links"):
        parts.append("<h2>Where it came from (links)</h2><ul>")
        for link in report["links"]:
            pub = f"{link['published_at']} ({link['basis_label']})" if link.get("published_at") else "not stated"
            cap = f"; capture {link.get('capture_format')} SHA-256 {link['capture_sha256']}" if link.get("capture_sha256") else ""
            parts.append(f"<li>{e(str(link.get('url')))}: media {e(str(link.get('media_url')))}; published {e(pub)}; "
                         f"uploader {e(str(link.get('uploader')))}; by {e(str(link.get('fetched_by')))}{e(cap)}</li>")
        parts.append("</ul>")
    parts.append("<h2>Findings</h2><ul>")
    parts.extend(f"<li>[{e(f['severity'])}] <b>{e(f['title'])}</b>: {e(f['evidence'])}</li>" for f in report["findings"])
    text_lines = (report.get("text") or {}).get("lines") or []
    if text_lines:
        parts.append("</ul><h2>Text in the picture (machine-read)</h2><ul>")
        parts.extend(f"<li dir='auto'>{e(line['text'])} ({float(line['confidence']):.2f}"
                     f"{', watermark' if line.get('kind') == 'watermark' else ''})</li>" for line in text_lines)  # fmt: skip
    parts.append("</ul><h2>Matches</h2><ul>")
    for m in report["matches"] + report["candidates"]:
        parts.append(
            f"<li>item {int(m['item_id'])} {'(confident)' if m['confident'] else '(candidate)'}: score {m['score']:.2f}, "
            f"{e(str(m['method']))}, first seen {e((m.get('first_seen_at') or m.get('ingested_at') or '')[:10])}, "
            f"source {e(str(m.get('source') or ''))}</li>"
        )
    if report.get("bank_hits"):
        parts.append("</ul><h2>Listed in partners' hash banks</h2><ul>")
        for h in report["bank_hits"]:
            parts.append(
                f"<li>bank hit: {e(str(h['name']))}, entry line {int(h['line'])} of {e(str(h.get('file') or 'the imported list'))}, "
                f"PDQ {e(str(h['pdq']))}, distance {int(h['distance'])} (no original in the archive)</li>"
            )
    parts.append("</ul>")
    fx_lines = _forensics_lines(report)
    if fx_lines:
        parts.append("<h2>Forensic readings</h2><ul>")
        parts.extend(f"<li><b>{e(label)}</b>: {e(text)}</li>" for label, text in fx_lines)
        parts.append("</ul>")
    parts.append("<h2>Verdict</h2>")
    v = report.get("verdict")
    if v:
        parts.append(f"<p><b>{e(status_label(v['status']))}</b> by {e(v['actor'])} on {e(v['at'])}</p><pre>{e(v['rationale'])}</pre>")
        parts.append("<ul>" + "".join(f"<li>{e(link)}</li>" for link in v.get("evidence_links") or []) + "</ul>")
    else:
        parts.append("<p>No verdict recorded yet.</p>")
    parts.append("<h2>History</h2><ul>")
    parts.extend(f"<li>{e(ev['at'])}: {e(ev['actor'])}: {e(_describe_event(ev['kind'], ev['payload']))}</li>" for ev in report["history"])
    parts.append("</ul><h2>All tags</h2><pre>")
    parts.append(e("\n".join(f"{k}: {v}" for k, v in report["tags"].items())))
    parts.append("</pre></body></html>")
    return "\n".join(parts)


# -- case list -------------------------------------------------------------------------------------

CASE_COLUMNS = [
    "item_id", "sha256", "filename", "kind", "origin", "status", "warnings", "source", "claimed_place",
    "claimed_date", "first_seen_at", "ingested_at", "ingested_by",
]


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def case_list_csv(rows: Iterable[tuple[MediaItem, str, Sequence[str]]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CASE_COLUMNS)
    for item, status, warnings in rows:
        w.writerow(
            [
                _cell(v)
                for v in (
                    item.id, item.sha256, item.filename, item.kind, item.origin, status, ";".join(warnings), item.source,
                    item.claimed_place, _iso(item.claimed_date), _iso(item.first_seen_at), _iso(item.ingested_at),
                    item.ingested_by,
                )
            ]
        )
    return buf.getvalue()


# -- media without GPS and device data ---------------------------------------------------------------


def stripped_media(path: Path, kind: str, max_image_pixels: int = 150_000_000) -> tuple[bytes, str, str]:
    """The picture or footage without GPS, camera, software or any other embedded metadata.

    Images are re-encoded from their pixels (orientation applied, so they still look right):
    nothing of the original's EXIF, XMP, IPTC or maker notes survives. Videos are remuxed without
    copying container or stream tags (QuickTime location and device tags live there); the
    compressed frames are kept as they are. Returns ``(bytes, extension, mime)``.
    """
    if kind == "image":
        return _strip_image(path, max_image_pixels)
    return _strip_video(path)


def _strip_image(path: Path, max_pixels: int) -> tuple[bytes, str, str]:
    from PIL import Image, ImageOps

    from verify.media import open_image

    im = open_image(path, max_pixels)
    try:
        fmt = im.format
        im.load()
        im = ImageOps.exif_transpose(im) or im
        # A fresh image holds pixels only: no info dict, no EXIF, no ICC, no XMP.
        has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
        clean = Image.new("RGBA" if has_alpha else "RGB", im.size)
        clean.paste(im.convert(clean.mode))
        buf = io.BytesIO()
        if fmt == "PNG" or has_alpha:
            clean.save(buf, "PNG")
            return buf.getvalue(), "png", "image/png"
        clean.save(buf, "JPEG", quality=95, subsampling=0)
        return buf.getvalue(), "jpg", "image/jpeg"
    except VerifyError:
        raise
    except Exception as exc:
        raise UnreadableMedia("The image could not be re-encoded for export.") from exc


def _strip_video(path: Path) -> tuple[bytes, str, str]:
    import tempfile

    import av

    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "export.mp4"
        try:
            with av.open(str(path)) as src, av.open(str(out_path), "w", format="mp4") as dst:
                mapping = {}
                for stream in src.streams:
                    if stream.type in ("video", "audio"):
                        try:
                            mapping[stream.index] = dst.add_stream_from_template(stream)
                        except Exception:  # a codec mp4 cannot hold: leave that stream out
                            continue
                if not any(s.type == "video" for s in mapping.values()):
                    raise UnreadableMedia("The video could not be exported without its metadata.")
                for packet in src.demux(*[s for s in src.streams if s.index in mapping]):
                    if packet.dts is None:
                        continue
                    packet.stream = mapping[packet.stream.index]
                    dst.mux(packet)
        except VerifyError:
            raise
        except Exception as exc:
            raise UnreadableMedia("The video could not be exported without its metadata.") from exc
        return out_path.read_bytes(), "mp4", "video/mp4"


__all__ = [
    "build_report",
    "case_list_csv",
    "claim_of",
    "describe_event",
    "earliest_match",
    "findings_for",
    "md_text",
    "status_label",
    "stripped_media",
    "to_html",
    "to_json",
    "to_markdown",
    "warning_label",
]
