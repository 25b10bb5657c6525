"""Backup and restore: a consistent snapshot of the store and its originals, taken while the desk works.

Consistency comes from one rule: originals are written before the row that names them commits, and
are never changed or removed afterwards. So the database is snapshotted first (SQLite's online
backup API, or ``pg_dump`` inside an exported snapshot on PostgreSQL), and then exactly the
originals that *the snapshot* names are hard-linked (same filesystem: instant, no extra space;
they are read-only, so the link cannot be edited by accident) or copied and re-hashed. Ingests and
verdicts committed after the snapshot are simply not in this backup; nothing is half in it.

The backup folder::

    verify.sqlite3 | database.pgdump   the database (SQLite file, or pg_dump custom format)
    media/ab/cd/<sha256>               the originals the snapshot names
    CHAIN_HEAD                         the chain head the snapshot captured (64 hex + newline)
    backup.json                        what, when, which backend, head, event and item counts

``restore`` refuses a store that already holds anything, before it writes a byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from verify.config import Settings
from verify.errors import VerifyError
from verify.store.blobs import CHUNK

FORMAT_VERSION = 1
SQLITE_NAME = "verify.sqlite3"
PG_NAME = "database.pgdump"


@dataclass
class BackupResult:
    folder: Path
    backend: str
    chain_head: str
    events: int
    items: int
    originals_linked: int
    originals_copied: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder), "backend": self.backend, "chain_head": self.chain_head, "events": self.events,
            "items": self.items, "originals_linked": self.originals_linked, "originals_copied": self.originals_copied,
        }  # fmt: skip


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise VerifyError("This SQLite URL names no file; an in-memory database cannot be backed up.")
    return Path(database)


def _blob_path(root: Path, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise VerifyError("The database names an original that is not a SHA-256 digest.")
    return root / sha256[:2] / sha256[2:4] / sha256


def _require_empty_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise VerifyError(f"{folder} is not empty: a backup goes into a new or empty folder (nothing was written).")


def _place(src: Path, dst: Path, sha256: str) -> bool:
    """Hard-link ``src`` to ``dst``, or copy it and check the copy's SHA-256. True when linked."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return True
    except FileNotFoundError:
        raise VerifyError(f"EVIDENCE MISSING: the original {sha256[:16]}... is not in the media folder; run 'verify doctor'.") from None
    except OSError:
        pass  # another filesystem, or no hard links: copy
    tmp = dst.with_name(dst.name + ".part")
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(CHUNK):
            h.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    if h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise VerifyError(f"The original {sha256[:16]}... no longer has its SHA-256: it was MODIFIED. Run 'verify audit'.")
    os.chmod(tmp, 0o444)
    tmp.replace(dst)
    return False


def _place_all(shas: Iterable[str], src_root: Path, dst_root: Path, placed: list[Path] | None = None) -> tuple[int, int]:
    linked = copied = 0
    for sha in shas:
        dst = _blob_path(dst_root, sha)
        ok = _place(_blob_path(src_root, sha), dst, sha)
        if placed is not None:
            placed.append(dst)
        if ok:
            linked += 1
        else:
            copied += 1
    return linked, copied


# -- backup ---------------------------------------------------------------------------------------


def backup(settings: Settings, folder: Path) -> BackupResult:
    """Snapshot the store named by ``settings`` into ``folder`` (new or empty) while it keeps working."""
    folder = Path(folder)
    _require_empty_folder(folder)
    url = settings.database_url
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if url.startswith("sqlite"):
            head, events, shas = _backup_sqlite(_sqlite_path(url), folder / SQLITE_NAME)
            backend = "sqlite"
        elif url.startswith("postgresql"):
            head, events, shas = _backup_postgres(url, folder / PG_NAME)
            backend = "postgresql"
        else:
            raise VerifyError("Backups support SQLite and PostgreSQL stores.")
        linked, copied = _place_all(shas, settings.media_dir, folder / "media")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # it was empty: nothing of ours stays half-made
        raise
    result = BackupResult(folder, backend, head, events, len(shas), linked, copied)
    (folder / "CHAIN_HEAD").write_text(head + "\n", encoding="ascii")
    meta = {"format_version": FORMAT_VERSION, "created_at": datetime.now(UTC).isoformat(timespec="seconds")} | result.to_dict()
    meta.pop("folder")
    (folder / "backup.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return result


def _backup_sqlite(src_path: Path, dst_path: Path) -> tuple[str, int, list[str]]:
    if not src_path.exists():
        raise VerifyError(f"There is no store at {src_path.parent} to back up.")
    src = sqlite3.connect(src_path, timeout=60)
    part = dst_path.with_name(dst_path.name + ".part")
    dst = sqlite3.connect(part)
    try:
        # pages=-1: the whole database in one step, from one read transaction, so the copy is one
        # consistent moment even while other processes keep writing (WAL readers do not block them).
        src.backup(dst, pages=-1)
        head, events = dst.execute("SELECT last_hash, events FROM chain_head WHERE id = 1").fetchone()
        shas = [r[0] for r in dst.execute("SELECT sha256 FROM media_item ORDER BY id")]
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the backup
    finally:
        dst.close()
        src.close()
    part.replace(dst_path)
    return head, int(events), shas


def _libpq_url(url: str) -> str:
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def _pg_tool(name: str, server_version_num: int) -> str:
    path = shutil.which(name)
    if not path:
        raise VerifyError(f"{name} is not installed on this machine (PostgreSQL client tools are needed for a PostgreSQL backup).")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"(\d+)(?:\.(\d+))?", out)
    major = int(m.group(1)) if m else 0
    server_major = server_version_num // 10000
    if major < server_major:
        raise VerifyError(f"{name} is version {major} but the server is {server_major}: install {name} {server_major} or newer.")
    return path


