"""Platforms and generic pages through yt-dlp, used as a library (``yt_dlp.YoutubeDL``).

yt-dlp only *reads* here (``download=False``): it resolves the post, its uploader, channel and
upload time, and the URL of the media; the bytes are then fetched by ``links.fetch`` under the
desk's limits and request log. It runs in a daemon thread under the link's deadline (a platform
that stalls cannot hold the batch), with the desk's proxy (``proxy=""`` when none, so no proxy
from the environment), no cookie file, no cache and no config files.

Dates: a site extractor's ``timestamp``/``upload_date`` is the platform's own upload time (basis
``platform``). yt-dlp's *generic* extractor fills ``upload_date`` from the server's
``Last-Modified`` header for a direct file: that is labelled ``server`` and never trusted as the
post's date.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from verify.links.fetch import FetchError, FetchLimits
from verify.links.page import clean_text

GENERIC = "Generic"


@dataclass(frozen=True)
class PlatformMedia:
    url: str
    protocol: str
    ext: str | None
    title: str | None
    published_at: str | None
    published_at_basis: str | None


@dataclass
class PlatformFacts:
    platform: str | None = None
    title: str | None = None
    uploader: str | None = None
    channel: str | None = None
    description: str | None = None
    published_at: str | None = None
    published_at_basis: str | None = None
    webpage_url: str | None = None
    media: list[PlatformMedia] = field(default_factory=list)
    error: str | None = None


class _QuietLogger:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        self.errors.append(str(msg))


def published(info: dict[str, Any], extractor: str | None) -> tuple[str | None, str | None]:
    """The upload time yt-dlp reports and its basis (``server`` for the generic extractor)."""
    basis = "server" if (extractor or "").lower() == GENERIC.lower() else "platform"
    ts = info.get("timestamp") or info.get("release_timestamp")
    if isinstance(ts, int | float) and ts > 0:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds"), basis
    day = info.get("upload_date") or info.get("release_date")
    if isinstance(day, str) and len(day) == 8 and day.isdigit():
        return f"{day[:4]}-{day[4:6]}-{day[6:]}", basis
    return None, None


def options(limits: FetchLimits, timeout_s: float) -> dict[str, Any]:
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "skip_download": True,
        "noplaylist": True,
        "playlistend": limits.max_media,
        "socket_timeout": max(1.0, min(timeout_s, 30.0)),
        "proxy": limits.proxy or "",
        "cachedir": False,
        "ignoreconfig": True,
        "cookiefile": None,
        "format": "best[protocol^=http][vcodec!=none]/best[protocol^=m3u8][vcodec!=none]/best",
        "check_formats": False,
        "extractor_retries": 0,
        "retries": 0,
        "max_filesize": limits.max_bytes,
        "logger": _QuietLogger(),
    }


def _facts_from(info: dict[str, Any]) -> PlatformFacts:
    extractor = info.get("extractor_key") or info.get("extractor")
    when, basis = published(info, extractor)
    facts = PlatformFacts(
        platform=clean_text(extractor, 100),
        title=clean_text(info.get("title"), 500),
        uploader=clean_text(info.get("uploader") or info.get("uploader_id"), 300),
        channel=clean_text(info.get("channel") or info.get("channel_id"), 300),
        description=clean_text(info.get("description")),
        published_at=when,
        published_at_basis=basis,
        webpage_url=info.get("webpage_url"),
    )
    entries = info.get("entries")
    for entry in list(entries)[:50] if entries is not None else [info]:
        if not isinstance(entry, dict):
            continue
        e_when, e_basis = published(entry, entry.get("extractor_key") or extractor)
        url = entry.get("url")
        protocol = str(entry.get("protocol") or "")
        if not url and entry.get("requested_formats"):
            fmt = next((f for f in entry["requested_formats"] if f.get("vcodec") not in (None, "none")), None)
            if fmt:
                url, protocol = fmt.get("url"), str(fmt.get("protocol") or "")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            facts.media.append(PlatformMedia(url, protocol or "https", entry.get("ext"), clean_text(entry.get("title"), 500),
                                             e_when or when, e_basis or basis))
        if facts.published_at is None and e_when:
            facts.published_at, facts.published_at_basis = e_when, e_basis
    return facts


def resolve(url: str, limits: FetchLimits, timeout_s: float) -> PlatformFacts:
    """What yt-dlp makes of ``url``; an extractor failure is ``PlatformFacts(error=...)``, not an exception.

    ``FetchError`` only when yt-dlp does not finish within ``timeout_s`` (the thread is abandoned:
    it is a daemon and its sockets time out on their own).
    """
    if limits.offline:
        raise FetchError("Fetching is turned off on this desk (VERIFY_OFFLINE=1); nothing was fetched.")
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            import yt_dlp

            opts = options(limits, timeout_s)
            with yt_dlp.YoutubeDL(opts) as ydl:
                info = ydl.extract_info(url, download=False)
                box["info"] = ydl.sanitize_info(info) if info else None
        except Exception as exc:  # noqa: BLE001 - yt-dlp's many errors all mean "no platform facts"
            box["error"] = clean_text(str(exc).replace("ERROR: ", ""), 300) or type(exc).__name__

    thread = threading.Thread(target=run, name="verify-ytdlp", daemon=True)
    thread.start()
    thread.join(max(0.5, timeout_s))
    if thread.is_alive():
        raise FetchError(f"The platform did not answer within {timeout_s:.0f} s.")
    if box.get("info"):
        return _facts_from(box["info"])
    return PlatformFacts(error=box.get("error") or "yt-dlp found nothing")
