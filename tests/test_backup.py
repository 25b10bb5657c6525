"""Backup and restore while the desk works, on SQLite and PostgreSQL.

A real ``verify index`` runs in its own process group and verdicts are changed from threads
while ``verify backup`` snapshots the store; the snapshot is restored into a new store, which
must pass ``verify audit`` with the chain head the backup stated. A restore into a store that
holds anything is refused and changes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import factories as f
from verify.config import Settings, load_settings
from verify.errors import Conflict
from verify.services import Services

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("VERIFY_TEST_PG_URL")
INDEXED = 120


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFY_") or k == "VERIFY_TEST_PG_URL"}
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=600, env=_env())


def _store(settings: Settings) -> list[str]:
    return ["--data-dir", str(settings.data_dir)] + (["--db", settings.db_url] if settings.db_url else [])


@pytest.fixture
def target(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """An empty store to restore into: a new data folder, and for PostgreSQL a new database."""
    if not settings.db_url:
        yield load_settings(data_dir=tmp_path / "restored")
        return
    name = f"t16_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    schema = sa.engine.make_url(settings.db_url).query["options"].split("=", 1)[1]  # the source's schema, restored as is
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False) + f"?options=-csearch_path%3D{schema}"
    try:
        yield load_settings(data_dir=tmp_path / "restored", db_url=url)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def indexing(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A real ``verify index`` of 120 photos, running; stopped (its whole group) when the test ends."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    for seed in range(INDEXED):
        (folder / f"p{seed}.jpg").write_bytes(f.jpeg_bytes(f.photo(100 + seed, (480, 360))))
    proc = subprocess.Popen([sys.executable, "-m", "verify", "index", str(folder), "--workers", "1", "--actor", "indexer", *_store(settings)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def test_backup_while_indexing_and_deciding_then_restore_and_audit(services: Services, settings: Settings, target: Settings,
                                                                   indexing: subprocess.Popen[str], tmp_path: Path) -> None:  # fmt: skip
    ids = [services.ingest_bytes(f.jpeg_bytes(f.photo(seed, (200, 150))), filename=f"{seed}.jpg", actor="alice").item.id for seed in range(4)]
    stop = threading.Event()
    decided = [0]

    def decide() -> None:
        statuses = ("in_progress", "verified", "false", "misattributed")
        n = 0
        while not stop.is_set():
            iid = ids[n % len(ids)]
            try:
                services.record_verdict(iid, statuses[n % 4], f"Decision {n}.", actor="bob")
                decided[0] += 1
            except Conflict:
                pass
            n += 1

    editors = [threading.Thread(target=decide) for _ in range(2)]
    for t in editors:
        t.start()
    try:
        deadline = time.monotonic() + 120
        while services.store.count_items() < 8 and time.monotonic() < deadline:  # the index run is under way
            time.sleep(0.1)
        backups = []
        for n in range(2):  # two snapshots mid-flight
            folder = tmp_path / f"backup-{n}"
            proc = _cli("backup", str(folder), "--json", *_store(settings))
            assert proc.returncode == 0, proc.stderr
            backups.append((folder, json.loads(proc.stdout)))
    finally:
        stop.set()
        for t in editors:
            t.join(timeout=60)
    assert decided[0] > 0
    assert indexing.wait(timeout=300) == 0, indexing.stderr.read() if indexing.stderr else ""

    mid = [(folder, made) for folder, made in backups if 4 < made["items"] < 4 + INDEXED]
    assert mid, f"no backup overlapped the index run: {[m['items'] for _f, m in backups]}"
    folder, made = mid[-1]
    assert (folder / "CHAIN_HEAD").read_text().strip() == made["chain_head"]
    assert made["chain_head"] != services.store.chain_head()[0], "the desk kept working after the snapshot"
    proc = _cli("restore", str(folder), "--json", *_store(target))
    assert proc.returncode == 0, proc.stderr
    restored = json.loads(proc.stdout)
    assert restored["chain_head"] == made["chain_head"] and restored["items"] == made["items"]
    audit = _cli("audit", "--json", *_store(target))
    assert audit.returncode == 0, audit.stdout
    report = json.loads(audit.stdout)
    assert report["ok"] and report["chain_head"] == made["chain_head"] and report["events_checked"] == made["events"]
    assert report["originals_checked"] == made["items"]
    # The restored store works: a new verdict appends to the restored chain, which stays intact.
    desk = Services(target)
    try:
        desk.record_verdict(ids[0], "inconclusive", "Reopened after restore.", actor="carol")
    finally:
        desk.close()
    assert json.loads(_cli("audit", "--json", *_store(target)).stdout)["ok"]


def test_restore_refuses_a_store_that_holds_anything(sqlite_services: Services, sqlite_settings: Settings, tmp_path: Path) -> None:
    sqlite_services.ingest_bytes(f.jpeg_bytes(f.photo(1, (200, 150))), filename="a.jpg", actor="alice")
    folder = tmp_path / "bk"
    assert _cli("backup", str(folder), *_store(sqlite_settings)).returncode == 0
    # the source store itself holds items: refused, untouched
    before = _snapshot(sqlite_settings.data_dir)
    proc = _cli("restore", str(folder), *_store(sqlite_settings))
    assert proc.returncode == 1 and "not empty" in proc.stderr and "Nothing was changed" in proc.stderr
    assert _snapshot(sqlite_settings.data_dir) == before
    # a store with one event but no originals: refused as well
    other = load_settings(data_dir=tmp_path / "other")
    s = Services(other)
    s.store.append_event(None, "dan", "note", {"text": "hello"})
    s.close()
    before = _snapshot(other.data_dir)
    proc = _cli("restore", str(folder), *_store(other))
    assert proc.returncode == 1 and "already holds events" in proc.stderr
    assert _snapshot(other.data_dir) == before
    # a backup into a non-empty folder is refused
    proc = _cli("backup", str(folder), *_store(sqlite_settings))
    assert proc.returncode == 1 and "not empty" in proc.stderr


def _snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def other_filesystem() -> Iterator[Path]:
    """A folder on another filesystem (tmpfs), where hard links to the media folder are impossible."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(ROOT).st_dev:
        pytest.skip("no second filesystem (/dev/shm) on this machine")
    folder = Path(tempfile.mkdtemp(prefix="verify-backup-", dir=shm))
    yield folder
    for p in folder.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
    shutil.rmtree(folder, ignore_errors=True)


