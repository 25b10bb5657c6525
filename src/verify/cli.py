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
from typing import Any

import click

from verify.config import Settings, load_settings
from verify.errors import UnsupportedMedia, VerifyError
from verify.fingerprints.keypoints import NAME as KEYPOINT_WORDS
from verify.models import Claim, Match
from verify.manifest import parse_when, read_manifest
from verify.services import Analysis, Services
from verify.sandbox import analyse_isolated

MEDIA_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif",
    ".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".mts", ".m2ts", ".ts", ".avi", ".mkv", ".webm",
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
    for path, problem in _walk(paths):
        total += 1
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
                    matches=[match_json(m) for m in report.outcome.matches],
                    candidates=[match_json(m) for m in report.outcome.candidates],
                )
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
            when = (m["first_seen_at"] or "")[:10] or "unknown date"
            at = f" at {m['match_time_s']:.1f}s" if m["match_time_s"] is not None else ""
            click.echo(
                f"{name}: {label} {_printable(m['filename'] or m['sha256'][:12])}{at} "
                f"(score {m['score']:.2f}, {m['method']}), first seen {when}, source {_printable(m['source'] or 'unknown')}"
            )


def _analyse_each(paths: tuple[str, ...], settings: Settings) -> Iterator[tuple[str, Analysis | None, str | None]]:
    for path, problem in _walk(paths):
        if problem:
            yield str(path), None, problem
            continue
        try:
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
    for path, analysis, error in _analyse_each(paths, settings):
        total += 1
        failures += error is not None
        record = meta_json(path, analysis, error)
        if as_json:
            _emit(record)
            continue
        if error:
            click.echo(f"{_printable(path)}: {error}", err=True)
            continue
        click.echo(_printable(path))
        for key in ("sha256", "kind", "mime", "width", "height", "captured_at", "make", "model", "software", "orientation", "gps", "duration_s", "fps", "video_codec", "rotation"):
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
    settings = load_settings()
    failures = total = 0
    for path, analysis, error in _analyse_each(paths, settings):
        total += 1
        failures += error is not None
        fps = [
            {"algorithm": f.algorithm, "variant": f.variant, "frame_time_s": f.frame_time_s, "hex": f.hex}
            for f in (analysis.fingerprints if analysis else [])
        ]
        record = {"path": path, "sha256": analysis.sha256 if analysis else None, "kind": analysis.kind if analysis else None, "error": error, "fingerprints": fps}
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
@json_option
def audit(data_dir: str | None, db: str | None, no_rehash: bool, as_json: bool) -> None:
    """Prove nothing was changed: check the event chain and re-hash every stored original.

    Exit code 0 when everything is intact, 1 when anything was modified, deleted or inserted.
    """
    from verify.integrity import audit as run_audit

    settings = _settings(data_dir, db)
    services = _open_services(settings)
    try:
        report = run_audit(services.store, services.blobs, rehash=not no_rehash, default_status=services.statuses[0])
    finally:
        services.close()
    if as_json:
        _emit(report.to_dict())
    else:
        for p in report.problems:
            click.echo(f"{p.severity.upper()}: {_printable(p.message)}")
        verdict = "INTACT" if report.ok else "PROBLEMS FOUND"
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
