"""Per-file claims from a CSV manifest: where each file came from and what it is said to show.

Both the ``verify index --manifest`` command and the sample seeding read manifests, so the parsing
lives here in the core (no CLI framework involved). Columns, all optional except ``file``:

    file, source, source_url, source_contact, first_seen, claimed_place, lat, lon, claimed_date,
    note, content_warning, warning_note

``file`` is relative to the manifest's folder. ``content_warning`` names a warning category that an
editor already gave the file (the archive keeps its warnings when it moves between systems).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from verify.errors import VerifyError
from verify.models import WARNING_CATEGORIES, Claim


@dataclass(frozen=True)
class ManifestRow:
    """One line of a manifest: the file it describes, its claim and any warning it carries."""

    path: Path
    claim: Claim
    content_warning: str | None = None
    warning_note: str | None = None


def parse_when(value: str | None) -> datetime | None:
    """A date or ISO 8601 time; a bare date or a time without offset is taken as UTC."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise VerifyError(f"{value.strip()!r} is not a date (use YYYY-MM-DD or an ISO 8601 time).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(row: dict[str, str | None], *names: str) -> str | None:
    for name in names:
        value = (row.get(name) or "").strip()
        if value:
            return value
    return None


def read_manifest_rows(path: Path) -> list[ManifestRow]:
    """Every line of a manifest, in file order; raises ``VerifyError`` naming the bad line."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise VerifyError(f"The manifest cannot be read: {exc.strerror}.") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VerifyError(f"The manifest is not a UTF-8 CSV file: {exc}.") from exc
    out: list[ManifestRow] = []
    for n, row in enumerate(rows, start=2):
        name = _text(row, "file", "path")
        if not name:
            raise VerifyError(f"Manifest line {n} has no 'file' column value.")
        try:
            lat, lon = _text(row, "lat"), _text(row, "lon")
            claimed = _text(row, "claimed_date")
            claim = Claim(
                source=_text(row, "source"),
                source_url=_text(row, "source_url"),
                source_contact=_text(row, "source_contact"),
                first_seen_at=parse_when(_text(row, "first_seen", "first_seen_at")),
                claimed_place=_text(row, "claimed_place", "place"),
                claimed_lat=float(lat) if lat else None,
                claimed_lon=float(lon) if lon else None,
                claimed_date=date.fromisoformat(claimed) if claimed else None,
                note=_text(row, "note"),
            )
        except (ValueError, VerifyError) as exc:
            raise VerifyError(f"Manifest line {n}: {exc}") from exc
        warning = _text(row, "content_warning")
        if warning and warning not in WARNING_CATEGORIES:
            raise VerifyError(f"Manifest line {n}: unknown content warning {warning!r}; use one of: {', '.join(WARNING_CATEGORIES)}.")
        out.append(ManifestRow((path.parent / name).resolve(), claim, warning, _text(row, "warning_note")))
    return out


def read_manifest(path: Path) -> dict[str, Claim]:
    """Claims keyed by the resolved path of each file (what ``verify index --manifest`` needs)."""
    return {str(r.path): r.claim for r in read_manifest_rows(path)}


__all__ = ["ManifestRow", "parse_when", "read_manifest", "read_manifest_rows"]
