"""Container metadata read independently of decoding, and C2PA presence in every container.

Files are built on the fly (tests/containers.py): a DASH init segment, an old QuickTime movie
with no frames, AVCHD clips with a Sony MDPM SEI (one hand-built without pictures, one encoded
by libx264 and decodable), Windows Media (a hand-built header and a real WMV2 clip), a HEIC
whose image item is damaged, and a C2PA manifest store in each container the specification
defines. Each category is checked against ExifTool 13 where ExifTool reads it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, strategies as st
from hypothesis import settings as hsettings
from PIL import Image

import containers as c
from conftest import ROOT, skip_or_fail
from verify import metadata
from verify.config import Settings
from verify.errors import UnreadableMedia, VerifyError
from verify.findings import evaluate
from verify.media import sniff_file
from verify.metadata import exiftool as exiftool_module
from verify.services import analyse

CREATED = datetime(2003, 5, 2, 14, 30, 1, tzinfo=UTC)
MODIFIED = datetime(2003, 5, 2, 15, 0, 0, tzinfo=UTC)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def picture(seed: int = 1, size: tuple[int, int] = (160, 120)) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def encoded(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def ours(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Our readers alone: ExifTool enrichment off, so agreement is never ExifTool with itself."""
    monkeypatch.setattr(exiftool_module, "available", lambda: False)

    def read(path: Path, settings: Settings):  # type: ignore[no-untyped-def]
        return analyse(path, settings, keep_undecodable=True, for_archive=False)

    return read


@pytest.fixture(scope="module")
def exiftool() -> Any:
    """ExifTool 13+, from ``VERIFY_EXIFTOOL`` or the PATH (or where ``.ci/run`` installs it)."""
    candidates = [os.environ.get("VERIFY_EXIFTOOL"), shutil.which("exiftool"),
                  str(ROOT / ".tools/node/node_modules/exiftool-vendored.pl/bin/exiftool")]  # fmt: skip
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-ver"], capture_output=True, text=True, timeout=20, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if float(out.split()[0]) >= 13:
            def run(path: Path) -> dict[str, Any]:
                proc = subprocess.run([exe, "-j", "-n", "-G1", "-a", str(path)], capture_output=True, timeout=60, check=False)
                return json.loads(proc.stdout)[0]

            return run
    skip_or_fail("ExifTool 13 is not installed (set VERIFY_EXIFTOOL, or .ci/run installs exiftool-vendored.pl)")


def exif_date(value: str) -> str:
    """ExifTool's "2003:05:02 14:30:01" as our ISO form, UTC."""
    return value.rstrip("Z").replace(":", "-", 2).replace(" ", "T")


# -- point 3: metadata without decodable pictures --------------------------------------------------


