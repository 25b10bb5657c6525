"""The match index on disk (matching/persist.py): checked against the store, extended, never wrong.

Real stores on both backends, real files, real second processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from factories import jpeg_bytes, photo, write
from verify.config import Settings
from verify.fingerprints import ALGORITHMS
from verify.matching import persist
from verify.services import Services

ROOT = Path(__file__).resolve().parents[1]


def _manifest_path(settings: Settings) -> Path:
    [m] = list((settings.data_dir / "index").glob("*/manifest.json"))
    return m


def _photos(tmp: Path, seeds: range) -> list[Path]:
    return [write(tmp / f"p{s}.jpg", jpeg_bytes(photo(s))) for s in seeds]


def _found(svc: Services, path: Path) -> list[int]:
    return [m.item.id for m in svc.match_path(path, exclude_item_id=-1).outcome.matches]


def _contents(svc: Services) -> tuple[set[tuple[int, str, bytes]], int]:
    """Every hash the loaded index holds (item, variant, value) and how many pictures have keypoint words."""
    index = svc.matcher.index
    rows = set()
    for fp_item in svc.store.iter_fingerprints():
        item_id, fp = fp_item
        if fp.algorithm != "phash-v2":
            continue
        hits = index.search(fp, 0, limit=10_000)
        if any(h.item_id == item_id and h.variant == fp.variant for h in hits):
            rows.add((item_id, fp.variant, fp.value))
    return rows, len(svc.matcher.keypoints)


def _expected(svc: Services) -> tuple[set[tuple[int, str, bytes]], int]:
    rows = {(i, fp.variant, fp.value) for i, fp in svc.store.iter_fingerprints() if fp.algorithm == "phash-v2"}
    kp = {i for i, fp in svc.store.iter_fingerprints() if fp.algorithm == "orb-lsh-v1" and fp.value}
    return rows, len(kp)


@pytest.fixture
def archive(settings: Settings, tmp_path: Path) -> tuple[Settings, list[Path]]:
    """Four photos stored; the index built once by a first desk."""
    paths = _photos(tmp_path, range(4))
    svc = Services(settings)
    for p in paths:
        svc.ingest_path(p, actor="archivist")
    assert _found(svc, paths[0]) == [1]
    assert svc.matcher._persistent.last_open["how"] == "rebuilt"
    svc.close()
    return settings, paths


def test_a_second_desk_opens_the_saved_index_without_rebuilding(archive: tuple[Settings, list[Path]]) -> None:
    settings, paths = archive
    svc = Services(settings)
    try:
        assert _found(svc, paths[2]) == [3]
        opened = svc.matcher._persistent.last_open
        assert opened["how"] == "opened" and opened["rows_caught_up"] == 0 and opened["rows_from_files"] > 0
        assert _contents(svc) == _expected(svc)
    finally:
        svc.close()


@pytest.mark.parametrize(
    "tamper",
    ["rows", "digest", "format", "algorithms", "store"],
)
def test_a_manifest_that_disagrees_with_the_store_is_rebuilt(archive: tuple[Settings, list[Path]], tamper: str) -> None:
    settings, paths = archive
    mp = _manifest_path(settings)
    m = json.loads(mp.read_text())
    m[tamper] = {"rows": m["rows"] - 1, "digest": "0" * 32, "format": persist.FORMAT + 1, "algorithms": ["phash-v1"], "store": "another"}[tamper]
    mp.write_text(json.dumps(m))
    svc = Services(settings)
    try:
        assert _found(svc, paths[1]) == [2]
        assert svc.matcher._persistent.last_open["how"] == "rebuilt"
        assert _contents(svc) == _expected(svc)
        assert json.loads(mp.read_text())["rows"] == m["rows"] if tamper != "rows" else True
    finally:
        svc.close()


@pytest.mark.parametrize("damage", ["truncated", "missing", "flipped", "manifest garbage"])
def test_a_torn_or_missing_file_is_rebuilt_never_used(archive: tuple[Settings, list[Path]], damage: str) -> None:
    settings, paths = archive
    mp = _manifest_path(settings)
    m = json.loads(mp.read_text())
    target = mp.parent / m["segments"][0]["files"]["h.phash-v2.hashes"]["file"]
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:-8])
    elif damage == "missing":
        target.unlink()
    elif damage == "flipped":
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF  # same size, different hash bits: only the checksum can tell
        target.write_bytes(bytes(data))
    else:
        mp.write_text('{"format": 1, "segm')
    svc = Services(settings)
    try:
        assert _found(svc, paths[3]) == [4]
        assert svc.matcher._persistent.last_open["how"] == "rebuilt"
        assert _contents(svc) == _expected(svc)
    finally:
        svc.close()


_PEER = """
import sys
from pathlib import Path
from verify.config import load_settings
from verify.services import Services
svc = Services(load_settings())
for p in sys.argv[1:]:
    svc.ingest_path(Path(p), actor="colleague")
