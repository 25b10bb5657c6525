"""HEIC orientation as recorded, JPEG XL and AVIF: recognised, read, fingerprinted, and in
agreement with ExifTool 13 on every field both report.

Files are generated here: pillow-heif writes HEIC with an EXIF Orientation, the JXL plugin writes
JPEG XL (bare codestream and, with EXIF, the box container), Pillow writes AVIF.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

import factories as f
from conftest import skip_or_fail
from test_exiftool_agreement import _compare
from verify import metadata
from verify.config import Settings
from verify.media import sniff_bytes, sniff_file
from verify.metadata import exiftool as exiftool_module
from verify.services import analyse


def _exif(orientation: int | None = 6) -> bytes:
    ex = Image.Exif()
    ex[0x010F] = "Apple"
    ex[0x0110] = "iPhone 13 Pro"
    ex[0x0131] = "17.1"
    if orientation is not None:
        ex[0x0112] = orientation
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = "2024:03:02 10:11:12"
    sub[0x9011] = "+03:00"
    gps = ex.get_ifd(0x8825)
    gps.update({1: "N", 2: (36.0, 12.0, 0.0), 3: "E", 4: (37.0, 9.0, 36.0)})
    return ex.tobytes()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import pillow_heif  # noqa: F401 - registered by verify.media
    import pillow_jxl  # noqa: F401

    import verify.media  # noqa: F401 - registers the plugins

    folder = tmp_path_factory.mktemp("formats")
    picture = f.photo(21, (640, 448))
    out = {}
    for name, fmt, kwargs in (
        ("portrait.heic", "HEIF", {"exif": _exif(6), "quality": 80}),
        ("upright.heic", "HEIF", {"exif": _exif(1), "quality": 80}),
        ("portrait.jxl", "JXL", {"exif": _exif(6), "quality": 80}),
        ("plain.jxl", "JXL", {"quality": 80}),
        ("portrait.avif", "AVIF", {"exif": _exif(6), "quality": 70}),
    ):
        path = folder / name
        picture.save(path, fmt, **kwargs)
        out[name] = path
    return out


def _read(path: Path) -> metadata.Metadata:
    return metadata.read(path, sniff_file(path), Settings(data_dir=path.parent))


def test_heic_reports_the_orientation_the_file_records(files: dict[str, Path]) -> None:
    """pillow-heif turns the picture upright and resets EXIF Orientation to 1; we report the 6."""
    with Image.open(files["portrait.heic"]) as im:
        assert im.getexif().get(0x0112) == 1 and im.size == (448, 640)  # what the decoder hands over
    meta = _read(files["portrait.heic"])
    assert meta.orientation == 6
    assert meta.raw["EXIF:Orientation"] == "6"
    assert (meta.width, meta.height)[0] >= 640  # stored size: the coded picture, not turned
    assert meta.raw["verify:DisplayedSize"] == "448x640"
    assert meta.raw["HEIF:Rotation"].startswith("270 degrees")
    assert meta.make == "Apple" and meta.captured_at == "2024-03-02T10:11:12+03:00"
    assert meta.gps is not None and abs(meta.gps.lat - 36.2) < 1e-6
    assert _read(files["upright.heic"]).orientation == 1


def test_jpeg_xl_is_recognised_in_both_forms_and_read(files: dict[str, Path]) -> None:
    assert files["plain.jxl"].read_bytes()[:2] == b"\xff\x0a"  # bare codestream
    assert files["portrait.jxl"].read_bytes()[4:8] == b"JXL "  # box container (it carries EXIF)
    for name in ("plain.jxl", "portrait.jxl"):
        assert sniff_file(files[name]).mime == "image/jxl" and sniff_file(files[name]).kind == "image"
    meta = _read(files["portrait.jxl"])
    assert (meta.width, meta.height) == (640, 448) and meta.orientation == 6 and meta.container == "JXL"
    assert meta.make == "Apple" and meta.captured_at == "2024-03-02T10:11:12+03:00" and meta.gps is not None
    assert meta.raw["verify:DisplayedSize"] == "448x640"
    assert sniff_bytes(b"\x00\x00\x00\x0cJXL \r\n\x87\n" + bytes(20)).mime == "image/jxl"


def test_avif_is_read_from_its_own_boxes(files: dict[str, Path]) -> None:
    """Pillow's AVIF reader writes the HEIF rotation into EXIF Orientation; the file's EXIF has
    none (Pillow moved it into irot when writing), and, like ExifTool, we report none."""
    assert sniff_file(files["portrait.avif"]).mime == "image/avif"
    with Image.open(files["portrait.avif"]) as im:
        assert im.getexif().get(0x0112) == 6  # synthesised by the decoder from irot
    meta = _read(files["portrait.avif"])
    assert meta.orientation is None
    assert (meta.width, meta.height) == (640, 448)
    assert meta.raw["HEIF:Rotation"].startswith("270 degrees") and meta.raw["verify:DisplayedSize"] == "448x640"
    assert meta.make == "Apple" and meta.gps is not None


@pytest.mark.parametrize("name", ["portrait.heic", "portrait.jxl", "plain.jxl", "portrait.avif"])
def test_new_formats_are_fingerprinted_upright(files: dict[str, Path], name: str, tmp_path: Path) -> None:
    """Fingerprinted as pictures, and upright: the HEIC, JXL and AVIF copies of one photo (each
    turned by its orientation) match the same photo saved upright as a JPEG."""
    from verify.fingerprints import compute_image

    a = analyse(files[name], Settings(data_dir=tmp_path))
    assert a.kind == "image" and a.fingerprints, (name, a.metadata.errors)
    reference = tmp_path / "reference.jpg"
    photo = f.photo(21, (640, 448))
    (photo.rotate(-90, expand=True) if name != "plain.jxl" else photo).save(reference, "JPEG", quality=90)
    ref_fps = compute_image(reference, 10**8)
    best = min(int(bin(int(q.hex, 16) ^ int(r.hex, 16)).count("1"))
               for q in a.fingerprints for r in ref_fps if q.algorithm == r.algorithm and q.variant == r.variant)  # fmt: skip
    assert best <= 8, (name, best)


def test_exiftool_13_agrees_on_the_new_formats(files: dict[str, Path]) -> None:
    exe = exiftool_module.find()
    if not exe or not exiftool_module.available():
        skip_or_fail(exiftool_module.status())
    names = ["portrait.heic", "upright.heic", "portrait.jxl", "plain.jxl", "portrait.avif"]
    folder = files[names[0]].parent
    proc = subprocess.run([exe, "-j", "-n", "-G1", "-a", "-q", "-q", *names], cwd=folder, capture_output=True, timeout=120, check=False)
    records = {r["SourceFile"]: r for r in json.loads(proc.stdout.decode(), parse_float=Decimal)}
    compared = 0
    fields = set()
    for name in names:
        found, _vendor = _compare(f"photos/{name}", records[name], _read(files[name]))
        bad = [c for c in found if not c.agree]
        assert not bad, [(c.file, c.field, c.detail) for c in bad]
        compared += len(found)
        fields |= {c.field for c in found}
    assert {"make", "model", "software", "captured_at", "gps", "orientation", "size"} <= fields
    assert compared >= 25
    assert records["portrait.heic"]["IFD0:Orientation"] == 6
