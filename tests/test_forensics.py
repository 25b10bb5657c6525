"""Forensic readings: JPEG history, double compression, clones, the sun, the CLI contract."""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import piexif
import pytest
from click.testing import CliRunner
from PIL import Image

from factories import jpeg_bytes, photo, png_bytes, write
from verify.cli import cli
from verify.config import load_settings
from verify.forensics import clone, double_jpeg, examine, jpeg, sun
from verify.models import GPS, Metadata

VENDORED_EXIFTOOL = Path("/work/main/.tools/node/node_modules/exiftool-vendored.pl/bin/exiftool")
JSON_KEYS = {"path", "sha256", "kind", "error", "jpeg", "clone", "sun", "findings"}
JPEG_KEYS = {"quality", "standard_tables", "subsampling", "progressive", "double_compressed", "first_quality", "confidence"}
SUN_KEYS = {"elevation_deg", "azimuth_deg", "sunrise", "sunset", "basis"}
# A camera original with its own (non-IJG) tables whose DCT histograms read clearly.
CAMERA_FILE = "mei__jpg_Sony_Cybershot_3.jpg"
CLONE_PHOTO = "mei__jpg_Kodak_DX4900_Zoom.jpg"  # a detailed real scene


@pytest.mark.parametrize("quality", [20, 45, 60, 75, 85, 92, 98])
def test_quality_estimate_for_pillow_ijg_tables(tmp_path: Path, quality: int) -> None:
    path = write(tmp_path / "a.jpg", jpeg_bytes(photo(quality, (160, 120)), quality=quality))
    reading = jpeg.read(path, use_exiftool=False)
    assert reading.quality is not None and abs(reading.quality - quality) <= 2
    assert reading.standard_tables is True and reading.deviation == 0.0
    assert reading.subsampling == "4:2:0" and reading.progressive is False


def test_structure_progressive_444_and_custom_tables(tmp_path: Path) -> None:
    buf = io.BytesIO()
    photo(2, (160, 120)).save(buf, "JPEG", quality=80, progressive=True, subsampling=0)
    reading = jpeg.read(write(tmp_path / "p.jpg", buf.getvalue()), use_exiftool=False)
    assert (reading.progressive, reading.subsampling, reading.quality) == (True, "4:4:4", 80)
    custom = [min(255, 3 + i) for i in range(64)]
    buf = io.BytesIO()
    photo(3, (160, 120)).save(buf, "JPEG", qtables=[custom, custom])
    reading = jpeg.read(write(tmp_path / "c.jpg", buf.getvalue()), use_exiftool=False)
    assert reading.standard_tables is False and reading.deviation and reading.deviation > 1


def test_marker_walk_never_raises_on_damaged_headers() -> None:
    good = jpeg_bytes(photo(4, (64, 48)), exif=piexif.dump({"0th": {piexif.ImageIFD.Make: b"Canon"}}))
    rng = np.random.default_rng(0)
    for cut in range(0, 700, 7):
        st = jpeg.walk_markers(good[:cut])
        assert cut > 600 or st.problems or not st.tables
    for _ in range(200):
        data = bytearray(good[:600])
        for _ in range(5):
            data[int(rng.integers(2, len(data)))] = int(rng.integers(0, 256))
        jpeg.walk_markers(bytes(data))  # any outcome but an exception
    st = jpeg.walk_markers(good)
    assert "EXIF" in st.app_segments and not st.problems


def test_resaved_after_camera_finding_names_the_camera(tmp_path: Path) -> None:
    exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS 7D"}})
    path = write(tmp_path / "c.jpg", jpeg_bytes(photo(5, (320, 240)), quality=85, exif=exif))
    result = examine(path, load_settings(), use_exiftool=False)
    f = next(f for f in result.findings if f.code == "jpeg_resaved_after_camera")
    assert "Canon EOS 7D" in f.evidence and "quality-85" in f.evidence


