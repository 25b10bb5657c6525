"""JPEG compression history: how the file was last saved, read from its own tables and markers.

Every JPEG carries the quantization tables its encoder used. Software built on the IJG library
(libjpeg, Pillow, GIMP, most web services) writes the standard tables of the JPEG standard's
Annex K scaled by a quality setting, so a file whose tables equal "standard at quality 85" was
almost certainly last written by such software. Cameras and phones mostly use tables of their
own. That one fact, set against what the EXIF says (a camera model, no editing software),
is often the first sign a picture was re-saved after the camera.

The marker walk is written here, with bounds checks on every length, rather than trusting a
decoder's summary: hostile files lie in their lengths, and we want the list of segments even
when the picture itself does not decode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from verify.models import Finding

# Annex K tables in natural (row-major) order, the ones libjpeg scales by quality.
IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.int32)  # fmt: skip
IJG_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
] + [99] * 32, dtype=np.int32)  # fmt: skip

#: Largest file the marker walk reads into memory; longer files are read up to here (the
#: headers always come first, and the scan data is not needed for this reading).
MAX_HEADER_BYTES = 8 * 1024 * 1024
EXIFTOOL_TIMEOUT_S = 20

ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53,
    60, 61, 54, 47, 55, 62, 63,
])  # fmt: skip  natural index of the k-th coefficient in zigzag order


def ijg_table(quality: int, chroma: bool = False) -> np.ndarray:
    """The table libjpeg writes at ``quality`` (1-100), with baseline clamping to 1..255."""
    q = max(1, min(100, int(quality)))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    base = IJG_CHROMA if chroma else IJG_LUMA
    return np.clip((base * scale + 50) // 100, 1, 255)


@dataclass
class Segment:
    marker: str  # "APP1", "DQT", ...
    offset: int
    length: int
    label: str | None = None  # what an APP segment carries: "EXIF", "XMP", "ICC profile"...


@dataclass
class JpegStructure:
    """What the markers say, walked by hand; ``problems`` lists what did not add up."""

    segments: list[Segment] = field(default_factory=list)
    tables: dict[int, np.ndarray] = field(default_factory=dict)  # table id -> 64 values, natural order
    progressive: bool | None = None
    arithmetic: bool = False
    restart_interval: int | None = None
    components: list[tuple[int, int, int, int]] = field(default_factory=list)  # id, h, v, table
    width: int | None = None
    height: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def app_segments(self) -> list[str]:
        """Distinct labels of the APP segments, in file order."""
        seen: list[str] = []
        for s in self.segments:
            if s.label and s.label not in seen:
                seen.append(s.label)
        return seen


_APP_LABELS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"JFIF\x00", "JFIF"),
    (0, b"JFXX\x00", "JFIF thumbnail"),
    (1, b"Exif\x00", "EXIF"),
    (1, b"http://ns.adobe.com/xap/1.0/\x00", "XMP"),
    (1, b"http://ns.adobe.com/xmp/extension/\x00", "XMP (extended)"),
    (2, b"ICC_PROFILE\x00", "ICC profile"),
    (2, b"MPF\x00", "MPF (multi-picture)"),
    (11, b"JP\x00", "JUMBF (C2PA)"),
    (13, b"Photoshop 3.0\x00", "Photoshop IRB"),
    (14, b"Adobe", "Adobe"),
    (12, b"Ducky", "Photoshop Save for Web (Ducky)"),
)


def _label(n: int, body: bytes) -> str:
    for app, prefix, name in _APP_LABELS:
        if n == app and body.startswith(prefix):
            return name
    return f"APP{n}"


def walk_markers(data: bytes) -> JpegStructure:
    """Walk the header segments up to the first scan (and the scans after it for progressive files).

    Never raises on malformed input: a length that runs past the end, a missing marker, an
    unknown table id all end the walk with a note in ``problems``.
    """
    st = JpegStructure()
    n = len(data)
    if n < 4 or data[0:2] != b"\xff\xd8":
        st.problems.append("not a JPEG (no start-of-image marker)")
        return st
    pos = 2
    scans = 0
    while pos < n:
        if data[pos] != 0xFF:
            st.problems.append(f"expected a marker at byte {pos}")
            break
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        code = data[pos]
        pos += 1
        if code == 0xD9:  # EOI
            break
        if 0xD0 <= code <= 0xD7 or code == 0x01:
            continue  # standalone markers
        if pos + 2 > n:
            st.problems.append("file ends inside a marker")
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > n:
            st.problems.append(f"segment at byte {pos - 2} claims {length} bytes, beyond the end of the file")
            break
        body = data[pos + 2 : pos + length]
        name = _marker_name(code)
        seg = Segment(name, pos - 2, length)
        if 0xE0 <= code <= 0xEF:
            seg.label = _label(code - 0xE0, body)
        st.segments.append(seg)
        if code == 0xDB:
            _read_dqt(body, st)
        elif code in (0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB):
            st.progressive = code in (0xC2, 0xCA)
            st.arithmetic = code in (0xC9, 0xCA, 0xCB)
            _read_sof(body, st)
        elif code == 0xDD and len(body) >= 2:
            st.restart_interval = int.from_bytes(body[:2], "big") or None
        pos += length
        if code == 0xDA:  # entropy-coded data follows: skip to the next real marker
            scans += 1
            pos = _skip_scan(data, pos)
            if pos < 0:
                if scans == 1:
                    st.problems.append("the picture data has no end marker (truncated file)")
                break
            if not st.progressive:
                # Baseline: after the one scan only EOI (or trailing junk) remains of interest.
                if pos + 1 < n and data[pos + 1] != 0xD9:
                    continue
                break
    if scans == 0 and not st.problems:
        st.problems.append("the file ends before the picture data (truncated)")
    return st


def _skip_scan(data: bytes, pos: int) -> int:
    """Position of the next marker after entropy-coded data (not a stuffed 0xFF00 or a restart)."""
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            return -1
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


def _marker_name(code: int) -> str:
    names = {0xC0: "SOF0", 0xC1: "SOF1", 0xC2: "SOF2", 0xC3: "SOF3", 0xC4: "DHT", 0xCC: "DAC", 0xDA: "SOS",
             0xDB: "DQT", 0xDD: "DRI", 0xFE: "COM"}  # fmt: skip
    if 0xE0 <= code <= 0xEF:
        return f"APP{code - 0xE0}"
    return names.get(code, f"0x{code:02X}")


def _read_dqt(body: bytes, st: JpegStructure) -> None:
    i = 0
    while i < len(body):
        pq, tq = body[i] >> 4, body[i] & 15
        i += 1
        size = 128 if pq else 64
        if i + size > len(body) or tq > 3:
            st.problems.append("a quantization table is cut short or names an impossible table id")
            return
        if pq:
            vals = np.frombuffer(body[i : i + size], dtype=">u2").astype(np.int32)
        else:
            vals = np.frombuffer(body[i : i + size], dtype=np.uint8).astype(np.int32)
        table = np.zeros(64, dtype=np.int32)
        table[ZIGZAG] = vals  # stored in zigzag order
        st.tables[tq] = table
        i += size


def _read_sof(body: bytes, st: JpegStructure) -> None:
    if len(body) < 6:
        st.problems.append("the frame header is cut short")
        return
    st.height = int.from_bytes(body[1:3], "big")
    st.width = int.from_bytes(body[3:5], "big")
    count = body[5]
    if len(body) < 6 + 3 * count:
        st.problems.append("the frame header lists more components than it holds")
        return
    st.components = [(body[6 + 3 * k], body[7 + 3 * k] >> 4, body[7 + 3 * k] & 15, body[8 + 3 * k]) for k in range(count)]


def subsampling(st: JpegStructure) -> str | None:
    """"4:2:0", "4:2:2", "4:4:4", "4:4:0", "4:1:1" or "grayscale"; ``None`` when unknown."""
    if not st.components:
        return None
    if len(st.components) == 1:
        return "grayscale"
    (_, h0, v0, _), rest = st.components[0], st.components[1:]
    if any(h <= 0 or v <= 0 for _, h, v, _ in st.components):
        return None
    if any((h, v) != (rest[0][1], rest[0][2]) for _, h, v, _ in rest):
        return f"unusual ({'/'.join(f'{h}x{v}' for _, h, v, _ in st.components)})"
    h, v = h0 // rest[0][1], v0 // rest[0][2]
    return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}.get(
        (h, v), f"{h0}x{v0}:{rest[0][1]}x{rest[0][2]}"
    )


@dataclass
class QualityEstimate:
    quality: int | None  # best-fitting IJG quality
    standard: bool | None  # all tables are exactly the IJG tables at that quality
    deviation: float | None  # mean absolute difference per entry from the IJG tables at that quality
    tables: int = 0


def estimate_quality(tables: dict[int, np.ndarray]) -> QualityEstimate:
    """Fit the IJG quality whose scaled tables are nearest to the file's own.

    Table 0 is luminance, table 1 (if any) chrominance; extra tables are ignored. A file whose
    tables equal the scaled standard ones to the entry is "standard"; otherwise the quality is
    the nearest fit and the deviation says how far the tables are from that fit.
    """
    if 0 not in tables:
        return QualityEstimate(None, None, None, len(tables))
    luma = tables[0]
    chroma = tables.get(1)
    best: tuple[float, int] | None = None
    for q in range(1, 101):
        d = float(np.abs(ijg_table(q) - luma).mean())
        if chroma is not None:
            d = (d + float(np.abs(ijg_table(q, True) - chroma).mean())) / 2
        if best is None or d < best[0] - 1e-9:
            best = (d, q)
    assert best is not None
    dev, q = best
    return QualityEstimate(q, dev == 0.0, round(dev, 3), len(tables))


def exiftool_path() -> str | None:
    """ExifTool named by ``VERIFY_EXIFTOOL``, else the one on the PATH."""
    named = os.environ.get("VERIFY_EXIFTOOL")
    if named and os.access(named, os.X_OK):
        return named
    return shutil.which("exiftool")


def jpeg_digest(path: Path) -> str | None:
    """ExifTool's ``JPEGDigest`` name for the tables (e.g. "Canon EOS 40D", "Independent JPEG Group
    library ..., Quality 85"), or ``None`` when ExifTool is absent, fails or does not know them."""
    exe = exiftool_path()
    if not exe:
        return None
    try:
        proc = subprocess.run([exe, "-s3", "-JPEGDigest", "--", str(path)], capture_output=True, timeout=EXIFTOOL_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.decode("utf-8", "replace").strip()
    if not out or all(c in "0123456789abcdef" for c in out.lower()):  # a bare hash: not in its table
        return None
    return out[:300]


@dataclass
class JpegReading:
    quality: int | None
    standard_tables: bool | None
    deviation: float | None
    subsampling: str | None
    progressive: bool | None
    restart_interval: int | None
    app_segments: list[str]
    tables: dict[int, list[int]]
    digest: str | None
    problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "quality": self.quality, "standard_tables": self.standard_tables, "deviation": self.deviation,
            "subsampling": self.subsampling, "progressive": self.progressive,
            "restart_interval": self.restart_interval, "app_segments": self.app_segments,
            "tables": {str(k): v for k, v in self.tables.items()}, "exiftool_digest": self.digest,
            "problems": self.problems,
        }  # fmt: skip


