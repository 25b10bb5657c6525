"""Background work: what ``verify worker`` runs from the job queue (``store/jobs.py``).

A worker process runs ``concurrency`` loops, each with its own ``Services`` (its own database
connections and decoding sandbox): claim a job, run its handler, record the outcome. Decoding
happens in the sandbox's child processes, so the loops are threads: the CPU work is elsewhere.

Handlers are written to be re-run after a crash: each unit of work (one file, one stored item)
commits whole and is skipped when already done (ingest is idempotent by SHA-256; the
fingerprint back-fills select only items still lacking). A worker killed mid-job therefore leaves
whole items or nothing, and the next claim finishes the job. While a job runs, a heartbeat
thread extends its lease every third of the lease, and the handler reports progress between
units (``Control.checkpoint``), which is also where it learns that it must stop: the worker is
shutting down (the job is given back, queued again at once) or the job is no longer its own
(cancelled by an editor, or taken over after a lease ran out).

Kinds:

- ``index``: add every image and video under ``paths`` (as seen by the worker's machine: a
  shared folder) to the archive, like ``verify index``; params ``source``, ``first_seen``,
  ``origin``, and ``actor`` (recorded on the events: who asked for the work).
- ``refresh``: give stored pictures the fingerprints a newer version added (keypoint words, the
  PDQ exchange hash), like the first step of ``verify index``.
- ``features``: store confirmation keypoints (``item_features``) for archive stills ingested
  before they existed, so their matches no longer decode the original at query time.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.config import Settings
from verify.errors import UnsupportedMedia, VerifyError
from verify.store.jobs import LEASE_S, Job, JobQueue, LeaseLost

if TYPE_CHECKING:
    from verify.services import Services

#: Extensions of the files ``index`` reports as unreadable rather than skipping quietly.
MEDIA_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jxl",
    ".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".mts", ".m2ts", ".ts", ".avi", ".mkv", ".webm", ".wmv", ".asf",
}  # fmt: skip
#: Progress is written at most this often (each write is a database transaction).
PROGRESS_EVERY_S = 0.5
#: Problems kept in a job's result (the counts are complete).
MAX_PROBLEMS = 50


class Stopping(Exception):
    """The worker is shutting down: the job in hand is given back to the queue."""


def walk_files(paths: Iterable[str]) -> Iterator[tuple[Path, str | None]]:
    """Files under the paths, recursively, sorted, hidden names skipped, symlinked folders not
    followed (the same walk as ``verify index``); ``(path, problem)`` with a reason for what is
    not a readable regular file."""
    for raw in paths:
        p = Path(raw)
        if p.is_symlink() and p.is_dir():
            yield p, "is a symbolic link to a folder; not followed"
        elif p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    fp = Path(root) / name
                    yield fp, None if fp.is_file() else "is not a regular file; skipped"
        elif p.is_file():
            yield p, None
        else:
            yield p, "does not exist" if not p.exists() else "is not a regular file; skipped"


@dataclass
class Control:
    """What a handler holds while it runs: progress reporting and the reasons to stop."""

    queue: JobQueue
    job: Job
    lease_s: float
    stop: threading.Event
    done: int = 0
    total: int | None = None
    failed: int = 0
    current: str | None = None
    lost: str | None = None
    _last: float = field(default=0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def checkpoint(self, *, force: bool = False) -> None:
        """Between units of work: write progress (throttled) and stop when told to."""
        if self.lost:
            raise LeaseLost(self.lost)
        if self.stop.is_set():
            raise Stopping()
        if force or time.monotonic() - self._last >= PROGRESS_EVERY_S:
            self.beat()

    def beat(self) -> None:
        with self._lock:
            try:
                self.queue.heartbeat(self.job, lease_s=self.lease_s, done=self.done, total=self.total, failed=self.failed,
                                     current=self.current)  # fmt: skip
            except LeaseLost as exc:
                self.lost = str(exc)
                raise
            self._last = time.monotonic()


Handler = Callable[["Services", dict[str, Any], Control], dict[str, Any]]


#: Uploads the workbench hands to the workers wait here, inside the shared media folder (a name
#: ``verify doctor`` does not treat as originals or unfinished copies), one folder per job.
QUEUED_UPLOADS = ".queued"
#: Per-file outcomes kept in a job's result (the workbench lists them).
MAX_FILES_LISTED = 1000


def claim_to_json(claim: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(claim).items()}


def claim_from_json(data: dict[str, Any] | None) -> Any:
    from datetime import date

    from verify.manifest import parse_when
    from verify.models import Claim

    data = dict(data or {})
    data["first_seen_at"] = parse_when(data.get("first_seen_at"))
    data["claimed_date"] = date.fromisoformat(data["claimed_date"]) if data.get("claimed_date") else None
    return Claim(**{k: v for k, v in data.items() if k in Claim.__dataclass_fields__})


def _upload_folder(services: Services, params: dict[str, Any]) -> Path | None:
    """The job's own upload folder, if it is one (only such a folder is ever deleted)."""
    if not params.get("uploaded"):
        return None
    root = (services.settings.media_dir / QUEUED_UPLOADS).resolve()
    paths = [Path(p).resolve() for p in params.get("paths") or []]
    if len(paths) == 1 and paths[0].parent == root:
        return paths[0]
    return None


