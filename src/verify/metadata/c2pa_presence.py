"""Is there a C2PA manifest store in this file? Found by walking the container, bounded.

c2pa-python validates what it can read, but it answers "no manifest" both for a file without one
and for a store it cannot parse or a container it does not handle, and "present but not
validated" must never read as "absent". So the places the C2PA specification (2.x, section
"Embedding manifests into assets") defines are looked at directly:

| container | where the manifest store sits |
|---|---|
| JPEG | APP11 segments (``JP`` common identifier, JUMBF box instance split over as many segments as it needs) |
| PNG | a ``caBX`` chunk |
| HEIF/HEIC/AVIF, MP4, MOV (ISO BMFF) | a top-level ``uuid`` box with the C2PA UUID ``D8FEC3D6-1B0E-483C-9297-5828877EC481`` |
| WebP, AVI (RIFF) | a ``C2PA`` chunk |
| TIFF (and DNG) | tag 0xCD41 in IFD0 |
| JPEG XL (container form) | a top-level ``jumb`` box holding the store |

Every walk is bounded by the file's size and a cap on the number of segments, chunks or boxes:
a declared length past the end stops the walk, it never seeks beyond it or loops.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

C2PA_UUID = bytes.fromhex("D8FEC3D61B0E483C92975828877EC481")
#: The JUMBF description box type of a C2PA manifest store ("c2pa" + the ISO 19566-5 suffix).
STORE_TYPE = bytes.fromhex("6332706100110010800000AA00389B71")
TIFF_TAG = 0xCD41
MAX_ITEMS = 100_000
JPEG_SCAN_BYTES = 64 * 1024 * 1024  # markers before the picture data; APP segments come first


def find_manifest_store(path: Path, mime: str | None) -> str | None:
    """Where the file holds a C2PA manifest store ("JPEG APP11 (2 segments)", "PNG caBX chunk"...),
    or ``None``. Never raises for a damaged file: a walk that hits damage stops there."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(16)
            fh.seek(0)
            if head.startswith(b"\xff\xd8"):
                return _jpeg(fh, size)
            if head.startswith(b"\x89PNG\r\n\x1a\n"):
                return _png(fh, size)
            if head[:4] == b"RIFF":
                return _riff(fh, size, head[8:12].decode("latin-1").strip() or "RIFF")
            if head[:4] in (b"II*\x00", b"MM\x00*"):
                return _tiff(fh, size, head[:2] == b"II")
            if head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
                return _isobmff(fh, size, "image/jxl")
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"uuid", b"meta"):
                return _isobmff(fh, size, mime)
    except (OSError, struct.error, ValueError):
        return None
    return None


def _is_store(jumbf: bytes) -> bool:
    """A JUMBF superbox whose description box names a C2PA manifest store."""
    if len(jumbf) < 8 + 8 + 16 or jumbf[4:8] != b"jumb" or jumbf[12:16] != b"jumd":
        return False
    return jumbf[16:32] == STORE_TYPE or b"c2pa" in jumbf[16:64]


def _jpeg(fh: BinaryIO, size: int) -> str | None:
    pos, segments, instance = 2, 0, None
    limit = min(size, JPEG_SCAN_BYTES)
    for _ in range(MAX_ITEMS):
        fh.seek(pos)
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            break
        code = marker[1]
        if code == 0xFF:  # fill byte
            pos += 1
            continue
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            pos += 2
            continue
        if code in (0xDA, 0xD9):  # start of scan / end of image: no more metadata segments
            break
        length = struct.unpack(">H", marker[2:4])[0]
        if length < 2 or pos + 2 + length > limit:
            break
        if code == 0xEB and length >= 2 + 8 + 8:
            body = fh.read(min(length - 2, 64))
            # "JP", box instance (2), packet sequence (4), then the JUMBF box (repeated header).
            if body[:2] == b"JP":
                if instance is None and _is_store(body[8:]):
                    instance = body[2:4]
                if instance is not None and body[2:4] == instance:
                    segments += 1
        pos += 2 + length
    if segments:
        return f"JPEG APP11 ({segments} segment{'s' if segments != 1 else ''})"
    return None


def _png(fh: BinaryIO, size: int) -> str | None:
    pos = 8
    for _ in range(MAX_ITEMS):
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if pos + 12 + length > size:
            break
        if kind == b"caBX":
            return "PNG caBX chunk"
        if kind == b"IEND":
            break
        pos += 12 + length
    return None


def _riff(fh: BinaryIO, size: int, form: str) -> str | None:
    fh.seek(4)
    declared = struct.unpack("<I", fh.read(4))[0]
    end = min(size, 8 + declared)
    pos = 12
    for _ in range(MAX_ITEMS):
        if pos + 8 > end:
            break
        fh.seek(pos)
        kind, length = struct.unpack("<4sI", fh.read(8))
        if pos + 8 + length > end:
            break
        if kind == b"C2PA":
            return f"{form} C2PA chunk"
        pos += 8 + length + (length & 1)
    return None


def _tiff(fh: BinaryIO, size: int, little: bool) -> str | None:
    e = "<" if little else ">"
    fh.seek(4)
    ifd = struct.unpack(e + "I", fh.read(4))[0]
    if ifd < 8 or ifd + 2 > size:
        return None
    fh.seek(ifd)
    count = struct.unpack(e + "H", fh.read(2))[0]
    count = min(count, (size - ifd - 2) // 12)  # no more entries than the file holds
    data = fh.read(12 * count)
    for i in range(count):
        if struct.unpack_from(e + "H", data, 12 * i)[0] == TIFF_TAG:
            return "TIFF tag 0xCD41"
    return None


def _isobmff(fh: BinaryIO, size: int, mime: str | None) -> str | None:
    pos = 0
    for _ in range(MAX_ITEMS):
        if pos + 8 > size:
            break
        fh.seek(pos)
        box_size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if box_size == 1:
            box_size = struct.unpack(">Q", fh.read(8))[0]
            header = 16
        elif box_size == 0:
            box_size = size - pos
        if box_size < header or pos + box_size > size:
            break
        if kind == b"jumb" and mime == "image/jxl" and _is_store(struct.pack(">I4s", box_size, kind) + fh.read(64)):
            return "JPEG XL jumb box"
        if kind == b"uuid" and box_size >= header + 16 and fh.read(16) == C2PA_UUID:
            label = "HEIF" if mime and mime.startswith("image/") else ("MOV" if mime == "video/quicktime" else "MP4")
            return f"{label} uuid box"
        pos += box_size
    return None
