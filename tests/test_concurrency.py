"""Concurrent editors on SQLite and PostgreSQL: every event recorded, no lost update, no deadlock.

Threads share one ``Services`` (as the workbench's sessions do); separate processes each open
their own, on the same database and media folder (two workbenches, or a workbench and a CLI run).
Every wait is bounded, so a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import factories as f
from verify.config import Settings
from verify.errors import Conflict
from verify.integrity import audit
from verify.services import Services

TESTS = Path(__file__).resolve().parent
STATUSES = ("in_progress", "verified", "false", "misattributed", "inconclusive")


def _photo(seed: int) -> bytes:
    return f.jpeg_bytes(f.photo(seed, (160, 120)))


def _editorial(services: Services, item_id: int) -> list:
    return [e for e in services.store.events(item_id) if e.kind != "ingested"]


def test_stale_editor_is_told_not_overwritten(services: Services) -> None:
    item = services.ingest_bytes(_photo(1), filename="a.jpg", actor="alice").item
    seen_by_bob = services.inspect(item.id, with_matches=False).state.version
    seen_by_carol = services.inspect(item.id, with_matches=False).state.version
    services.record_verdict(item.id, "false", "Recycled.", actor="bob", expected_version=seen_by_bob)
    with pytest.raises(Conflict, match="bob"):
        services.record_verdict(item.id, "verified", "Looks right.", actor="carol", expected_version=seen_by_carol)
    with pytest.raises(Conflict):
        services.add_warning(item.id, "dead_bodies", actor="carol", expected_version=seen_by_carol)
    state = services.inspect(item.id, with_matches=False).state
    assert state.status == "false" and state.verdict.actor == "bob" and state.version == 1
    assert len(_editorial(services, item.id)) == 1


def test_threads_change_the_same_item_without_lost_updates(services: Services) -> None:
    item = services.ingest_bytes(_photo(2), filename="b.jpg", actor="alice").item
    n_threads, attempts = 8, 6
    barrier = threading.Barrier(n_threads, timeout=60)
    lock = threading.Lock()
    won: list[int] = []
    conflicts = 0

    def editor(k: int) -> None:
        nonlocal conflicts
        barrier.wait()
        for a in range(attempts):
            version = services.store.state(item.id).version
            try:
                if (k + a) % 3 == 0:
                    state = services.add_warning(item.id, "graphic_violence", actor=f"editor{k}", expected_version=version)
                else:
                    state = services.record_verdict(item.id, STATUSES[(k + a) % len(STATUSES)], f"attempt {k}.{a}", actor=f"editor{k}", expected_version=version)
            except Conflict:
                with lock:
                    conflicts += 1
            else:
                with lock:
                    won.append(state.version)

    with ThreadPoolExecutor(n_threads) as pool:
        for fut in [pool.submit(editor, k) for k in range(n_threads)]:
            fut.result(timeout=120)  # a deadlock fails here
    assert len(won) + conflicts == n_threads * attempts
    # every accepted change saw the one before it: versions 1..n, each exactly once
    assert sorted(won) == list(range(1, len(won) + 1))
    assert len(_editorial(services, item.id)) == len(won)
    assert services.store.state(item.id).version == len(won)
    assert audit(services.store, services.blobs).ok


def test_threads_upload_at_once(services: Services) -> None:
    shared = _photo(3)
    n = 8
    barrier = threading.Barrier(n, timeout=60)

    def upload(k: int) -> tuple[int, bool, int]:
        barrier.wait()
        same = services.ingest_bytes(shared, filename=f"same-{k}.jpg", actor=f"u{k}")
        own = services.ingest_bytes(_photo(100 + k), filename=f"own-{k}.jpg", actor=f"u{k}")
        return same.item.id, same.created, own.item.id

    with ThreadPoolExecutor(n) as pool:
        results = [fut.result(timeout=180) for fut in [pool.submit(upload, k) for k in range(n)]]
    assert len({r[0] for r in results}) == 1  # the same bytes are one item
    assert sum(r[1] for r in results) == 1  # created exactly once
    assert len({r[2] for r in results}) == n
    assert services.store.count_items() == n + 1
    assert len(services.store.events(kinds=["ingested"])) == n + 1
    assert audit(services.store, services.blobs).ok
    assert sorted(services.store.all_shas()) == sorted(services.blobs.iter_shas())


WORKER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    import factories as f
    from verify.config import load_settings
    from verify.errors import Conflict
    from verify.services import Services

    k, item_id, attempts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    s = Services(load_settings())
    won, conflicts, uploads = [], 0, []
    for a in range(attempts):
        v = s.store.state(item_id).version
        try:
            st = s.record_verdict(item_id, "inconclusive" if a % 2 else "in_progress", f"p{{k}}.{{a}}", actor=f"proc{{k}}", expected_version=v)
            won.append(st.version)
        except Conflict:
            conflicts += 1
        if a % 4 == 0:
            for seed in (777, 1000 * k + a):  # one file every process sends, one of its own
                r = s.ingest_bytes(f.jpeg_bytes(f.photo(seed, (120, 90))), filename=f"p{{k}}-{{seed}}.jpg", actor=f"proc{{k}}")
                uploads.append([r.item.id, r.created])
    s.close()
    print(json.dumps({{"won": won, "conflicts": conflicts, "uploads": uploads}}))
    """
).format(tests=str(TESTS))


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VERIFY_DB"}
    env["VERIFY_DATA_DIR"] = str(settings.data_dir)
    if settings.db_url:
        env["VERIFY_DB"] = settings.db_url
    return env


