"""Links at the desk: fetched or imported media go through the normal ingest, with provenance.

The use cases behind ``Services.fetch_link`` and ``Services.import_capture``. Every media file
found behind a link is ingested by ``Services`` exactly like an upload (same sniffing, limits,
sandbox, fingerprints, matching); the link's provenance is written to ``item_link`` together with
an attributed ``fetched`` event, in one transaction per item. Order, so that a failed link leaves
nothing behind: everything is fetched first (``links.collect``: any failure raises before the
store is touched), then every file is analysed (a file that is not a photo or video is skipped
and named), and only then are the capture and the items stored.

First seen: the earliest *trustworthy* published time (the platform's upload time, or the page's
own published time; for an imported capture also the time it was recorded) becomes the item's
``first_seen_at`` when the item is new, or when it is earlier than what the item already says.
A server's ``Last-Modified`` is shown, labelled, and never used for it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from verify.errors import VerifyError
from verify.links.capture import CaptureStore
from verify.links.fetch import FetchLimits
from verify.links.provenance import TRUSTED_BASES, FoundMedia, LinkProvenance, instant
from verify.models import Claim, MediaItem, Origin

if TYPE_CHECKING:
    from verify.config import Settings
    from verify.matching import MatchOutcome
    from verify.services import Services

log = logging.getLogger(__name__)


@dataclass
class LinkItem:
    item: MediaItem
    created: bool
    media_url: str | None
    outcome: MatchOutcome | None = None


@dataclass
class LinkResult:
    """What became of one link (or one imported capture)."""

    url: str
    provenance: LinkProvenance | None = None
    items: list[LinkItem] = field(default_factory=list)
    error: str | None = None
    path: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        max_bytes=min(settings.fetch_max_bytes, settings.max_file_bytes),
        page_max_bytes=settings.fetch_page_max_bytes,
        timeout_s=settings.fetch_timeout_s,
        max_redirects=settings.fetch_max_redirects,
        allow_local=settings.fetch_allow_local,
        proxy=settings.fetch_proxy,
        offline=settings.offline,
    )


def captures(svc: Services) -> CaptureStore:
    return CaptureStore(svc.settings.data_dir / "captures")


def first_seen_of(prov: LinkProvenance, media: FoundMedia | None) -> tuple[datetime | None, str | None]:
    """The earliest trustworthy time for one media file, and what says so."""
    options: list[tuple[datetime, str]] = []
    for when, basis in ((prov.published_at, prov.published_at_basis), (media.published_at, media.published_at_basis) if media else (None, None)):
        t = instant(when)
        if t is not None and basis in TRUSTED_BASES:
            options.append((t, basis))
    t = instant(prov.captured_at)
    if t is not None:
        options.append((t, "capture"))
    if not options:
        return None, None
    return min(options, key=lambda o: o[0])


def fetch_link(svc: Services, url: str, *, origin: Origin, source: str | None, actor: str, with_matches: bool = True) -> LinkResult:
    from verify.links.collect import collect

    result = LinkResult(url=url)
    limits = fetch_limits(svc.settings)
    work = Path(tempfile.mkdtemp(prefix="link-", dir=svc.blobs.incoming))
    try:
        collected = collect(url, limits, work)
        result.provenance = collected.provenance
        store_found(svc, result, collected.provenance, collected.media, collected.capture, None,
                    origin=origin, source=source, actor=actor, with_matches=with_matches)  # fmt: skip
    except VerifyError as exc:
        result.error = str(exc)
        result.items = []
    except Exception as exc:  # noqa: BLE001 - one bad link must not stop the batch
        log.exception("fetching %s failed", url)
        result.error = f"This link could not be processed (an unexpected problem: {type(exc).__name__}); nothing was stored."
        result.items = []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def import_capture(svc: Services, path: Path, *, origin: Origin, source: str | None, actor: str,
                   with_matches: bool = True) -> list[LinkResult]:  # fmt: skip
    """Every capture under ``path`` (a file, or a folder of yt-dlp downloads, WACZ and WARC files)."""
    from verify.links import imports

    results: list[LinkResult] = []
    inputs = list(imports.iter_inputs([Path(path)]))
    if not inputs:
        return [LinkResult(url="", path=str(path), error=f"{Path(path).name}: no capture found (a yt-dlp .info.json, a .wacz, a .warc).")]
    limits = fetch_limits(svc.settings)
    for one in inputs:
        result = LinkResult(url="", path=str(one))
        work = Path(tempfile.mkdtemp(prefix="capture-", dir=svc.blobs.incoming))
        try:
            unit = imports.load(one, work, max_bytes=limits.max_bytes, page_max_bytes=limits.page_max_bytes)
            result.url = unit.provenance.url
            result.provenance = unit.provenance
            store_found(svc, result, unit.provenance, unit.media, unit.capture_bytes, unit.capture_path,
                        origin=origin, source=source, actor=actor, with_matches=with_matches)  # fmt: skip
        except VerifyError as exc:
            result.error = str(exc)
            result.items = []
        except Exception as exc:  # noqa: BLE001
            log.exception("importing %s failed", one)
            result.error = f"{one.name}: could not be imported (an unexpected problem: {type(exc).__name__}); nothing was stored."
            result.items = []
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results.append(result)
    return results


def store_found(svc: Services, result: LinkResult, prov: LinkProvenance, media: list[FoundMedia], capture: bytes | None,
                capture_path: Path | None, *, origin: Origin, source: str | None, actor: str, with_matches: bool) -> None:  # fmt: skip
    """Analyse every file, then store the capture, the items, their links and ``fetched`` events."""
    from verify.services import require_actor

    actor = require_actor(actor)
    max_bytes = svc.settings.max_file_bytes
    ready: list[tuple[FoundMedia, Any, Any, MediaItem | None]] = []  # media, staged, analysis, existing
    try:
        for m in media:
            try:
                staged = svc.blobs.stage_file(Path(m.path), max_bytes)
            except VerifyError as exc:
                raise VerifyError(f"{m.media_url[:160]}: {exc}") from exc
            existing = svc.store.item_by_sha(staged.sha256)
            if existing is not None:
                ready.append((m, staged, None, existing))
                continue
            try:
                analysis = svc.analyse(staged.path, sha256=staged.sha256)
                refusal = analysis.decode_refusal()
                if refusal is not None:
                    raise refusal
            except VerifyError as exc:
                svc.blobs.discard(staged)
                prov.notes.append(f"{m.media_url[:160]}: {exc}; skipped")
                continue
            ready.append((m, staged, analysis, None))
        if not ready:
            raise VerifyError("No photo or video behind the link could be read" + (f" ({'; '.join(prov.notes)[:400]})" if prov.notes else "") + "; nothing was stored.")
        if capture is not None or capture_path is not None:
            store = captures(svc)
            if capture is None and capture_path is not None:
                staged_cap = store.blobs.stage_file(capture_path, max(capture_path.stat().st_size, 1))
                store.blobs.commit(staged_cap)
                prov.capture_sha256 = staged_cap.sha256
            else:
                prov.capture_sha256 = store.put(capture or b"")
            prov.capture_format = prov.capture_format or "warc.gz"
        for m, staged, analysis, existing in ready:
            when, basis = first_seen_of(prov, m)
            if existing is None:
                claim = Claim(source=source or prov.uploader, source_url=prov.url, first_seen_at=when)
                res = svc.store_analysis(analysis, staged, claim=claim, origin=origin, actor=actor, filename=_filename(m))
                item, created = res.item, res.created
            else:
                item, created = existing, False
            item = _record_link(svc, item, prov, m, when, basis, actor, created)
            result.items.append(LinkItem(item, created, m.media_url))
    finally:
        for _m, staged, _a, _e in ready:
            svc.blobs.discard(staged)
    if with_matches:
        for li in result.items:
            try:
                li.outcome = svc.match_item(li.item.id)
            except VerifyError:
                li.outcome = None


def _filename(m: FoundMedia) -> str | None:
    from urllib.parse import unquote, urlsplit

    name = unquote(urlsplit(m.media_url).path.rsplit("/", 1)[-1]) if m.media_url else ""
    return name or None


def _record_link(svc: Services, item: MediaItem, prov: LinkProvenance, m: FoundMedia, when: datetime | None,
                 basis: str | None, actor: str, created: bool) -> MediaItem:  # fmt: skip
    from verify.store import schema
    from verify.store.links import add_link

    payload: dict[str, Any] = {
        "url": prov.url, "final_url": prov.final_url, "media_url": m.media_url, "via": prov.via, "status": prov.status,
        "headers": prov.headers, "platform": prov.platform, "title": prov.title, "uploader": prov.uploader,
        "channel": prov.channel, "description": prov.description, "published_at": m.published_at or prov.published_at,
        "published_at_basis": m.published_at_basis or prov.published_at_basis, "server_modified_at": prov.server_modified_at,
        "captured_at": prov.captured_at, "capture_sha256": prov.capture_sha256, "capture_format": prov.capture_format,
        "sha256": item.sha256, "proxy": prov.proxy, "request_log": prov.request_log, "notes": prov.notes,
        "first_seen_from": None,
    }  # fmt: skip
    current = item.first_seen_at if item.first_seen_at is None or item.first_seen_at.tzinfo else item.first_seen_at.replace(tzinfo=UTC)
    move = when is not None and (created or current is None or when < current)
    if move:
        payload["first_seen_from"] = basis
        if not created and current is not None:
            payload["first_seen_before"] = current.isoformat()
    with svc.store.write() as conn:
        if move and not created:
            conn.execute(update(schema.media_item).where(schema.media_item.c.id == item.id).values(first_seen_at=when))
        ev = svc.store._append_event(conn, item.id, actor, "fetched", payload)
        add_link(conn, item.id, prov, m.media_url, actor, ev.id)
    return svc.store.item(item.id)


def links_of(svc: Services, item_id: int) -> list[Any]:
    from verify.store.links import links_for

    with svc.store.read() as conn:
        return links_for(conn, item_id)


