"""Behaviour that must hold as the archive grows: chance candidates, search in the database's engines."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from verify.matching import CANDIDATE_DISTANCE, Matcher, candidate_distance
from verify.models import Fingerprint, MediaItem


def _item(i: int) -> MediaItem:
    return MediaItem(id=i, sha256=f"{i:064x}", kind="image", mime="image/jpeg", bytes=1, width=None, height=None, duration_s=None,
                     filename=f"{i}.jpg", origin="archive", ingested_at=datetime.now(UTC), ingested_by="t")  # fmt: skip


def test_the_candidate_limit_tightens_with_the_archive_size() -> None:
    sizes = [10**k for k in range(2, 9)]
    limits = [candidate_distance(n) for n in sizes]
    assert limits == sorted(limits, reverse=True)
    assert candidate_distance(100_000) == CANDIDATE_DISTANCE  # about 10,000 pictures: as tuned
    assert candidate_distance(11_000_000) < CANDIDATE_DISTANCE  # a million pictures: stricter


def test_a_near_miss_is_worth_a_look_in_a_small_archive_but_not_among_millions_of_hashes() -> None:
    rng = np.random.default_rng(7)
    query = int(rng.integers(0, 2**63))
    near = query ^ int(sum(1 << b for b in rng.choice(64, 11, replace=False)))  # 11 bits away
    fps = [Fingerprint("phash-v2", "full", query.to_bytes(8, "big"))]

    def matcher(extra_rows: int) -> Matcher:
        m = Matcher(list, lambda ids: {i: _item(i) for i in ids})
        m.add(1, [Fingerprint("phash-v2", "full", near.to_bytes(8, "big"))])
        if extra_rows:
            m.index.add_arrays("phash-v2", rng.integers(0, 2**64 - 1, extra_rows, dtype=np.uint64, endpoint=True),
                               np.arange(10, 10 + extra_rows), np.full(extra_rows, np.nan))  # fmt: skip
        return m

    small = matcher(0).match(fps)
    assert [c.item.id for c in small.candidates] == [1]
    big = matcher(2_000_000).match(fps)
    assert big.candidates == [] and big.matches == []


# -- inbox search in the database's own engine --------------------------------------------------

import pytest  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402

from factories import jpeg_bytes, photo  # noqa: E402
from verify.models import Claim  # noqa: E402
from verify.services import Services  # noqa: E402
from verify.store import ItemFilter  # noqa: E402


def _names(svc: Services, **kw: object) -> list[str]:
    return sorted(i.filename or "" for i, _, _ in svc.list_items(ItemFilter(**kw)))  # type: ignore[arg-type]


@pytest.fixture
def inbox(services: Services) -> Services:
    services.ingest_bytes(jpeg_bytes(photo(1)), filename="beirut_port.jpg", claim=Claim(source="Telegram channel", claimed_place="بيروت المرفأ"), actor="a")
    services.ingest_bytes(jpeg_bytes(photo(2)), filename="flood.jpg", claim=Claim(source="Agence", note="Café de la Paix, São Paulo"), actor="a")
    services.ingest_bytes(jpeg_bytes(photo(3)), filename="other.png", actor="a")
    return services


def test_text_search_by_words_and_prefixes_in_any_script(inbox: Services) -> None:
    assert _names(inbox, text="telegram") == ["beirut_port.jpg"]
    assert _names(inbox, text="beir") == ["beirut_port.jpg"]  # a word's beginning
    assert _names(inbox, text="port beirut") == ["beirut_port.jpg"]  # every word, any order
    assert _names(inbox, text="بيروت") == ["beirut_port.jpg"]  # Arabic
    assert _names(inbox, text="المرف") == ["beirut_port.jpg"]
    assert _names(inbox, text="café são") == ["flood.jpg"]
    if inbox.store.dialect == "sqlite":
        assert _names(inbox, text="cafe sao") == ["flood.jpg"]  # accents folded (FTS5 unicode61)
    assert _names(inbox, text="telegram flood") == []
    assert _names(inbox, text="nothing like it") == []
    assert _names(inbox, text="%") == [] and _names(inbox, text="\"*") == []  # query syntax is never passed through
    sha = inbox.store.item_by_sha(inbox.list_items(ItemFilter(text="other"))[0][0].sha256).sha256  # type: ignore[union-attr]
    assert _names(inbox, text=sha[:10]) == ["other.png"]


def test_a_corrected_claim_is_searchable_at_once_and_the_old_words_are_gone(inbox: Services) -> None:
    (item, _, _), = inbox.list_items(ItemFilter(text="flood"))
    inbox.update_claim(item.id, {"claimed_place": "Mosul"}, actor="editor", expected_version=0)
    assert _names(inbox, text="mosul") == ["flood.jpg"]
    inbox.update_claim(item.id, {"claimed_place": "Aleppo"}, actor="editor", expected_version=1)
    assert _names(inbox, text="mosul") == [] and _names(inbox, text="aleppo") == ["flood.jpg"]


def test_more_text_parts_can_be_added_for_an_item(inbox: Services) -> None:
    (item, _, _), = inbox.list_items(ItemFilter(text="other"))
    inbox.store.set_search_text(item.id, "ocr", "BREAKING NEWS محطة")
    assert _names(inbox, text="breaking") == ["other.png"]
    inbox.store.set_search_text(item.id, "ocr", "weather")
    assert _names(inbox, text="breaking") == [] and _names(inbox, text="weather") == ["other.png"]
    assert _names(inbox, text="other") == ["other.png"]  # the claim part is untouched


def test_the_search_uses_the_full_text_index(inbox: Services) -> None:
    with inbox.store.read() as conn:
        if inbox.store.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.execute(sql("EXPLAIN SELECT item_id FROM item_search WHERE tsv @@ to_tsquery('simple', 'beir:*')")))
            assert "ix_item_search_tsv" in plan
        else:
            plan = " ".join(str(r[-1]) for r in conn.execute(sql("EXPLAIN QUERY PLAN SELECT rowid FROM item_search WHERE item_search MATCH 'beir*'")))
            assert "VIRTUAL TABLE INDEX" in plan


def test_flagged_listing_and_lacking_fingerprints_use_indexes(inbox: Services) -> None:
    (item, _, _), = inbox.list_items(ItemFilter(text="flood"))
    inbox.add_warning(item.id, "graphic_violence", actor="editor")
    assert _names(inbox, has_warning=True) == ["flood.jpg"]
    assert _names(inbox, has_warning=False) == ["beirut_port.jpg", "other.png"]
    assert inbox.store.items_lacking("no-such-algorithm") and inbox.store.items_lacking("orb-lsh-v1") == []


# -- batch hashing on every core ------------------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from factories import video, write  # noqa: E402
from verify.config import load_settings  # noqa: E402
from verify.services import analyse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_parallel_hash_output_equals_one_file_after_the_other(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(7):
        write(folder / f"{k:02d}.jpg", jpeg_bytes(photo(60 + k, (640 + 16 * k, 480))))
    write(folder / "03b-broken.jpg", jpeg_bytes(photo(70))[:300])
    write(folder / "04b-notes.txt", b"not a picture")
    video(folder / "05b-clip.mp4", seconds=2.0)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    run = subprocess.run([sys.executable, "-m", "verify", "hash", "--json", str(folder)], env=env, capture_output=True, text=True, timeout=600, start_new_session=True)
    got = [json.loads(line) for line in run.stdout.splitlines()]
    from verify.cli import pdq_fields

    settings = load_settings()
    expected = []
    for path in sorted(folder.iterdir()):
        try:
            a = analyse(path, settings, for_archive=False)
        except Exception as exc:  # noqa: BLE001 - the same message is expected
            expected.append({"path": str(path), "sha256": None, "kind": None, "error": str(exc), "fingerprints": [], **pdq_fields([])})
            continue
        fps = [{"algorithm": f.algorithm, "variant": f.variant, "frame_time_s": f.frame_time_s, "hex": f.hex} for f in a.fingerprints]
        expected.append({"path": str(path), "sha256": a.sha256, "kind": a.kind, "error": None, "fingerprints": fps, **pdq_fields(a.fingerprints)})
    assert got == expected
    assert sum(1 for r in got if r["error"]) == 2 and run.returncode == 0


# -- confirmation from keypoints stored at ingest ---------------------------------------------------

from verify.fingerprints.orb import features as orb_features  # noqa: E402
from verify.matching import stored_features  # noqa: E402
from verify.matching.confirm import load_gray  # noqa: E402


def test_stored_keypoints_are_the_ones_confirmation_would_decode(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jpg", jpeg_bytes(photo(80, (1600, 1200))))
    decoded = orb_features(load_gray(path))
    stored = stored_features.unpack(stored_features.compute(path))  # type: ignore[arg-type]
    assert stored is not None and stored.shape == decoded.shape
    assert np.array_equal(stored.descriptors, decoded.descriptors)
    assert np.abs(stored.points - decoded.points).max() <= 1 / 32
    assert stored_features.unpack(b"\x01\x02") is None and stored_features.unpack(stored_features.compute(path)[:-1]) is None  # type: ignore[index]


def test_a_match_is_confirmed_without_opening_any_archive_original(services: Services, tmp_path: Path) -> None:
    from PIL import Image

    originals = [write(tmp_path / f"o{k}.jpg", jpeg_bytes(photo(90 + k, (1200, 900)))) for k in range(3)]
    items = [services.ingest_path(p, actor="a").item for p in originals]
    with Image.open(originals[1]) as im:  # a re-post: cropped and scaled down
        im.crop((100, 80, 1100, 820)).resize((700, 518)).save(tmp_path / "query.jpg", quality=80)
    media = services.settings.media_dir
    hidden = media.with_name("media-hidden")
    media.rename(hidden)  # no archive original can be read during the query
    try:
        report = services.match_path(tmp_path / "query.jpg")
    finally:
        hidden.rename(media)
    assert [m.item.id for m in report.outcome.matches] == [items[1].id]
    assert "orb" in report.outcome.matches[0].method and report.outcome.matches[0].detail["inliers"] >= 25
    assert services.matcher.feature_sources["decoded"] == 0 and services.matcher.feature_sources["stored"] >= 1
