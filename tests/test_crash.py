"""Crash safety: ``kill -9`` of ``verify index`` at random moments, then rerun.

After every kill the database must pass its integrity check; after the final rerun and a
``verify doctor --repair`` every row has its original and every original its row, the log is
intact, and each distinct readable file is in the archive exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import factories as f
import procs
from procs import Processes
from verify.config import load_settings
from verify.integrity import audit, doctor
from verify.store import BlobStore, Store

N_PHOTOS = 90  # enough that a fast machine is still indexing when the fourth kill lands


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("crash") / "in"
    for i in range(N_PHOTOS):
        size = (1600, 1200) if i % 4 == 0 else (640, 480)
        f.write(d / f"sub{i % 3}" / f"photo-{i:02d}.jpg", f.jpeg_bytes(f.photo(1000 + i, size)))
    f.video(d / "clip-a.mp4", seconds=2, fps=10, size=(160, 120), seed=7, gop=10)
    f.video(d / "clip-b.mp4", seconds=2, fps=10, size=(160, 120), seed=8, gop=10)
    f.write(d / "broken.jpg", f.jpeg_bytes(f.photo(5))[:500])
    f.write(d / "notes.txt", b"not media")
    return d


def _env(data: Path, db_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VERIFY_DB"}
    env.update({"VERIFY_DATA_DIR": str(data), "VERIFY_ACTOR": "crash-test"})
    if db_url:
        env["VERIFY_DB"] = db_url
    return env


def _index(folder: Path, env: dict[str, str], processes: Processes) -> subprocess.Popen[bytes]:
    return processes.start(  # its own process group: the kill reaches workers and decoders too
        [sys.executable, "-m", "verify", "index", str(folder), "--workers", "2", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _check_database(data: Path, db_url: str | None) -> None:
    settings = load_settings(data_dir=data, db_url=db_url)
    store = Store(settings.database_url)
    try:
        report = doctor(store, BlobStore(settings.media_dir), repair=False, grace_s=0)
        assert report.database_ok, report.problems  # PRAGMA integrity_check / foreign keys
        assert report.missing_originals == [], "a committed row lost its original"
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_minus_9_at_random_moments_then_rerun(backend: str, folder: Path, tmp_path: Path, request: pytest.FixtureRequest,
                                                   processes: Processes) -> None:
    db_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    data = tmp_path / "data"
    data.mkdir()
    env = _env(data, db_url)
    rng = random.Random(7 if backend == "sqlite" else 11)
    kills = 4 if backend == "sqlite" else 2
    killed_mid_run = 0
    for _ in range(kills):
        proc = _index(folder, env, processes)
        # a random moment: after a random number of new files were committed, plus a random delay
        # that lands inside the next staging, decoding or database transaction
        target, added = rng.randint(1, 5), 0
        assert proc.stdout is not None
        while added < target:
            line = proc.stdout.readline()
            if not line:
                break
            added += json.loads(line)["status"] == "added"
        time.sleep(rng.uniform(0.0, 0.3))
        whole_group = rng.random() < 0.5
        if proc.poll() is None:
            killed_mid_run += 1
            if whole_group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)  # only the parent: workers must notice and go
        try:
            proc.communicate(timeout=60)  # returns once every process holding its output is gone
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail("worker or decoder processes outlived the killed 'verify index'")
        _check_database(data, db_url)
    assert killed_mid_run >= 2, "the kills should land while indexing is running"

    final = _index(folder, env, processes)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in out + err
    records = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    statuses = {Path(r["path"]).name: r["status"] for r in records}
    assert statuses["broken.jpg"] == "error" and statuses["notes.txt"] == "skipped"
    assert sum(s in ("added", "present") for s in statuses.values()) == N_PHOTOS + 2

    repair = procs.run(
        [sys.executable, "-m", "verify", "doctor", "--repair", "--grace-minutes", "0", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert repair.returncode == 0, repair.stdout + repair.stderr

    settings = load_settings(data_dir=data, db_url=db_url)
    store = Store(settings.database_url)
    try:
        blobs = BlobStore(settings.media_dir)
        report = doctor(store, blobs, repair=False, grace_s=0)
        assert report.ok and report.database_ok
        assert report.orphan_blobs == [] and report.missing_originals == [] and report.incoming_leftovers == []
        assert sorted(store.all_shas()) == sorted(blobs.iter_shas())  # every row its file, every file its row
        assert store.count_items() == N_PHOTOS + 2
        assert len(store.events(kinds=["ingested"])) == N_PHOTOS + 2  # no item recorded twice
        assert audit(store, blobs).ok
    finally:
        store.close()


def test_copy_fallback_never_leaves_a_partial_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On filesystems without hard links the original is copied; a crash mid-copy must not leave a
    partial file under the SHA-256 name (a rerun would adopt it as the evidence).

    The filesystem here has hard links, so its absence is simulated by making ``os.link`` fail the
    way exFAT does, and the crash by an exception half-way through the copy.
    """
    import errno
    import shutil as sh

    from verify.store import BlobStore

    blobs = BlobStore(tmp_path / "media")
    data = f.jpeg_bytes(f.photo(77, (640, 480)))

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    real_copy = sh.copyfileobj

    def crash_half_way(src, dst, length=0):  # type: ignore[no-untyped-def]
        dst.write(src.read(len(data) // 2))
        dst.flush()
        raise KeyboardInterrupt  # stands in for the kill: nothing after this line runs

    staged = blobs.stage_bytes(data, 10**8)
    monkeypatch.setattr(sh, "copyfileobj", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        blobs.commit(staged)
    assert not blobs.exists(staged.sha256), "a partial copy sits under the SHA-256 name"
    monkeypatch.setattr(sh, "copyfileobj", real_copy)
    staged = blobs.stage_bytes(data, 10**8)
    assert blobs.commit(staged) is True
    assert blobs.path_for(staged.sha256).read_bytes() == data
    assert not any(p.name.endswith(".tmp") for p in blobs.root.rglob("*"))
