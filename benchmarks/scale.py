"""Scale benchmark: a big archive in a real store, measured the way an editor meets it.

The archive is built the honest way: a few dozen corpus photos are ingested for real (decode,
fingerprints, keypoint words, metadata, the hash-chained event), then their fingerprint rows are
replicated into N items with perturbed bits (every hash bit flipped with probability ``FLIP``=0.4,
about 26 of 64 bits: other pictures, though still a little closer to their source photo than
unrelated ones would be; keypoint words replaced by random 22-bit words). Replicas get their media_item, metadata and item_state rows (so the inbox and its
search see N items) but no event and no original file: they are never the answer, they are the
crowd the answer must be found in.

Reported per size (SQLite, this machine, whatever else it is running):
- ``verify match one.jpg`` cold (a new process), wall time and peak RSS: first with no index files
  (the index is built), then again (the files are opened);
- a warm query in a loaded process (``Services.match_path``, hashes and keypoint confirmation);
- the index files' size;
- 1,000 items added by another process, taken in by a loaded process (``Services._sync_index``);
- ``verify index`` of one new photo (a new process);
- inbox listings: a text search, the flagged items, the newest 500.

    .venv/bin/python benchmarks/scale.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import CORPUS, ROOT, table

PLACES = ["Beirut", "Mosul", "Aleppo", "Gaza", "Kyiv", "Kharkiv", "Khartoum", "Tripoli", "Sanaa", "Idlib", "Homs", "Basra"]
FLIP = 0.4
SOURCES = ["Telegram channel", "X post", "WhatsApp forward", "Agency wire", "Facebook group", "TikTok"]


def _env(data: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), VERIFY_DATA_DIR=str(data))
    env.pop("VERIFY_DB", None)
    return env


_WRAP = """
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run([sys.executable, "-m", "verify", *sys.argv[1:]], capture_output=True, text=True)
wall = time.perf_counter() - t
sys.stdout.write(p.stdout)
sys.stderr.write(p.stderr)
print(f"\\nWALL {wall} RSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} RC {p.returncode}", file=sys.stderr)
"""


def _run(args: list[str], data: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in GB of the biggest process of that command, stdout).

    Measured by a wrapper process per command, so one command's peak is not another's."""
    p = subprocess.run([sys.executable, "-c", _WRAP, *args], env=_env(data), capture_output=True, text=True, timeout=3600)
    tail = p.stderr.rsplit("WALL ", 1)[-1].split()
    wall, rss, rc = float(tail[0]), int(tail[2]), int(tail[4])
    if rc not in (0, 1):
        raise SystemExit(f"verify {' '.join(args)} failed: {p.stderr[-2000:]}")
    return wall, rss / 1024**2, p.stdout


def seed(data: Path, photos: list[Path]) -> None:
    """Ingest the real photos through the CLI (every core)."""
    folder = data.parent / "seed"
    folder.mkdir(exist_ok=True)
    for p in photos:
        shutil.copy(p, folder / p.name)
    _run(["index", str(folder), "--source", "Agency wire"], data)