def run_index(services: Services, params: dict[str, Any], ctl: Control) -> dict[str, Any]:
    from verify.manifest import parse_when
    from verify.models import Claim

    if "claim" in params:
        claim = claim_from_json(params["claim"])
    else:
        claim = Claim(source=params.get("source"), first_seen_at=parse_when(params.get("first_seen")))
    uploads = _upload_folder(services, params)
    origin = params.get("origin") or "archive"
    actor = params.get("actor") or "worker"
    files: list[Path] = []
    problems: list[dict[str, str]] = []
    for path, problem in walk_files(params.get("paths") or []):
        if problem:
            problems.append({"path": str(path), "error": problem})
        else:
            files.append(path)
    ctl.total, ctl.failed = len(files) + len(problems), len(problems)
    ctl.done = len(problems)
    ctl.checkpoint(force=True)
    counts = {"added": 0, "present": 0, "skipped": 0}
    listed: list[dict[str, Any]] = []
    for path in files:
        # An upload is stored as "NNN-name": the number keeps the editor's order, the name is theirs.
        name = path.name.split("-", 1)[1] if uploads is not None and "-" in path.name else path.name
        ctl.current = name
        ctl.checkpoint()
        status, error, item_id = _index_one(services, path, claim=claim, origin=origin, actor=actor, filename=name)
        if error:
            ctl.failed += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append({"path": name if uploads is not None else str(path), "error": error})
        else:
            counts[status] += 1
        if len(listed) < MAX_FILES_LISTED:
            listed.append({"name": name, "status": "error" if error else status, "item_id": item_id, "error": error})
        ctl.done += 1
    ctl.current = None
    if uploads is not None:
        import shutil

        shutil.rmtree(uploads, ignore_errors=True)  # the originals are in the store now; these were copies
    return {**counts, "unreadable": ctl.failed, "problems": problems, "files": listed}


def _index_one(services: Services, path: Path, *, claim: Any, origin: str, actor: str,
               filename: str | None = None) -> tuple[str, str | None, int | None]:  # fmt: skip
    """One file into the archive: ('added'|'present'|'skipped', None, item id) or ('error', why, None)."""
    from verify.store import sha256_file

    try:
        digest = sha256_file(path)
    except OSError as exc:
        return "error", f"cannot be read: {exc.strerror or 'access denied'}", None
    existing = services.store.item_by_sha(digest)
    if existing is not None:
        return "present", None, existing.id
    try:
        analysis = services.analyse(path, sha256=digest)
        staged = services.blobs.stage_file(path, services.settings.max_file_bytes)
        try:
            result = services.store_analysis(analysis, staged, claim=claim, origin=origin, actor=actor,  # type: ignore[arg-type]
                                             filename=filename or path.name)  # fmt: skip
        finally:
            services.blobs.discard(staged)
    except UnsupportedMedia as exc:
        if path.suffix.lower() in MEDIA_EXTENSIONS:
            return "error", str(exc), None
        return "skipped", None, None
    except VerifyError as exc:
        return "error", str(exc), None
    return ("added" if result.created else "present"), None, result.item.id


def enqueue_uploads(services: Services, files: Iterable[tuple[str | None, Any]], *, claim: Any, origin: str, actor: str) -> Job:
    """Queue uploaded files (``(name, binary stream)``) for the workers: each is copied (size
    limit enforced) into a folder of its own under the shared media folder, then one ``index``
    job names that folder; the worker stores each file with this claim and removes the copies."""
    import uuid

    from verify.services import safe_filename

    folder = services.settings.media_dir / QUEUED_UPLOADS / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        for i, (name, stream) in enumerate(files):
            staged = services.blobs.stage_stream(stream, services.settings.max_file_bytes)
            clean = (safe_filename(name) or "upload").replace("/", "_")[:200]
            os.replace(staged.path, folder / f"{i:04d}-{clean}")
    except BaseException:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        raise
    params = {"paths": [str(folder)], "claim": claim_to_json(claim), "origin": origin, "actor": actor, "uploaded": True}
    return JobQueue(services.store).enqueue("index", params, actor=actor)


def run_refresh(services: Services, params: dict[str, Any], ctl: Control) -> dict[str, Any]:
    from verify.fingerprints import EXCHANGE
    from verify.fingerprints.keypoints import NAME

    ctl.total = len(services.store.items_lacking(NAME)) + sum(len(services.store.items_lacking(n)) for n in EXCHANGE)
    ctl.checkpoint(force=True)

    def on_item(_item_id: int, error: str | None) -> None:
        ctl.done += 1
        ctl.failed += error is not None
        ctl.checkpoint()

    updated, failed = services.refresh_fingerprints(on_item)
    return {"updated": updated, "unreadable": failed}