def test_dash_init_segment(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    """An MP4 with a header and no samples: size and codec from the boxes, no frame rate, no fingerprint."""
    path = write(tmp_path / "init.mp4", c.dash_init_segment(tmp_path / "full.mp4"))
    with pytest.raises(UnreadableMedia, match="No picture could be decoded"):
        analyse(path, sqlite_settings)  # callers that need pixels keep today's contract
    a = ours(path, sqlite_settings)
    assert a.fingerprints == [] and a.decode_error and "no frames" in a.decode_error
    m = a.metadata
    assert (m.width, m.height, m.video_codec, m.fps, m.rotation) == (320, 240, "h264", None, 0)
    assert m.decode_error == a.decode_error
    assert [f.code for f in evaluate(None, m)][0] == "picture_not_decoded"
    et = exiftool(path)
    assert (et["Track1:ImageWidth"], et["Track1:ImageHeight"], et["Track1:CompressorID"]) == (320, 240, "avc1")
    assert et["QuickTime:Duration"] == 0 and m.duration_s is None  # no samples, no duration (ExifTool: 0)
    # the same stream with its fragments decodes and is fingerprinted as usual
    full = analyse(tmp_path / "full.mp4", sqlite_settings)
    assert full.fingerprints and full.decode_error is None


def test_old_quicktime_movie_dates_size_rotation(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    """No ``ftyp``, a movie header (1904 epoch) and a track header with a 90-degree matrix, no frames."""
    path = write(tmp_path / "old.mov", c.quicktime_movie(created=CREATED, modified=MODIFIED, rotation=90, codec=b"SVQ3"))
    assert sniff_file(path).mime == "video/quicktime"
    a = ours(path, sqlite_settings)
    m = a.metadata
    assert a.decode_error and a.fingerprints == []
    assert m.dates["QuickTime CreateDate (UTC)"] == "2003-05-02T14:30:01+00:00"
    assert m.dates["QuickTime ModifyDate (UTC)"] == "2003-05-02T15:00:00+00:00"
    assert (m.captured_at, m.captured_at_has_offset) == ("2003-05-02T14:30:01+00:00", True)
    assert (m.width, m.height, m.rotation, m.duration_s, m.video_codec) == (1280, 720, 90, 10.0, "svq3")
    assert (a.width, a.height, a.duration_s) == (1280, 720, 10.0)
    et = exiftool(path)
    assert exif_date(et["QuickTime:CreateDate"]) + "+00:00" == m.dates["QuickTime CreateDate (UTC)"]
    assert exif_date(et["QuickTime:ModifyDate"]) + "+00:00" == m.dates["QuickTime ModifyDate (UTC)"]
    assert (et["Track1:ImageWidth"], et["Track1:ImageHeight"], et["Composite:Rotation"]) == (m.width, m.height, m.rotation)
    assert et["QuickTime:Duration"] == m.duration_s and et["Track1:CompressorID"] == "SVQ3"


@pytest.mark.parametrize("rotation", [0, 180, 270])
def test_track_matrix_rotation_without_frames(tmp_path: Path, sqlite_settings: Settings, ours, exiftool, rotation: int) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / f"r{rotation}.mov", c.quicktime_movie(created=CREATED, modified=MODIFIED, rotation=rotation, with_ftyp=True))
    m = ours(path, sqlite_settings).metadata
    assert m.rotation == rotation == exiftool(path)["Composite:Rotation"]


def test_avchd_clip_without_pictures(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    """A 192-byte-packet .MTS holding parameter sets and a Sony MDPM SEI but no slice: camera,
    date with zone and DST, and the picture size from the SPS, all without a decodable frame."""
    nal = c.h264_parameter_sets((352, 288)) + c.mdpm_sei(c.sony_mdpm("2019-04-24 22:24:00", 0x44, b"HDR-CX240E"))
    path = write(tmp_path / "00001.MTS", c.avchd_clip(nal))
    a = ours(path, sqlite_settings)
    m = a.metadata
    assert a.decode_error and a.fingerprints == []
    assert (m.make, m.model, m.captured_at, m.captured_at_has_offset) == ("Sony", "HDR-CX240E", "2019-04-24T22:24:00+02:00", True)
    assert (m.width, m.height, m.fps, m.duration_s) == (352, 288, None, None)
    assert m.raw["H264:DateTimeOriginal"].endswith("DST")
    et = exiftool(path)
    assert (et["H264:Make"], et["H264:Model"], et["H264:ImageWidth"], et["H264:ImageHeight"]) == (0x108, m.model, 352, 288)
    assert et["H264:DateTimeOriginal"] == "2019:04:24 22:24:00+02:00 DST"


def test_avchd_clip_decodable_with_camera(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    """A real libx264 clip in MPEG-TS (PyAV) whose first access unit carries the MDPM SEI:
    fingerprinted as usual, and the camera read from the stream."""
    path = c.mpegts_with_sei(tmp_path / "clip.mts", c.mdpm_sei(c.sony_mdpm("2012-12-31 23:59:58", 0x12, b"NEX-5N")))
    a = ours(path, sqlite_settings)
    assert a.decode_error is None and a.fingerprints
    m = a.metadata
    # tz byte 0x12: +09:00, no DST
    assert (m.make, m.model, m.captured_at) == ("Sony", "NEX-5N", "2012-12-31T23:59:58+09:00")
    et = exiftool(path)
    assert et["H264:Model"] == "NEX-5N" and et["H264:DateTimeOriginal"] == "2012:12:31 23:59:58+09:00"
    assert (m.width, m.height) == (et["H264:ImageWidth"], et["H264:ImageHeight"]) == (320, 240)


def test_mdpm_after_other_sei_messages(tmp_path: Path) -> None:
    """An SEI NAL unit whose MDPM message follows picture timing and an encoder's own user data."""
    from verify.metadata.avchd import read_mdpm

    sei = c.mdpm_sei(c.sony_mdpm())
    other = bytes([1, 3, 1, 2, 3]) + bytes([5, 20]) + bytes(range(16)) + b"x264"  # timing, then foreign user data
    combined = sei[:5] + c.escape_rbsp(other) + sei[5:]
    found = read_mdpm(write(tmp_path / "multi.mts", c.avchd_clip(combined)))
    assert found is not None and (found.make, found.model) == ("Sony", "HDR-CX240E")


def test_mdpm_of_other_makers_has_no_model(tmp_path: Path) -> None:
    """Panasonic puts other data in 0xE4-0xE6; like ExifTool, only Sony's model is read."""
    from verify.metadata.avchd import read_mdpm

    entries = [(0x18, b"\x00\x20\x19\x04"), (0x19, b"\x24\x22\x24\x00"), (0xE0, b"\x01\x03\x00\x00"), (0xE4, b"\x00\x01\x02\x03")]
    found = read_mdpm(write(tmp_path / "p.mts", c.avchd_clip(c.mdpm_sei(entries), bdav=False)))
    assert found is not None and (found.make, found.model, found.captured_at) == ("Panasonic", None, "2019-04-24T22:24:00+00:00")


def test_wmv_header_without_packets(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "old.wmv", c.asf_header(created=datetime(2009, 7, 1, 10, 0, tzinfo=UTC), play_s=12.5,
                                                    preroll_ms=3000, width=640, height=480))  # fmt: skip
    assert sniff_file(path).mime == "video/x-ms-asf"
    a = ours(path, sqlite_settings)
    m = a.metadata
    assert a.decode_error and a.fingerprints == []
    assert (m.width, m.height, m.video_codec, m.duration_s, m.fps) == (640, 480, "wmv2", 9.5, None)
    assert m.captured_at == "2009-07-01T10:00:00+00:00" and m.captured_at_source == "ASF CreationDate (UTC)"
    assert (m.raw["ASF:Title"], m.raw["ASF:Author"]) == ("Flood", "Desk")
    et = exiftool(path)
    assert exif_date(et["ASF:CreationDate"]) + "+00:00" == m.captured_at
    assert (et["ASF:ImageWidth"], et["ASF:ImageHeight"]) == (640, 480)
    # ExifTool's Duration is the play duration, which includes the preroll; ours is what plays
    assert et["ASF:Duration"] - et["ASF:Preroll"] / 1000 == m.duration_s


def test_wmv_clip_duration(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    path = c.wmv_clip(tmp_path / "clip.wmv", frames=50)
    a = ours(path, sqlite_settings)
    assert a.decode_error is None and a.fingerprints
    et = exiftool(path)
    assert a.metadata.duration_s == pytest.approx(et["ASF:Duration"] - et["ASF:Preroll"] / 1000, abs=1e-3)
    assert a.metadata.duration_s == pytest.approx(2.0, abs=0.05)
    assert a.metadata.captured_at is None  # FFmpeg writes the Unix epoch for "unknown"; ExifTool shows zeros


def _iphone_heic() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 12"
    exif.get_ifd(0x8769)[0x9003] = "2021:06:01 10:11:12"
    return encoded(picture(4, (320, 240)), "HEIF", exif=exif.tobytes())


def test_heic_with_damaged_image_item(tmp_path: Path, sqlite_settings: Settings, ours, exiftool) -> None:  # type: ignore[no-untyped-def]
    good = write(tmp_path / "good.heic", _iphone_heic())
    path = write(tmp_path / "damaged.heic", c.damage_heif_primary_item(good.read_bytes()))
    assert analyse(good, sqlite_settings).fingerprints
    a = ours(path, sqlite_settings)
    m = a.metadata
    assert a.decode_error and "damaged" in a.decode_error and a.fingerprints == []
    assert (m.make, m.model, m.captured_at) == ("Apple", "iPhone 12", "2021-06-01T10:11:12")
    et = exiftool(path)
    assert (et["IFD0:Make"], et["IFD0:Model"], exif_date(et["ExifIFD:DateTimeOriginal"])) == (m.make, m.model, m.captured_at)
    finding = next(f for f in evaluate(None, m) if f.code == "picture_not_decoded")
    assert finding.severity == "caution" and "not stored" in finding.evidence


# -- the front ends: verify meta, index, match, the upload ------------------------------------------


def _verify(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The real ``verify`` program, in a process group of its own that is stopped whatever happens."""
    proc = subprocess.Popen([sys.executable, "-m", "verify", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def undecodable(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "in"
    d.mkdir()
    return {
        "init.mp4": write(d / "init.mp4", c.dash_init_segment(tmp_path / "full.mp4")),
        "old.mov": write(d / "old.mov", c.quicktime_movie(created=CREATED, modified=MODIFIED, rotation=90)),
        "00001.MTS": write(d / "00001.MTS", c.avchd_clip(c.h264_parameter_sets() + c.mdpm_sei(c.sony_mdpm()))),
        "old.wmv": write(d / "old.wmv", c.asf_header(created=CREATED, play_s=5, preroll_ms=0, width=320, height=240)),
        "damaged.heic": write(d / "damaged.heic", c.damage_heif_primary_item(_iphone_heic())),
    }


def _env(tmp_path: Path, db: str | None = None) -> dict[str, str]:
    env = dict(os.environ, VERIFY_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT / "src"), PATH="/usr/bin:/bin")
    env.pop("VERIFY_DB", None)
    if db:
        env["VERIFY_DB"] = db
    return env


def test_cli_meta_reports_metadata_and_the_decode_failure(tmp_path: Path, undecodable: dict[str, Path]) -> None:
    result = _verify(["meta", "--json", *map(str, undecodable.values())], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    records = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == set(undecodable)
    for name, r in records.items():
        assert r["error"].startswith("The picture itself could not be decoded"), name
        assert "no fingerprint" in r["error"] and r["sha256"] and r["extra"]["decode_error"]
    assert (records["old.mov"]["captured_at"], records["old.mov"]["rotation"]) == ("2003-05-02T14:30:01+00:00", 90)
    assert (records["00001.MTS"]["make"], records["00001.MTS"]["model"]) == ("Sony", "HDR-CX240E")
    assert records["old.wmv"]["duration_s"] == 5.0 and records["init.mp4"]["video_codec"] == "h264"
    assert records["damaged.heic"]["make"] == "Apple"
    human = _verify(["meta", str(undecodable["old.mov"])], _env(tmp_path))
    assert human.returncode == 0 and "rotation     90" in human.stdout and "could not be decoded" in human.stderr


def test_cli_meta_keeps_the_metadata_when_the_decoder_is_stopped(tmp_path: Path) -> None:
    """A decoder stopped by the time limit does not cost the metadata: it is read again, alone."""
    path = c.long_clip(tmp_path / "long.mov", creation_time="2020-01-02T03:04:05.000000Z")
    env = dict(_env(tmp_path), VERIFY_DECODE_TIMEOUT="0.1")
    result = _verify(["meta", "--json", str(path)], env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert "took longer than 0.1 seconds" in record["error"] and "container metadata was read" in record["error"]
    assert (record["width"], record["height"], record["video_codec"]) == (320, 240, "h264")
    assert record["captured_at"] == "2020-01-02T03:04:05+00:00" and record["duration_s"] == pytest.approx(40, abs=0.1)
    # with a normal limit the same file decodes, and error is null
    normal = json.loads(_verify(["meta", "--json", str(path)], _env(tmp_path)).stdout)
    assert normal["error"] is None and normal["captured_at"] == record["captured_at"]


def test_cli_index_and_match_refuse_undecodable_files_and_store_nothing(
    tmp_path: Path, undecodable: dict[str, Path], db_url: str | None
) -> None:
    """Storable is unchanged: no decodable picture, no item. The good file next to them is stored."""
    folder = undecodable["init.mp4"].parent
    write(folder / "photo.jpg", encoded(picture(9, (640, 480)), "JPEG", quality=90))
    env = _env(tmp_path, db_url)
    result = _verify(["index", "--json", "--workers", "2", str(folder)], env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    records = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines()) if "path" in r}
    assert records["photo.jpg"]["status"] == "added"
    for name in undecodable:
        assert records[name]["status"] == "error" and records[name]["item_id"] is None, name
    from verify.config import load_settings
    from verify.store import Store

    settings = load_settings(data_dir=tmp_path / "data", db_url=db_url)
    store = Store(settings.database_url)
    try:
        assert store.count_items() == 1
    finally:
        store.close()
    originals = [p for p in settings.media_dir.rglob("*") if p.is_file()]
    assert len(originals) == 1  # only the photo's original; nothing half-written for the others
    matched = _verify(["match", "--json", *map(str, undecodable.values())], env)
    assert "Traceback" not in matched.stderr and matched.returncode == 1  # every file failed
    for r in map(json.loads, matched.stdout.splitlines()):
        assert r["error"] and r["matches"] == [], r


def test_upload_of_an_undecodable_file_says_why_and_stores_nothing(services, undecodable: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    """What the workbench's upload calls: a readable error per file, no item, no original kept."""
    for name, path in undecodable.items():
        with path.open("rb") as fh, pytest.raises(VerifyError) as err:
            services.ingest_stream(fh, filename=name, actor="Amal")
        assert "decode" in str(err.value).lower() or "damaged" in str(err.value).lower(), name
    assert services.store.count_items() == 0
    assert not [p for p in services.settings.media_dir.rglob("*") if p.is_file()]


def test_store_refuses_an_analysis_without_pictures(sqlite_services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Even if a caller hands over a metadata-only analysis, nothing is stored."""
    path = write(tmp_path / "old.mov", c.quicktime_movie(created=CREATED, modified=MODIFIED))
    a = analyse(path, sqlite_services.settings, keep_undecodable=True)
    staged = sqlite_services.blobs.stage_file(path, sqlite_services.settings.max_file_bytes)
    try:
        with pytest.raises(UnreadableMedia, match="could not be decoded"):
            sqlite_services.store_analysis(a, staged, claim=__import__("verify.models").models.Claim(), origin="archive",
                                           actor="Amal", filename="old.mov")  # fmt: skip
    finally:
        sqlite_services.blobs.discard(staged)
    assert sqlite_services.store.count_items() == 0
    assert not [p for p in sqlite_services.settings.media_dir.rglob("*") if p.is_file()]


# -- C2PA presence in every container ----------------------------------------------------------------


def _c2pa_files(tmp_path: Path) -> dict[str, tuple[Path, Path, str]]:
    """(with a store, without one, the container named) for each container the spec defines."""
    im = picture(5)
    store = c.jumbf_store(padding=2500)  # over two APP11 segments of 1000 bytes: three segments
    jpeg, png, webp = encoded(im, "JPEG"), encoded(im, "PNG"), encoded(im, "WEBP")
    heic = encoded(im, "HEIF")
    mp4 = c.fragmented_mp4(tmp_path / "plain-frag.mp4").read_bytes()
    mov = c.quicktime_movie(created=CREATED, modified=MODIFIED, with_ftyp=True)
    avi = c.avi_clip(tmp_path / "plain-src.avi")
    cases = {
        "jpg": (c.jpeg_with_store(jpeg, store), jpeg, "JPEG APP11 (3 segments)"),
        "png": (c.png_with_store(png, store), png, "PNG caBX chunk"),
        "webp": (c.webp_with_store(webp, store), webp, "WEBP C2PA chunk"),
        "tif": (c.tiff_with_store(im, store), encoded(im, "TIFF"), "TIFF tag 0xCD41"),
        "heic": (c.with_top_level_box(heic, c.isobmff_c2pa_box(store)), heic, "HEIF uuid box"),
        "mp4": (c.with_top_level_box(mp4, c.isobmff_c2pa_box(store)), mp4, "MP4 uuid box"),
        "mov": (c.with_top_level_box(mov, c.isobmff_c2pa_box(store), after=b"ftyp"), mov, "MOV uuid box"),
        "avi": (c.riff_with_store(avi, store), avi, "AVI C2PA chunk"),
    }
    return {ext: (write(tmp_path / f"with.{ext}", a), write(tmp_path / f"plain.{ext}", b), where) for ext, (a, b, where) in cases.items()}


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif", "heic", "mp4", "mov", "avi"])
def test_c2pa_present_but_not_validated_is_not_absent(tmp_path: Path, sqlite_settings: Settings, ours, exiftool, ext: str) -> None:  # type: ignore[no-untyped-def]
    with_store, plain, where = _c2pa_files(tmp_path)[ext]
    m = ours(with_store, sqlite_settings).metadata
    assert m.c2pa is not None, "a manifest store that cannot be validated was reported as absent"
    assert (m.c2pa["present"], m.c2pa["state"], m.c2pa["valid"], m.c2pa["container"]) == (True, "Unvalidated", None, where)
    codes = [f.code for f in evaluate(None, m)]
    assert "c2pa_unvalidated" in codes and "c2pa_absent" not in codes and "c2pa_invalid" not in codes
    assert exiftool(with_store).get("JUMBF:JUMDLabel") == "c2pa"  # ExifTool finds the same store
    clean = ours(plain, sqlite_settings).metadata
    assert clean.c2pa is None and "c2pa_absent" in [f.code for f in evaluate(None, clean)]
    assert "JUMBF:JUMDLabel" not in exiftool(plain)


def test_signed_manifest_names_its_container(tmp_path: Path, sqlite_settings: Settings, ours) -> None:  # type: ignore[no-untyped-def]
    from test_metadata import _signed_jpeg

    m = ours(_signed_jpeg(tmp_path / "signed.jpg"), sqlite_settings).metadata
    assert m.c2pa is not None and m.c2pa["valid"] is True and m.c2pa["container"].startswith("JPEG APP11")


@pytest.mark.parametrize("ext", ["png", "webp", "tif", "mp4", "mov"])
def test_signed_files_are_found_by_the_container_walk(tmp_path: Path, sqlite_settings: Settings, ours, ext: str) -> None:  # type: ignore[no-untyped-def]
    """The walk agrees with the SDK on files the SDK itself signed (not only on hand-built ones),
    and such files validate (signer untrusted, history intact)."""
    from verify.metadata.c2pa_presence import find_manifest_store

    im = picture(6)
    sources = {
        "png": ("image/png", encoded(im, "PNG"), "PNG caBX chunk"),
        "webp": ("image/webp", encoded(im, "WEBP"), "WEBP C2PA chunk"),
        "tif": ("image/tiff", encoded(im, "TIFF"), "TIFF tag 0xCD41"),
        "mp4": ("video/mp4", c.fragmented_mp4(tmp_path / "src.mp4").read_bytes(), "MP4 uuid box"),
        "mov": ("video/quicktime", c.quicktime_clip(tmp_path / "src.mov"), "MOV uuid box"),
    }
    mime, data, where = sources[ext]
    path = write(tmp_path / f"signed.{ext}", c.sign_c2pa(mime, data))
    assert find_manifest_store(path, mime) == where
    m = ours(path, sqlite_settings).metadata
    assert m.c2pa is not None and m.c2pa["container"] == where and m.c2pa["valid"] is True, m.c2pa


def test_c2pa_in_jpeg_xl_container(tmp_path: Path, exiftool) -> None:  # type: ignore[no-untyped-def]
    """JPEG XL keeps the store in a top-level ``jumb`` box; ExifTool finds the same one."""
    from verify.metadata.c2pa_presence import find_manifest_store

    path = write(tmp_path / "c2pa.jxl", c.jxl_with_store(picture(3), c.jumbf_store()))
    assert find_manifest_store(path, "image/jxl") == "JPEG XL jumb box"
    assert exiftool(path).get("JUMBF:JUMDLabel") == "c2pa"
    plain = write(tmp_path / "plain.jxl", c.jxl_with_store(picture(3), b""))
    assert find_manifest_store(plain, "image/jxl") is None


# -- bounded walks: declared sizes never walked past the end -------------------------------------------


def _hostile_files(tmp_path: Path) -> dict[str, bytes]:
    import struct

    mov = c.quicktime_movie(created=CREATED, modified=MODIFIED)
    big_stsd = mov.replace(b"stsd", b"stsd", 1)
    at = big_stsd.index(b"stsd") + 12
    big_stsd = big_stsd[:at] + struct.pack(">I", 0xFFFFFFFF) + big_stsd[at + 4 :]  # entry count
    at = big_stsd.index(b"avc1") - 4
    big_stsd = big_stsd[:at] + struct.pack(">I", 0x7FFFFFFF) + big_stsd[at + 4 :]  # entry size past the end
    asf = bytearray(c.asf_header(created=CREATED, play_s=5, preroll_ms=0, width=320, height=240))
    asf_count = bytes(asf[:24]) + struct.pack("<I", 0xFFFFFFFF) + bytes(asf[28:])  # 4 billion objects
    asf_size = bytes(asf[:16]) + struct.pack("<Q", 2**63) + bytes(asf[24:])  # header larger than the file
    asf_obj = bytearray(asf)
    asf_obj[30 + 16 : 30 + 24] = struct.pack("<Q", 2**40)  # first object past the header's end
    sei = b"\x00\x00\x00\x01\x06\x05" + b"\xff" * 4000 + b"\x10"  # a payload size far past the NAL unit
    jpeg = encoded(picture(2), "JPEG")
    app11_past_end = jpeg[:2] + b"\xff\xeb\xff\xff" + b"JP\x00\x01\x00\x00\x00\x01" + c.jumbf_store()[:40]
    png = encoded(picture(2), "PNG")
    png_past_end = png[:33] + struct.pack(">I", 0xFFFFFFF0) + b"caBX" + b"\0" * 10
    tiff = bytearray(encoded(picture(2), "TIFF"))
    ifd = struct.unpack_from("<I", tiff, 4)[0]
    tiff[ifd : ifd + 2] = struct.pack("<H", 65535)
    boxes_loop = c.box(b"ftyp", b"isom\0\0\0\0") + struct.pack(">I4s", 0, b"uuid") + c.C2PA_UUID[:8]
    riff = b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WEBP" + b"VP8X" + struct.pack("<I", 0xFFFFFFF0) + b"\0" * 20
    return {
        "stsd-bomb.mov": big_stsd,
        "asf-count.wmv": asf_count,
        "asf-size.wmv": asf_size,
        "asf-object.wmv": bytes(asf_obj),
        "sei-past-end.mts": c.avchd_clip(sei),
        "pmt-garbage.mts": c.avchd_clip(b"") [: 192 * 2] + b"\x00\x00\x00\x00\x47\x41\x00\x10" + b"\xff" * 184,
        "app11-past-end.jpg": app11_past_end,
        "cabx-past-end.png": png_past_end,
        "ifd-65535.tif": bytes(tiff),
        "box-size-zero.mp4": boxes_loop,
        "riff-past-end.webp": riff,
    }


def test_hostile_container_sizes_cost_an_error_not_a_walk(tmp_path: Path, sqlite_settings: Settings, ours) -> None:  # type: ignore[no-untyped-def]
    """Every walk is bounded by the file: absurd counts and sizes end quickly with a readable result."""
    from verify.errors import UnsupportedMedia

    for name, data in _hostile_files(tmp_path).items():
        path = write(tmp_path / name, data)
        started = time.perf_counter()
        try:
            a = ours(path, sqlite_settings)
        except UnsupportedMedia:
            continue  # not recognised at all: fine, nothing was walked
        except VerifyError as exc:
            assert str(exc), name
        else:
            assert a.fingerprints == [] or a.decode_error is None, name
            assert a.metadata.c2pa is None or a.metadata.c2pa["state"] == "Unvalidated", name
        assert time.perf_counter() - started < 20, f"{name} took too long"  # a hang detector, not a timing


# -- mutated containers: the hand-written readers never raise -----------------------------------


_SEEDS: dict[str, bytes] = {}


def _seed_files(tmp: Path) -> dict[str, bytes]:
    if not _SEEDS:
        store = c.jumbf_store(padding=1500)
        im = picture(8)
        _SEEDS.update({
            "old.mov": c.with_top_level_box(c.quicktime_movie(created=CREATED, modified=MODIFIED, rotation=90), c.isobmff_c2pa_box(store)),
            "clip.mts": c.avchd_clip(c.h264_parameter_sets() + c.mdpm_sei(c.sony_mdpm())),
            "old.wmv": c.asf_header(created=CREATED, play_s=5, preroll_ms=100, width=320, height=240),
            "c2pa.jpg": c.jpeg_with_store(encoded(im, "JPEG"), store),
            "c2pa.png": c.png_with_store(encoded(im, "PNG"), store),
            "c2pa.tif": c.tiff_with_store(im, store),
        })  # fmt: skip
    return _SEEDS


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_mutated_containers_never_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: st.DataObject) -> None:
    from verify.config import load_settings
    from verify.metadata.asf import ASFError, read_asf_header
    from verify.metadata.avchd import read_h264
    from verify.metadata.c2pa_presence import find_manifest_store

    monkeypatch.setattr(exiftool_module, "available", lambda: False)
    seeds = _seed_files(tmp_path)
    name = data.draw(st.sampled_from(sorted(seeds)))
    buf = bytearray(seeds[name])
    for _ in range(data.draw(st.integers(1, 12))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, data.draw(st.integers(0, 255))]))
    if data.draw(st.booleans()):
        buf = buf[: data.draw(st.integers(1, len(buf)))]
    path = write(tmp_path / name, bytes(buf))
    find_manifest_store(path, None)
    read_h264(path)
    try:
        read_asf_header(path)
    except ASFError:
        pass
    try:
        sniffed = sniff_file(path)
    except VerifyError:
        return
    m = metadata.read(path, sniffed, load_settings(data_dir=tmp_path / "data"))
    assert isinstance(m.errors, list)
