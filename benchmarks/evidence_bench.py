"""What an evidence bundle costs as the desk's chain grows, and what checking it costs.

A bundle holds the chain links from the item's first event to the head, so an old item in a busy
desk carries many links. This script builds a SQLite store with one 3 MB photo ingested first,
then N events of other items, and times ``build_bundle`` (matches left out: their cost is the
matcher's, measured in speed.py) and ``check_bundle``. The baseline in the same run is the
floor any bundle pays: zipping the original and hashing it once (``zip_floor``). Figures are
ratios to that floor and bytes of ``chain/links.txt`` per event.

    PYTHONPATH=src python benchmarks/evidence_bench.py --events 1000 10000 50000
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import factories as f  # noqa: E402
from verify.bundle import build_bundle, check_bundle  # noqa: E402
from verify.config import load_settings  # noqa: E402
from verify.services import Services  # noqa: E402
from verify.store import schema  # noqa: E402


def zip_floor(original: Path, out: Path) -> float:
    t = time.perf_counter()
    hashlib.sha256(original.read_bytes()).hexdigest()
    with zipfile.ZipFile(out, "w") as zf:
        zf.write(original, "original.jpg", compress_type=zipfile.ZIP_STORED)
    return time.perf_counter() - t


def seed_events(svc: Services, n: int, other_item: int) -> None:
    """N notes on another item, appended through the store's real chain code in big transactions."""
    done = 0
    while done < n:
        with svc.store.write() as conn:
            for _ in range(min(2000, n - done)):
                svc.store._append_event(conn, other_item, "bench", "note", {"text": f"note {done}"})
                done += 1


def run(sizes: list[int]) -> None:
    print("| events in the chain | links.txt bytes | bytes per event | zip floor s | build s | check s | build / zip floor | check / zip floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(data_dir=Path(tmp) / "data")
            svc = Services(settings)
            photo = f.jpeg_bytes(f.photo(1, (4000, 3000)), quality=95)
            item = svc.ingest_bytes(photo, filename="scene.jpg", actor="alice").item
            other = svc.ingest_bytes(f.jpeg_bytes(f.photo(2, (200, 150))), filename="o.jpg", actor="alice").item
            svc.record_verdict(item.id, "false", "Recycled.", actor="bob")
            seed_events(svc, n, other.id)
            svc.record_verdict(item.id, "misattributed", "Other city.", actor="bob")
            floor = min(zip_floor(svc.original_path(item), Path(tmp) / f"floor{k}.zip") for k in range(3))
            t = time.perf_counter()
            result = build_bundle(svc, [item.id], Path(tmp) / "b.zip", actor="bench", with_matches=False)
            build = time.perf_counter() - t
            t = time.perf_counter()
            report = check_bundle(result.path)
            check = time.perf_counter() - t
            assert report.ok, report.problems
            with zipfile.ZipFile(result.path) as zf:
                links = zf.getinfo("chain/links.txt").file_size
            with svc.store.read() as conn:
                total = conn.execute(schema.chain_head.select()).one().events
            svc.close()
            print(f"| {total:,} | {links:,} | {links / total:.0f} | {floor:.3f} | {build:.2f} | {check:.2f} | {build / floor:.1f} | {check / floor:.1f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1000, 10000])
    run(ap.parse_args().events)
