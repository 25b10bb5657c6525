"""``verify meta --json``: exactly the keys scripts rely on, with normalised values."""

from __future__ import annotations

import json
from pathlib import Path

import piexif
import pytest
from click.testing import CliRunner

from factories import jpeg_bytes, photo, video, write
from verify.cli import cli

DESIGN_KEYS = {"path", "sha256", "kind", "mime", "width", "height", "captured_at", "make", "model", "software",
               "orientation", "gps", "duration_s", "fps", "video_codec", "rotation", "c2pa", "error", "raw"}  # fmt: skip


def test_meta_json_keys_and_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_DATA_DIR", str(tmp_path / "data"))
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 13", piexif.ImageIFD.Software: b"<b>17.1</b>"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2023:10:07 06:30:00", piexif.ExifIFD.OffsetTimeOriginal: b"+03:00"},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((31, 1), (30, 1), (0, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((34, 1), (27, 1), (0, 1))},
        "1st": {}, "thumbnail": None,
    })  # fmt: skip
    img = write(tmp_path / "in" / "a.jpg", jpeg_bytes(photo(1, (320, 240)), exif=exif))
    vid = video(tmp_path / "in" / "b.mp4", seconds=1.0, metadata={"creation_time": "2023-10-07T03:30:00.000000Z"})
    junk = write(tmp_path / "in" / "c.jpg", b"not a picture at all, just text pretending")
    result = CliRunner().invoke(cli, ["meta", "--json", str(img), str(vid), str(junk)])
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    for record in lines:
        assert DESIGN_KEYS <= set(record)
    a, b, c = lines
    assert (a["kind"], a["mime"], a["width"], a["height"]) == ("image", "image/jpeg", 320, 240)
    assert (a["make"], a["model"], a["software"]) == ("Apple", "iPhone 13", "<b>17.1</b>")  # markup stays text
    assert a["captured_at"] == "2023-10-07T06:30:00+03:00"
    assert a["gps"] == {"lat": 31.5, "lon": 34.45, "alt": None}
    assert a["c2pa"] is None and a["error"] is None and a["raw"]["EXIF:Make"] == "Apple"
    assert all(isinstance(v, str) for v in a["raw"].values())
    assert (b["kind"], b["video_codec"], b["captured_at"]) == ("video", "h264", "2023-10-07T03:30:00+00:00")
    assert b["duration_s"] == pytest.approx(1.0, abs=0.05) and b["fps"] == 25.0
    assert c["error"] and c["sha256"] is None and "Traceback" not in result.output