@pytest.mark.skipif(not VENDORED_EXIFTOOL.exists(), reason="ExifTool 13 is not installed at the vendored path")
def test_exiftool_jpeg_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_EXIFTOOL", str(VENDORED_EXIFTOOL))
    path = write(tmp_path / "a.jpg", jpeg_bytes(photo(6, (160, 120)), quality=75))
    digest = jpeg.read(path).digest
    assert digest and "Quality 75" in digest


# -- double compression -------------------------------------------------------------------------


def _resave(src: bytes | Path, quality: int) -> bytes:
    with Image.open(src if isinstance(src, Path) else io.BytesIO(src)) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _double(data: bytes) -> double_jpeg.DoubleReading:
    path = io.BytesIO(data)
    with Image.open(path) as im:
        table = np.array(im.quantization[0])
        im.draft("YCbCr", im.size)
        y = np.asarray(im)[:, :, 0].astype(np.float32) - 128
    return double_jpeg.analyse(y, table)


def test_generated_resave_is_flagged_and_single_save_is_not() -> None:
    """A picture first saved at 60 and re-saved at 80: the clear case (the first steps are coarser,
    so the second histogram has periodic gaps), with the first quality estimated."""
    first = jpeg_bytes(photo(7, (1024, 768)), quality=60)
    single = _double(first)
    assert single.double_compressed is not True
    again = _double(_resave(first, 80))
    assert again.double_compressed is True and again.confidence and again.confidence >= 0.5
    assert again.first_quality is not None and abs(again.first_quality - 60) <= 3


@pytest.mark.corpus
def test_resaved_camera_file_flagged(corpus: Path, tmp_path: Path) -> None:
    original = corpus / "photos" / CAMERA_FILE
    q = jpeg.read(original, use_exiftool=False).quality
    resaved = write(tmp_path / "resaved.jpg", _resave(original, q - 10))
    result = examine(resaved, load_settings(), use_exiftool=False)
    assert result.jpeg and result.jpeg["double_compressed"] is True
    assert any(f.code == "double_compressed" for f in result.findings)


@pytest.mark.corpus
def test_untouched_camera_file_not_flagged(corpus: Path) -> None:
    result = examine(corpus / "photos" / CAMERA_FILE, load_settings(), use_exiftool=False)
    assert result.jpeg and result.jpeg["standard_tables"] is False
    assert result.jpeg["double_compressed"] is False
    assert result.clone == {"detected": False, "pairs": []}
    assert not any(f.severity == "red_flag" for f in result.findings)


# -- clones ---------------------------------------------------------------------------------------


def _inside(box: list[int], region: tuple[int, int, int, int], slack: int = 40) -> bool:
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    rx, ry, rw, rh = region
    return rx - slack <= cx <= rx + rw + slack and ry - slack <= cy <= ry + rh + slack


def _forge(im: Image.Image, src: tuple[int, int, int, int], dst_xy: tuple[int, int], how: str) -> np.ndarray:
    patch = im.crop((src[0], src[1], src[0] + src[2], src[1] + src[3]))
    if how == "mirror":
        patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif how == "rotate":
        patch = patch.rotate(7, resample=Image.Resampling.BICUBIC)
    elif how == "scale":
        patch = patch.resize((int(src[2] * 1.08), int(src[3] * 1.08)), Image.Resampling.BICUBIC)
    im = im.copy()
    im.paste(patch, dst_xy)
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(im, quality=88))).convert("RGB"))


def _found_at(reading: clone.CloneReading, src: tuple[int, int, int, int], dst: tuple[int, int, int, int]) -> clone.ClonePair:
    assert reading.detected
    best = max(reading.pairs, key=lambda p: p.inliers)
    boxes = (best.source, best.target)
    assert any(_inside(b, src) for b in boxes) and any(_inside(b, dst) for b in boxes)
    return best


@pytest.mark.parametrize("how", ["shift", "mirror"])
def test_clone_found_where_it_was_made(how: str) -> None:
    src, dst = (60, 60, 300, 240), (620, 400, 300, 240)
    best = _found_at(clone.analyse(_forge(photo(8, (1000, 700)), src, dst[:2], how)), src, dst)
    assert best.transform == ("mirrored" if how == "mirror" else "shift")