def _backup_postgres(url: str, dst: Path) -> tuple[str, int, list[str]]:
    engine = create_engine(url)
    try:
        # REPEATABLE READ: one snapshot for the whole transaction, the one pg_dump is given.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn, conn.begin():
            isolation = conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
            if isolation != "repeatable read":
                raise VerifyError(f"The backup transaction is not REPEATABLE READ ({isolation}); nothing was written.")
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
            version = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one())
            head, events = conn.exec_driver_sql("SELECT last_hash, events FROM chain_head WHERE id = 1").one()
            shas = [r[0] for r in conn.exec_driver_sql("SELECT sha256 FROM media_item ORDER BY id")]
            pg_dump = _pg_tool("pg_dump", version)
            # pg_dump sees exactly this transaction's snapshot: database and list of originals agree.
            part = dst.with_name(dst.name + ".part")
            proc = subprocess.run(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", f"--schema={schema}",
                 f"--file={part}", _libpq_url(url)],
                capture_output=True, text=True, timeout=6 * 3600,
            )  # fmt: skip
    finally:
        engine.dispose()
    if proc.returncode != 0:
        raise VerifyError(f"pg_dump failed: {proc.stderr.strip().splitlines()[-1][:300] if proc.stderr.strip() else proc.returncode}")
    part.replace(dst)
    return head, int(events), shas


# -- restore --------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    chain_head: str
    events: int
    items: int
    originals_linked: int
    originals_copied: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_backup(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((Path(folder) / "backup.json").read_text(encoding="utf-8"))
        head = (Path(folder) / "CHAIN_HEAD").read_text(encoding="ascii").strip()
    except (OSError, ValueError) as exc:
        raise VerifyError(f"{folder} is not a verify backup (backup.json or CHAIN_HEAD cannot be read).") from exc
    if meta.get("chain_head") != head:
        raise VerifyError(f"{folder}: CHAIN_HEAD and backup.json disagree; the backup was altered.")
    return meta


def _store_is_empty(settings: Settings) -> str | None:
    """Why the target store is not empty, or None. Reads only; creates nothing."""
    media = settings.media_dir
    if media.exists() and any(p.is_file() for p in media.glob("??/??/*")):
        return f"its media folder {media} already holds originals"
    url = settings.database_url
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if not path.exists():
            return None
        # A plain connection that only reads: on close, the last connection removes the -wal and
        # -shm files it opened, so the refused store is left exactly as it was found.
        con = sqlite3.connect(path, timeout=60)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "event" in tables and con.execute("SELECT count(*) FROM event").fetchone()[0]:
                return f"its database {path} already holds events"
            if "media_item" in tables and con.execute("SELECT count(*) FROM media_item").fetchone()[0]:
                return f"its database {path} already holds items"
        finally:
            con.close()
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if inspect(conn).has_table("event") or inspect(conn).has_table("schema_version"):
                return "its database already has a verify store (restore into an empty database)"
    finally:
        engine.dispose()
    return None


def restore(folder: Path, settings: Settings) -> RestoreResult:
    """Bring a backup back into the (empty) store named by ``settings``; refuse anything else."""
    folder = Path(folder)
    meta = read_backup(folder)
    why = _store_is_empty(settings)
    if why:
        raise VerifyError(f"Refusing to restore: the target store is not empty ({why}). Nothing was changed.")
    url = settings.database_url
    backend = meta.get("backend")
    if backend == "sqlite" and not url.startswith("sqlite") or backend == "postgresql" and not url.startswith("postgresql"):
        raise VerifyError(f"This backup is of a {backend} store; give a {backend} target (--db). Nothing was changed.")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    try:
        return _restore_into(folder, settings, meta, placed)
    except BaseException:
        # The target was empty: take back what this restore wrote, so a failure leaves it empty.
        for path in placed:
            path.unlink(missing_ok=True)
        if backend == "sqlite":
            _sqlite_path(url).unlink(missing_ok=True)
        raise


def _restore_into(folder: Path, settings: Settings, meta: dict[str, Any], placed: list[Path]) -> RestoreResult:
    url = settings.database_url
    backend = meta.get("backend")
    if backend == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        part = target.with_name(target.name + ".part")
        shutil.copyfile(folder / SQLITE_NAME, part)
        part.replace(target)
        con = sqlite3.connect(target)
        try:
            head, events = con.execute("SELECT last_hash, events FROM chain_head WHERE id = 1").fetchone()
            shas = [r[0] for r in con.execute("SELECT sha256 FROM media_item ORDER BY id")]
        finally:
            con.close()
    else:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                version = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one())
            proc = subprocess.run(
                [_pg_tool("pg_restore", version), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                 f"--dbname={_libpq_url(url)}", str(folder / PG_NAME)],
                capture_output=True, text=True, timeout=6 * 3600,
            )  # fmt: skip
            if proc.returncode != 0:
                raise VerifyError(f"pg_restore failed: {proc.stderr.strip().splitlines()[-1][:300] if proc.stderr.strip() else proc.returncode}")
            with engine.connect() as conn:
                head, events = conn.execute(text("SELECT last_hash, events FROM chain_head WHERE id = 1")).one()
                shas = [r[0] for r in conn.execute(text("SELECT sha256 FROM media_item ORDER BY id"))]
        finally:
            engine.dispose()
    if head != meta["chain_head"]:
        raise VerifyError("The restored database's chain head is not the one the backup recorded: the backup was altered.")
    (settings.media_dir / ".incoming").mkdir(parents=True, exist_ok=True)
    linked, copied = _place_all(shas, folder / "media", settings.media_dir, placed)
    return RestoreResult(head, int(events), len(shas), linked, copied)


__all__ = ["BackupResult", "RestoreResult", "backup", "read_backup", "restore"]
