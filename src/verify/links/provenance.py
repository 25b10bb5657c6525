"""The provenance of a link, kept as evidence with every item its media became.

``published_at_basis`` says who states the published time, because they are not worth the same:

- ``platform``: the platform's own upload time (yt-dlp ``timestamp``/``upload_date`` from a site
  extractor): the strongest "first seen" evidence there usually is;
- ``page``: the page says so (``article:published_time``, JSON-LD ``datePublished``/``uploadDate``):
  the publisher's claim, editable by them;
- ``server``: the web server's ``Last-Modified`` (which yt-dlp's generic extractor reports as an
  upload date): when the file on that server last changed, never the post's date. It is kept and
  shown, but it never becomes the item's first-seen date.

An imported capture's own recording time (``WARC-Date``) is kept as ``captured_at``: the file
existed then, so it may also become the first-seen date, but it is not a published time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The bases trustworthy enough to become an item's first-seen date, best first.
TRUSTED_BASES = ("platform", "page")
BASES = ("platform", "page", "server")


@dataclass
class LinkProvenance:
    """What a link said about itself when it was fetched (or when a capture made elsewhere was)."""

    url: str
    final_url: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    platform: str | None = None
    title: str | None = None
    uploader: str | None = None
    channel: str | None = None
    published_at: str | None = None
    published_at_basis: str | None = None
    server_modified_at: str | None = None
    captured_at: str | None = None
    description: str | None = None
    capture_sha256: str | None = None
    capture_format: str | None = None
    request_log: list[dict[str, Any]] = field(default_factory=list)
    via: str = "fetch"  # "fetch" | "import"
    proxy: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkProvenance:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class FoundMedia:
    """One media file found behind a link, downloaded to the work folder, not yet ingested."""

    media_url: str
    path: Any  # Path
    via: str
    title: str | None = None
    published_at: str | None = None
    published_at_basis: str | None = None


def instant(value: str | None) -> Any:
    """A stored ISO 8601 time (``Z`` or an offset; none means UTC) as an aware datetime, or None."""
    from datetime import UTC, datetime

    if not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def dated(candidates: list[tuple[str | None, str | None]]) -> tuple[str | None, str | None]:
    """The published time to show and its basis: the earliest trustworthy one (platform, page); the server's ``Last-Modified`` only when nothing else states a time."""
    trusted = [(t, b) for t, b in candidates if t and b in TRUSTED_BASES and instant(t) is not None]
    if trusted:
        t, b = min(trusted, key=lambda tb: (instant(tb[0]), TRUSTED_BASES.index(tb[1])))
        return t, b
    server = [t for t, b in candidates if t and b == "server"]
    return (server[0], "server") if server else (None, None)