@pytest.mark.corpus
@pytest.mark.parametrize("how", ["rotate", "scale"])
def test_clone_found_in_a_real_photo_rotated_or_scaled(corpus: Path, how: str) -> None:
    with Image.open(corpus / "photos" / CLONE_PHOTO) as im:
        pic = im.convert("RGB")
        pic.thumbnail((1600, 1600))
    w, h = pic.size
    src = (20, 20, w // 3, h // 4)
    dst = (w // 2, h // 2, w // 3, h // 4)
    _found_at(clone.analyse(_forge(pic, src, dst[:2], how)), src, dst)


def test_no_clone_in_an_untouched_picture() -> None:
    saved = Image.open(io.BytesIO(jpeg_bytes(photo(9, (1000, 700)), quality=88))).convert("RGB")
    assert not clone.analyse(np.asarray(saved)).detected


# -- sun ------------------------------------------------------------------------------------------


def test_sun_below_the_horizon_for_a_night_capture() -> None:
    meta = Metadata(captured_at="2013-05-02T23:10:00+03:00", gps=GPS(36.2021, 37.1343))  # Aleppo
    reading = sun.reading(meta)
    assert reading is not None and reading.elevation_deg is not None and reading.elevation_deg < -12
    assert reading.sunrise and reading.sunrise.startswith("2013-05-02T05:") and reading.sunset.startswith("2013-05-02T19:")
    f = sun.findings(reading)[0]
    assert f.severity == "caution" and "below the horizon" in f.title and "23:10" in f.evidence


def test_sun_uses_zone_of_the_point_without_offset_and_claimed_date_alone() -> None:
    noon = sun.reading(Metadata(captured_at="2021-06-21T12:30:00"), 51.5, -0.12)  # London, summer time
    assert noon and noon.time_zone == "Europe/London" and noon.elevation_deg > 55 and 150 < noon.azimuth_deg < 210
    assert "claimed point" in noon.basis and "no offset" in noon.basis
    day = sun.reading(Metadata(), 51.5, -0.12, date(2021, 12, 21))
    assert day and day.elevation_deg is None and day.sunrise.startswith("2021-12-21T08:")
    assert sun.reading(Metadata(captured_at="2021-06-21T12:30:00")) is None  # no point at all


def test_examine_reads_night_gps_jpeg(tmp_path: Path) -> None:
    exif = piexif.dump({
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2013:05:02 21:40:00", piexif.ExifIFD.OffsetTimeOriginal: b"+03:00"},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((36, 1), (12, 1), (0, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((37, 1), (8, 1), (0, 1))},
    })  # fmt: skip
    path = write(tmp_path / "night.jpg", jpeg_bytes(photo(10, (320, 240)), exif=exif))
    result = examine(path, load_settings(), use_exiftool=False)
    assert result.sun and result.sun["elevation_deg"] < -12
    assert any(f.code == "sun_position" and "21:40" in f.evidence for f in result.findings)


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_json_shape_jpeg_png_and_hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_DATA_DIR", str(tmp_path / "data"))
    good = write(tmp_path / "in" / "a.jpg", jpeg_bytes(photo(11, (400, 300)), quality=85))
    png = write(tmp_path / "in" / "b.png", png_bytes(photo(12, (200, 150))))
    hostile = write(tmp_path / "in" / "c.jpg", b"\xff\xd8\xff\xdb\xff\xff" + os.urandom(300))
    result = CliRunner().invoke(cli, ["forensics", "--json", str(hostile), str(good), str(png)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 3 and all(JSON_KEYS <= set(r) for r in lines)
    bad, a, b = lines
    assert bad["error"] and bad["sha256"] is None and (bad["jpeg"], bad["clone"], bad["sun"], bad["findings"]) == (None, None, None, [])
    assert a["error"] is None and a["kind"] == "image" and len(a["sha256"]) == 64
    assert JPEG_KEYS <= set(a["jpeg"]) and a["jpeg"]["quality"] == 85 and a["jpeg"]["standard_tables"] is True
    assert a["clone"] == {"detected": False, "pairs": []} and a["sun"] is None
    for f in a["findings"]:
        assert set(f) == {"kind", "severity", "title", "evidence"} and f["severity"] in ("info", "caution", "red_flag")
    assert b["jpeg"] is None and b["clone"]["detected"] is False and b["error"] is None
    assert "Traceback" not in result.output


def test_cli_hostile_file_one_clear_line_batch_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_DATA_DIR", str(tmp_path / "data"))
    hostile = write(tmp_path / "bomb.jpg", b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9")
    good = write(tmp_path / "ok.jpg", jpeg_bytes(photo(13, (200, 150))))
    result = CliRunner(mix_stderr=False).invoke(cli, ["forensics", str(hostile), str(good)]) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner().invoke(cli, ["forensics", str(hostile), str(good)])
    assert result.exit_code == 0
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(str(hostile)) and "Traceback" not in result.stderr
    assert str(good) in result.stdout and "jpeg" in result.stdout


def test_sun_json_keys(tmp_path: Path) -> None:
    reading = sun.reading(Metadata(captured_at="2013-05-02T21:40:00+03:00", gps=GPS(36.2, 37.1)))
    assert reading and SUN_KEYS <= set(reading.to_dict())


@pytest.fixture(autouse=True)
def _stop_shared_sandboxes():
    """The CLI's shared sandbox workers are stopped after each test, also when it fails."""
    yield
    from verify import sandbox

    with sandbox._default_lock:
        boxes = list(sandbox._default.values())
        sandbox._default.clear()
    for box in boxes:
        box.close()


def test_very_large_picture_is_read_on_a_reduced_copy_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 100-megapixel path, exercised with the threshold lowered (a real 100 MP decode is a benchmark matter)."""
    import verify.forensics as fx

    monkeypatch.setattr(fx, "REDUCE_ABOVE_PIXELS", 200_000)
    monkeypatch.setattr(fx, "REDUCED_SIDE", 400)
    im = photo(14, (1000, 700))
    im.paste(im.crop((60, 60, 360, 300)), (620, 400))
    path = write(tmp_path / "big.jpg", jpeg_bytes(im, quality=90))
    result = fx.examine(path, load_settings(), with_images=True, use_exiftool=False)
    assert result.reduced and any("reduced" in n for n in result.notes)
    assert result.to_json()["reduced"] is True and result.jpeg and result.jpeg["quality"] == 90
    if result.clone and result.clone["detected"]:  # boxes are given in the full picture's pixels
        assert max(p["target"][0] + p["target"][2] for p in result.clone["pairs"]) > 500
    assert {"ela", "noise", "clone"} <= set(result.images)


@pytest.mark.corpus
def test_symmetric_butterfly_is_not_a_mirrored_clone(corpus: Path) -> None:
    """The two wings of a butterfly match as a mirror image: one symmetric thing, not a copy."""
    with Image.open(corpus / "photos" / "mei__jpg_Kodak_DX4330.jpg") as im:
        assert not clone.analyse(np.asarray(im.convert("RGB"))).detected


def test_exact_coefficients_flag_a_resave_at_a_higher_quality(tmp_path: Path) -> None:
    """With the file's own coefficients (jpeglib), steps of 1 are read: a quality-90 picture
    re-saved at 100 is flagged, the quality-90 original is not."""
    pytest.importorskip("jpeglib")
    first = jpeg_bytes(photo(7, (1024, 768)), quality=90)

    def exact(data: bytes, name: str) -> double_jpeg.DoubleReading:
        path = write(tmp_path / name, data)
        coef = double_jpeg.coefficients(path)
        assert coef is not None and coef.shape[2] == 64
        with Image.open(path) as im:
            table = np.array(im.quantization[0])
        return double_jpeg.analyse(double_jpeg.luminance(path, 10**8), table, coef_q=coef)

    assert exact(first, "single.jpg").double_compressed is not True
    assert exact(_resave(first, 100), "again.jpg").double_compressed is True