svc.close()
"""


def _peer_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), VERIFY_DATA_DIR=str(settings.data_dir))
    env.pop("VERIFY_DB", None)
    if not settings.database_url.startswith("sqlite"):
        env["VERIFY_DB"] = settings.database_url
    return env


def test_items_another_process_adds_are_taken_in_without_a_reload(archive: tuple[Settings, list[Path]], tmp_path: Path) -> None:
    settings, paths = archive
    svc = Services(settings)
    try:
        assert _found(svc, paths[0]) == [1]
        index_before = svc.matcher.index
        new = _photos(tmp_path / "new", range(10, 13)) if (tmp_path / "new").mkdir() is None else []
        subprocess.run([sys.executable, "-c", _PEER, *map(str, new)], env=_peer_env(settings), check=True, timeout=300, start_new_session=True)
        # the colleague's pictures are found by this desk, which took in only the new rows
        assert _found(svc, new[1]) == [6]
        assert svc.matcher.index is index_before
        assert svc.matcher._persistent.last_open["how"] == "opened"
        assert _contents(svc) == _expected(svc)
        # and they were saved as a segment: a third desk opens the files and reads nothing from the store
        svc3 = Services(settings)
        try:
            assert _found(svc3, new[2]) == [7]
            assert svc3.matcher._persistent.last_open["rows_caught_up"] == 0
            assert _contents(svc3) == _expected(svc3)
        finally:
            svc3.close()
    finally:
        svc.close()


def test_many_small_additions_are_merged_and_stay_exact(settings: Settings, tmp_path: Path) -> None:
    svc = Services(settings)
    try:
        paths = _photos(tmp_path, range(20, 32))
        svc.ingest_path(paths[0], actor="a")
        _found(svc, paths[0])  # loads (builds) the index; every later ingest saves a small segment
        for p in paths[1:]:
            svc.ingest_path(p, actor="a")
        m = json.loads(_manifest_path(settings).read_text())
        assert len(m["segments"]) < len(paths) - 2  # merged as they accumulated
        other = Services(settings)
        try:
            assert other.matcher.index is not None and other.matcher._persistent.last_open["how"] == "opened"
            assert _contents(other) == _expected(other)
            assert [_found(other, p) for p in paths] == [[i] for i in range(1, len(paths) + 1)]
        finally:
            other.close()
    finally:
        svc.close()


def test_a_reader_opening_while_another_process_extends_never_sees_a_torn_index(settings: Settings, tmp_path: Path) -> None:
    """Files are written under new names and then named by an atomically replaced manifest."""
    svc = Services(settings)
    svc.ingest_path(_photos(tmp_path, range(40, 41))[0], actor="a")
    _found(svc, tmp_path / "p40.jpg")
    (tmp_path / "more").mkdir()
    more = _photos(tmp_path / "more", range(41, 47))
    # the peer opens its own index (loading it by matching first) and saves a segment per ingest
    script = _PEER.replace("for p in sys.argv[1:]:", "svc.match_path(Path(sys.argv[1]))\nfor p in sys.argv[1:]:")
    peer = subprocess.Popen([sys.executable, "-c", script, *map(str, more)], env=_peer_env(settings), start_new_session=True)
    try:
        seen = 0
        while peer.poll() is None or seen == 0:
            reader = persist.PersistentIndex(svc.matcher._persistent.files.folder, svc.store, ALGORITHMS)
            hashes, keypoints = reader.open()
            # whatever state the files were in, the reader's index holds exactly the store's rows
            # up to its watermark: nothing missing, nothing twice
            cols = svc.store.fingerprint_columns(0, 10**6)
            upto = cols.ids <= reader.watermark
            assert len(hashes) == sum(1 for k in np.flatnonzero(upto) if cols.algorithms[k] == "phash-v2")
            assert len(keypoints) == len({int(cols.item_ids[k]) for k in np.flatnonzero(upto) if cols.algorithms[k] == "orb-lsh-v1" and cols.values[k]})
            assert reader.last_open["how"] in ("opened", "rebuilt")
            seen += 1
        assert peer.wait(timeout=300) == 0
    finally:
        if peer.poll() is None:
            os.killpg(peer.pid, 9)
            peer.wait()
        svc.close()


def test_store_columns_equal_the_row_by_row_reader(services: Services, tmp_path: Path) -> None:
    for p in _photos(tmp_path, range(50, 53)):
        services.ingest_path(p, actor="a")
    cols = services.store.fingerprint_columns(0, 10_000)
    rows = list(services.store.iter_fingerprints())
    assert len(cols) == len(rows)
    for k, (item_id, fp) in enumerate(rows):
        t = cols.frame_times[k]
        assert (cols.item_ids[k], cols.algorithms[k], cols.variants[k], cols.values[k]) == (item_id, fp.algorithm, fp.variant, fp.value)
        assert (fp.frame_time_s is None and np.isnan(t)) or t == fp.frame_time_s
    # paging by id
    half = services.store.fingerprint_columns(int(cols.ids[9]), 10_000)
    assert half.ids.tolist() == cols.ids[10:].tolist()


def test_without_a_usable_index_folder_matching_still_works_from_the_store(settings: Settings, tmp_path: Path) -> None:
    (settings.data_dir / "index").write_text("not a folder")  # e.g. a read-only or broken data folder
    svc = Services(settings)
    try:
        paths = _photos(tmp_path, range(60, 62))
        for p in paths:
            svc.ingest_path(p, actor="a")
        assert _found(svc, paths[1]) == [2]
        assert svc.matcher._persistent.last_open["how"] == "in memory"
        extra = _photos(tmp_path / "x", range(62, 63)) if (tmp_path / "x").mkdir() is None else []
        svc.ingest_path(extra[0], actor="a")
        assert _found(svc, extra[0]) == [3]
        assert _contents(svc) == _expected(svc)
    finally:
        svc.close()


def test_a_rebuild_in_many_batches_and_segments_is_exact(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = Services(settings)
    try:
        paths = _photos(tmp_path, range(70, 76))
        for p in paths:
            svc.ingest_path(p, actor="a")
        monkeypatch.setattr(persist, "FETCH", 7)  # batches of 7 rows, combined into segments of 20+
        monkeypatch.setattr(persist, "SEGMENT_ROWS", 20)
        assert _found(svc, paths[4]) == [5]
        m = json.loads(_manifest_path(settings).read_text())
        assert len(m["segments"]) >= 3 and sum(s["rows"] for s in m["segments"]) == m["rows"]
        assert _contents(svc) == _expected(svc)
        other = Services(settings)
        try:
            assert [_found(other, p) for p in paths] == [[i] for i in range(1, 7)]
            assert other.matcher._persistent.last_open["how"] == "opened" and _contents(other) == _expected(other)
        finally:
            other.close()
    finally:
        svc.close()
