"""One link end to end, short of the store: fetch it, read it, resolve it, download its media.

``collect`` returns the provenance, the media files in a work folder and the page capture; the
services then ingest the files like any upload. Any fetch failure (a 404, a loop, a stall, a file
over the limit) raises ``FetchError`` before anything reaches the store, so a failed link leaves
nothing behind. Files that turn out not to be photos or videos (an HTML page served as
``image/jpeg``, a logo in SVG) are skipped and named in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from verify.errors import VerifyError
from verify.links import page as pagemod
from verify.links import platform as platformmod
from verify.links.capture import FORMAT, CapturedExchange, write_warc
from verify.links.fetch import Fetcher, FetchError, FetchLimits, RequestRecord, Response, fetch_hls, is_playlist, redact_proxy
from verify.links.provenance import FoundMedia, LinkProvenance, dated


@dataclass
class Collected:
    provenance: LinkProvenance
    media: list[FoundMedia] = field(default_factory=list)
    capture: bytes | None = None


def server_time(headers: dict[str, str]) -> str | None:
    raw = headers.get("last-modified")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _is_media(resp: Response) -> str | None:
    """None when the bytes are a photo or video; else why not (said with what the server claimed)."""
    from verify.media import sniff_bytes

    try:
        sniff_bytes(resp.head)
    except VerifyError as exc:
        claimed = resp.headers.get("content-type", "no type")
        return f"{resp.final_url[:160]}: served as {claimed[:60]}, but {str(exc)[0].lower()}{str(exc)[1:]}"
    return None


def collect(url: str, limits: FetchLimits, workdir: Path, *, use_platform: bool = True) -> Collected:
    """Fetch ``url`` and everything it carries into ``workdir``; ``FetchError`` when it cannot be had."""
    fetcher = Fetcher(limits, workdir)
    try:
        return _collect(fetcher, url, limits, use_platform)
    finally:
        fetcher.close()


def _collect(fetcher: Fetcher, url: str, limits: FetchLimits, use_platform: bool) -> Collected:
    resp = fetcher.get(url, what="the link")
    prov = LinkProvenance(url=url.strip(), final_url=resp.final_url, status=resp.status, headers=resp.kept_headers(),
                          proxy=redact_proxy(limits.proxy))  # fmt: skip
    prov.server_modified_at = server_time(resp.headers)
    out = Collected(prov)
    dates: list[tuple[str | None, str | None]] = [(prov.server_modified_at, "server")]
    page_media: list[pagemod.PageMedia] = []
    if resp.body is not None and is_playlist(resp.body):
        hls = fetch_hls(fetcher, resp.final_url, resp.body, what="the stream")
        out.media.append(FoundMedia(resp.final_url, hls.path, "hls"))
        prov.notes.append("HLS stream: the best variant's segments joined into one file")
    elif resp.path is not None:
        problem = _is_media(resp)
        if problem:
            resp.path.unlink(missing_ok=True)
            raise FetchError(f"Not a photo or video: {problem}")
        out.media.append(FoundMedia(resp.final_url, resp.path, "direct"))
    else:
        body = resp.body or b""
        claimed = resp.headers.get("content-type", "")
        if claimed and not claimed.lower().startswith(("text/html", "application/xhtml")):
            prov.notes.append(f"the link served a web page although it was labelled {claimed[:60]}")
        facts = pagemod.extract(pagemod.decode_html(body, claimed), resp.final_url)
        prov.title, prov.uploader, prov.description = facts.title, facts.author, facts.description
        if facts.published_at is not None:
            dates.append((facts.published_at.isoformat(), "page"))
        page_media = facts.media
        out.capture = write_warc([
            CapturedExchange(resp.final_url, resp.status, "OK", resp.headers, body, datetime.now(UTC).isoformat(timespec="seconds"))
        ])  # fmt: skip
        prov.capture_format = FORMAT
    platform_media: list[platformmod.PlatformMedia] = []
    if use_platform:
        left = fetcher.deadline.check("the link")
        rec = RequestRecord(url=resp.final_url, at=datetime.now(UTC).isoformat(timespec="seconds"), proxy=redact_proxy(limits.proxy),
                            via="yt-dlp")  # fmt: skip
        fetcher.log.append(rec)
        import time

        t0 = time.monotonic()
        facts_p = platformmod.resolve(resp.final_url, limits, left)
        rec.elapsed_s = round(time.monotonic() - t0, 3)
        rec.error = facts_p.error
        if facts_p.error is None:
            prov.platform = facts_p.platform
            prov.title = prov.title or facts_p.title
            prov.uploader = facts_p.uploader if facts_p.platform != platformmod.GENERIC and facts_p.uploader else prov.uploader or facts_p.uploader
            prov.channel = facts_p.channel
            prov.description = prov.description or facts_p.description
            dates.append((facts_p.published_at, facts_p.published_at_basis))
            if facts_p.published_at_basis == "server" and prov.server_modified_at is None:
                prov.server_modified_at = facts_p.published_at
            platform_media = facts_p.media
        else:
            prov.notes.append(f"yt-dlp: {facts_p.error}")
    prov.published_at, prov.published_at_basis = dated(dates)
    if not out.media:
        _download_all(fetcher, out, page_media, platform_media, limits)
    prov.request_log = [r.to_json() for r in fetcher.log]
    if not out.media:
        raise FetchError("No photo or video found behind the link" + (f" ({'; '.join(prov.notes)[:300]})" if prov.notes else "") + ".")
    return out


def _download_all(fetcher: Fetcher, out: Collected, page_media: list[pagemod.PageMedia],
                  platform_media: list[platformmod.PlatformMedia], limits: FetchLimits) -> None:  # fmt: skip
    prov = out.provenance
    wanted: list[tuple[str, str, str | None, str | None]] = []  # url, via, published_at, basis
    seen: set[str] = set()
    site = prov.platform and prov.platform != platformmod.GENERIC
    for m in platform_media:
        if m.url not in seen:
            seen.add(m.url)
            wanted.append((m.url, f"yt-dlp {prov.platform}", m.published_at, m.published_at_basis))
    if not site:  # a platform's own page images are thumbnails of what it already gave
        for m in page_media:
            if m.url not in seen:
                seen.add(m.url)
                wanted.append((m.url, m.via, None, None))
    if len(wanted) > limits.max_media:
        prov.notes.append(f"{len(wanted)} media found; the first {limits.max_media} were fetched")
        wanted = wanted[: limits.max_media]
    got: set[str] = set()
    for i, (url, via, when, basis) in enumerate(wanted, 1):
        what = f"media file {i} of {len(wanted)}"
        resp = fetcher.get(url, what=what)
        if resp.body is not None and is_playlist(resp.body):
            resp = fetch_hls(fetcher, resp.final_url, resp.body, what=what)
        elif resp.body is not None:
            prov.notes.append(f"{url[:160]}: served a web page, not a photo or video (labelled {resp.headers.get('content-type', 'no type')[:60]}); skipped")
            continue
        assert resp.path is not None
        problem = _is_media(resp)
        if problem:
            resp.path.unlink(missing_ok=True)
            prov.notes.append(problem + "; skipped")
            continue
        key = resp.final_url
        if key in got:
            resp.path.unlink(missing_ok=True)
            continue
        got.add(key)
        w, b = (when, basis) if basis != "server" else (None, None)
        out.media.append(FoundMedia(url, resp.path, via, None, w, b))