def test_processes_change_the_same_item_without_lost_updates(services: Services, settings: Settings, processes) -> None:  # type: ignore[no-untyped-def]
    item = services.ingest_bytes(_photo(4), filename="c.jpg", actor="alice").item
    n_procs, attempts = 4, 12
    procs = [
        processes.start([sys.executable, "-c", WORKER, str(k), str(item.id), str(attempts)], env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(n_procs)
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=240)  # a deadlock fails here
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    won = sorted(v for o in outs for v in o["won"])
    assert len(won) + sum(o["conflicts"] for o in outs) == n_procs * attempts
    assert won == list(range(1, len(won) + 1))
    assert len(_editorial(services, item.id)) == len(won)
    shared_ids = {u[0] for o in outs for u in o["uploads"][0::2]}
    assert len(shared_ids) == 1 and sum(u[1] for o in outs for u in o["uploads"][0::2]) == 1
    own = [u for o in outs for u in o["uploads"][1::2]]
    assert all(created for _, created in own) and len({i for i, _ in own}) == len(own)
    assert services.store.count_items() == 1 + 1 + len(own)
    report = audit(services.store, services.blobs)
    assert report.ok, report.problems


PEER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    import factories as f
    from verify.config import load_settings
    from verify.services import Services

    s = Services(load_settings())
    print(json.dumps({{"ready": s.store.count_items()}}), flush=True)
    sys.stdin.readline()  # wait until the other desk has ingested its file
    seen = [item.sha256 for item, _, _ in s.list_items()]
    view = s.inspect(max(i.id for i, _, _ in s.list_items()), with_matches=False)
    r = s.ingest_bytes(f.jpeg_bytes(f.photo(4242, (400, 300))), filename="from-b.jpg", actor="desk-b")
    print(json.dumps({{"seen": seen, "original_exists": s.original_path(view.item).is_file(), "added": r.item.sha256}}), flush=True)
    sys.stdin.readline()
    s.close()
    """
).format(tests=str(TESTS))


def test_two_desks_share_one_store(services: Services, settings: Settings, tmp_path: Path, processes) -> None:  # type: ignore[no-untyped-def]
    """Two Services in separate processes, one database and one media folder: each sees the other's work."""
    services.ingest_bytes(_photo(5), filename="seed.jpg", actor="desk-a")
    services.match_path(f.write(tmp_path / "warm.jpg", _photo(6)))  # desk A's match index is loaded now
    peer = processes.start([sys.executable, "-c", PEER], env=_env(settings), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None and peer.stdin is not None
        assert json.loads(peer.stdout.readline())["ready"] == 1
        mine = services.ingest_bytes(_photo(7), filename="from-a.jpg", actor="desk-a").item
        peer.stdin.write("go\n")
        peer.stdin.flush()
        line = peer.stdout.readline()
        assert line, peer.stderr.read()[-2000:]
        report = json.loads(line)
        assert mine.sha256 in report["seen"] and report["original_exists"]
        theirs = report["added"]
        assert theirs in {item.sha256 for item, _, _ in services.list_items()}
        # desk A's matcher finds desk B's picture from a recompressed copy
        from PIL import Image
        import io

        copy = f.jpeg_bytes(Image.open(io.BytesIO(f.jpeg_bytes(f.photo(4242, (400, 300))))).resize((300, 225)), quality=60)
        outcome = services.match_path(f.write(tmp_path / "copy.jpg", copy)).outcome
        assert theirs in {m.item.sha256 for m in outcome.matches}
        peer.stdin.write("done\n")
        peer.stdin.flush()
        peer.wait(timeout=60)
    finally:
        if peer.poll() is None:
            peer.kill()
