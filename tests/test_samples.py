"""The samples as fixtures: stable bytes, stable fingerprints, metadata as intended, and a first run
that seeds an empty data folder once and shows recycled material being caught.

Golden files live in tests/golden/. After an intended change, rewrite them and review the diff:

    .venv/bin/python tests/test_samples.py --regenerate           # fingerprints (algorithm changed)
    .venv/bin/python tests/test_samples.py --regenerate-hashes    # sample bytes (samples regenerated)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
GOLDEN = ROOT / "tests" / "golden"
SHA_GOLDEN = GOLDEN / "sample_sha256.json"
FP_GOLDEN = GOLDEN / "sample_fingerprints.json"
MEDIA_SUFFIXES = {".jpg", ".png", ".mp4"}

PLACES = {
    "Busra al-Sham": (32.5167, 36.4814),
    "Aleppo": (36.2021, 37.1343),
    "Idlib": (35.9306, 36.6339),
    "Khan Sheikhoun": (35.4414, 36.6486),
}

# What each sample's metadata is meant to say (samples/generate.py writes it).
STRIPPED: dict[str, Any] = {"make": None, "model": None, "software": None, "captured_at": None, "place": None}
EXPECTED_METADATA: dict[str, dict[str, Any]] = {
    "archive/2012-07-13_aleppo_protest.jpg": {"make": "NIKON CORPORATION", "model": "NIKON D3100", "software": None, "captured_at": "2012-07-13T16:05:33+03:00", "place": "Aleppo"},
    "archive/2013-05-02_busra-al-sham_protest.jpg": {"make": "Canon", "model": "Canon EOS 550D", "software": None, "captured_at": "2013-05-02T14:21:07+03:00", "place": "Busra al-Sham"},
    "archive/2014-02-10_aleppo_night-vigil.jpg": {"make": "SAMSUNG", "model": "GT-I9300", "software": None, "captured_at": "2014-02-10T21:47:30+03:00", "place": "Aleppo"},
    "archive/2015-06-14_khan-sheikhoun_street.jpg": {"make": "samsung", "model": "SM-G920F", "software": None, "captured_at": "2015-06-14T11:03:52+03:00", "place": "Khan Sheikhoun"},
    "archive/2016-09-20_idlib_rescue.mp4": {"make": "Apple", "model": "iPhone 6s", "captured_at": "2016-09-20T07:42:10+03:00", "place": "Idlib", "duration_s": 5.0},
    "incoming/screenshot_syrianow24_busra-today.png": STRIPPED,
    "incoming/telegram_idlib-protest-yesterday.jpg": STRIPPED,
    "incoming/khan-sheikhoun_rescue_this-morning.jpg": {**STRIPPED, "software": "Adobe Photoshop 25.0 (Windows)"},
    "incoming/whatsapp_rescue_khan-sheikhoun.mp4": {"make": None, "model": None, "captured_at": None, "place": None, "duration_s": 4.0},
    "incoming/aleppo-now_shelling-today.jpg": STRIPPED,
    "incoming/aleppo_night-protest.jpg": {"make": "samsung", "model": "SM-A546B", "software": None, "captured_at": "2024-12-05T21:12:40+03:00", "place": "Aleppo"},
    "incoming/idlib_banner-today.jpg": {"make": "Xiaomi", "model": "Redmi Note 12", "software": None, "captured_at": "2023-03-18T12:30:05+03:00", "place": "Busra al-Sham"},
    "upload/forwarded_busra-al-sham-today.jpg": STRIPPED,
}

# Each recycled submission and the archive original it must be traced back to.
RECYCLED: dict[str, str] = {
    "screenshot_syrianow24_busra-today.png": "2013-05-02_busra-al-sham_protest.jpg",
    "telegram_idlib-protest-yesterday.jpg": "2012-07-13_aleppo_protest.jpg",
    "khan-sheikhoun_rescue_this-morning.jpg": "2016-09-20_idlib_rescue.mp4",
    "whatsapp_rescue_khan-sheikhoun.mp4": "2016-09-20_idlib_rescue.mp4",
    "aleppo-now_shelling-today.jpg": "2015-06-14_khan-sheikhoun_street.jpg",
}
# The fresh photos and every archive item: they may match only their known copies.
UNRELATED = [
    "aleppo_night-protest.jpg",
    "idlib_banner-today.jpg",
    "2012-07-13_aleppo_protest.jpg",
    "2013-05-02_busra-al-sham_protest.jpg",
    "2014-02-10_aleppo_night-vigil.jpg",
    "2015-06-14_khan-sheikhoun_street.jpg",
    "2016-09-20_idlib_rescue.mp4",
]


def sample_paths() -> list[Path]:
    return sorted(p for sub in ("archive", "incoming", "upload") for p in (SAMPLES / sub).iterdir() if p.suffix.lower() in MEDIA_SUFFIXES)


def rel(path: Path) -> str:
    return path.relative_to(SAMPLES).as_posix()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def current_fingerprints() -> dict[str, list[dict[str, Any]]]:
    """The stored (archive-side) fingerprints of every sample, as the ingest computes them."""
    from verify import fingerprints
    from verify.config import Settings
    from verify.media import sniff_file

    settings = Settings(data_dir=ROOT / ".unused")
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sample_paths():
        fps = fingerprints.compute(path, sniff_file(path), settings, for_archive=True)
        out[rel(path)] = [{"algorithm": f.algorithm, "variant": f.variant, "frame_time_s": f.frame_time_s, "hex": f.hex} for f in fps]
    return out


# -- the files themselves -------------------------------------------------------------------------


def test_samples_are_the_committed_bytes() -> None:
    golden = json.loads(SHA_GOLDEN.read_text(encoding="utf-8"))
    actual = {rel(p): sha256(p) for p in sample_paths()}
    assert actual == golden, "samples changed; if intended, run: .venv/bin/python tests/test_samples.py --regenerate-hashes"


def test_samples_are_small_and_short() -> None:
    from verify.config import Settings
    from verify.media import probe_video

    paths = sample_paths()
    assert len(paths) == len(EXPECTED_METADATA)
    assert sum(p.stat().st_size for p in paths) < 4 * 1024**2
    settings = Settings(data_dir=ROOT / ".unused")
    for p in paths:
        if p.suffix == ".mp4":
            info = probe_video(p, settings.max_video_pixels, settings.max_video_seconds)
            assert info.height <= 480 and 3.0 <= (info.duration_s or 0) <= 6.0, p.name


def test_videos_have_sound() -> None:
    import av

    for p in sample_paths():
        if p.suffix == ".mp4":
            with av.open(str(p)) as c:
                assert [s.type for s in c.streams] == ["video", "audio"], p.name
                assert c.streams.audio[0].codec_context.name == "aac"


def test_every_sample_has_its_claims() -> None:
    from verify.seed import sample_files

    files = sample_files(SAMPLES)
    assert len(files) == len([p for p in sample_paths() if p.parent.name != "upload"])
    for f in files:
        assert f.claim.source and f.claim.claimed_place and f.claim.claimed_date, f.path.name
        if f.origin == "archive":
            assert f.claim.first_seen_at is not None and f.claim.first_seen_at.year < 2020, f.path.name
        else:
            assert f.claim.claimed_date >= date(2024, 1, 1), f.path.name
    graphic = [f for f in files if f.content_warning]
    assert [(f.path.name, f.content_warning) for f in graphic] == [("2015-06-14_khan-sheikhoun_street.jpg", "injury_blood")]


def test_generator_is_deterministic(tmp_path: Path) -> None:
    """Same library versions: the same bytes for stills, the same footage for videos; other versions
    may encode differently (then skip)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("samples_generate", SAMPLES / "generate.py")
    assert spec and spec.loader
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    recorded = json.loads((SAMPLES / "generated-with.json").read_text(encoding="utf-8"))
    if generate.library_versions() != recorded:
        pytest.skip(f"the samples were made with other library versions ({recorded}); bytes may differ")
    generate.generate(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    committed = {rel(p): p for p in sample_paths()}
    assert set(fresh) == set(committed)
    for name, path in committed.items():
        if path.suffix != ".mp4":
            assert sha256(fresh[name]) == sha256(path), name
            continue
        # Videos: NumPy picks CPU-specific (SIMD) sin/cos whose last-bit differences can move a
        # drawn shape by a pixel on another machine, and x264 then writes other bytes. The same
        # footage is what matters: frame count, size and every frame within a few grey levels.
        a, b = _grey_frames(fresh[name]), _grey_frames(path)
        assert len(a) == len(b) > 0 and a[0].shape == b[0].shape, name
        worst = max(float(np.abs(x.astype(np.int16) - y).mean()) for x, y in zip(a, b))
        assert worst < 4.0, (name, worst)


def _grey_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray") for f in container.decode(video=0)]


# -- what the files say about themselves ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_METADATA))
def test_metadata_reads_back_as_intended(name: str, tmp_path: Path) -> None:
    from verify.config import Settings
    from verify.services import analyse

    want = EXPECTED_METADATA[name]
    meta = analyse(SAMPLES / name, Settings(data_dir=tmp_path)).metadata
    assert meta.errors == []
    for key in ("make", "model", "software"):
        if key in want:
            assert getattr(meta, key) == want[key], key
    if "captured_at" in want:
        if want["captured_at"] is None:
            assert meta.captured_at is None
        else:
            assert meta.captured_at is not None
            # the same instant, and the offset the camera recorded
            assert datetime.fromisoformat(meta.captured_at) == datetime.fromisoformat(want["captured_at"])
            assert meta.captured_at.endswith("+03:00")
    if want.get("place") is None:
        assert meta.gps is None
    else:
        assert meta.gps is not None
        assert km((meta.gps.lat, meta.gps.lon), PLACES[want["place"]]) < 0.1
    if "duration_s" in want:
        assert meta.duration_s == pytest.approx(want["duration_s"], abs=0.1)


def test_video_location_is_iso6709_as_phones_write_it() -> None:
    """Read back with PyAV (the container tags) and with ExifTool (an outside reader)."""
    import av

    video = SAMPLES / "archive/2016-09-20_idlib_rescue.mp4"
    with av.open(str(video)) as c:
        assert c.metadata["com.apple.quicktime.location.ISO6709"] == "+35.9306+036.6339+000.000/"
        assert c.metadata["location"] == "+35.9306+036.6339/"
        assert c.metadata["com.apple.quicktime.creationdate"] == "2016-09-20T07:42:10+0300"
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed")
    out = subprocess.run(["exiftool", "-j", "-n", "-GPSLatitude", "-GPSLongitude", "-Make", "-Model", str(video)], capture_output=True, text=True, check=True)
    tags = json.loads(out.stdout)[0]
    assert km((tags["GPSLatitude"], tags["GPSLongitude"]), PLACES["Idlib"]) < 0.1
    assert (tags["Make"], tags["Model"]) == ("Apple", "iPhone 6s")


def test_photo_gps_reads_back_with_exiftool() -> None:
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed")
    photos = [SAMPLES / n for n, w in EXPECTED_METADATA.items() if n.endswith(".jpg")]
    out = subprocess.run(["exiftool", "-j", "-n", "-GPSLatitude", "-GPSLongitude", "-Software", *map(str, photos)], capture_output=True, text=True, check=True)
    for tags in json.loads(out.stdout):
        want = EXPECTED_METADATA[rel(Path(tags["SourceFile"]))]
        if want["place"] is None:
            assert "GPSLatitude" not in tags
        else:
            assert km((tags["GPSLatitude"], tags["GPSLongitude"]), PLACES[want["place"]]) < 0.1
        assert tags.get("Software") == want["software"]


# -- fingerprints --------------------------------------------------------------------------------


def test_fingerprints_match_golden() -> None:
    if not FP_GOLDEN.exists():
        pytest.fail("no golden fingerprints; run: .venv/bin/python tests/test_samples.py --regenerate")
    golden = json.loads(FP_GOLDEN.read_text(encoding="utf-8"))
    actual = current_fingerprints()
    assert sorted(actual) == sorted(golden)
    changed = [name for name in actual if not _same_fingerprints(actual[name], golden[name])]
    assert changed == [], (
        f"fingerprints changed for {changed}; if the algorithm change is intended, run: .venv/bin/python tests/test_samples.py --regenerate"
    )


def _same_fingerprints(actual: list[dict[str, Any]], golden: list[dict[str, Any]]) -> bool:
    """Hashes bit for bit. Keypoint words: the same count and at least 90% the same words, because
    OpenCV's ORB picks CPU-specific (SIMD) code whose float rounding can reorder close keypoints."""
    from verify.fingerprints import keypoints

    def split(fps: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
        return [f for f in fps if f["algorithm"] != keypoints.NAME], [f["hex"] for f in fps if f["algorithm"] == keypoints.NAME]

    (a_hashes, a_words), (g_hashes, g_words) = split(actual), split(golden)
    if a_hashes != g_hashes or len(a_words) != len(g_words):
        return False
    for a, g in zip(a_words, g_words):
        wa, wg = keypoints.from_bytes(bytes.fromhex(a)), keypoints.from_bytes(bytes.fromhex(g))
        if wa.shape != wg.shape:
            return False
        for ta, tg in zip(wa, wg):  # per table, as sets: the order of close keypoints may differ
            if tg.size and len(set(ta.tolist()) & set(tg.tolist())) < 0.9 * len(set(tg.tolist())):
                return False
    return True


# -- the first run -------------------------------------------------------------------------------


def test_seeding_an_empty_store_ingests_everything_once(services: Any) -> None:
    from verify.seed import SAMPLE_ACTOR, seed_from_samples

    report = seed_from_samples(services, SAMPLES)
    assert (report.archive_added, report.incoming_added, report.already_present, report.warnings_added) == (5, 7, 0, 1)
    assert report.problems == []
    assert report.message() == "verify: seeded the data folder with 12 sample files (5 archive, 7 incoming)"
    assert services.store.count_items() == 12

    items = {services.store.item(i).filename: services.store.item(i) for i in report.item_ids.values()}
    busra = items["2013-05-02_busra-al-sham_protest.jpg"]
    assert (busra.origin, busra.source, busra.first_seen_at) == ("archive", "Busra al-Sham Coordination Committee (Facebook page)", datetime(2013, 5, 2, tzinfo=UTC))
    tip = items["screenshot_syrianow24_busra-today.png"]
    assert (tip.origin, tip.claimed_place, tip.claimed_date) == ("submission", "Busra al-Sham", date(2024, 12, 6))
    assert tip.claimed_lat == pytest.approx(32.5167)
    graphic = services.store.state(items["2015-06-14_khan-sheikhoun_street.jpg"].id)
    assert [(w.category, w.added_by) for w in graphic.warnings] == [("injury_blood", SAMPLE_ACTOR)]

    again = seed_from_samples(services, SAMPLES)
    assert (again.added, again.already_present, again.warnings_added) == (0, 12, 0)
    assert again.message() == "verify: the samples are already in the data folder; nothing to add"
    assert services.store.count_items() == 12
    assert len(services.store.events(kinds=("warning_added",))) == 1


def test_seeding_completes_an_interrupted_run_and_respects_editors(sqlite_services: Any, tmp_path: Path) -> None:
    from verify.models import Claim
    from verify.seed import seed_from_samples

    services = sqlite_services
    graphic = SAMPLES / "archive/2015-06-14_khan-sheikhoun_street.jpg"
    first = services.ingest_path(graphic, claim=Claim(), origin="archive", actor="verify (samples)")
    services.add_warning(first.item.id, "graphic_violence", actor="editor")
    services.remove_warning(first.item.id, "graphic_violence", actor="editor")

    report = seed_from_samples(services, SAMPLES)
    assert (report.added, report.already_present) == (11, 1)
    assert report.warnings_added == 0  # the editor has had the last word on that item's warnings
    assert services.store.state(first.item.id).warnings == ()


def test_seeding_leaves_a_store_with_other_material_alone(sqlite_services: Any, tmp_path: Path) -> None:
    from factories import jpeg_bytes, photo

    from verify.seed import seed_from_samples

    sqlite_services.ingest_bytes(jpeg_bytes(photo(7)), filename="mine.jpg", actor="editor")
    report = seed_from_samples(sqlite_services, SAMPLES)
    assert report.added == 0
    assert report.message() == "verify: the data folder already has 1 item; the samples were not added"
    assert sqlite_services.store.count_items() == 1


def test_seeding_without_samples_says_so(sqlite_services: Any, tmp_path: Path) -> None:
    from verify.seed import seed_from_samples

    report = seed_from_samples(sqlite_services, tmp_path / "nothing-here")
    assert report.message() == "verify: no sample files found; starting with an empty data folder"
    assert sqlite_services.store.count_items() == 0


def test_start_command_seeds_once_and_can_be_told_not_to(sqlite_settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import streamlit.web.cli

    from verify.ui import launch

    monkeypatch.setattr(streamlit.web.cli, "main", lambda: 0)
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # launch.main hands its own argv to Streamlit
    monkeypatch.setenv("VERIFY_NO_SEED", "1")
    with pytest.raises(SystemExit):
        launch.main([])
    assert "VERIFY_NO_SEED is set; the samples were not added" in capsys.readouterr().out

    monkeypatch.delenv("VERIFY_NO_SEED")
    with pytest.raises(SystemExit):
        launch.main([])
    assert "verify: seeded the data folder with 12 sample files (5 archive, 7 incoming)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        launch.main([])
    out = capsys.readouterr().out
    assert "verify: the samples are already in the data folder; nothing to add" in out
    assert "keypoint words" not in out

    # a data folder written by an earlier version: its pictures get keypoint words on the next start
    import sqlite3

    db = sqlite3.connect(sqlite_settings.data_dir / "verify.sqlite3")
    with db:
        stills = db.execute("SELECT count(*) FROM fingerprint WHERE algorithm = 'orb-lsh-v1'").fetchone()[0]
        db.execute("DELETE FROM fingerprint WHERE algorithm = 'orb-lsh-v1'")
    db.close()
    assert stills > 0
    with pytest.raises(SystemExit):
        launch.main([])
    assert f"verify: added keypoint words to {stills} pictures stored by an earlier version" in capsys.readouterr().out


def test_archive_manifest_is_readable_by_the_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VERIFY_DB"}
    env["VERIFY_DATA_DIR"] = str(tmp_path / "data")
    verify = Path(sys.executable).with_name("verify")
    out = subprocess.run(
        [str(verify), "index", str(SAMPLES / "archive"), "--manifest", str(SAMPLES / "archive" / "manifest.csv"), "--workers", "1", "--json", "--actor", "test"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert sorted(r["status"] for r in records if r["status"] != "skipped") == ["added"] * 5

    from verify.config import Settings
    from verify.services import Services

    services = Services(Settings(data_dir=tmp_path / "data"))
    try:
        rescue = next(i for i, _s, _w in services.list_items() if i.filename == "2016-09-20_idlib_rescue.mp4")
        assert rescue.source == "Idlib Rescue Volunteers (YouTube channel)"
        assert rescue.first_seen_at == datetime(2016, 9, 20, tzinfo=UTC)
    finally:
        services.close()


# -- recycled material is caught on the first run ----------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, int]]]:
    """One SQLite store seeded with the samples, shared by the matching checks."""
    from verify.config import Settings
    from verify.seed import seed_from_samples
    from verify.services import Services

    services = Services(Settings(data_dir=tmp_path_factory.mktemp("seeded")))
    report = seed_from_samples(services, SAMPLES)
    assert report.problems == []
    yield services, report.item_ids
    services.close()


@pytest.mark.parametrize("query", sorted(RECYCLED))
def test_recycled_submission_matches_its_archive_original(seeded: tuple[Any, dict[str, int]], query: str) -> None:
    services, ids = seeded
    outcome = services.match_item(ids[query])
    confident = [m.item.filename for m in outcome.matches]
    assert RECYCLED[query] in confident, f"{query}: matches {confident}, candidates {[m.item.filename for m in outcome.candidates]}"


def test_the_still_is_found_at_its_moment_in_the_video(seeded: tuple[Any, dict[str, int]]) -> None:
    """The still was taken at 2.0 s into the rescue clip; the match says where."""
    services, ids = seeded
    outcome = services.match_item(ids["khan-sheikhoun_rescue_this-morning.jpg"])
    [video] = [m for m in outcome.matches if m.item.filename == "2016-09-20_idlib_rescue.mp4"]
    assert video.match_time_s == pytest.approx(2.0, abs=0.5)


def test_the_walkthrough_upload_is_traced_to_2013(seeded: tuple[Any, dict[str, int]]) -> None:
    """docs/walkthrough.md: the forwarded photo (not seeded) is found in the archive on upload."""
    services, ids = seeded
    assert "forwarded_busra-al-sham-today.jpg" not in ids
    report = services.match_path(SAMPLES / "upload/forwarded_busra-al-sham-today.jpg")
    originals = [m.item for m in report.outcome.matches if m.item.origin == "archive"]
    assert [i.filename for i in originals] == ["2013-05-02_busra-al-sham_protest.jpg"]
    assert originals[0].first_seen_at == datetime(2013, 5, 2, tzinfo=UTC)


@pytest.mark.parametrize("name", UNRELATED)
def test_samples_match_nothing_but_their_copies(seeded: tuple[Any, dict[str, int]], name: str) -> None:
    """No sample is pinned on a different picture: the archive shows no false alarms on day one."""
    services, ids = seeded
    outcome = services.match_item(ids[name])
    allowed = {q for q, original in RECYCLED.items() if original == name}
    assert {m.item.filename for m in outcome.matches} <= allowed


# -- regeneration ------------------------------------------------------------------------------------


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    args = set(sys.argv[1:])
    if not args or not args <= {"--regenerate", "--regenerate-hashes"}:
        sys.exit(__doc__)
    if "--regenerate-hashes" in args:
        _write(SHA_GOLDEN, {rel(p): sha256(p) for p in sample_paths()})
    if "--regenerate" in args:
        _write(FP_GOLDEN, current_fingerprints())
