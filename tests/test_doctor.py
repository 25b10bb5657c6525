"""``verify doctor``: finds what an interrupted ingest leaves, repairs only what is safe.

Orphan originals (file without row) and unfinished uploads are removed; a row whose original is
missing is reported loudly and never "repaired" away; referenced originals are never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import factories as f
import procs
from verify.config import Settings
from verify.integrity import doctor, hash_file
from verify.services import Services


def _orphan(services: Services, seed: int) -> str:
    """What a kill between linking the original and committing the row leaves behind."""
    staged = services.blobs.stage_bytes(f.jpeg_bytes(f.photo(seed, (64, 64))), 10**8)
    services.blobs.commit(staged)
    return staged.sha256


def _cli_doctor(settings: Settings, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "verify", "doctor", "--data-dir", str(settings.data_dir), "--json", *extra]
    if settings.db_url:
        args += ["--db", settings.db_url]
    env = {k: v for k, v in os.environ.items() if k != "VERIFY_DB"}
    return procs.run(args, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def stocked(services: Services) -> Services:
    for seed in range(3):
        services.ingest_bytes(f.jpeg_bytes(f.photo(seed, (160, 120))), filename=f"{seed}.jpg", actor="alice")
    return services


def _originals(services: Services) -> dict[str, str]:
    return {item.sha256: hash_file(services.original_path(item))[0] for item, _, _ in services.list_items()}


def test_healthy_store(stocked: Services, settings: Settings) -> None:
    report = doctor(stocked.store, stocked.blobs, grace_s=0)
    assert report.ok and report.database_ok and not report.problems
    proc = _cli_doctor(settings, "--grace-minutes", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_orphans_and_leftovers_are_found_then_removed(stocked: Services, settings: Settings) -> None:
    before = _originals(stocked)
    orphan = _orphan(stocked, 50)
    leftover = stocked.blobs.incoming / "0123abcd.part"
    leftover.write_bytes(b"half an upload")
    report = doctor(stocked.store, stocked.blobs, grace_s=0)
    assert report.orphan_blobs == [orphan]
    assert report.incoming_leftovers == ["0123abcd.part"]
    assert stocked.blobs.exists(orphan) and leftover.exists()  # nothing touched without --repair

    proc = _cli_doctor(settings, "--repair", "--grace-minutes", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and len(out["repaired"]) == 2
    assert not stocked.blobs.exists(orphan) and not leftover.exists()
    assert _originals(stocked) == before  # every referenced original kept, byte for byte
    assert doctor(stocked.store, stocked.blobs, grace_s=0).problems == []


def test_recent_debris_is_left_alone(stocked: Services) -> None:
    """An ingest may be between linking and committing right now: young orphans are not deleted."""
    orphan = _orphan(stocked, 51)
    report = doctor(stocked.store, stocked.blobs, repair=True)  # default grace: 15 minutes
    assert report.skipped_recent == [orphan] and stocked.blobs.exists(orphan)
    old = time.time() - 3600
    os.utime(stocked.blobs.path_for(orphan), (old, old))
    # ctime cannot be set back; a zero grace is what an operator uses after a known crash
    report = doctor(stocked.store, stocked.blobs, repair=True, grace_s=0)
    assert not stocked.blobs.exists(orphan)


def test_missing_original_is_reported_loudly_and_never_repaired_away(stocked: Services, settings: Settings) -> None:
    item = stocked.list_items()[0][0]
    path = stocked.original_path(item)
    os.chmod(path, 0o644)
    path.unlink()
    proc = _cli_doctor(settings, "--repair", "--grace-minutes", "0")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["missing_originals"] == [{"item_id": item.id, "sha256": item.sha256}]
    assert any("EVIDENCE MISSING" in p["message"] for p in out["problems"])
    assert stocked.store.item(item.id).sha256 == item.sha256  # the record stays
    human = procs.run(
        [sys.executable, "-m", "verify", "doctor", "--data-dir", str(settings.data_dir), *(["--db", settings.db_url] if settings.db_url else [])],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert human.returncode == 1 and "EVIDENCE MISSING" in human.stdout and "Traceback" not in human.stderr


def test_writable_original_is_made_read_only(stocked: Services) -> None:
    item = stocked.list_items()[0][0]
    path = stocked.original_path(item)
    os.chmod(path, 0o644)
    report = doctor(stocked.store, stocked.blobs, repair=True, grace_s=0)
    assert report.writable_originals == [item.sha256]
    assert not os.stat(path).st_mode & 0o222


def test_stray_files_are_reported_not_deleted(stocked: Services) -> None:
    stray = stocked.blobs.root / "ab" / "cd" / "notes.txt"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("someone's notes")
    report = doctor(stocked.store, stocked.blobs, repair=True, grace_s=0)
    assert report.stray_files == ["ab/cd/notes.txt"] and stray.exists()


def test_orphan_is_adopted_when_the_same_file_is_ingested_again(stocked: Services) -> None:
    """After a crash the rerun of the same file links the row to the orphan instead of failing."""
    data = f.jpeg_bytes(f.photo(52, (64, 64)))
    staged = stocked.blobs.stage_bytes(data, 10**8)
    stocked.blobs.commit(staged)
    result = stocked.ingest_bytes(data, filename="again.jpg", actor="alice")
    assert result.created
    report = doctor(stocked.store, stocked.blobs, grace_s=0)
    assert report.orphan_blobs == [] and report.ok


def test_repair_while_ingesting_never_removes_a_committed_original(services: Services) -> None:
    """With no grace period for orphan originals, doctor --repair racing live ingests leaves no row
    without its file: removal is re-checked under the chain lock every ingest holds while linking.
    (Uploads still being written to .incoming are protected by their age alone.)"""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    done = threading.Event()
    repairs = 0

    def janitor() -> None:
        nonlocal repairs
        while not done.is_set():
            doctor(services.store, services.blobs, repair=True, grace_s=0, incoming_grace_s=600)
            repairs += 1

    def ingest(k: int) -> None:
        for n in range(5):
            services.ingest_bytes(f.jpeg_bytes(f.photo(7000 + 10 * k + n, (320, 240))), filename=f"{k}-{n}.jpg", actor=f"u{k}")

    jan = threading.Thread(target=janitor)
    jan.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            for fut in [pool.submit(ingest, k) for k in range(4)]:
                fut.result(timeout=180)
    finally:
        done.set()
        jan.join(timeout=120)
    assert repairs >= 2
    report = doctor(services.store, services.blobs, grace_s=0)
    assert report.missing_originals == [] and report.ok, report.problems
    assert services.store.count_items() == 20
    assert sorted(services.store.all_shas()) == sorted(services.blobs.iter_shas())


def test_unfinished_copies_are_removed(stocked: Services) -> None:
    """What a kill during the copy fallback (no hard links) leaves: a .tmp beside the originals."""
    sha = next(iter(_originals(stocked)))
    debris = stocked.blobs.path_for(sha).with_name(f"{sha}.{'ab' * 16}.tmp")
    debris.write_bytes(b"half a copy")
    report = doctor(stocked.store, stocked.blobs, grace_s=0)
    assert debris.name in report.incoming_leftovers and debris.exists()
    doctor(stocked.store, stocked.blobs, repair=True, grace_s=0)
    assert not debris.exists() and stocked.blobs.path_for(sha).exists()
