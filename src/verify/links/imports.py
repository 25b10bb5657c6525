"""Captures made elsewhere: a folder of yt-dlp downloads, WACZ and WARC files.

For field teams without a connection: someone ran yt-dlp or a web archiver (Browsertrix,
ArchiveWeb.page, auto-archiver) where the internet was, and brings the files. Each becomes one
``ImportUnit``: the media files, the URL, the dates the capture states, and its own hashes checked
(every resource listed in a WACZ ``datapackage.json`` against its ``sha256:``, every WARC record
against its ``WARC-Block-Digest``/``WARC-Payload-Digest``). A capture whose hashes do not match is
refused whole: nothing from it is stored, and the message names what changed. The capture file
itself (the WACZ, the WARC, the ``.info.json``) is kept content-addressed as the item's capture.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from verify.errors import VerifyError
from verify.links import page as pagemod
from verify.links.capture import WarcResponse, read_warc
from verify.links.page import clean_text
from verify.links.platform import published
from verify.links.provenance import FoundMedia, LinkProvenance

MEDIA_SUFFIXES = {
    ".mp4", ".webm", ".mkv", ".mov", ".m4v", ".ts", ".avi", ".3gp", ".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic",
}  # fmt: skip
SKIP_SUFFIXES = {".json", ".part", ".ytdl", ".vtt", ".srt", ".ass", ".description", ".txt", ".m4a", ".mp3", ".opus", ".ogg"}


class CaptureError(VerifyError):
    """A capture that cannot be imported (broken, tampered, or without media)."""


@dataclass
class ImportUnit:
    """One link's worth of imported material."""

    path: Path
    provenance: LinkProvenance
    media: list[FoundMedia] = field(default_factory=list)
    capture_bytes: bytes | None = None
    capture_path: Path | None = None
    error: str | None = None


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def iter_inputs(paths: list[Path]) -> Iterator[Path]:
    """The importable files under the paths: ``*.info.json``, ``*.wacz``, ``*.warc``, ``*.warc.gz``."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and _kind(child):
                    yield child
        else:
            yield p


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".info.json"):
        return "info"
    if name.endswith(".wacz"):
        return "wacz"
    if name.endswith((".warc", ".warc.gz")):
        return "warc"
    return None


def load(path: Path, workdir: Path, *, max_bytes: int, page_max_bytes: int) -> ImportUnit:
    """One capture file read into an ``ImportUnit`` (``CaptureError`` when it cannot be)."""
    kind = _kind(path)
    if not path.is_file():
        raise CaptureError(f"{path.name}: not a file.")
    if kind == "info":
        return _load_info(path)
    if kind == "wacz":
        return _load_wacz(path, workdir, max_bytes=max_bytes, page_max_bytes=page_max_bytes)
    if kind == "warc":
        with open(path, "rb") as fh:
            unit = _from_warc(path, fh, workdir, max_bytes=max_bytes, page_max_bytes=page_max_bytes, fmt="warc")
        unit.capture_path = path
        return unit
    raise CaptureError(f"{path.name}: not a capture this desk reads (a yt-dlp .info.json, a .wacz, a .warc or .warc.gz).")


def _load_info(path: Path) -> ImportUnit:
    try:
        if path.stat().st_size > 50 * 1024**2:
            raise CaptureError(f"{path.name}: the .info.json is implausibly large.")
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaptureError(f"{path.name}: not a readable yt-dlp .info.json.") from exc
    if not isinstance(info, dict):
        raise CaptureError(f"{path.name}: not a yt-dlp .info.json (no object).")
    extractor = info.get("extractor_key") or info.get("extractor")
    when, basis = published(info, extractor)
    url = info.get("webpage_url") or info.get("original_url") or info.get("url")
    if not isinstance(url, str):
        raise CaptureError(f"{path.name}: the .info.json names no URL.")
    prov = LinkProvenance(
        url=url, final_url=info.get("webpage_url") if isinstance(info.get("webpage_url"), str) else None,
        platform=clean_text(extractor, 100), title=clean_text(info.get("title"), 500),
        uploader=clean_text(info.get("uploader") or info.get("uploader_id"), 300),
        channel=clean_text(info.get("channel") or info.get("channel_id"), 300), published_at=when, published_at_basis=basis,
        description=clean_text(info.get("description")), capture_format="yt-dlp-info-json", via="import",
    )  # fmt: skip
    stem = path.name[: -len(".info.json")]
    candidates: list[Path] = []
    named = info.get("filename") or info.get("_filename")
    if isinstance(named, str) and (path.parent / Path(named).name).is_file():
        candidates.append(path.parent / Path(named).name)
    for sib in sorted(path.parent.iterdir()):
        if sib.is_file() and sib.name.startswith(stem + ".") and sib != path and sib not in candidates:
            suffix = sib.suffix.lower()
            if suffix in MEDIA_SUFFIXES and suffix not in SKIP_SUFFIXES:
                candidates.append(sib)
    videos = [c for c in candidates if c.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic")]
    chosen = videos or candidates  # the thumbnail only when no video came with the info
    if not chosen:
        raise CaptureError(f"{path.name}: no media file beside it (expected {stem}.mp4 or similar).")
    size = info.get("filesize")
    unit = ImportUnit(path, prov, capture_bytes=path.read_bytes())
    for c in chosen:
        if isinstance(size, int) and c in videos and c.stat().st_size != size and len(videos) == 1:
            prov.notes.append(f"{c.name}: {c.stat().st_size:,} bytes, the .info.json says {size:,} (re-encoded or merged after download)")
        media_url = info.get("url") if isinstance(info.get("url"), str) else url
        unit.media.append(FoundMedia(media_url, c, "yt-dlp download", prov.title, when, basis))
    return unit


def _load_wacz(path: Path, workdir: Path, *, max_bytes: int, page_max_bytes: int) -> ImportUnit:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CaptureError(f"{path.name}: not a readable WACZ (zip) file.") from exc
    with zf:
        names = set(zf.namelist())
        if "datapackage.json" not in names:
            raise CaptureError(f"{path.name}: no datapackage.json; not a WACZ file.")
        try:
            package = json.loads(zf.read("datapackage.json"))
        except ValueError as exc:
            raise CaptureError(f"{path.name}: datapackage.json is not JSON.") from exc
        problems: list[str] = []
        checked = 0
        for res in package.get("resources", []) if isinstance(package, dict) else []:
            rpath, want = res.get("path"), str(res.get("hash") or "")
            if not isinstance(rpath, str) or rpath not in names:
                problems.append(f"{rpath}: listed but missing")
                continue
            h = hashlib.sha256()
            with zf.open(rpath) as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            if want.startswith("sha256:") and h.hexdigest() != want.split(":", 1)[1].lower():
                problems.append(f"{rpath}: its SHA-256 does not match datapackage.json")
            checked += 1
        if "datapackage-digest.json" in names:
            try:
                digest = json.loads(zf.read("datapackage-digest.json"))
                want = str(digest.get("hash") or "")
                if want.startswith("sha256:") and hashlib.sha256(zf.read("datapackage.json")).hexdigest() != want.split(":", 1)[1]:
                    problems.append("datapackage.json: its SHA-256 does not match datapackage-digest.json")
            except ValueError:
                problems.append("datapackage-digest.json is not JSON")
        if problems:
            raise CaptureError(f"{path.name}: the capture's own hashes do not match, nothing imported: " + "; ".join(problems[:5]))
        pages_title: dict[str, str] = {}
        first_page: str | None = None
        for pj in ("pages/pages.jsonl",):
            if pj in names:
                for line in zf.read(pj).decode("utf-8", "replace").splitlines():
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(row, dict) and isinstance(row.get("url"), str):
                        first_page = first_page or row["url"]
                        if isinstance(row.get("title"), str):
                            pages_title[row["url"]] = row["title"]
        warcs = sorted(n for n in names if n.startswith("archive/") and n.endswith((".warc", ".warc.gz")))
        if not warcs:
            raise CaptureError(f"{path.name}: the WACZ holds no archive/*.warc.gz.")
        merged: ImportUnit | None = None
        for name in warcs:
            with zf.open(name) as fh:
                data = io.BytesIO(fh.read())
            unit = _from_warc(path, data, workdir, max_bytes=max_bytes, page_max_bytes=page_max_bytes, fmt="wacz",
                              main_url=first_page)  # fmt: skip
            if merged is None:
                merged = unit
            else:
                merged.media.extend(unit.media)
        assert merged is not None
        if merged.provenance.title is None and first_page in pages_title:
            merged.provenance.title = clean_text(pages_title[first_page], 500)
        merged.provenance.notes.append(f"WACZ: {checked} resources checked against datapackage.json (SHA-256), all match")
        merged.capture_path = path
        return merged


def _from_warc(path: Path, stream, workdir: Path, *, max_bytes: int, page_max_bytes: int, fmt: str,  # type: ignore[no-untyped-def]
               main_url: str | None = None) -> ImportUnit:  # fmt: skip
    from verify.media import sniff_bytes

    responses: list[WarcResponse] = []
    try:
        for r in read_warc(stream, workdir, max_bytes=max_bytes, page_max_bytes=page_max_bytes):
            responses.append(r)
    except VerifyError:
        raise
    except Exception as exc:  # warcio's parse errors
        raise CaptureError(f"{path.name}: not a readable WARC ({type(exc).__name__}).") from exc
    bad = [f"{r.url[:100]}: {'; '.join(r.digest_problems)[:200]}" for r in responses if r.digest_ok is False]
    if bad:
        raise CaptureError(f"{path.name}: the capture's own digests do not match, nothing imported: " + "; ".join(bad[:5]))
    pages = [r for r in responses if r.body is not None]
    main = next((r for r in pages if main_url and r.url == main_url), pages[0] if pages else None)
    prov = LinkProvenance(url=main_url or (main.url if main else (responses[0].url if responses else str(path))),
                          capture_format=fmt, via="import")  # fmt: skip
    if main is not None:
        prov.final_url, prov.status = main.url, main.status
        prov.headers = {k: v for k, v in main.headers.items() if k in ("content-type", "last-modified", "date", "server")}
        prov.captured_at = main.date
        facts = pagemod.extract(pagemod.decode_html(main.body or b"", main.headers.get("content-type")), main.url)
        prov.title, prov.uploader, prov.description = facts.title, facts.author, facts.description
        if facts.published_at is not None:
            prov.published_at, prov.published_at_basis = facts.published_at.isoformat(), "page"
    checked = sum(1 for r in responses if r.digest_ok)
    prov.notes.append(f"WARC: {checked} of {len(responses)} records carried digests, all that did match")
    unit = ImportUnit(path, prov)
    for r in responses:
        if r.path is None:
            continue
        try:
            sniff_bytes(r.head)
        except VerifyError:
            r.path.unlink(missing_ok=True)
            continue
        prov.captured_at = prov.captured_at or r.date
        unit.media.append(FoundMedia(r.url, r.path, f"{fmt} record", prov.title, prov.published_at, prov.published_at_basis))
    if not unit.media:
        raise CaptureError(f"{path.name}: the capture holds no photo or video.")
    return unit
