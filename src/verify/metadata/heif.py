"""HEIF/AVIF primary-item properties and EXIF as the file records them, read by hand, bounded.

Decoders hand over a picture already turned upright and EXIF already changed to match:
pillow-heif applies the HEIF rotation (``irot``) and resets the EXIF Orientation to 1; Pillow's
AVIF reader writes the rotation into the EXIF Orientation. Either way what the file itself says
is lost, and an iPhone HEIC whose EXIF says Orientation 6 was reported as 1. ExifTool reports
the file's own values, and so do we: this reads the ``meta`` box (item list, locations and
properties) to get the primary item's stored size (``ispe``), clean aperture (``clap``), rotation
(``irot``) and mirror (``imir``), and the Exif item's bytes exactly as stored.

Limits: the ``meta`` box is at most ``MAX_META_BYTES``, at most ``MAX_BOXES`` boxes are looked at,
the Exif item is at most ``MAX_EXIF_BYTES``; anything else raises ``HeifError`` with a reason.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

MAX_META_BYTES = 4 * 1024 * 1024
MAX_TOP_LEVEL = 64
MAX_BOXES = 20_000
MAX_EXIF_BYTES = 4 * 1024 * 1024


class HeifError(ValueError):
    """The HEIF structure cannot be read; the message says why, in plain words."""


@dataclass
class HeifProps:
    """The primary item's properties and the Exif item, as stored."""

    stored_size: tuple[int, int] | None = None  # ispe: the coded picture, before crop and rotation
    clean_size: tuple[int, int] | None = None  # clap: the picture after its clean-aperture crop
    rotation: int = 0  # irot: degrees anti-clockwise, applied when shown
    mirror: str | None = None  # imir: "vertical axis" (left-right) or "horizontal axis" (top-bottom)
    exif: bytes | None = None  # the TIFF structure of the Exif item, untouched
    notes: list[str] = field(default_factory=list)

    @property
    def displayed_size(self) -> tuple[int, int] | None:
        """The size as shown: crop first, then a quarter turn swaps the sides."""
        size = self.clean_size or self.stored_size
        if size is None:
            return None
        return (size[1], size[0]) if self.rotation in (90, 270) else size


def _boxes(data: memoryview, counter: list[int]):  # type: ignore[no-untyped-def]
    """(type, payload) for each box in ``data``; a box running past its parent is an error."""
    pos = 0
    while pos + 8 <= len(data):
        counter[0] += 1
        if counter[0] > MAX_BOXES:
            raise HeifError("the file declares too many boxes to read safely")
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > len(data):
                raise HeifError("a box header is cut short")
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data):
            raise HeifError(f"the {kind.decode('latin-1')!r} box claims {size:,} bytes, more than its container holds")
        yield bytes(kind), data[pos + header : pos + size]
        pos += size


def _meta_box(fh: BinaryIO, file_size: int) -> memoryview:
    """The top-level ``meta`` box's payload (children follow its 4-byte version/flags)."""
    pos = 0
    for _ in range(MAX_TOP_LEVEL):
        if pos + 8 > file_size:
            break
        fh.seek(pos)
        head = fh.read(16)
        size, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", head[8:16])[0], 16
        elif size == 0:
            size = file_size - pos
        if size < header or pos + size > file_size:
            raise HeifError(f"the top-level {kind.decode('latin-1')!r} box claims {size:,} bytes, more than the file holds")
        if kind == b"meta":
            if size - header > MAX_META_BYTES:
                raise HeifError("the meta box is too large to read safely")
            fh.seek(pos + header)
            return memoryview(fh.read(size - header))[4:]
        pos += size
    raise HeifError("the file has no meta box (no HEIF image items)")


