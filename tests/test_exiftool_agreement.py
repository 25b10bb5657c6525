"""Field-by-field agreement with ExifTool on every corpus file where ExifTool reports the field.

ExifTool is the reference newsrooms already trust. The reference is ExifTool 13 or newer, found
as the product finds it (``VERIFY_EXIFTOOL``, then the PATH; ``.ci/run`` installs 13.x from npm's
``exiftool-vendored.pl``); an older one is not a reference (its readers differ). The comparison is
of *our own* readers, so enrichment is switched off for it.

Where ExifTool reads a value from a standard place (EXIF IFD0/ExifIFD/GPS, XMP tiff/exif, the
QuickTime Keys/UserData/loci, the track headers), we must agree: strings exactly, times exactly
(wall clock, sub-seconds and offset), GPS within 1e-5 degrees, durations within 1 ms. The few
cases where the two legitimately differ are listed in ``EXCEPTIONS`` with the reason, and the
test fails if a listed exception stops occurring (so the list cannot go stale).

Values ExifTool finds only in vendor blocks (maker notes, FLIR, Reconyx, CIFF, AVCHD's H.264
MDPM) are what the issue lists as "what only ExifTool reads"; they are counted and reported
separately, not compared.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from conftest import skip_or_fail
from verify import metadata
from verify.config import load_settings
from verify.media import sniff_file
from verify.metadata import exiftool as exiftool_module
from verify.metadata.parsing import parse_offset
from verify.models import Metadata

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

# (corpus file, field) -> why ExifTool's value and ours legitimately differ.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("photos/tx__pdq_data_bridge-mods_aaa-orig.jpg", "orientation"):
        "EXIF Orientation is 0, which is not a valid value (1-8). ExifTool -n passes the raw 0 through; we "
        "report no orientation and add a readable error saying the value is invalid.",
    **{
        (f"photos/{name}", "captured_at"): "DateTimeOriginal holds the placeholder a camera writes when its clock "
        "was never set ('    :  :     :  :  ' or '0000:00:00 00:00:00'). ExifTool passes it through as text; it is "
        "no date, and we report none (the test still checks that we do)."
        for name in ("mei__jpg_FujiFilm_DX-5.jpg", "mei__jpg_Nikon_E885.jpg", "mei__jpg_Nikon_E900_1.jpg", "mei__jpg_Nikon_E900_2.jpg")
    },
    ("videos/mei__mts_Sony_ILCE-7M3_A7M3.mts", "duration"):
        "For MPEG transport streams ExifTool's Duration is the span between the first and last PCR clock "
        "references (0.450 s here), not the video stream's duration; we report FFmpeg's stream duration "
        "(0.420 s). The video packets' timestamps span 0.50 s, so neither is the frame-exact length.",
}  # fmt: skip

VENDOR_GROUPS = ("MakerNotes", "Canon", "Nikon", "Sony", "Olympus", "Reconyx", "FLIR", "CIFF", "PictureInfo", "FotoStation")
# ExifTool prints AVCHD makes as a numeric code with -n; these are its own names for the codes.
H264_MAKES = {0x0103: "Panasonic", 0x0108: "Sony", 0x1011: "Canon", 0x1104: "JVC"}


@dataclass
class Comparison:
    file: str
    field: str
    agree: bool
    reference: str
    detail: str


@pytest.fixture(scope="module")
def exiftool_records(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    from conftest import CORPUS

    if not (CORPUS / "manifest.csv").exists():
        skip_or_fail(f"the shared media corpus is not at {CORPUS} (it is only on development and CI machines)")
    exe = exiftool_module.find()
    if not exe or not exiftool_module.available():
        skip_or_fail(exiftool_module.status())
    proc = subprocess.run([exe, "-j", "-n", "-G1", "-a", "-q", "-q", "-r", "photos", "videos"],
                          cwd=CORPUS, capture_output=True, timeout=300, check=False)  # fmt: skip
    records = json.loads(proc.stdout.decode("utf-8", "replace"), parse_float=Decimal)
    return {r["SourceFile"]: r for r in records}


@pytest.fixture(scope="module")
def ours(exiftool_records: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Metadata]:
    from conftest import CORPUS

    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"))
    saved = exiftool_module.available
    exiftool_module.available = lambda: False  # compare our readers, never ExifTool with itself
    try:
        out = {}
        for name in exiftool_records:
            path = CORPUS / name
            out[name] = metadata.read(path, sniff_file(path), settings)
        return out
    finally:
        exiftool_module.available = saved


def _first(r: dict[str, Any], *keys: str) -> tuple[str | None, Any]:
    for k in keys:
        v = r.get(k)
        if v is None or (isinstance(v, str) and v.strip(" :0") == ""):  # placeholders are handled apart
            continue
        return k, v
    return None, None


def _blank(r: dict[str, Any], *keys: str) -> str | None:
    """A key whose value is only a blank placeholder (spaces and colons)."""
    return next((k for k in keys if isinstance(r.get(k), str) and r[k].strip(" :0") == "" and r[k] != ""), None)


def _time_agrees(reference: str, subsec: Any, offset: Any, ours: str | None) -> bool:
    """Wall clock exact, sub-seconds exact when recorded, offset exact when recorded."""
    if not ours:
        return False
    ref = str(reference).strip().removesuffix(" DST")  # AVCHD marks daylight saving time in words
    wall = ref[:19].replace(":", "-", 2).replace(" ", "T")
    if ours[:19] != wall:
        return False
    rest = ref[19:]
    if rest.startswith("."):
        digits = "".join(ch for ch in rest[1:] if ch.isdigit())
        subsec = subsec or digits
        rest = rest[1 + len(digits) :]
    ours_rest = ours[19:]
    ours_frac = ""
    if ours_rest.startswith("."):
        ours_frac = "".join(ch for ch in ours_rest[1:] if ch.isdigit())
        ours_rest = ours_rest[1 + len(ours_frac) :]
    if subsec not in (None, "") and float("0." + str(subsec).strip()) != float("0." + (ours_frac or "0")):
        return False
    offset = offset or (rest.strip() or None)
    if offset:
        return ours_rest == parse_offset(offset)
    return ours_rest == ""


def _compare(name: str, r: dict[str, Any], m: Metadata) -> tuple[list[Comparison], list[str]]:
    out: list[Comparison] = []
    vendor_only: list[str] = []
    is_video = name.startswith("videos/")

    def add(field: str, ref: str, agree: bool, detail: str) -> None:
        out.append(Comparison(name, field, agree, ref, detail))

    for field in ("Make", "Model", "Software"):
        k, v = _first(r, f"IFD0:{field}", f"XMP-tiff:{field}", f"XMP-exif:{field}", f"Keys:{field}", f"UserData:{field}", f"H264:{field}")
        if k == "H264:Make":
            v = H264_MAKES.get(int(v), v)
        ours_value = getattr(m, field.lower())
        if k:
            add(field.lower(), k, ours_value is not None and str(v).strip() == ours_value, f"exiftool {v!r}, ours {ours_value!r}")
        elif any(key.split(":", 1)[0] in VENDOR_GROUPS and key.endswith(f":{field}") for key in r):
            vendor_only.append(field.lower())

    date_keys = ("ExifIFD:DateTimeOriginal", "IFD0:DateTimeOriginal", "XMP-exif:DateTimeOriginal", "Keys:CreationDate",
                 "UserData:DateTimeOriginal", "H264:DateTimeOriginal")  # fmt: skip
    k, v = _first(r, *date_keys)
    if k:
        exif = k.startswith(("ExifIFD", "IFD0"))
        subsec = r.get("ExifIFD:SubSecTimeOriginal") if exif else None
        offset = r.get("ExifIFD:OffsetTimeOriginal") if exif else None
        add("captured_at", k, _time_agrees(v, subsec, offset, m.captured_at),
            f"exiftool {v} (sub-seconds {subsec}, offset {offset}), ours {m.captured_at}")  # fmt: skip
    elif blank := _blank(r, *date_keys):
        # Not an agreement on a value: listed in EXCEPTIONS; ours must still say "no date".
        assert m.captured_at is None, (name, m.captured_at)
        add("captured_at", blank, False, f"exiftool {r[blank]!r} (blank placeholder), ours {m.captured_at}")
    elif is_video and _first(r, "QuickTime:CreateDate")[0]:
        v = r["QuickTime:CreateDate"]
        add("captured_at", "QuickTime:CreateDate (UTC)", _time_agrees(v, None, "+00:00", m.captured_at), f"exiftool {v} UTC, ours {m.captured_at}")
    elif any(key.split(":", 1)[0] in VENDOR_GROUPS and key.endswith(":DateTimeOriginal") for key in r):
        vendor_only.append("captured_at")

    lat, lon = r.get("Composite:GPSLatitude"), r.get("Composite:GPSLongitude")
    if isinstance(lat, int | Decimal) and isinstance(lon, int | Decimal):
        g = m.gps
        ok = g is not None and abs(g.lat - float(lat)) <= 1e-5 and abs(g.lon - float(lon)) <= 1e-5
        add("gps", "Composite:GPSLatitude/Longitude", ok, f"exiftool {lat}, {lon}; ours {g}")
        alt = r.get("Composite:GPSAltitude")
        if isinstance(alt, int | Decimal) and g is not None:
            sign = -1 if r.get("Composite:GPSAltitudeRef") == 1 else 1
            add("gps_alt", "Composite:GPSAltitude", g.alt is not None and abs(g.alt - sign * float(alt)) <= 0.01, f"exiftool {sign * float(alt)}, ours {g.alt}")
    elif any(key.split(":", 1)[0] in VENDOR_GROUPS and key.endswith(":GPSLatitude") for key in r):
        vendor_only.append("gps")

    k, v = _first(r, "IFD0:Orientation", "XMP-tiff:Orientation")
    if k or r.get("IFD0:Orientation") == 0:
        v = r.get("IFD0:Orientation") if k is None else v
        add("orientation", k or "IFD0:Orientation", m.orientation == v, f"exiftool {v}, ours {m.orientation}")

    if not is_video:
        k, w = _first(r, "File:ImageWidth", "PNG:ImageWidth")
        _, h = _first(r, "File:ImageHeight", "PNG:ImageHeight")
        if k:
            add("size", k, (m.width, m.height) == (w, h), f"exiftool {w}x{h}, ours {m.width}x{m.height}")
        return out, vendor_only

    tracks = ("Track1", "Track2", "Track3", "Track4", "Track5")
    # The video track: handler 'vide'; ExifTool's JSON keeps only the first of a track's two handler
    # boxes, which in QuickTime files can be the data handler ('alis'), so fall back to the track
    # with a picture size.
    track = next((t for t in tracks if r.get(f"{t}:HandlerType") == "vide"), None) or next(
        (t for t in tracks if (r.get(f"{t}:ImageWidth") or 0) > 0), None
    )
    if track and isinstance(r.get(f"{track}:MediaDuration"), int | Decimal):
        ref = float(r[f"{track}:MediaDuration"])
        add("duration", f"{track}:MediaDuration", m.duration_s is not None and abs(m.duration_s - ref) <= 0.001, f"exiftool {ref}, ours {m.duration_s}")
    elif isinstance(r.get("M2TS:Duration"), int | Decimal):
        ref = float(r["M2TS:Duration"])
        add("duration", "M2TS:Duration", m.duration_s is not None and abs(m.duration_s - ref) <= 0.001, f"exiftool {ref}, ours {m.duration_s}")
    if track and f"{track}:ImageWidth" in r:
        w, h = r[f"{track}:ImageWidth"], r[f"{track}:ImageHeight"]
        add("size", f"{track}:ImageWidth/Height", (m.width, m.height) == (w, h), f"exiftool {w}x{h}, ours {m.width}x{m.height}")
    elif "H264:ImageWidth" in r:
        w, h = r["H264:ImageWidth"], r["H264:ImageHeight"]
        add("size", "H264:ImageWidth/Height", (m.width, m.height) == (w, h), f"exiftool {w}x{h}, ours {m.width}x{m.height}")
    if "Composite:Rotation" in r:
        add("rotation", "Composite:Rotation", (m.rotation or 0) == r["Composite:Rotation"], f"exiftool {r['Composite:Rotation']}, ours {m.rotation}")
    return out, vendor_only


def test_agreement_with_exiftool(exiftool_records: dict[str, dict[str, Any]], ours: dict[str, Metadata]) -> None:
    comparisons: list[Comparison] = []
    vendor: dict[str, list[str]] = {}
    for name, record in sorted(exiftool_records.items()):
        found, vendor_only = _compare(name, record, ours[name])
        comparisons += found
        if vendor_only:
            vendor[name] = vendor_only
    disagreements = [c for c in comparisons if not c.agree]
    excepted = [c for c in disagreements if (c.file, c.field) in EXCEPTIONS]
    unexpected = [c for c in disagreements if (c.file, c.field) not in EXCEPTIONS]
    by_field: dict[str, list[int]] = {}
    for c in comparisons:
        tally = by_field.setdefault(c.field, [0, 0])
        tally[0] += 1
        tally[1] += c.agree
    summary = ", ".join(f"{f} {a}/{n}" for f, (n, a) in sorted(by_field.items()))
    print(f"\nExifTool {exiftool_module.version()}: {len(comparisons)} fields compared on {len(exiftool_records)} files, "
          f"{len(comparisons) - len(disagreements)} agree, {len(excepted)} documented exceptions, {len(unexpected)} unexpected. "
          f"By field: {summary}. Vendor-only (not compared): "
          + "; ".join(f"{k.split('/')[-1]}: {', '.join(v)}" for k, v in sorted(vendor.items())))  # fmt: skip
    assert len(exiftool_records) >= 200, "the corpus should hold over 200 photos and videos"
    assert not unexpected, "\n".join(f"{c.file} {c.field} [{c.reference}]: {c.detail}" for c in unexpected)
    stale = set(EXCEPTIONS) - {(c.file, c.field) for c in excepted}
    assert not stale, f"documented exceptions that no longer occur (remove them): {sorted(stale)}"


def test_every_corpus_file_reads_without_traceback(exiftool_records: dict[str, dict[str, Any]], ours: dict[str, Metadata]) -> None:
    for name, meta in ours.items():
        for error in meta.errors:
            assert "Traceback" not in error and "/work" not in error and "site-packages" not in error, (name, error)
    with_exif = [n for n, r in exiftool_records.items() if any(k.startswith(("IFD0:", "ExifIFD:")) for k in r)]
    missing = [n for n in with_exif if not {"EXIF", "EXIF (exifread)"} & set(ours[n].sources)]
    assert not missing, f"EXIF that ExifTool sees but we report absent: {missing}"




def test_enrichment_only_from_exiftool_13(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exiftool_module, "version", lambda: 12.57)
    assert exiftool_module.available() is False
    monkeypatch.setattr(exiftool_module, "version", lambda: 13.1)
    assert exiftool_module.available() is True
    monkeypatch.setattr(exiftool_module, "version", lambda: None)
    assert exiftool_module.available() is False


def test_enrichment_adds_what_only_exiftool_reads(exiftool_records: dict[str, dict[str, Any]], ours: dict[str, Metadata]) -> None:
    """A FLIR thermal camera keeps its date and GPS in its own APP1 record: only ExifTool reads it."""
    from conftest import CORPUS

    name = "photos/mei__jpg_FLIR_iPhone_device.jpg"
    if name not in ours:
        skip_or_fail(f"{name} is not in the corpus")
    meta = Metadata.from_dict(ours[name].to_dict())
    assert meta.captured_at is None and meta.gps is None
    make_before = meta.make
    exiftool_module.enrich(CORPUS / name, meta)
    assert meta.captured_at == "2021-05-16T12:27:36.107-07:00" and meta.captured_at_source == "ExifTool"
    assert meta.gps is not None and abs(meta.gps.lat - 34.0754261592891) < 1e-9
    assert meta.make == make_before  # never overwrites what our readers found
    assert set(meta.exiftool) >= {"captured_at", "gps"} and any(k.startswith("ExifTool:") for k in meta.raw)


def test_exiftool_is_found_where_the_setting_says(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """VERIFY_EXIFTOOL (the program or its folder) wins over the PATH; a wrong one is said plainly."""
    fake = tmp_path / "bin" / "exiftool"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 13.5\n")
    fake.chmod(0o755)
    old = tmp_path / "old" / "exiftool"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 12.57\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(old.parent))
    monkeypatch.delenv("VERIFY_EXIFTOOL", raising=False)
    assert exiftool_module.find() == str(old)
    assert not exiftool_module.available() and "version 12.57; version 13 or newer is needed" in exiftool_module.status()
    monkeypatch.setenv("VERIFY_EXIFTOOL", str(fake.parent))
    assert exiftool_module.find() == str(fake) and exiftool_module.version() == 13.5 and exiftool_module.available()
    assert exiftool_module.status().startswith("ExifTool 13.5 at ")
    monkeypatch.setenv("VERIFY_EXIFTOOL", str(tmp_path / "nowhere"))
    assert exiftool_module.find() is None and not exiftool_module.available()
    assert "VERIFY_EXIFTOOL names" in exiftool_module.status()
    monkeypatch.delenv("VERIFY_EXIFTOOL")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "none found" in exiftool_module.status()
