"""Plain-language findings from what a file says about itself and where else it was seen.

``evaluate`` is pure: it reads the metadata (and archive matches, and the claim) and returns
``Finding``s, each with a severity and the evidence behind it, worded for an editor. It never
decides; it points at what deserves a look and says how strong the hint is. See
docs/metadata.md for what each rule means and why its thresholds are where they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from verify.metadata.parsing import haversine_km, iso_to_datetime
from verify.models import Claim, Finding, Match, MediaItem, Metadata

# Distances (km) between the file's GPS and the claimed place.
GPS_CONSISTENT_KM = 25.0
GPS_RED_FLAG_KM = 100.0
# Days between the capture date and the claimed date.
DATE_SLACK_DAYS = 1  # time zones and midnight
LONG_BEFORE_DAYS = 30
# Two clocks in one file that should agree (seconds), and the widest time-zone gap.
DATE_AGREE_S = 10 * 60
TZ_STEP_SLACK_S = 5 * 60  # how far from a whole 15-minute time-zone step still counts as agreement
TZ_SPAN_S = 14 * 3600

EDITORS: tuple[tuple[str, str], ...] = (
    (r"lightroom", "Adobe Lightroom"),  # before Photoshop: "Adobe Photoshop Lightroom" is Lightroom
    (r"photoshop", "Adobe Photoshop"),
    (r"camera raw", "Adobe Camera Raw"),
    (r"\bgimp\b", "GIMP"),
    (r"snapseed", "Snapseed"),
    (r"affinity", "Affinity Photo"),
    (r"pixelmator", "Pixelmator"),
    (r"paint\.net", "Paint.NET"),
    (r"capture one", "Capture One"),
    (r"luminar", "Luminar"),
    (r"facetune", "Facetune"),
    (r"picsart", "PicsArt"),
    (r"\bvsco\b", "VSCO"),
    (r"canva", "Canva"),
    (r"darktable", "darktable"),
    (r"rawtherapee", "RawTherapee"),
    (r"acdsee", "ACDSee"),
    (r"\bdxo\b", "DxO"),
    (r"picasa", "Picasa"),
    (r"photo gallery|windows photo", "Windows Photo Gallery"),
    (r"premiere", "Adobe Premiere"),
    (r"after effects", "Adobe After Effects"),
    (r"final cut", "Final Cut Pro"),
    (r"imovie", "iMovie"),
    (r"davinci|resolve", "DaVinci Resolve"),
    (r"capcut", "CapCut"),
    (r"inshot", "InShot"),
    (r"handbrake", "HandBrake"),
    (r"\bmeitu\b", "Meitu"),
    (r"\bfotor\b", "Fotor"),
)

_CAPTURE_DATES = (
    "EXIF DateTimeOriginal",
    "EXIF CreateDate",
    "XMP DateTimeOriginal",
    "XMP DateCreated",
    "XMP CreateDate",
    "IPTC DateCreated",
    "GPS time (UTC)",
    "QuickTime CreationDate",
    "QuickTime DateTimeOriginal",
    "QuickTime ContentCreateDate",
    "QuickTime CreateDate (UTC)",
    "AVCHD DateTimeOriginal",
    "ASF CreationDate (UTC)",
)
_AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")


def camera_line(make: str | None, model: str | None) -> str | None:
    """The camera as one name: "Canon EOS 7D", not "Canon Canon EOS 7D".

    Many makers repeat their name in Model ("Canon" + "Canon EOS 7D", "NIKON CORPORATION" +
    "NIKON D750"); then the model alone is the name. Compared on the make's first word, without
    case, so "NIKON CORPORATION" / "NIKON D750" and "samsung" / "SM-G991B" both come out right.
    The item page, the report and ``verify meta`` all use this, so they say the same thing.
    """
    make = (make or "").strip()
    model = (model or "").strip()
    if not make or not model:
        return make or model or None
    first = make.split()[0].rstrip(",.").casefold()
    lowered = model.casefold()
    if lowered.startswith(make.casefold()) or (first and (lowered == first or lowered.startswith(first + " ") or lowered.startswith(first + "-"))):
        return model
    return f"{make} {model}"


def evaluate(item: MediaItem | None, metadata: Metadata, matches: list[Match] | None = None,
             claim: Claim | None = None) -> list[Finding]:  # fmt: skip
    """All findings for one file, most serious first."""
    claimed_date = (claim.claimed_date if claim and claim.claimed_date else None) or (item.claimed_date if item else None)
    lat = claim.claimed_lat if claim and claim.claimed_lat is not None else (item.claimed_lat if item else None)
    lon = claim.claimed_lon if claim and claim.claimed_lon is not None else (item.claimed_lon if item else None)
    place = (claim.claimed_place if claim and claim.claimed_place else None) or (item.claimed_place if item else None)
    out: list[Finding] = []
    out += _not_decoded(metadata)
    out += _stripped(metadata)
    out += _edited(metadata)
    out += _capture_vs_claim(metadata, claimed_date, item)
    out += _gps_vs_claim(metadata, lat, lon, place)
    out += _thumbnail(metadata)
    out += _dates_disagree(metadata)
    out += _c2pa(metadata)
    out += _text(metadata, claimed_date, place, item)
    if matches:
        out += _archive(item, matches, claimed_date)
    order = {"red_flag": 0, "caution": 1, "info": 2}
    return sorted(out, key=lambda f: order[f.severity])


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f"'{text[:limit]}{'...' if len(text) > limit else ''}'"


def _days(days: int) -> str:
    return f"{days / 365.25:.1f} years" if days > 365 else f"{days} days"


def _text(m: Metadata, claimed: date | None, place: str | None, item: MediaItem | None) -> list[Finding]:
    """What the words in the picture say about who published it first, when and where."""
    from verify.text.facts import facts
    from verify.text.places import arabic_name, places_in

    lines = [str(line.get("text", "")) for line in (m.text or {}).get("lines", [])]
    if not lines:
        return []
    out: list[Finding] = []
    read = facts("\n".join(lines))
    marks = [str(line.get("text", "")) for line in (m.text or {}).get("lines", []) if line.get("kind") == "watermark"]
    marked = facts("\n".join(marks)).handles
    if marked:
        names = ", ".join(f"'{h}'" for h in marked[:5])
        out.append(Finding(
            "text_watermark", "info", f"The picture carries the watermark {names}",
            f"Read in a corner of the picture or tiled across it: {names}. Look for that account's earlier posts: whoever marked the picture may have published it first.",
        ))  # fmt: skip
    elif marks:
        names = ", ".join(_quote(t) for t in marks[:3])
        out.append(Finding("text_watermark", "info", f"The picture carries a watermark reading {names}",
                           f"Read in a corner of the picture or tiled across it: {names}. A channel's or agency's mark names who published it."))  # fmt: skip
    others = [h for h in read.handles if h not in marked]
    if others:
        names = ", ".join(f"'{h}'" for h in others[:5])
        out.append(Finding(
            "text_handle", "info", f"The picture carries the handle {names}",
            f"Read in the picture: {names}. Look for that account's earlier posts: whoever put their name on the picture may have published it first.",
        ))  # fmt: skip
    if read.urls:
        names = ", ".join(f"'{u}'" for u in read.urls[:5])
        out.append(Finding("text_url", "info", f"The picture carries the web address {names}",
                           f"Read in the picture: {names}. The site may hold the original post and its date."))  # fmt: skip
    reference, basis = claimed, "the claim says"
    if reference is None and item is not None and item.origin == "submission" and item.first_seen_at is not None:
        reference, basis = item.first_seen_at.date(), "it was submitted on"
    for mention in read.dates[:5]:
        said = f"The text in the picture says {_quote(mention.text)} ({mention.when.isoformat()}{'' if mention.precision == 'day' else ', month only'})"
        if reference is None:
            out.append(Finding("text_date", "info", f"The text in the picture gives a date: {mention.when.isoformat()}", f"{said}."))
            continue
        gap = (reference - mention.when).days
        if mention.precision == "month" and mention.when.year == reference.year and mention.when.month == reference.month:
            gap = 0
        if gap > LONG_BEFORE_DAYS:
            out.append(Finding("text_date_before", "caution", f"The text in the picture is dated {_days(gap)} before the claim",
                               f"{said}; {basis} {reference.isoformat()}. An old caption or banner on a picture presented as new is a sign of recycling."))  # fmt: skip
        elif gap < -DATE_SLACK_DAYS:
            out.append(Finding("text_date_after", "caution", "The text in the picture is dated after the claim",
                               f"{said}; {basis} {reference.isoformat()}."))  # fmt: skip
        else:
            out.append(Finding("text_date_agrees", "info", "A date in the picture agrees with the claim", f"{said}; {basis} {reference.isoformat()}."))
    if read.times and read.dates:
        said = ", ".join(f"{_quote(t.text)} ({t.value})" for t in read.times[:3])
        out.append(Finding("text_time", "info", f"The text in the picture gives a time: {read.times[0].value}",
                           f"Read in the picture: {said}. With the date above it places the post; the time zone is not known."))  # fmt: skip
    if read.places:
        named = ", ".join(f"{p} ({arabic_name(p)})" if arabic_name(p) else p for p in read.places[:5])
        claimed_places = places_in(place) if place else []
        if claimed_places and not set(claimed_places) & set(read.places):
            out.append(Finding("text_place_differs", "caution", f"The text in the picture names {read.places[0]}, not the claimed place",
                               f"Read in the picture: {named}. The claim says {_quote(place or '')}. A sign or banner from another town deserves a look."))  # fmt: skip
        elif claimed_places:
            out.append(Finding("text_place_agrees", "info", "The text in the picture names the claimed place", f"Read in the picture: {named}."))
        else:
            out.append(Finding("text_place", "info", f"The text in the picture names {read.places[0]}", f"Read in the picture: {named}."))
    return out


def _d(iso: str) -> str:
    return iso.replace("T", " ")


# -- the picture could not be decoded ------------------------------------------------------------


def _not_decoded(m: Metadata) -> list[Finding]:
    """Only the container was read: say so, so nobody takes "no match" for "not in the archive"."""
    if not m.decode_error:
        return []
    return [Finding("picture_not_decoded", "caution", "The picture itself could not be decoded",
                    f"{m.decode_error.rstrip('. ')}. The metadata shown comes from the file's container alone; no "
                    "fingerprint was made, so the file was not compared with the archive and was not stored.")]  # fmt: skip


# -- metadata stripped -------------------------------------------------------------------------


def _stripped(m: Metadata) -> list[Finding]:
    found = [s for s in m.sources if s not in ("container", "C2PA", "ExifTool")]  # ExifTool is a reader, not a block
    says_something = any((m.make, m.model, m.captured_at, m.gps, m.software))
    if m.kind == "video":
        if says_something:
            return []
    elif found and says_something:
        return []
    elif found:
        return [Finding("metadata_sparse", "info", "Little camera metadata",
                        f"The file has {', '.join(found)} blocks but no camera, date or place in them. "
                        "Editing and export tools often leave only this much.")]  # fmt: skip
    if m.errors:
        return [Finding("metadata_unreadable", "caution", "Metadata could not be fully read",
                        "No camera, date or place could be read, but a reader failed, so this is not proof the file has "
                        "none: " + "; ".join(m.errors[:3]))]  # fmt: skip
    what = "recording date, device or location" if m.kind == "video" else "camera, date or location (no EXIF, XMP or IPTC)"
    return [Finding("metadata_stripped", "info", "Metadata stripped",
                    f"The file carries no {what}. Social platforms and messaging apps remove it on upload, so this is "
                    "typical of shared copies and weak evidence either way.")]  # fmt: skip


# -- edited with named software ----------------------------------------------------------------


def editing_tools(m: Metadata) -> list[tuple[str, str]]:
    """(editor name, where it was named) for every known editor the file mentions."""
    places: list[tuple[str, str]] = []
    if m.software:
        places.append(("Software tag", m.software))
    tool = m.xmp.get("xmp:CreatorTool") if m.xmp else None
    if isinstance(tool, str):
        places.append(("XMP CreatorTool", tool))
    history = m.xmp.get("xmpMM:History") if m.xmp else None
    if isinstance(history, list):
        for event in history[:100]:
            if isinstance(event, dict):
                agent = event.get("stEvt:softwareAgent")
                if isinstance(agent, str):
                    places.append((f"XMP edit history ({event.get('stEvt:action') or 'event'})", agent))
    if m.encoder:
        places.append(("video encoder tag", m.encoder))
    found: dict[str, str] = {}
    seen: set[str] = set()
    for where, text in places:
        if text in seen:
            continue
        seen.add(text)
        for pattern, name in EDITORS:
            if re.search(pattern, text, re.I):
                found.setdefault(name, f"{where}: {text[:120]!r}")
                break  # one editor per mention
    if m.xmp and any(k.startswith("crs:") for k in m.xmp) and "Adobe Lightroom" not in found and "Adobe Camera Raw" not in found:
        found["Adobe Camera Raw or Lightroom"] = "XMP holds Camera Raw development settings (crs:)"
    return list(found.items())


def _edited(m: Metadata) -> list[Finding]:
    tools = editing_tools(m)
    if not tools:
        encoder = m.encoder or ""
        if re.match(r"(lavf|ffmpeg|libav)", encoder, re.I):
            return [Finding("reencoded", "info", "Re-encoded with FFmpeg",
                            f"Encoder tag {encoder[:80]!r}: the file passed through FFmpeg (a converter, downloader or "
                            "editing tool), so it is not the camera's original file. Common and harmless in itself.")]  # fmt: skip
        return []
    names = ", ".join(name for name, _ in tools)
    evidence = "; ".join(where for _, where in tools)
    return [Finding("edited_with_software", "caution", f"Edited with {names}",
                    f"{evidence}. The file is not straight from the camera. Edits are often innocent (crop, exposure), "
                    "so compare with the original if the sender has it.")]  # fmt: skip


# -- capture date vs claimed date --------------------------------------------------------------


def _capture_vs_claim(m: Metadata, claimed: date | None, item: MediaItem | None) -> list[Finding]:
    if not m.captured_at:
        return []
    captured = iso_to_datetime(m.captured_at)
    if captured is None:
        return []
    source = m.captured_at_source or "capture time"
    out: list[Finding] = []
    if captured.year < 1990 or (captured.month, captured.day, captured.hour) == (1, 1, 0) and captured.minute < 5:
        out.append(Finding("clock_not_set", "caution", "Camera clock probably never set",
                           f"{source} reads {_d(m.captured_at)}, a clock's starting value; the capture date means little."))  # fmt: skip
        return out
    arrived = _aware(item.first_seen_at or item.ingested_at) if item is not None else None
    if arrived is not None:
        when = captured if captured.tzinfo else captured.replace(tzinfo=UTC)
        if when - arrived > timedelta(days=1):
            out.append(Finding("captured_after_arrival", "caution", "Capture date is after the file arrived",
                               f"{source} is {_d(m.captured_at)}, but the file was received {arrived.date().isoformat()}: "
                               "the camera clock was wrong or the date was edited."))  # fmt: skip
    if claimed is None:
        return out
    day = captured.date()
    delta = (day - claimed).days
    offset_note = "" if m.captured_at_has_offset else " (the file records no time zone)"
    if delta > DATE_SLACK_DAYS:
        out.append(Finding("captured_after_claim", "red_flag", f"Captured {delta} days after the claimed date",
                           f"{source} is {_d(m.captured_at)}{offset_note}; claimed date {claimed.isoformat()}. A picture "
                           "cannot show an event before it was taken, unless the camera clock is wrong."))  # fmt: skip
    elif delta < -LONG_BEFORE_DAYS:
        years = -delta / 365.25
        span = f"{years:.1f} years" if years >= 1 else f"{-delta} days"
        out.append(Finding("captured_long_before_claim", "red_flag", f"Captured {span} before the claimed date",
                           f"{source} is {_d(m.captured_at)}{offset_note}; claimed date {claimed.isoformat()}. Typical of "
                           "an old picture recirculated as new, unless the camera clock is wrong."))  # fmt: skip
    elif delta < -DATE_SLACK_DAYS:
        out.append(Finding("captured_before_claim", "caution", f"Captured {-delta} days before the claimed date",
                           f"{source} is {_d(m.captured_at)}{offset_note}; claimed date {claimed.isoformat()}."))  # fmt: skip
    else:
        out.append(Finding("capture_date_consistent", "info", "Capture date matches the claimed date",
                           f"{source} is {_d(m.captured_at)}{offset_note}; claimed date {claimed.isoformat()}. "
                           "Dates in metadata are easy to change, so this supports the claim but does not prove it."))  # fmt: skip
    return out


# -- GPS vs claimed place ----------------------------------------------------------------------


def _gps_vs_claim(m: Metadata, lat: float | None, lon: float | None, place: str | None) -> list[Finding]:
    if m.gps is None:
        return []
    where = f"{m.gps.lat:.5f}, {m.gps.lon:.5f}"
    if abs(m.gps.lat) < 1e-6 and abs(m.gps.lon) < 1e-6:
        return [Finding("gps_placeholder", "caution", "GPS reads 0, 0 (a placeholder)",
                        f"The file's GPS ({m.gps_source or 'metadata'}) is exactly 0, 0 in the Atlantic: the device had no "
                        "fix and wrote zeros. It says nothing about where this was taken.")]  # fmt: skip
    if lat is None or lon is None:
        return []
    km = haversine_km(m.gps.lat, m.gps.lon, lat, lon)
    claimed = f"{place + ' ' if place else ''}({lat:.5f}, {lon:.5f})"
    evidence = f"File GPS {where} ({m.gps_source or 'metadata'}); claimed place {claimed}; distance {km:,.1f} km."
    if km <= GPS_CONSISTENT_KM:
        return [Finding("gps_consistent", "info", f"GPS {km:,.0f} km from the claimed place", evidence +
                        " GPS can be edited, so this supports the claim but does not prove it.")]  # fmt: skip
    severity = "red_flag" if km > GPS_RED_FLAG_KM else "caution"
    return [Finding("gps_far_from_claim", severity, f"GPS {km:,.0f} km from the claimed place", evidence)]  # type: ignore[arg-type]


# -- EXIF thumbnail ----------------------------------------------------------------------------


def _thumbnail(m: Metadata) -> list[Finding]:
    if m.thumbnail_mismatch:
        return [Finding("thumbnail_differs", "caution", "EXIF thumbnail shows a different picture",
                        f"The small preview the camera stored differs from the picture itself (perceptual distance "
                        f"{m.thumbnail_distance} of 64 bits, also when turned). The picture was cropped, retouched or "
                        "replaced after the thumbnail was made, by software that did not update it. Compare the two.")]  # fmt: skip
    if m.thumbnail_rotated:
        return [Finding("thumbnail_rotated", "info", "Rotated after capture",
                        f"The EXIF thumbnail matches the picture only when turned {m.thumbnail_rotated} degrees: the "
                        "picture was rotated later by software that did not update the thumbnail. A harmless edit.")]  # fmt: skip
    return []


# -- dates that disagree -----------------------------------------------------------------------


def _dates_disagree(m: Metadata) -> list[Finding]:
    dated = [(label, m.dates[label]) for label in _CAPTURE_DATES if label in m.dates]
    if len(dated) < 2:
        return _modify_before_capture(m)
    base_label, base_text = dated[0]
    base = iso_to_datetime(base_text)
    problems: list[str] = []
    for label, text in dated[1:]:
        other = iso_to_datetime(text)
        if base is None or other is None:
            continue
        gap = _gap_seconds(base, other, len(base_text) <= 10 or len(text) <= 10)
        if gap is not None:
            problems.append(f"{base_label} {_d(base_text)} vs {label} {_d(text)} ({_span(gap)} apart)")
    out = []
    if problems:
        out.append(Finding("dates_disagree", "caution", "Dates in the file disagree",
                           "; ".join(problems[:4]) + ". Clocks that should agree do not: the file may have been "
                           "re-saved, re-dated or assembled from different sources."))  # fmt: skip
    return out + _modify_before_capture(m)


def _gap_seconds(a: datetime, b: datetime, date_only: bool) -> float | None:
    """The disagreement between two clocks in seconds, or ``None`` when they agree."""
    if date_only:
        gap = abs((a.date() - b.date()).days) * 86400
        return gap if gap > 86400 else None
    if a.tzinfo and b.tzinfo:
        gap = abs((a - b).total_seconds())
        return gap if gap > DATE_AGREE_S else None
    gap = abs((a.replace(tzinfo=None) - b.replace(tzinfo=None)).total_seconds())
    if gap <= DATE_AGREE_S:
        return None
    # One clock is local without an offset: a whole time-zone step explains the difference.
    if gap <= TZ_SPAN_S + DATE_AGREE_S:
        nearest = round(gap / 900) * 900
        if abs(gap - nearest) <= TZ_STEP_SLACK_S:
            return None
    return gap


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def _modify_before_capture(m: Metadata) -> list[Finding]:
    captured = m.dates.get("EXIF DateTimeOriginal")
    modified = m.dates.get("EXIF ModifyDate")
    if not captured or not modified:
        return []
    a, b = iso_to_datetime(captured), iso_to_datetime(modified)
    if a is None or b is None:
        return []
    if (a.replace(tzinfo=None) - b.replace(tzinfo=None)).total_seconds() > max(DATE_AGREE_S, TZ_SPAN_S if not (a.tzinfo and b.tzinfo) else 0):
        return [Finding("modified_before_capture", "caution", "Saved before it was taken",
                        f"EXIF ModifyDate {_d(modified)} is earlier than DateTimeOriginal {_d(captured)}: one of them "
                        "was changed by hand or by faulty software.")]  # fmt: skip
    return []


# -- Content Credentials -----------------------------------------------------------------------


def _c2pa(m: Metadata) -> list[Finding]:
    c = m.c2pa
    if c is None:
        if any("Content Credentials" in e for e in m.errors):
            return [Finding("c2pa_unreadable", "caution", "Content Credentials could not be checked",
                            "; ".join(e for e in m.errors if "Content Credentials" in e)[:400])]  # fmt: skip
        return [Finding("c2pa_absent", "info", "No Content Credentials: provenance unknown",
                        "The file carries no C2PA manifest. Most cameras and apps do not add one yet, so this is "
                        "not a warning sign; it only means there is no signed history to check.")]  # fmt: skip
    if c.get("state") == "Unvalidated":
        return [Finding("c2pa_unvalidated", "caution", "Content Credentials present but not validated",
                        f"{c.get('summary') or 'A C2PA manifest store is present but was not validated.'} Not proof "
                        "either way: the signed history could not be checked here, so neither trust nor distrust it "
                        "until it is checked with another C2PA validator.")]  # fmt: skip
    if c.get("remote_only"):
        return [Finding("c2pa_remote", "info", "Content Credentials stored online (not checked)",
                        str(c.get("summary") or "The manifest is not embedded; it was not fetched."))]  # fmt: skip
    who = ", ".join(filter(None, (
        f"made with {c['claim_generator']}" if c.get("claim_generator") else None,
        f"signed by {c['signer']}" if c.get("signer") else None,
        f"on {c['signed_at']}" if c.get("signed_at") else None,
    )))  # fmt: skip
    actions = ", ".join(a.get("action", "").replace("c2pa.", "") for a in c.get("actions") or [] if a.get("action"))
    evidence = (who or "Manifest present") + (f"; recorded actions: {actions}" if actions else "")
    out: list[Finding] = []
    if c.get("valid"):
        trust = " by a trusted signer" if c.get("trusted") else " (the signer is not on a trust list held here)"
        out.append(Finding("c2pa_valid", "info", "Content Credentials present and valid",
                           f"{evidence}. The signed history matches the file{trust}."))  # fmt: skip
    else:
        codes = ", ".join(f["code"] for f in c.get("failures") or [] if f.get("code")) or str(c.get("state"))
        out.append(Finding("c2pa_invalid", "red_flag", "Content Credentials do not validate",
                           f"{evidence}. Validation failed ({codes}): the file was changed after it was signed, or the "
                           "manifest was forged or damaged."))  # fmt: skip
    ai = [a for a in c.get("actions") or [] if a.get("digital_source_type") in _AI_SOURCE_TYPES]
    if ai:
        out.append(Finding("c2pa_ai_generated", "red_flag", "Content Credentials say AI made or changed this",
                           "Recorded digital source type: " + ", ".join(sorted({a['digital_source_type'] for a in ai})) + "."))  # fmt: skip
    return out


# -- seen in the archive -----------------------------------------------------------------------


def _archive(item: MediaItem | None, matches: Iterable[Match], claimed: date | None) -> list[Finding]:
    confident = [
        m for m in matches
        if m.confident and not (item is not None and (m.item.id == item.id or m.item.sha256 == item.sha256))
    ]  # fmt: skip
    if not confident:
        return []
    dated = [m for m in confident if m.item.first_seen_at is not None]
    if not dated:
        names = ", ".join((m.item.filename or m.item.sha256[:12]) for m in confident[:3])
        return [Finding("seen_in_archive", "caution", "Seen in the archive (date unknown)",
                        f"The same picture is already in the archive ({names}), with no known first-seen date.")]  # fmt: skip
    first = min(dated, key=lambda m: _aware(m.item.first_seen_at))  # type: ignore[arg-type]
    when = _aware(first.item.first_seen_at)  # type: ignore[arg-type]
    own = _aware(item.first_seen_at or item.ingested_at) if item is not None else None
    if own is not None and when >= own - timedelta(days=1):
        # Every copy arrived after this one: this file is the earlier material, not a recycled copy.
        names = ", ".join(repr(m.item.filename or m.item.sha256[:12]) for m in dated[:3])
        return [Finding("reposted_later", "info", f"The same picture came in again later ({len(dated)} cop{'y' if len(dated) == 1 else 'ies'})",
                        f"Later copies: {names}; the first of them arrived {when.date().isoformat()}, after this file "
                        f"(first seen {own.date().isoformat()}).")]  # fmt: skip
    evidence = (f"Archive copy {first.item.filename or first.item.sha256[:12]!r}"
                f"{' from ' + first.item.source if first.item.source else ''}, first seen {when.date().isoformat()}; "
                f"match {first.method}, score {first.score:.2f}.")  # fmt: skip
    reasons = []
    if claimed is not None and when.date() < claimed:
        reasons.append(f"before the claimed date {claimed.isoformat()}")
    upload = _aware(item.first_seen_at or item.ingested_at) if item is not None else None
    if upload is not None and when < upload - timedelta(days=1):
        reasons.append(f"before this file arrived ({upload.date().isoformat()})")
    title = f"Seen in the archive on {when.date().isoformat()}"
    if reasons:
        return [Finding("seen_in_archive_earlier", "red_flag", title,
                        f"{evidence} That is {' and '.join(reasons)}: the picture existed before the event it is said "
                        "to show. The recycled-photo pattern.")]  # fmt: skip
    return [Finding("seen_in_archive", "caution", title, evidence)]


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
