"""The newsroom's nouns as plain dataclasses.

These are the boundary types between the core, the store and the two front ends. They carry data
only; behaviour lives in the modules that own each step of the flow (see docs/design.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

MediaKind = Literal["image", "video"]
Origin = Literal["submission", "archive"]
Severity = Literal["info", "caution", "red_flag"]

VERDICT_STATUSES: tuple[str, ...] = (
    "unverified",
    "in_progress",
    "verified",
    "false",
    "misattributed",
    "inconclusive",
)

WARNING_CATEGORIES: tuple[str, ...] = (
    "graphic_violence",
    "injury_blood",
    "dead_bodies",
    "children",
    "distressing_audio",
    "other",
)

EVENT_KINDS: tuple[str, ...] = (
    "ingested",
    "claim_updated",
    "warning_added",
    "warning_removed",
    "verdict_set",
    "note",
    "exported",
    "bank_imported",
    "fetched",
)


@dataclass(frozen=True)
class Claim:
    """What came with a file: who sent it, what it is said to show, and when it was first seen.

    For archive material ``first_seen_at`` is when the picture is known to have existed (its
    publication date); for submissions it defaults to the upload time.
    """

    source: str | None = None
    source_url: str | None = None
    source_contact: str | None = None
    first_seen_at: datetime | None = None
    claimed_place: str | None = None
    claimed_lat: float | None = None
    claimed_lon: float | None = None
    claimed_date: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class MediaItem:
    """One stored original and the record around it."""

    id: int
    sha256: str
    kind: MediaKind
    mime: str
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    filename: str | None
    origin: Origin
    ingested_at: datetime
    ingested_by: str
    source: str | None = None
    source_url: str | None = None
    source_contact: str | None = None
    first_seen_at: datetime | None = None
    claimed_place: str | None = None
    claimed_lat: float | None = None
    claimed_lon: float | None = None
    claimed_date: date | None = None
    note: str | None = None


@dataclass
class GPS:
    lat: float
    lon: float
    alt: float | None = None


@dataclass
class Metadata:
    """What a file says about itself, normalised, plus everything it said as text (``raw``).

    ``errors`` records readers that failed, so that "no metadata" is never claimed when a reader
    merely broke.
    """

    mime: str | None = None
    kind: MediaKind | None = None
    width: int | None = None
    height: int | None = None
    captured_at: str | None = None
    captured_at_has_offset: bool | None = None
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    serial: str | None = None
    software: str | None = None
    orientation: int | None = None
    gps: GPS | None = None
    gps_time: str | None = None
    gps_direction: float | None = None
    duration_s: float | None = None
    fps: float | None = None
    video_codec: str | None = None
    rotation: int | None = None
    encoder: str | None = None
    container: str | None = None
    xmp: dict[str, Any] = field(default_factory=dict)
    iptc: dict[str, Any] = field(default_factory=dict)
    c2pa: dict[str, Any] | None = None
    has_thumbnail: bool = False
    errors: list[str] = field(default_factory=list)
    # Added for the metadata reader (issue 3); all optional, so stored records stay readable.
    captured_at_source: str | None = None  # which tag captured_at came from
    dates: dict[str, str] = field(default_factory=dict)  # every dated tag, normalised ISO 8601
    gps_source: str | None = None
    sources: list[str] = field(default_factory=list)  # metadata blocks found: EXIF, XMP, IPTC, QuickTime...
    thumbnail_size: list[int] | None = None
    thumbnail_distance: int | None = None  # pHash bits (of 64) between EXIF thumbnail and picture
    thumbnail_mismatch: bool | None = None
    thumbnail_rotated: int | None = None  # degrees the thumbnail must turn to match (rotated after capture)
    exiftool: dict[str, str] = field(default_factory=dict)  # values only ExifTool (>= 13) added
    # Text read in the pixels (issue 18): verify.text.TextReading.to_dict(), None when not read.
    text: dict[str, Any] | None = None
    raw: dict[str, str] = field(default_factory=dict)
    # Issue 11: why the picture itself could not be decoded, when only the container was read.
    decode_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metadata:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        gps = known.get("gps")
        if isinstance(gps, dict):
            known["gps"] = GPS(**gps)
        return cls(**known)


@dataclass(frozen=True)
class Fingerprint:
    """One perceptual hash of an image or of one video frame.

    ``value`` is the packed hash bits (big-endian bytes), so algorithms of any width fit the same
    column; ``variant`` names the view that was hashed (``full``, ``mirror``, ``crop-center-60``...).
    """

    algorithm: str
    variant: str
    value: bytes
    frame_time_s: float | None = None

    @property
    def hex(self) -> str:
        return self.value.hex()


@dataclass(frozen=True)
class Match:
    """An archive item that looks like the query, with how sure we are and why."""

    item: MediaItem
    score: float
    distance: int
    method: str
    query_time_s: float | None = None
    match_time_s: float | None = None
    confident: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A plain-language flag with the evidence behind it."""

    code: str
    severity: Severity
    title: str
    evidence: str


@dataclass(frozen=True)
class ContentWarning:
    category: str
    note: str | None
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class Verdict:
    status: str
    rationale: str
    evidence_links: tuple[str, ...]
    actor: str
    at: datetime


@dataclass(frozen=True)
class Event:
    """One entry of the append-only, hash-chained log."""

    id: int
    item_id: int | None
    actor: str
    at: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ItemState:
    """The current warnings and verdict of an item, derived from its events.

    ``version`` counts the item's editorial events; a change made against an older version is a
    conflict ("changed by X meanwhile"), never a silent overwrite.
    """

    item_id: int
    status: str
    verdict: Verdict | None
    warnings: tuple[ContentWarning, ...]
    version: int
    last_actor: str | None