def test_backup_to_another_filesystem_copies_and_rehashes(sqlite_services: Services, sqlite_settings: Settings,
                                                          other_filesystem: Path) -> None:  # fmt: skip
    from verify import backup as b

    item = sqlite_services.ingest_bytes(f.jpeg_bytes(f.photo(2, (200, 150))), filename="a.jpg", actor="alice").item
    result = b.backup(sqlite_settings, other_filesystem / "bk")
    assert result.originals_copied == 1 and result.originals_linked == 0
    copy = next((other_filesystem / "bk" / "media").glob("??/??/*"))
    assert copy.read_bytes() == sqlite_services.original_path(item).read_bytes()
    assert not copy.stat().st_mode & 0o222  # read-only, like the original


def test_a_failed_restore_leaves_the_target_empty(sqlite_services: Services, sqlite_settings: Settings, tmp_path: Path) -> None:
    for seed in range(3):
        sqlite_services.ingest_bytes(f.jpeg_bytes(f.photo(seed, (200, 150))), filename=f"{seed}.jpg", actor="alice")
    folder = tmp_path / "bk"
    assert _cli("backup", str(folder), *_store(sqlite_settings)).returncode == 0
    victim = sorted((folder / "media").glob("??/??/*"))[-1]
    victim.unlink()  # the backup lost an original
    target = tmp_path / "new"
    proc = _cli("restore", str(folder), "--data-dir", str(target))
    assert proc.returncode == 1 and "EVIDENCE MISSING" in proc.stderr and "Traceback" not in proc.stderr
    assert not [p for p in target.rglob("*") if p.is_file()], "nothing of the failed restore stays behind"
    # once the backup is whole again, the same target takes the restore
    victim.parent.mkdir(parents=True, exist_ok=True)
    import shutil

    shutil.copyfile(sqlite_services.original_path(sqlite_services.store.item_by_sha(victim.name)), victim)
    assert _cli("restore", str(folder), "--data-dir", str(target)).returncode == 0
    assert json.loads(_cli("audit", "--json", "--data-dir", str(target)).stdout)["ok"]