def run_features(services: Services, params: dict[str, Any], ctl: Control) -> dict[str, Any]:
    """Confirmation keypoints for stills stored without them (read-only on the originals)."""
    from sqlalchemy import text

    from verify.matching import stored_features

    with services.store.read() as conn:
        todo = conn.execute(
            text(
                "SELECT m.id, m.sha256 FROM media_item m WHERE m.kind = 'image' AND NOT EXISTS "
                "(SELECT 1 FROM item_features f WHERE f.item_id = m.id AND f.version = :v) ORDER BY m.id"
            ),
            {"v": stored_features.VERSION},
        ).all()
    ctl.total = len(todo)
    ctl.checkpoint(force=True)
    updated = 0
    for item_id, sha256 in todo:
        ctl.current = f"item {item_id}"
        ctl.checkpoint()
        try:
            path = services.blobs.path_for(sha256)
            fn = stored_features.compute
            data = services.sandbox.call(fn, path) if services.sandbox is not None else fn(path)
            if data is not None:
                services.store.add_features(item_id, stored_features.VERSION, data)  # never overwrites a record
                updated += 1
        except Exception:  # a missing or unreadable original: counted, the rest go on
            ctl.failed += 1
        ctl.done += 1
    ctl.current = None
    return {"updated": updated, "unreadable": ctl.failed}


HANDLERS: dict[str, Handler] = {"index": run_index, "refresh": run_refresh, "features": run_features}


def enqueue_index(services: Services, paths: Iterable[str], *, actor: str, source: str | None = None,
                  first_seen: str | None = None, origin: str = "archive") -> Job:  # fmt: skip
    """Queue an ``index`` job. Paths are made absolute here: the worker may run elsewhere (a
    shared folder mounted at the same place)."""
    from verify.manifest import parse_when

    parse_when(first_seen)  # refuse a bad date now, not in the worker
    absolute = [str(Path(p).resolve()) for p in paths]
    missing = [p for p in absolute if not Path(p).exists()]
    if missing:
        raise VerifyError(f"{missing[0]} does not exist; nothing was queued.")
    params = {"paths": absolute, "source": source, "first_seen": first_seen, "origin": origin, "actor": actor}
    return JobQueue(services.store).enqueue("index", params, actor=actor)


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def run_job(services: Services, queue: JobQueue, job: Job, *, lease_s: float, stop: threading.Event) -> str:
    """Run one claimed job to its end; returns what became of it ('done', 'failed', 'released', 'lost')."""
    handler = HANDLERS.get(job.kind)
    if handler is None:
        queue.fail(job, f"this worker does not know jobs of kind {job.kind!r} (a newer version queued it?)")
        return "failed"
    ctl = Control(queue, job, lease_s, stop)
    beating = threading.Event()

    def heartbeat() -> None:
        while not beating.wait(max(0.2, lease_s / 3)):
            try:
                ctl.beat()
            except LeaseLost:
                return
            except Exception:  # the database is briefly unreachable: the next beat tries again
                continue

    beater = threading.Thread(target=heartbeat, name=f"heartbeat-{job.id}", daemon=True)
    beater.start()
    try:
        result = handler(services, job.params, ctl)
    except Stopping:
        queue.release(job)
        return "released"
    except LeaseLost:
        return "lost"
    except VerifyError as exc:
        queue.fail(job, str(exc))
        return "failed"
    except Exception as exc:  # a bug must cost this job, not the worker
        queue.fail(job, f"{type(exc).__name__}: {exc}")
        return "failed"
    finally:
        beating.set()
        beater.join()
    return "done" if queue.finish(job, result, done=ctl.done, total=ctl.total, failed=ctl.failed) else "lost"


@dataclass
class WorkerOptions:
    concurrency: int = 1
    once: bool = False
    lease_s: float = LEASE_S
    poll_s: float = 1.0
    kinds: tuple[str, ...] | None = None


def run_worker(settings: Settings, options: WorkerOptions, stop: threading.Event,
               on_job: Callable[[Job, str], None] | None = None) -> int:  # fmt: skip
    """Run ``options.concurrency`` claim loops until ``stop`` is set (or, with ``once``, until no
    job is left to claim). Returns the number of jobs run."""
    from verify.services import Services

    ran = 0
    lock = threading.Lock()
    errors: list[BaseException] = []

    def loop(index: int) -> None:
        nonlocal ran
        services = Services(settings, isolate=True)
        queue = JobQueue(services.store)
        name = worker_name(index)
        try:
            while not stop.is_set():
                try:
                    job = queue.claim(name, lease_s=options.lease_s, kinds=options.kinds)
                except Exception:  # the database is briefly away: wait and ask again
                    if stop.wait(options.poll_s):
                        break
                    continue
                if job is None:
                    if options.once:
                        break
                    stop.wait(options.poll_s)
                    continue
                if on_job:
                    on_job(job, "started")
                outcome = run_job(services, queue, job, lease_s=options.lease_s, stop=stop)
                with lock:
                    ran += 1
                if on_job:
                    on_job(job, outcome)
        except BaseException as exc:  # pragma: no cover - surfaced by the caller
            errors.append(exc)
        finally:
            services.close()

    threads = [threading.Thread(target=loop, args=(i,), name=f"worker-{i}") for i in range(max(1, options.concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    if errors:
        raise errors[0]
    return ran