def read(path: Path, *, use_exiftool: bool = True) -> JpegReading:
    """The compression history of one JPEG file (no pixel decoding)."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_HEADER_BYTES)
    st = walk_markers(data)
    est = estimate_quality(st.tables)
    return JpegReading(
        quality=est.quality,
        standard_tables=est.standard,
        deviation=est.deviation,
        subsampling=subsampling(st),
        progressive=st.progressive,
        restart_interval=st.restart_interval,
        app_segments=st.app_segments,
        tables={k: [int(x) for x in v] for k, v in sorted(st.tables.items())},
        digest=jpeg_digest(path) if use_exiftool else None,
        problems=st.problems,
    )


_EDITING_WORDS = ("photoshop", "gimp", "lightroom", "snapseed", "paint", "affinity", "pixelmator", "picasa", "acdsee")


def findings(reading: JpegReading, meta: Any) -> list[Finding]:
    """Plain-language findings tying the tables to the metadata (camera, software)."""
    out: list[Finding] = []
    camera = " ".join(x for x in (getattr(meta, "make", None), getattr(meta, "model", None)) if x)
    if camera and getattr(meta, "make", None) and getattr(meta, "model", None) and meta.model.lower().startswith(meta.make.lower().split()[0]):
        camera = meta.model
    software = getattr(meta, "software", None) or ""
    q = reading.quality
    digest = f" ExifTool identifies the tables as: {reading.digest}." if reading.digest else ""
    if reading.standard_tables and camera:
        edited = any(w in software.lower() for w in _EDITING_WORDS)
        tail = f" The file also names {software} as its software." if edited else ""
        out.append(Finding("jpeg_resaved_after_camera", "caution", "Re-saved by software after the camera",
                    f"EXIF names a {camera}, but the picture was last saved with the standard quality-{q} "
                    f"tables of the IJG library: software re-saved it after the camera (an editor, an app "
                    f"or a web service; most cameras use tables of their own).{tail}{digest} "
                    "Some older cameras do write the standard tables, so check what else the file says. "
                    "Re-saving alone is not manipulation; it means the file is probably not the camera original."))  # fmt: skip
    elif reading.standard_tables:
        out.append(Finding("jpeg_standard_tables", "info", f"Last saved by software at quality {q}",
                    f"The tables are the standard IJG ones at quality {q}, as written by most software and "
                    f"web services; nothing in the file names a camera.{digest}"))  # fmt: skip
    elif q is not None:
        out.append(Finding("jpeg_custom_tables", "info", "Custom quantization tables",
                    f"The tables are not the standard IJG ones (nearest: quality {q}, off by {reading.deviation:.1f} "
                    f"per entry on average). Cameras, phones and some apps use tables of their own; this fits a "
                    f"camera original{' from the ' + camera if camera else ''} but does not prove it.{digest}"))  # fmt: skip
    if reading.problems:
        out.append(Finding("jpeg_structure", "caution", "The JPEG structure is damaged or unusual",
                    "; ".join(reading.problems[:3]).capitalize() + ". Damaged files are common after careless "
                    "transfers; a hand-made file can also look like this."))  # fmt: skip
    if "Photoshop IRB" in reading.app_segments and not any(w in software.lower() for w in ("photoshop",)):
        out.append(Finding("jpeg_photoshop_block", "info", "Photoshop data block present",
                    "The file carries a Photoshop resource block (APP13), written by Adobe software and some "
                    "news-agency tools, although its software tag does not say Photoshop."))  # fmt: skip
    return out