def replicate(db: Path, target_items: int, rng: np.random.Generator, *, start_name: int = 0) -> int:
    """Add replicas of the stored real items until the archive holds ``target_items``. Returns items added."""
    con = sqlite3.connect(db, timeout=60)
    con.execute("PRAGMA journal_mode=WAL")
    real = con.execute("SELECT id FROM media_item WHERE ingested_by != 'bench' ORDER BY id").fetchall()
    rows = {i: con.execute("SELECT algorithm, variant, frame_time_s, value FROM fingerprint WHERE item_id = ?", (i,)).fetchall() for (i,) in real}
    have = con.execute("SELECT count(*) FROM media_item").fetchone()[0]
    need = target_items - have
    next_id = con.execute("SELECT max(id) FROM media_item").fetchone()[0] + 1
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    done = 0
    batch = 5000
    while done < need:
        k = min(batch, need - done)
        items, metas, states, fps = [], [], [], []
        for j in range(k):
            item_id = next_id + done + j
            src = real[(item_id) % len(real)][0]
            n = start_name + done + j
            place = PLACES[n % len(PLACES)]
            items.append((item_id, hashlib.sha256(f"replica {item_id}".encode()).hexdigest(), "image", "image/jpeg", 1000, 640, 480, f"{place.lower()}_{n}.jpg", "archive",
                          SOURCES[n % len(SOURCES)], place, now, now, "bench"))  # fmt: skip
            metas.append((item_id, "Canon" if n % 3 else "NIKON", f"model {n % 50}", "{}"))
            states.append((item_id, "unverified", 0, "[]" if n % 200 else '["graphic_violence"]', now))
            for algo, variant, t, value in rows[src]:
                if algo == "orb-lsh-v1":
                    if value:
                        value = rng.integers(0, 1 << 22, len(value) // 4, dtype=np.uint32).astype("<u4").tobytes()
                else:
                    flips = np.packbits(rng.random(len(value) * 8) < FLIP).tobytes()
                    value = bytes(a ^ b for a, b in zip(value, flips))
                fps.append((item_id, algo, variant, t, value))
        with con:
            con.executemany("INSERT INTO media_item (id, sha256, kind, mime, bytes, width, height, filename, origin, source, claimed_place, "
                            "first_seen_at, ingested_at, ingested_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", items)  # fmt: skip
            con.executemany("INSERT INTO metadata (item_id, make, model, data) VALUES (?,?,?,?)", metas)
            con.executemany("INSERT INTO item_state (item_id, status, version, warnings, updated_at) VALUES (?,?,?,?,?)", states)
            con.executemany("INSERT INTO fingerprint (item_id, algorithm, variant, frame_time_s, value) VALUES (?,?,?,?,?)", fps)
        done += k
    con.close()
    return done


_ADD_1000 = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from scale import replicate
from pathlib import Path
db = Path(sys.argv[2])
import sqlite3
n = sqlite3.connect(db).execute("SELECT count(*) FROM media_item").fetchone()[0]
replicate(db, n + 1000, np.random.default_rng(99), start_name=n)
"""


def _index_bytes(data: Path) -> int:
    return sum(p.stat().st_size for p in (data / "index").rglob("*.npy"))


def measure(size: int, photos: list[Path], query: Path, newcomer: Path, work: Path) -> list[object]:
    data = work / f"archive-{size}" / "data"
    data.mkdir(parents=True)
    seed(data, photos)
    db = data / "verify.sqlite3"
    t = time.perf_counter()
    replicate(db, size, np.random.default_rng(size))
    build_s = time.perf_counter() - t
    print(f"  {size:,} items: replicas written in {build_s:.0f} s", file=sys.stderr)

    first_wall, first_rss, _ = _run(["match", "--json", str(query)], data)  # builds the index files
    cold_wall, cold_rss, out = _run(["match", "--json", str(query)], data)  # opens them
    rec = json.loads(out.splitlines()[0])
    found = [m["filename"] for m in rec["matches"]]
    chance = len(rec["candidates"])
    print(f"  candidates: {[m['filename'] for m in rec['candidates']]}", file=sys.stderr)

    from verify.config import load_settings
    from verify.services import Services
    from verify.store import ItemFilter

    svc = Services(load_settings(data_dir=data))
    t = time.perf_counter()
    _ = svc.matcher.index  # a new process opening the saved index (checked against the store)
    open_s = time.perf_counter() - t
    svc.match_path(query)
    analysis = svc.analyse(query, for_archive=False)
    t = time.perf_counter()
    for _ in range(3):
        svc.match_path(query)
    warm = (time.perf_counter() - t) / 3
    t = time.perf_counter()
    for _ in range(3):
        svc.matcher.match(analysis.fingerprints, query_path=query)
    warm_match = (time.perf_counter() - t) / 3
    sources = dict(svc.matcher.feature_sources)

    subprocess.run([sys.executable, "-c", _ADD_1000, str(Path(__file__).parent), str(db)], env=_env(data), check=True, timeout=3600)
    t = time.perf_counter()
    svc._sync_index()
    pickup = time.perf_counter() - t

    searches = {}
    for label, f in (("text 'beirut'", ItemFilter(text="beirut")), ("text 'telegram kyiv'", ItemFilter(text="telegram kyiv")),
                     ("flagged", ItemFilter(has_warning=True)), ("newest 500", ItemFilter())):  # fmt: skip
        svc.list_items(f)
        t = time.perf_counter()
        svc.list_items(f)
        searches[label] = time.perf_counter() - t
    svc.close()
    pages = workbench_pages(data, query)

    folder = work / f"new-{size}"
    folder.mkdir()
    shutil.copy(newcomer, folder / newcomer.name)
    index_wall, index_rss, _ = _run(["index", str(folder)], data)

    return [
        f"{size:,}",
        f"{first_wall:.1f} s / {first_rss:.2f} GB",
        f"{cold_wall:.1f} s / {cold_rss:.2f} GB",
        f"{open_s * 1000:.0f} ms",
        f"{warm * 1000:.0f} ms ({warm_match * 1000:.0f} ms matching)",
        f"{_index_bytes(data) / 1e6:.0f} MB",
        f"{pickup * 1000:.0f} ms",
        f"{index_wall:.1f} s",
        " / ".join(f"{v * 1000:.0f}" for v in searches.values()) + " ms",
        " / ".join(f"{a:.1f}-{b:.1f}" for a, b in pages.values()) + " s",
        f"{', '.join(found) or 'none'}; {chance} candidates; archive keypoints {sources.get('stored', 0)} stored / {sources.get('decoded', 0)} decoded",
    ]


def workbench_pages(data: Path, query: Path) -> dict[str, tuple[float, float]]:
    """First and second script run of the workbench's inbox, an inbox text search, an item page
    and its matches page, through Streamlit's AppTest in this process (a fresh server process's
    first visitor: the first inbox run opens the store and the index files). Not Chromium: the
    browser's rendering is left out, the server's work is all in."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from verify.config import load_settings
    from verify.services import Services

    os.environ["VERIFY_DATA_DIR"] = str(data)
    os.environ["VERIFY_UI_WORKERS"] = "0"
    os.environ.pop("VERIFY_DB", None)
    svc = Services(load_settings(data_dir=data))
    report = svc.match_path(query)  # the archived photo the query was made from (a real ingest)
    target = report.outcome.matches[0].item.id if report.outcome.matches else 1
    svc.close()
    st.cache_resource.clear()
    app = str(ROOT / "app.py")
    pages_dir = "src/verify/ui/pages"
    out: dict[str, tuple[float, float]] = {}

    def timed(at: AppTest) -> float:
        t = time.perf_counter()
        at.run()
        took = time.perf_counter() - t
        if at.exception:
            raise RuntimeError(str(at.exception))
        return took

    at = AppTest.from_file(app, default_timeout=600)
    at.session_state["editor_name"] = "Bench"
    at.switch_page(f"{pages_dir}/inbox.py")
    out["inbox"] = (timed(at), timed(at))
    at.text_input(key="inbox_text").input("beirut")
    first = timed(at)
    out["inbox search"] = (first, timed(at))
    at.query_params["item"] = str(target)
    at.switch_page(f"{pages_dir}/item.py")
    out["item"] = (timed(at), timed(at))
    at.switch_page(f"{pages_dir}/matches.py")
    out["matches"] = (timed(at), timed(at))
    st.cache_resource.clear()
    print(f"  workbench (AppTest, first-second run, s): {out}", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--photos", type=int, default=40, help="real corpus photos ingested before replication")
    args = ap.parse_args()
    photos = sorted((CORPUS / "photos").glob("*.jpg"))[: args.photos + 1]
    if len(photos) < 3:
        raise SystemExit(f"The corpus is not at {CORPUS}; set VERIFY_CORPUS.")
    archive, newcomer = photos[:-1], photos[-1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # the query: a re-encoded, downscaled copy of an archived photo
        from PIL import Image

        query = work / "query.jpg"
        with Image.open(archive[len(archive) // 2]) as im:
            im.convert("RGB").resize((im.width // 2, im.height // 2)).save(query, quality=75)
        print(f"# Scale: archives of {len(archive)} real corpus photos ingested, replicated with perturbed fingerprint rows "
              f"(bits flipped with p={FLIP}, random keypoint words) to each size; SQLite; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores at the start\n")  # fmt: skip
        rows = [measure(size, archive, query, newcomer, work) for size in args.sizes]
        print(table(["items", "`verify match` cold, no index files (build)", "`verify match` cold, files", "index open (in process)", "warm query (of which matching)", "index files",
                     "take in 1,000 items from another process", "`verify index` one photo", "inbox: 'beirut' / 'telegram kyiv' / flagged / newest 500",
                     "workbench (AppTest) first-second run: inbox / inbox search / item / matches",
                     "query result (should be the photo, 0 chance candidates)"], rows))  # fmt: skip
        print(f"\nexpected match: {archive[len(archive) // 2].name}; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
