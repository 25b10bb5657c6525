"""The ``verify`` command: parse, call services, print. No rules live here.

Output contract (scripts rely on it, see docs/cli.md): ``--json`` prints JSON Lines on stdout, one
object per input file; human output goes to stdout, progress and per-file errors to stderr; a
file that cannot be read is one readable line, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from verify.config import Settings, load_settings
from verify.errors import UnsupportedMedia, VerifyError
from verify.findings import camera_line
from verify.fingerprints.keypoints import NAME as KEYPOINT_WORDS
from verify.matching.identical import IDENTICAL_METHOD
from verify.models import Claim, Fingerprint, Match
from verify.manifest import parse_when, read_manifest

if TYPE_CHECKING:  # the store, codecs and matching are imported by the commands that use them (fast start)
    from verify.services import Analysis, Services


def analyse_isolated(path: Path, settings: Settings, **kwargs: Any) -> Any:
    from verify.sandbox import analyse_isolated as run

    return run(path, settings, **kwargs)

MEDIA_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jxl",
    ".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".mts", ".m2ts", ".ts", ".avi", ".mkv", ".webm",
    ".wmv", ".asf",
}  # fmt: skip


def _settings(data_dir: str | None, db: str | None, actor: str | None = None) -> Settings:
    return load_settings(data_dir=data_dir, db_url=db, actor=actor)


def _actor(settings: Settings) -> str:
    if settings.actor:
        return settings.actor
    try:
        return f"{getpass.getuser()} (cli)"
    except Exception:
        return "cli"


def _open_services(settings: Settings, *, isolate: bool = False) -> Services:
    """The store for a command; an unreachable database ends the command with one readable line."""
    from verify.services import Services

    try:
        return Services(settings, isolate=isolate)
    except VerifyError as exc:
        _fail(str(exc), 2)
        raise  # unreachable: _fail exits


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"verify: {message}", err=True)
    sys.exit(code)


def _parse_when(value: str | None) -> datetime | None:
    try:
        return parse_when(value)
    except VerifyError as exc:
        raise click.BadParameter(str(exc)) from None


def _walk(paths: Iterable[str]) -> Iterator[tuple[Path, str | None]]:
    """Files under the paths, recursively. Symlinked folders are not followed (no loops)."""
    for raw in paths:
        p = Path(raw)
        if p.is_symlink() and p.is_dir():
            yield p, "is a symbolic link to a folder; not followed (give the real folder instead)"
        elif p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=False, onerror=None):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    fp = Path(root) / name
                    if fp.is_symlink() and not fp.exists():
                        yield fp, "is a broken symbolic link"
                        continue
                    if not fp.is_file():
                        yield fp, "is not a regular file (a pipe, socket or device); skipped"
                        continue
                    yield fp, None
        elif p.is_file():
            yield p, None
        elif p.exists():
            yield p, "is not a regular file (a pipe, socket or device); skipped"
        else:
            yield p, "does not exist"


def _printable(path: Path | str) -> str:
    """Paths can hold control characters (hostile filenames); never echo them raw."""
    text = str(path)
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _progress(total: int | None, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="file", disable=not sys.stderr.isatty(), file=sys.stderr, leave=False)


# -- parallel analysis with crash isolation -----------------------------------------------------

_worker_settings: Settings | None = None
_worker_services: Services | None = None


def _worker_init(settings: Settings) -> None:
    global _worker_settings
    _worker_settings = settings
    from verify.sandbox import die_with_parent

    die_with_parent()  # a kill -9 of the command must not leave workers behind


def _index_worker(path: str) -> tuple[str, Any]:
    """Runs in a worker process: skip known bytes, else analyse. Returns (status, value)."""
    from verify.store import Store, sha256_file

    global _worker_services
    assert _worker_settings is not None
    try:
        digest = sha256_file(Path(path))
    except OSError as exc:
        return "error", f"cannot be read: {exc.strerror or 'access denied'}"
    store = getattr(_index_worker, "_store", None)
    if store is None:
        store = Store(_worker_settings.database_url)
        _index_worker._store = store  # type: ignore[attr-defined]
    existing = store.item_by_sha(digest)
    if existing is not None:
        return "present", (digest, existing.id)
    try:
        # decoded in a sandboxed child: a hang or a memory bomb costs this file, not the run
        return "ok", analyse_isolated(Path(path), _worker_settings, sha256=digest)
    except UnsupportedMedia as exc:
        return "unsupported", str(exc)
    except VerifyError as exc:
        return "error", str(exc)
    except Exception as exc:  # a bug in a reader must cost one file, not the run
        return "error", f"could not be processed ({type(exc).__name__})"


def run_isolated(
    fn: Callable[[str], Any], items: list[str], workers: int, settings: Settings
) -> Iterator[tuple[str, Any]]:
    """Map ``fn`` over ``items`` in worker processes; a worker that crashes costs one item.

    When the pool breaks (a codec segfault, the OOM killer), the items in flight are retried one
    by one in fresh single-worker pools, so the crashing file is identified and the rest go on.
    """
    pending = list(reversed(items))
    suspects: list[str] = []
    while pending or suspects:
        if suspects:
            item = suspects.pop()
            with ProcessPoolExecutor(1, initializer=_worker_init, initargs=(settings,)) as solo:
                try:
                    yield item, solo.submit(fn, item).result()
                except BrokenProcessPool:
                    yield item, ("error", "crashed the decoder (a damaged or hostile file); skipped")
            continue
        with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(settings,)) as pool:
            running: dict[Future[Any], str] = {}
            try:
                while pending or running:
                    while pending and len(running) < workers * 2:
                        item = pending.pop()
                        running[pool.submit(fn, item)] = item
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        item = running.pop(fut)
                        yield item, fut.result()
            except BrokenProcessPool:
                suspects.extend(running.values())
                for fut in running:
                    fut.cancel()


# -- output shapes ----------------------------------------------------------------------------


def match_json(m: Match) -> dict[str, Any]:
    return {
        "sha256": m.item.sha256,
        "item_id": m.item.id,
        "filename": m.item.filename,
        "score": m.score,
        "distance": m.distance,
        "method": m.method,
        "query_time_s": m.query_time_s,
        "match_time_s": m.match_time_s,
        "first_seen_at": m.item.first_seen_at.isoformat() if m.item.first_seen_at else None,
        "source": m.item.source,
        # The figures behind the decision (added, issue 12): the matched region of the query, and
        # for a clip inside a longer video query_start_s/query_end_s and archive_start_s/archive_end_s.
        "detail": _json_safe(m.detail),
    }


def _json_safe(value: Any) -> Any:
    """``Match.detail`` as plain JSON values (numpy scalars and tuples become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _as_fingerprints(rows: list[dict[str, Any]]) -> list[Fingerprint]:
    return [Fingerprint(r["algorithm"], r["variant"], bytes.fromhex(r["hex"]), r.get("frame_time_s")) for r in rows]


def pdq_fields(fingerprints: list[Fingerprint]) -> dict[str, Any]:
    """``pdq`` and ``pdq_quality`` of a picture; for a video, ``pdq_frames`` (time, hash, quality)."""
    from verify.fingerprints import pdq

    fps = [f for f in fingerprints if f.algorithm == pdq.NAME]
    still = next((f for f in fps if f.frame_time_s is None), None)
    return {
        "pdq": still.hex if still else None,
        "pdq_quality": pdq.quality_of(still) if still else None,
        "pdq_frames": [{"time_s": f.frame_time_s, "pdq": f.hex, "quality": pdq.quality_of(f)} for f in fps if f.frame_time_s is not None],
    }


def meta_json(path: str, analysis: Analysis | None, error: str | None) -> dict[str, Any]:
    keys = [
        "mime", "width", "height", "captured_at", "make", "model", "software", "orientation", "gps",
        "duration_s", "fps", "video_codec", "rotation", "c2pa", "text",
    ]  # fmt: skip
    out: dict[str, Any] = {"path": path, "sha256": None, "kind": None}
    out.update({k: None for k in keys})
    out.update({"error": error, "raw": {}})
    if analysis is not None:
        meta = asdict(analysis.metadata)
        out["sha256"] = analysis.sha256
        out["kind"] = analysis.kind
        for k in keys:
            out[k] = meta.get(k)
        out["mime"] = analysis.mime
        out["raw"] = meta.get("raw", {})
        extra = {k: v for k, v in meta.items() if k not in keys and k not in ("raw", "kind") and v not in (None, [], {}, False)}
        out["extra"] = extra
    return out


def _emit(obj: dict[str, Any]) -> None:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        # A path that is not UTF-8 (bytes carried as lone surrogates): escape it, so every line
        # stays valid UTF-8 JSON instead of raw bytes a JSON reader rejects.
        text = json.dumps(obj, ensure_ascii=True, default=str)
    click.echo(text)


# -- commands -----------------------------------------------------------------------------------

data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data folder (default: VERIFY_DATA_DIR, else a per-user folder).")
db_option = click.option("--db", default=None, help="SQLAlchemy database URL (default: VERIFY_DB, else SQLite in the data folder).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one object per file.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="verify")
def cli() -> None:
    """verify: catch recycled photos and footage, read what files say about themselves."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@data_dir_option
@db_option
@click.option("--workers", type=int, default=None, help="Worker processes (default: all cores).")
@click.option("--source", default=None, help="Where this material was published or who sent it.")
@click.option("--first-seen", default=None, help="When this material is known to have existed (YYYY-MM-DD).")
@click.option("--manifest", type=click.Path(dir_okay=False), default=None, help="CSV with per-file source, first_seen, source_url, claimed_place, lat, lon, note.")
@click.option("--origin", type=click.Choice(["archive", "submission"]), default="archive", show_default=True)
@click.option("--actor", default=None, help="Name recorded on the events (default: VERIFY_ACTOR or your login).")
@json_option
def index(paths: tuple[str, ...], data_dir: str | None, db: str | None, workers: int | None, source: str | None,
          first_seen: str | None, manifest: str | None, origin: str, actor: str | None, as_json: bool) -> None:  # fmt: skip
    """Add every image and video under PATHS to the archive (recursive, parallel, resumable)."""
    settings = _settings(data_dir, db, actor)
    default_seen = _parse_when(first_seen)
    try:
        claims = read_manifest(Path(manifest)) if manifest else {}
    except VerifyError as exc:
        _fail(str(exc), 2)
    services = _open_services(settings)
    who = _actor(settings)
    _require(services, who, "upload")
    from verify.fingerprints.keypoints import NAME as KEYPOINT_WORDS

    lacking = services.store.items_lacking(KEYPOINT_WORDS)
    if lacking:
        # Pictures stored by an earlier version get the keypoint words this one matches with.
        refresh_bar = _progress(len(lacking), "updating stored pictures")
        updated, failed = services.refresh_fingerprints(lambda _i, _e: refresh_bar.update(1), lacking)
        refresh_bar.close()
        click.echo(f"{updated} stored pictures given keypoint words" + (f", {failed} unreadable" if failed else ""), err=True)
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    for path, problem in _walk(paths):
        if problem:
            problems.append((str(path), problem))
        else:
            files.append(str(path))
    added = present = skipped = 0
    for p, why in problems:
        click.echo(f"{_printable(p)}: {why}", err=True)
        if as_json:
            _emit({"path": p, "sha256": None, "status": "error", "error": why, "item_id": None})
    workers = max(1, workers or os.cpu_count() or 1)
    bar = _progress(len(files), "indexing")
    try:
        for path, (status, value) in run_isolated(_index_worker, files, workers, settings):
            bar.update(1)
            record: dict[str, Any] = {"path": path, "sha256": None, "status": status, "error": None, "item_id": None}
            if status == "present":
                present += 1
                record["sha256"], record["item_id"] = value
            elif status == "unsupported":
                if Path(path).suffix.lower() in MEDIA_EXTENSIONS:
                    problems.append((path, value))
                    record.update(status="error", error=value)
                    bar.write(f"{_printable(path)}: {value}", file=sys.stderr)
                else:
                    skipped += 1
                    record["status"] = "skipped"
            elif status == "error":
                problems.append((path, value))
                record["error"] = value
                bar.write(f"{_printable(path)}: {value}", file=sys.stderr)
            else:
                claim = claim_for(Path(path), claims, source, default_seen)
                try:
                    staged = services.blobs.stage_file(Path(path), settings.max_file_bytes)
                    try:
                        result = services.store_analysis(value, staged, claim=claim, origin=origin, actor=who, filename=Path(path).name)  # type: ignore[arg-type]
                    finally:
                        services.blobs.discard(staged)
                except VerifyError as exc:
                    problems.append((path, str(exc)))
                    record.update(status="error", error=str(exc))
                    bar.write(f"{_printable(path)}: {exc}", file=sys.stderr)
                else:
                    record["sha256"], record["item_id"] = result.item.sha256, result.item.id
                    if result.created:
                        added += 1
                        record["status"] = "added"
                    else:
                        present += 1
                        record["status"] = "present"
            if as_json:
                _emit(record)
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"interrupted: {added} added so far; run the same command again to resume.", err=True)
        sys.exit(130)
    bar.close()
    if added:
        _stamp_after_batch(settings, services, who)
    summary = f"{added} added, {present} already in the archive, {len(problems)} unreadable"
    if skipped:
        summary += f", {skipped} skipped (not photos or videos)"
    click.echo(summary, err=as_json)
    if problems and not as_json:
        click.echo("unreadable:", err=False)
        for p, why in problems:
            click.echo(f"  {_printable(p)}: {why}")
    services.close()
    if added + present == 0 and problems:
        sys.exit(1)


def claim_for(path: Path, claims: dict[str, Claim], source: str | None, first_seen: datetime | None) -> Claim:
    base = claims.get(str(path.resolve()))
    if base is None:
        return Claim(source=source, first_seen_at=first_seen)
    from dataclasses import replace

    return replace(base, source=base.source or source, first_seen_at=base.first_seen_at or first_seen)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@data_dir_option
@db_option
@json_option
def match(paths: tuple[str, ...], data_dir: str | None, db: str | None, as_json: bool) -> None:
    """Match files against the archive without adding them."""
    settings = _settings(data_dir, db)
    services = _open_services(settings, isolate=True)
    failures = 0
    total = 0

    def one(item: tuple[Path, str | None]) -> dict[str, Any]:
        path, problem = item
        record: dict[str, Any] = {"path": str(path), "sha256": None, "kind": None, "error": problem, "matches": [], "candidates": []}
        if problem is None:
            try:
                report = services.match_path(path)
            except VerifyError as exc:
                record["error"] = str(exc)
            except Exception as exc:
                record["error"] = f"could not be processed ({type(exc).__name__})"
            else:
                record.update(
                    sha256=report.sha256,
                    kind=report.kind,
                    # Archive items first; then partners' bank entries (no item behind them: item_id null).
                    matches=[match_json(m) for m in report.outcome.matches] + [h.to_json() for h in report.outcome.bank_hits],
                    candidates=[match_json(m) for m in report.outcome.candidates],
                )
        return record

    from verify.batch import ordered_map, widen_sandbox

    workers = widen_sandbox(services)  # decoding in sandboxed workers, one per core; matching shares one index
    for record in ordered_map(one, _walk(paths), workers):
        total += 1
        if record["error"]:
            failures += 1
        if as_json:
            _emit(record)
        else:
            _print_match(record)
    services.close()
    if total and failures == total:
        sys.exit(1)


def _print_match(record: dict[str, Any]) -> None:
    name = _printable(record["path"])
    if record["error"]:
        click.echo(f"{name}: {record['error']}", err=True)
        return
    if not record["matches"] and not record["candidates"]:
        click.echo(f"{name}: no match in the archive")
        return
    for label, rows in (("MATCH", record["matches"]), ("candidate", record["candidates"])):
        for m in rows:
            if m.get("bank"):
                at = f" at {m['query_time_s']:.1f}s" if m["query_time_s"] is not None else ""
                click.echo(f"{name}: BANK HIT{at} in {_printable(m['method'])}: listed by a partner, no original in the archive")
                continue
            when = (m["first_seen_at"] or "")[:10] or "unknown date"
            at = f" at {m['match_time_s']:.1f}s" if m["match_time_s"] is not None else ""
            identical = str(m["method"]).startswith(IDENTICAL_METHOD)
            click.echo(
                f"{name}: {label}{' (identical file)' if identical else ''} {_printable(m['filename'] or m['sha256'][:12])}{at} "
                + (f"(item {m['item_id']}, " if identical else "(")
                + f"score {m['score']:.2f}, {m['method']}), first seen {when}, source {_printable(m['source'] or 'unknown')}"
            )


def _analyse_each(
    paths: tuple[str, ...], settings: Settings, *, keep_undecodable: bool = False
) -> Iterator[tuple[str, Analysis | None, str | None]]:
    """Analyse each file; with ``keep_undecodable`` a picture that fails to decode still yields
    its metadata, with the decode failure as the error."""
    from verify.services import analyse_for_metadata, not_decoded_message

    for path, problem in _walk(paths):
        if problem:
            yield str(path), None, problem
            continue
        try:
            if keep_undecodable:
                found = analyse_for_metadata(path, settings)
                yield str(path), found, not_decoded_message(found.decode_error) if found.decode_error else None
                continue
            yield str(path), analyse_isolated(path, settings, for_archive=False), None
        except VerifyError as exc:
            yield str(path), None, str(exc)
        except Exception as exc:
            yield str(path), None, f"could not be processed ({type(exc).__name__})"


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@json_option
def meta(paths: tuple[str, ...], as_json: bool) -> None:
    """Print what files say about themselves (EXIF, GPS, capture time, container data)."""
    settings = load_settings()
    failures = total = 0
    for path, analysis, error in _analyse_each(paths, settings, keep_undecodable=True):
        total += 1
        failures += analysis is None  # a picture that failed to decode still gave its metadata
        record = meta_json(path, analysis, error)
        if as_json:
            _emit(record)
            continue
        if error:
            click.echo(f"{_printable(path)}: {error}", err=True)
            if analysis is None:
                continue
        click.echo(_printable(path))
        record["camera"] = camera_line(record.get("make"), record.get("model"))  # one name, as the report says it
        for key in ("sha256", "kind", "mime", "width", "height", "captured_at", "camera", "software", "orientation", "gps", "duration_s", "fps", "video_codec", "rotation"):
            if record.get(key) is not None:
                click.echo(f"  {key:<12} {_printable(str(record[key]))}")
        for line in ((record.get("text") or {}).get("lines") or [])[:40]:
            when = f" at {line['time_s']:.1f}s" if line.get("time_s") is not None else ""
            click.echo(f"  text         {_printable(line['text'])}  ({line['confidence']:.2f}{when})")
        if analysis and analysis.metadata.errors:
            for e in analysis.metadata.errors:
                click.echo(f"  warning      {_printable(e)}")
    if total and failures == total:
        sys.exit(1)


@cli.command("hash")
@click.argument("paths", nargs=-1, required=True)
@json_option
def hash_cmd(paths: tuple[str, ...], as_json: bool) -> None:
    """Print perceptual fingerprints; nothing is stored."""
    from verify.batch import hash_many

    settings = load_settings()
    failures = total = 0
    # Every core: files are hashed in sandboxed workers (no metadata readers), printed in input order.
    for path, hashed, error in hash_many(_walk(paths), settings):
        total += 1
        failures += error is not None
        fps = hashed["fingerprints"] if hashed else []
        record = {"path": path, "sha256": hashed["sha256"] if hashed else None, "kind": hashed["kind"] if hashed else None, "error": error, "fingerprints": fps}
        record.update(pdq_fields(_as_fingerprints(fps)))
        if as_json:
            _emit(record)
        elif error:
            click.echo(f"{_printable(path)}: {error}", err=True)
        else:
            for f in fps:
                t = f" t={f['frame_time_s']:.2f}s" if f["frame_time_s"] is not None else ""
                click.echo(f"{_printable(path)}\t{f['algorithm']}:{f['variant']}{t}\t{f['hex']}")
    if total and failures == total:
        sys.exit(1)


# -- evidence integrity (issue 7) -----------------------------------------------------------------


@cli.command()
@data_dir_option
@db_option
@click.option("--no-rehash", is_flag=True, help="Check the event log and records only; do not re-read every original.")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False), default=None, help="Check an evidence bundle (ZIP) instead of the store; needs no store.")
@click.option("--tsa-ca", type=click.Path(dir_okay=False, exists=True), default=None, help="PEM root certificates trusted for timestamps (default: VERIFY_TSA_CA; for a bundle, the one it ships).")
@json_option
def audit(data_dir: str | None, db: str | None, no_rehash: bool, bundle_path: str | None, tsa_ca: str | None, as_json: bool) -> None:
    """Prove nothing was changed: check the event chain and re-hash every stored original.

    Exit code 0 when everything is intact, 1 when anything was modified, deleted or inserted.
    With --bundle, check an evidence bundle on its own: every file, the event links, the timestamps.
    """
    from verify.integrity import audit as run_audit

    if bundle_path:
        _audit_bundle(Path(bundle_path), Path(tsa_ca) if tsa_ca else None, as_json)
        return
    settings = _settings(data_dir, db)
    services = _open_services(settings)
    try:
        from verify.timestamps import load_roots

        roots = load_roots(tsa_ca or settings.tsa_ca)
        report = run_audit(services.store, services.blobs, rehash=not no_rehash, default_status=services.statuses[0], tsa_roots=roots)
    finally:
        services.close()
    if as_json:
        _emit(report.to_dict())
    else:
        for p in report.problems:
            click.echo(f"{p.severity.upper()}: {_printable(p.message)}")
        verdict = "INTACT" if report.ok else "PROBLEMS FOUND"
        if report.timestamps:
            valid = sum(1 for t in report.timestamps if t["ok"])
            click.echo(f"timestamps: {valid} of {len(report.timestamps)} tokens fit their chain head; "
                       f"{report.unstamped_events} newest events not yet stamped")
        elif settings.tsa_url:
            click.echo(f"timestamps: none yet; all {report.unstamped_events} events pending a stamp (run 'verify timestamp')")
        click.echo(
            f"audit: {verdict}: {report.events_checked} events, {report.items_checked} items, "
            f"{report.originals_checked} originals re-hashed; chain head {report.chain_head}"
        )
    sys.exit(0 if report.ok else 1)


@cli.command()
@data_dir_option
@db_option
@click.option("--repair", is_flag=True, help="Delete orphan files and unfinished uploads, re-derive statuses from the log. Never touches a referenced original.")
@click.option("--grace-minutes", type=float, default=15.0, show_default=True, help="Leave debris younger than this alone (an ingest may still be running).")
@json_option
def doctor(data_dir: str | None, db: str | None, repair: bool, grace_minutes: float, as_json: bool) -> None:
    """Find (and with --repair, clean up) what an interrupted ingest leaves behind.

    Exit code 0 when the store is healthy (after repairs), 1 when problems remain, such as a
    record whose original is missing.
    """
    from verify.integrity import doctor as run_doctor

    settings = _settings(data_dir, db)
    services = _open_services(settings)
    _require(services, _actor(settings), "admin")
    try:
        report = run_doctor(services.store, services.blobs, repair=repair, grace_s=grace_minutes * 60, default_status=services.statuses[0])
    finally:
        services.close()
    if as_json:
        _emit(report.to_dict())
    else:
        for p in report.problems:
            click.echo(f"{p.severity.upper()}: {_printable(p.message)}")
        for line in report.repaired:
            click.echo(f"repaired: {_printable(line)}")
        click.echo(
            f"doctor: {'healthy' if report.ok else 'PROBLEMS REMAIN'}: found {len(report.orphan_blobs)} orphan files, "
            f"{len(report.missing_originals)} records without their original, {len(report.incoming_leftovers)} unfinished uploads, "
            f"{len(report.stale_projections)} stale statuses, database {'ok' if report.database_ok else 'DAMAGED'}"
            + ("" if repair else " (run with --repair to clean up)")
        )
    sys.exit(0 if report.ok else 1)


# -- hash exchange (issue 12): PDQ lists in and out ------------------------------------------------


@cli.command("export-hashes")
@data_dir_option
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
              help="text: 'pdq <hex>' per line (ThreatExchange / HMA); csv: item_id, sha256, pdq, first_seen_at, source, pdq_quality.")
@click.option("--min-quality", type=click.IntRange(0, 100), default=0, show_default=True,
              help="Leave out pictures whose PDQ quality is lower (50 is the exchange convention for matching).")
def export_hashes(data_dir: str | None, db: str | None, fmt: str, min_quality: int) -> None:
    """Write the archive's PDQ hashes to stdout, for partners (pictures; one hash each)."""
    from verify.banks import export_csv, export_rows, export_text

    settings = _settings(data_dir, db)
    services = _open_services(settings)
    try:
        updated, failed = services.refresh_exchange_hashes()
        if updated or failed:
            click.echo(f"{updated} pictures stored before PDQ existed were hashed now"
                       + (f"; {failed} could not be read and lack a PDQ hash (not exported)" if failed else ""), err=True)  # fmt: skip
        lines = (export_csv if fmt == "csv" else export_text)(export_rows(services.store, min_quality=min_quality))
        count = -1 if fmt == "csv" else 0
        for line in lines:
            click.echo(line, nl=False)
            count += 1
        services.record_export(None, f"PDQ hashes ({fmt}, {count} pictures)", actor=_actor(settings))
        click.echo(f"{count} PDQ hashes exported", err=True)
    except VerifyError as exc:
        _fail(str(exc))
    finally:
        services.close()


@cli.command("import-hashes")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--bank", required=True, help="The bank's name, shown on every hit (e.g. the partner who sent the list).")
@data_dir_option
@db_option
@click.option("--actor", default=None, help="Name recorded on the event (default: VERIFY_ACTOR or your login).")
def import_hashes(file: str, bank: str, data_dir: str | None, db: str | None, actor: str | None) -> None:
    """Load a partner's PDQ list (pdq <hex> lines, bare hex, or CSV with a pdq column) into a bank."""
    settings = _settings(data_dir, db, actor)
    services = _open_services(settings)
    try:
        result = services.import_hashes(Path(file), bank=bank, actor=_actor(settings))
    except VerifyError as exc:
        _fail(f"{_printable(file)}: {exc}")
    finally:
        services.close()
    dup = f" ({result.duplicates} already in the bank)" if result.duplicates else ""
    click.echo(f"{result.added} PDQ hashes added to bank {_printable(result.bank)}{dup}; event {result.event_id}")


# -- forensic readings (issue 13) -----------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@json_option
def forensics(paths: tuple[str, ...], as_json: bool) -> None:
    """Forensic readings: JPEG save history, double compression, cloned regions, the sun. Lenses, not verdicts."""
    from verify.forensics import examine_isolated, failed

    settings = load_settings()
    failures = total = 0
    for path, problem in _walk(paths):
        total += 1
        if problem:
            result = failed(str(path), problem)
        else:
            try:
                result = examine_isolated(path, settings)
                result.path = str(path)
            except VerifyError as exc:
                result = failed(str(path), str(exc))
            except Exception as exc:  # a bug in a reading must cost one file, not the run
                result = failed(str(path), f"could not be processed ({type(exc).__name__})")
        failures += result.error is not None
        if as_json:
            _emit(result.to_json())
            continue
        if result.error:
            click.echo(f"{_printable(path)}: {result.error}", err=True)
            continue
        click.echo(_printable(path))
        j = result.jpeg
        if j:
            dq = {True: "yes", False: "no", None: "inconclusive"}[j.get("double_compressed")]
            click.echo(f"  jpeg         quality {j.get('quality')} ({'standard IJG' if j.get('standard_tables') else 'custom'} tables), "
                       f"{j.get('subsampling')}, {'progressive' if j.get('progressive') else 'baseline'}; saved twice: {dq}"
                       + (f" (first ~q{j['first_quality']})" if j.get("first_quality") else ""))  # fmt: skip
        if result.clone is not None:
            click.echo(f"  clone        {len(result.clone['pairs'])} region pair(s)" if result.clone["detected"] else "  clone        none found")
        if result.sun and result.sun.get("elevation_deg") is not None:
            click.echo(f"  sun          {result.sun['elevation_deg']:+.1f} deg elevation, azimuth {result.sun['azimuth_deg']:.0f} deg")
        for f in result.findings:
            click.echo(f"  [{f.severity}] {_printable(f.title)}")
        for note in result.notes:
            click.echo(f"  note         {_printable(note)}")
    if total and failures == total:
        sys.exit(1)


# -- evidence that leaves the desk (issue 16) ------------------------------------------------------


def _audit_bundle(path: Path, tsa_ca: Path | None, as_json: bool) -> None:
    from verify.bundle import check_bundle

    if not path.is_file():
        _fail(f"{_printable(path)}: no such bundle file", 2)
    report = check_bundle(path, tsa_roots=tsa_ca or load_settings().tsa_ca)
    if as_json:
        _emit(report.to_dict())
    else:
        for p in report.problems:
            click.echo(f"{p.code.upper()}: {_printable(p.message)}")
        for t in report.timestamps:
            state = "valid" if t["ok"] else "INVALID"
            click.echo(f"timestamp {state}: {_printable(t['tsa'] or 'authority')} at {t['gen_time']} over head {t['covers'][:16]}..."
                       + ("" if t["trusted"] else " (signature not checked: no trusted root)"))
        for note in report.notes:
            click.echo(f"note: {_printable(note)}")
        click.echo(f"bundle: {'INTACT' if report.ok else 'NOT INTACT'}: {report.files_checked} files re-hashed, "
                   f"{report.events_checked} events re-linked over {report.links_checked} chain links; chain head {report.chain_head}")
    sys.exit(0 if report.ok else 1)


@cli.command()
@click.argument("item_ids", nargs=-1, type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="The ZIP file to write.")
@click.option("--status", default=None, help="Also take every item with this verdict status (a case by filter).")
@click.option("--text", "text_filter", default=None, help="Also take every item whose filename, source or place contains this.")
@click.option("--no-matches", is_flag=True, help="Leave out the archive matches (faster on a big archive).")
@data_dir_option
@db_option
@click.option("--actor", default=None, help="Name recorded on the 'exported' event (default: VERIFY_ACTOR or your login).")
@json_option
def bundle(item_ids: tuple[int, ...], out: str, status: str | None, text_filter: str | None, no_matches: bool,
           data_dir: str | None, db: str | None, actor: str | None, as_json: bool) -> None:  # fmt: skip
    """Write a self-verifying evidence bundle (ZIP) of ITEM_IDS: originals, records, events, manifest, report."""
    from verify.bundle import build_bundle
    from verify.store.db import ItemFilter

    settings = _settings(data_dir, db, actor)
    services = _open_services(settings, isolate=True)
    try:
        ids = list(item_ids)
        if status or text_filter:
            ids += [item.id for item, _s, _w in services.list_items(ItemFilter(status=status, text=text_filter, limit=100_000))]
        if not ids:
            _fail("no items: name item ids, or a --status / --text that matches some", 2)
        try:
            result = build_bundle(services, ids, Path(out), actor=_actor(settings), with_matches=not no_matches)
        except VerifyError as exc:
            _fail(str(exc), 1)
    finally:
        services.close()
    if as_json:
        _emit(result.to_dict())
    else:
        click.echo(f"bundle: {_printable(result.path)}: {len(result.items)} items, {result.files} files; chain head {result.chain_head}")
        if result.flagged:
            click.echo(f"content warning: items {', '.join(map(str, result.flagged))} show distressing material (named in the manifest)")
        for url, why in result.stamp_pending:
            click.echo(f"timestamp pending: {_printable(url)}: {_printable(why)}", err=True)


@cli.command()
@data_dir_option
@db_option
@click.option("--actor", default=None, help="Name recorded on the 'timestamped' event.")
@json_option
def timestamp(data_dir: str | None, db: str | None, actor: str | None, as_json: bool) -> None:
    """Have the chain head stamped now by the authorities in VERIFY_TSA_URL (RFC 3161).

    Exit code 0 when at least one authority stamped it, 3 when the stamp is pending (no authority
    answered), 2 when no authority is configured.
    """
    from verify.timestamps import stamp_head, tsa_urls

    settings = _settings(data_dir, db, actor)
    if not tsa_urls(settings):
        _fail("no timestamp authority configured: set VERIFY_TSA_URL (one or several URLs, comma-separated)", 2)
    services = _open_services(settings)
    try:
        result = stamp_head(services.store, settings, actor=_actor(settings))
    finally:
        services.close()
    if as_json:
        _emit(result.to_dict())
    else:
        for t in result.tokens:
            click.echo(f"stamped: chain head {result.covers} by {_printable(t.tsa)} at {t.gen_time}")
        for url, why in result.pending:
            click.echo(f"timestamp pending: {_printable(url)}: {_printable(why)}", err=True)
    sys.exit(0 if result.stamped else 3)


def _stamp_after_batch(settings: Settings, services: Services, who: str) -> None:
    """After a batch of ingests: stamp the head if authorities are configured; never fail the batch."""
    from verify.timestamps import stamp_head, tsa_urls

    if not tsa_urls(settings):
        return
    try:
        result = stamp_head(services.store, settings, actor=who)
    except VerifyError as exc:
        click.echo(f"timestamp pending: {_printable(str(exc))}", err=True)
        return
    for t in result.tokens:
        click.echo(f"chain head {result.covers[:16]}... stamped by {_printable(t.tsa)} at {t.gen_time}", err=True)
    for url, why in result.pending:
        click.echo(f"timestamp pending: {_printable(url)}: {_printable(why)} (run 'verify timestamp' later)", err=True)


@cli.command("backup")
@click.argument("folder", type=click.Path(file_okay=False))
@data_dir_option
@db_option
@json_option
def backup_cmd(folder: str, data_dir: str | None, db: str | None, as_json: bool) -> None:
    """Snapshot the store and its originals into FOLDER (new or empty) while the desk keeps working.

    Prints the chain head the snapshot captured (also written to FOLDER/CHAIN_HEAD): note it.
    """
    from verify.backup import backup

    settings = _settings(data_dir, db)
    services = _open_services(settings)
    try:
        _require(services, _actor(settings), "admin")
    finally:
        services.close()
    try:
        result = backup(settings, Path(folder))
    except VerifyError as exc:
        _fail(str(exc), 1)
    if as_json:
        _emit(result.to_dict())
    else:
        click.echo(f"backup: {result.items} items ({result.originals_linked} originals hard-linked, {result.originals_copied} copied), "
                   f"{result.events} events; chain head {result.chain_head}")


@cli.command("restore")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--data-dir", type=click.Path(file_okay=False), required=True, help="The new, empty data folder to restore into.")
@db_option
@json_option
def restore_cmd(folder: str, data_dir: str, db: str | None, as_json: bool) -> None:
    """Bring a backup back into an empty store; a store that holds anything is refused, untouched."""
    from verify.backup import restore

    settings = _settings(data_dir, db)
    try:
        result = restore(Path(folder), settings)
    except VerifyError as exc:
        _fail(str(exc), 1)
    if as_json:
        _emit(result.to_dict())
    else:
        click.echo(f"restore: {result.items} items, {result.events} events; chain head {result.chain_head} "
                   "(run 'verify audit' on the restored store: it must report the same head)")


# -- links (issue 14) ---------------------------------------------------------------------------


def link_json(result: Any) -> dict[str, Any]:
    """One link's JSON Lines object (DESIGN.md: ``verify fetch``); ``verify import-capture`` adds ``path``."""
    prov = result.provenance
    items = []
    for li in result.items:
        outcome = li.outcome
        matches = [match_json(m) for m in outcome.matches] + [h.to_json() for h in outcome.bank_hits] if outcome else []
        items.append({"sha256": li.item.sha256, "item_id": li.item.id, "kind": li.item.kind, "created": li.created,
                      "media_url": li.media_url, "matches": matches})  # fmt: skip
    ok = result.error is None and prov is not None
    out: dict[str, Any] = {
        "url": result.url,
        "final_url": prov.final_url if prov else None,
        "error": result.error,
        "platform": prov.platform if prov else None,
        "title": prov.title if prov else None,
        "uploader": prov.uploader if prov else None,
        "published_at": prov.published_at if prov else None,
        "published_at_basis": prov.published_at_basis if prov else None,
        "capture": {"sha256": prov.capture_sha256, "format": prov.capture_format} if ok and prov.capture_sha256 else None,
        "items": items,
    }
    if prov is not None:
        out["channel"] = prov.channel
        out["server_modified_at"] = prov.server_modified_at
        out["notes"] = prov.notes
    return out


def _print_link(record: dict[str, Any]) -> None:
    where = _printable(record.get("path") or record["url"])
    if record["error"]:
        click.echo(f"{where}: {record['error']}", err=True)
        return
    when = f", published {record['published_at']} ({record['published_at_basis']})" if record["published_at"] else ""
    click.echo(f"{where}: {len(record['items'])} item(s){when}")
    for it in record["items"]:
        state = "new" if it["created"] else "already stored"
        extra = f", {len(it['matches'])} match(es)" if it["matches"] else ""
        click.echo(f"  item {it['item_id']} {it['kind']} ({state}{extra}) from {_printable(it['media_url'] or '')}")


def _link_command(run: Any, targets: tuple[str, ...], data_dir: str | None, db: str | None, origin: str, source: str | None,
                  actor: str | None, as_json: bool) -> None:  # fmt: skip
    settings = _settings(data_dir, db, actor)
    who = _actor(settings)
    services = _open_services(settings, isolate=True)
    total = failed = 0
    try:
        for target in targets:
            for result in run(services, target, origin, source, who):
                total += 1
                record = link_json(result)
                if result.path is not None:
                    record["path"] = result.path
                if result.error:
                    failed += 1
                if as_json:
                    _emit(record)
                else:
                    _print_link(record)
    finally:
        services.close()
    if total and failed == total:
        sys.exit(1)


@cli.command("fetch")
@click.argument("urls", nargs=-1, required=True)
@data_dir_option
@db_option
@click.option("--origin", type=click.Choice(["submission", "archive"]), default="submission", show_default=True)
@click.option("--source", default=None, help="Who sent the link or where it was found (default: the uploader).")
@click.option("--actor", default=None, help="Name recorded on the events (default: VERIFY_ACTOR or your login).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one object per link.")
def fetch_cmd(urls: tuple[str, ...], data_dir: str | None, db: str | None, origin: str, source: str | None, actor: str | None,
              as_json: bool) -> None:  # fmt: skip
    """Fetch links (posts, pages, direct media) and ingest their photos and videos with provenance."""

    def run(services: Services, url: str, origin: str, source: str | None, who: str) -> list[Any]:
        return [services.fetch_link(url, origin=origin, source=source, actor=who)]  # type: ignore[arg-type]

    _link_command(run, urls, data_dir, db, origin, source, actor, as_json)


@cli.command("import-capture")
@click.argument("paths", nargs=-1, required=True)
@data_dir_option
@db_option
@click.option("--origin", type=click.Choice(["submission", "archive"]), default="archive", show_default=True)
@click.option("--source", default=None, help="Who made the capture or where it was published.")
@click.option("--actor", default=None, help="Name recorded on the events (default: VERIFY_ACTOR or your login).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one object per capture.")
def import_capture_cmd(paths: tuple[str, ...], data_dir: str | None, db: str | None, origin: str, source: str | None,
                       actor: str | None, as_json: bool) -> None:  # fmt: skip
    """Import captures made elsewhere: folders of yt-dlp downloads (.info.json), WACZ and WARC files."""

    def run(services: Services, path: str, origin: str, source: str | None, who: str) -> list[Any]:
        return services.import_capture(Path(path), origin=origin, source=source, actor=who)  # type: ignore[arg-type]

    _link_command(run, paths, data_dir, db, origin, source, actor, as_json)
# -- roles (issue 17): who may do what on this desk ------------------------------------------------


def _require(services: Services, who: str, action: str) -> None:
    """Refuse a command the actor's role does not allow: one line, exit 1, nothing written."""
    from verify.errors import NotAllowed
    from verify.roles import Action

    try:
        services.require(who, Action(action))
    except NotAllowed as exc:
        services.close()
        _fail(str(exc), 1)


@cli.group()
def role() -> None:
    """Roles on this desk: viewer, reporter, verifier, admin (see docs/team.md)."""


@role.command("grant")
@click.argument("name")
@click.argument("role_name", metavar="ROLE", type=click.Choice(["viewer", "reporter", "verifier", "admin"], case_sensitive=False))
@click.option("--reason", default=None, help="Why, for the record (shown in 'verify role list').")
@data_dir_option
@db_option
@click.option("--actor", default=None, help="Who grants (default: VERIFY_ACTOR or your login); must be an admin once roles are in use.")
@json_option
def role_grant(name: str, role_name: str, reason: str | None, data_dir: str | None, db: str | None, actor: str | None, as_json: bool) -> None:
    """Give NAME the role ROLE. The first grant on a desk also makes its operator (--actor) admin."""
    settings = _settings(data_dir, db, actor)
    services = _open_services(settings)
    who = _actor(settings)
    try:
        first = not services.roles_in_use()
        granted = services.grant_role(name, role_name, actor=who, reason=reason)
        current = services.role_of(name)
    except VerifyError as exc:
        _fail(str(exc), 1)
    finally:
        services.close()
    if as_json:
        _emit({"name": name.strip(), "role": granted.value, "granted_by": who, "reason": reason, "first_grant": first})
    else:
        if first and who != name.strip():
            click.echo(f"roles are now in use on this desk; {_printable(who)} is admin (the first grant)")
        click.echo(f"{_printable(name.strip())} is now {current.value}")


@role.command("list")
@data_dir_option
@db_option
@json_option
def role_list(data_dir: str | None, db: str | None, as_json: bool) -> None:
    """Everyone's current role, who gave it and when."""
    settings = _settings(data_dir, db)
    services = _open_services(settings)
    try:
        rows = services.list_roles()
        default = services.default_role.value
    finally:
        services.close()
    if as_json:
        for row in rows:
            _emit(row)
        return
    if not rows:
        click.echo("no roles granted: everyone who uses this desk is admin (the single-user default)")
        return
    for row in rows:
        why = f" ({_printable(str(row['reason']))})" if row["reason"] else ""
        click.echo(f"{_printable(str(row['name']))}\t{row['role']}\tby {_printable(str(row['granted_by']))} at {row['at']}{why}")
    click.echo(f"anyone else: {default}", err=True)


# -- API tokens and the HTTP API (issue 17, parts 3 and 4) -------------------------------------------


@cli.group()
def token() -> None:
    """API tokens for tiplines and the CMS (see docs/team.md)."""


@token.command("create")
@click.argument("name")
@click.option("--role", "role_name", required=True, type=click.Choice(["viewer", "reporter", "verifier", "admin"], case_sensitive=False),
              help="The role NAME gets (granted through the roles, so 'verify role list' shows it).")
@data_dir_option
@db_option
@click.option("--actor", default=None, help="Who creates it (default: VERIFY_ACTOR or your login); must be an admin.")
@json_option
def token_create(name: str, role_name: str, data_dir: str | None, db: str | None, actor: str | None, as_json: bool) -> None:
    """Create an API token for NAME (e.g. a tipline bot) and print it ONCE: it is stored only hashed."""
    from verify import tokens

    settings = _settings(data_dir, db, actor)
    services = _open_services(settings)
    try:
        created = tokens.create(services, name, role_name, actor=_actor(settings))
    except VerifyError as exc:
        _fail(str(exc), 1)
    finally:
        services.close()
    if as_json:
        _emit({**created.record.to_dict(), "token": created.token})
    else:
        click.echo(created.token)
        click.echo(f"token {created.record.id} for {_printable(created.record.name)} ({created.record.role}); "
                   "this is the only time it is shown: store it now", err=True)


@token.command("list")
@data_dir_option
@db_option
@json_option
def token_list(data_dir: str | None, db: str | None, as_json: bool) -> None:
    """Every token: id, name, role at creation, who created it and, if revoked, who and when."""
    from verify import tokens

    settings = _settings(data_dir, db)
    services = _open_services(settings)
    try:
        rows = tokens.list_tokens(services)
    finally:
        services.close()
    for r in rows:
        if as_json:
            _emit(r.to_dict())
        else:
            state = f"revoked {r.revoked_at} by {_printable(r.revoked_by or '')}" if r.revoked_at else "live"
            click.echo(f"{r.id}\t{_printable(r.name)}\t{r.role}\tcreated {r.created_at} by {_printable(r.created_by)}\t{state}")


@token.command("revoke")
@click.argument("name_or_id")
@data_dir_option
@db_option
@click.option("--actor", default=None, help="Who revokes (default: VERIFY_ACTOR or your login); must be an admin.")
def token_revoke(name_or_id: str, data_dir: str | None, db: str | None, actor: str | None) -> None:
    """Revoke a token by its id, or every live token of a name. Takes effect on the next request."""
    from verify import tokens

    settings = _settings(data_dir, db, actor)
    services = _open_services(settings)
    try:
        done = tokens.revoke(services, name_or_id, actor=_actor(settings))
    except VerifyError as exc:
        _fail(str(exc), 1)
    finally:
        services.close()
    for r in done:
        click.echo(f"revoked {r.id} ({_printable(r.name)})")


@cli.command()
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to listen on (put a TLS reverse proxy in front for a network).")
@click.option("--port", type=int, default=8600, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True, help="Server processes (each opens the store and a decoding sandbox).")
@data_dir_option
@db_option
def api(address: str, port: int, workers: int, data_dir: str | None, db: str | None) -> None:
    """Serve the HTTP API (/v1, OpenAPI at /openapi.json, docs at /docs) over the same store."""
    import uvicorn

    settings = _settings(data_dir, db)
    if data_dir:
        os.environ["VERIFY_DATA_DIR"] = str(settings.data_dir)
    if db:
        os.environ["VERIFY_DB"] = db
    services = _open_services(settings)  # fail fast, with one line, on an unreachable database
    services.close()
    click.echo(f"verify api: http://{address}:{port}/docs (data: {_printable(settings.data_dir)})", err=True)
    uvicorn.run("verify.api:app_from_environment", factory=True, host=address, port=port, workers=max(1, workers),
                log_level="warning", proxy_headers=False, server_header=False)
# -- text in pictures (issue 18): back-fill of items stored unread ------------------------------------


@cli.command("text")
@data_dir_option
@db_option
@click.option("--backfill", is_flag=True, help="Read the text in stored items that were stored unread (before text reading, or with it off).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Read at most this many items this run (run again to go on).")
@json_option
def text_cmd(data_dir: str | None, db: str | None, backfill: bool, limit: int | None, as_json: bool) -> None:
    """Say whether text reading is on here and how many stored items are unread; --backfill reads them.

    Resumable: each item is committed on its own, so an interrupted run goes on where it stopped.
    Exit code 0 when nothing failed, 1 when some items could not be read, 2 when reading is off.
    """
    from verify import text

    settings = _settings(data_dir, db)
    services = _open_services(settings, isolate=backfill)
    try:
        status = text.engine_status(settings.tesseract, settings.ocr_langs)
        unread = len(services.store.items_lacking_text())
        if not backfill:
            record = {"engine_on": bool(settings.ocr and status.available), "reason": status.reason if settings.ocr else "off (VERIFY_OCR=0)", "unread": unread}
            if as_json:
                _emit(record)
            else:
                click.echo(f"text reading: {_printable(record['reason'])}; {unread} stored items unread" + (" (verify text --backfill reads them)" if unread else ""))
            return
        bar = _progress(min(unread, limit) if limit else unread, "reading text")
        failures: list[tuple[int, str]] = []

        def follow(item_id: int, error: str | None) -> None:
            bar.update(1)
            if error:
                failures.append((item_id, error))
                click.echo(f"item {item_id}: {_printable(error)}", err=True)

        try:
            done, with_text, failed = services.backfill_text(follow, limit=limit)
        except VerifyError as exc:
            bar.close()
            _fail(str(exc), 2)
        bar.close()
        left = len(services.store.items_lacking_text())
    finally:
        services.close()
    if as_json:
        _emit({"read": done, "with_text": with_text, "failed": failed, "unread": left,
               "failures": [{"item_id": i, "error": e} for i, e in failures]})  # fmt: skip
    else:
        click.echo(f"text: read {done} stored items ({with_text} with text), {failed} failed, {left} still unread")
    sys.exit(1 if failed else 0)
# -- background jobs (issue 15): the queue in the store, ``verify worker`` runs it ------------


def _job_line(job: Any) -> str:
    p = job.as_json()["progress"]
    total = "?" if p["total"] is None else p["total"]
    extra = f", {p['failed']} unreadable" if p["failed"] else ""
    who = f" [{job.worker}]" if job.status == "running" and job.worker else ""
    tail = f": {job.error}" if job.error else (f" ({_printable(p['current'])})" if job.status == "running" and p["current"] else "")
    return f"#{job.id} {job.kind:<8} {job.status:<9} {p['done']}/{total}{extra}, attempt {job.attempts}/{job.max_attempts}{who}{tail}"


@cli.group("jobs", invoke_without_command=True)
@data_dir_option
@db_option
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed", "cancelled"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@click.pass_context
def jobs_cmd(ctx: click.Context, data_dir: str | None, db: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Background work in the queue (newest first): status, progress, outcome."""
    ctx.ensure_object(dict)
    ctx.obj.update(data_dir=data_dir, db=db)
    if ctx.invoked_subcommand is not None:
        return
    from verify.store.jobs import JobQueue

    services = _open_services(_settings(data_dir, db))
    for job in JobQueue(services.store).list(status=status, limit=limit):
        _emit(job.as_json()) if as_json else click.echo(_job_line(job))
    services.close()


def _job_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return data_dir_option(db_option(json_option(fn)))


def _queue_for(ctx: click.Context, data_dir: str | None, db: str | None, actor: str | None = None) -> tuple[Any, Any, Settings]:
    from verify.store.jobs import JobQueue

    settings = _settings(data_dir or ctx.obj.get("data_dir"), db or ctx.obj.get("db"), actor)
    services = _open_services(settings)
    return services, JobQueue(services.store), settings


@jobs_cmd.command("add")
@click.argument("kind", type=click.Choice(["index", "refresh", "features"]))
@click.argument("paths", nargs=-1)
@click.option("--source", default=None, help="index: where this material was published or who sent it.")
@click.option("--first-seen", default=None, help="index: when this material is known to have existed (YYYY-MM-DD).")
@click.option("--origin", type=click.Choice(["archive", "submission"]), default="archive", show_default=True)
@click.option("--actor", default=None, help="Name recorded on the events (default: VERIFY_ACTOR or your login).")
@_job_options
@click.pass_context
def jobs_add(ctx: click.Context, kind: str, paths: tuple[str, ...], source: str | None, first_seen: str | None, origin: str,
             actor: str | None, data_dir: str | None, db: str | None, as_json: bool) -> None:  # fmt: skip
    """Queue work for `verify worker`: index PATHS into the archive, refresh old fingerprints, back-fill features."""
    from verify.worker import enqueue_index

    services, queue, settings = _queue_for(ctx, data_dir, db, actor)
    who = _actor(settings)
    try:
        if kind == "index":
            if not paths:
                raise click.UsageError("index needs at least one PATH")
            job = enqueue_index(services, paths, actor=who, source=source, first_seen=first_seen, origin=origin)
        else:
            if paths:
                raise click.UsageError(f"{kind} takes no PATH")
            job = queue.enqueue(kind, {"actor": who}, actor=who)
    except VerifyError as exc:
        _fail(str(exc), 2)
    _emit(job.as_json()) if as_json else click.echo(f"queued job #{job.id} ({kind}); run 'verify worker' to do it")
    services.close()


@jobs_cmd.command("show")
@click.argument("job_id", type=int)
@_job_options
@click.pass_context
def jobs_show(ctx: click.Context, job_id: int, data_dir: str | None, db: str | None, as_json: bool) -> None:
    """One job: status, progress, outcome (exit 1 when it failed)."""
    services, queue, _ = _queue_for(ctx, data_dir, db)
    try:
        job = queue.get(job_id)
    except VerifyError as exc:
        _fail(str(exc), 2)
    if as_json:
        _emit(job.as_json())
    else:
        click.echo(_job_line(job))
        for problem in (job.result or {}).get("problems", []):
            click.echo(f"  {_printable(problem['path'])}: {problem['error']}")
    services.close()
    if job.status == "failed":
        sys.exit(1)


@jobs_cmd.command("cancel")
@click.argument("job_id", type=int)
@_job_options
@click.pass_context
def jobs_cancel(ctx: click.Context, job_id: int, data_dir: str | None, db: str | None, as_json: bool) -> None:
    """Cancel a queued job, or stop a running one after the file in hand (which is kept whole)."""
    services, queue, _ = _queue_for(ctx, data_dir, db)
    try:
        job = queue.cancel(job_id)
    except VerifyError as exc:
        _fail(str(exc), 1)
    _emit(job.as_json()) if as_json else click.echo(_job_line(job))
    services.close()


@jobs_cmd.command("retry")
@click.argument("job_id", type=int)
@_job_options
@click.pass_context
def jobs_retry(ctx: click.Context, job_id: int, data_dir: str | None, db: str | None, as_json: bool) -> None:
    """Queue a failed or cancelled job again (work already done is skipped)."""
    services, queue, _ = _queue_for(ctx, data_dir, db)
    try:
        job = queue.retry(job_id)
    except VerifyError as exc:
        _fail(str(exc), 1)
    _emit(job.as_json()) if as_json else click.echo(_job_line(job))
    services.close()


@cli.command("worker")
@data_dir_option
@db_option
@click.option("--once", is_flag=True, help="Exit when no job is left to claim (default: keep waiting for work).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="Jobs run at once by this process.")
@click.option("--lease", "lease_s", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="Seconds without a heartbeat after which another worker takes a job over.")
@click.option("--poll", "poll_s", type=click.FloatRange(0.05, 600), default=2.0, show_default=True, help="Seconds between looks at an empty queue.")
@json_option
def worker_cmd(data_dir: str | None, db: str | None, once: bool, concurrency: int, lease_s: float, poll_s: float, as_json: bool) -> None:
    """Run queued background jobs (any number of workers, on any machine sharing the database)."""
    import signal
    import threading

    from verify.worker import WorkerOptions, run_worker

    settings = _settings(data_dir, db)
    _open_services(settings).close()  # an unreachable database: one readable line, exit 2
    stop = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stop.set()  # running jobs stop after their current file and go back to the queue

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_job(job: Any, outcome: str) -> None:
        if outcome == "started":
            click.echo(f"job #{job.id} ({job.kind}) started, attempt {job.attempts}", err=True)
            return
        click.echo(f"job #{job.id} ({job.kind}) {outcome}", err=True)
        if as_json:
            _emit({"id": job.id, "kind": job.kind, "outcome": outcome})

    ran = run_worker(settings, WorkerOptions(concurrency=concurrency, once=once, lease_s=lease_s, poll_s=poll_s), stop, on_job)
    click.echo(f"worker: {ran} job(s) run", err=True)


def main() -> None:
    import warnings

    # Codec and tag warnings are noise on a terminal: readers record real problems per file.
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    try:
        cli(standalone_mode=True)
    except VerifyError as exc:
        _fail(str(exc), 2)


if __name__ == "__main__":
    main()