def read_props(path: Path) -> HeifProps:
    """Read the primary item's properties and the Exif item from a HEIF/AVIF file."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        meta = _meta_box(fh, size)
        counter = [0]
        children = {k: v for k, v in _boxes(meta, counter)}
        out = HeifProps()
        primary = _primary(children.get(b"pitm"))
        _properties(children.get(b"iprp"), primary, out, counter)
        exif_id = _exif_item(children.get(b"iinf"), counter)
        if exif_id is not None:
            out.exif = _exif_bytes(fh, size, children.get(b"iloc"), children.get(b"idat"), exif_id, out)
        return out


def _full(payload: memoryview) -> tuple[int, int, memoryview]:
    if len(payload) < 4:
        raise HeifError("a full box is cut short")
    version, flags = payload[0], int.from_bytes(payload[1:4], "big")
    return version, flags, payload[4:]


def _primary(pitm: memoryview | None) -> int | None:
    if pitm is None:
        return None
    version, _flags, body = _full(pitm)
    fmt = ">H" if version == 0 else ">I"
    if len(body) < struct.calcsize(fmt):
        raise HeifError("the primary item box is cut short")
    return struct.unpack(fmt, body[: struct.calcsize(fmt)])[0]


def _properties(iprp: memoryview | None, primary: int | None, out: HeifProps, counter: list[int]) -> None:
    if iprp is None or primary is None:
        return
    parts = {k: v for k, v in _boxes(iprp, counter)}
    ipco, ipma = parts.get(b"ipco"), parts.get(b"ipma")
    if ipco is None or ipma is None:
        return
    props = list(_boxes(ipco, counter))
    version, flags, body = _full(ipma)
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(body):
            raise HeifError("the item property associations are cut short")
        chunk = bytes(body[pos : pos + n])
        pos += n
        return chunk

    (count,) = struct.unpack(">I", take(4))
    for _ in range(min(count, MAX_BOXES)):
        item = struct.unpack(">H", take(2))[0] if version < 1 else struct.unpack(">I", take(4))[0]
        n = take(1)[0]
        indexes = []
        for _ in range(n):
            if flags & 1:
                indexes.append(struct.unpack(">H", take(2))[0] & 0x7FFF)
            else:
                indexes.append(take(1)[0] & 0x7F)
        if item != primary:
            continue
        for index in indexes:
            if 1 <= index <= len(props):
                _property(*props[index - 1], out)
        return


def _property(kind: bytes, payload: memoryview, out: HeifProps) -> None:
    if kind == b"ispe" and len(payload) >= 12:
        w, h = struct.unpack(">II", payload[4:12])
        out.stored_size = (w, h)
    elif kind == b"irot" and len(payload) >= 1:
        out.rotation = (payload[0] & 3) * 90
    elif kind == b"imir" and len(payload) >= 1:
        out.mirror = "horizontal axis" if payload[0] & 1 else "vertical axis"
    elif kind == b"clap" and len(payload) >= 32:
        wn, wd, hn, hd = struct.unpack(">IIII", payload[:16])
        if wd and hd:
            out.clean_size = (int(Fraction(wn, wd)), int(Fraction(hn, hd)))


def _exif_item(iinf: memoryview | None, counter: list[int]) -> int | None:
    if iinf is None:
        return None
    version, _flags, body = _full(iinf)
    skip = 2 if version == 0 else 4
    for kind, payload in _boxes(body[skip:], counter):
        if kind != b"infe":
            continue
        v, _f, info = _full(payload)
        if v < 2:
            continue
        fmt = ">H" if v == 2 else ">I"
        n = struct.calcsize(fmt)
        if len(info) < n + 6:
            continue
        item = struct.unpack(fmt, info[:n])[0]
        if bytes(info[n + 2 : n + 6]) == b"Exif":
            return item
    return None


def _exif_bytes(fh: BinaryIO, file_size: int, iloc: memoryview | None, idat: memoryview | None, item: int,
                out: HeifProps) -> bytes | None:  # fmt: skip
    """The Exif item's payload (a 4-byte offset to the TIFF header, then the EXIF), as a TIFF block."""
    if iloc is None:
        return None
    version, _flags, body = _full(iloc)
    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        if n == 0:
            return 0
        if pos + n > len(body):
            raise HeifError("the item locations are cut short")
        value = int.from_bytes(body[pos : pos + n], "big")
        pos += n
        return value

    sizes = take(1), take(1)
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15) if version in (1, 2) else 0
    if any(s not in (0, 4, 8) for s in (offset_size, length_size, base_size)) or index_size not in (0, 4, 8):
        raise HeifError("the item locations use field sizes the format does not allow")
    count = take(2) if version < 2 else take(4)
    for _ in range(min(count, MAX_BOXES)):
        item_id = take(2) if version < 2 else take(4)
        method = take(2) & 15 if version in (1, 2) else 0
        take(2)  # data reference index
        base = take(base_size)
        extents = []
        for _ in range(take(2)):
            take(index_size)
            extents.append((take(offset_size), take(length_size)))
        if item_id != item:
            continue
        total = sum(length for _, length in extents)
        if total > MAX_EXIF_BYTES:
            out.notes.append(f"The Exif item claims {total:,} bytes, too many to read safely; it was not read.")
            return None
        data = bytearray()
        for offset, length in extents:
            start = base + offset
            if method == 0:
                if start + length > file_size:
                    out.notes.append("The Exif item lies past the end of the file; it was not read.")
                    return None
                fh.seek(start)
                data += fh.read(length)
            elif method == 1 and idat is not None:
                if start + length > len(idat):
                    out.notes.append("The Exif item lies past the end of its data box; it was not read.")
                    return None
                data += bytes(idat[start : start + length])
            else:
                return None
        if len(data) < 4:
            return None
        skip = int.from_bytes(data[:4], "big")
        block = bytes(data[4 + skip :]) if 4 + skip <= len(data) else b""
        if block[:2] not in (b"II", b"MM"):  # some writers get the offset wrong: look for the header
            at = max(data.find(b"II*\x00"), -1), max(data.find(b"MM\x00*"), -1)
            found = [a for a in at if a >= 0]
            block = bytes(data[min(found) :]) if found else b""
        return block or None
    return None
