"""A small, bounded reader for the QuickTime/MP4 header boxes FFmpeg does not fully expose.

PyAV gives container tags, but not the track matrix (rotation), the 3GPP ``loci`` location at
full precision, the per-track media durations, ``udta`` strings in every form, or the XMP packet.
This walks the ``moov`` box only, with hard limits (total boxes, depth, bytes read), so a hostile
file with looping or absurd sizes costs a readable error, never a hang.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from verify.metadata.parsing import clean_text, utc_from_epoch_1904
from verify.models import GPS

MAX_MOOV_BYTES = 64 * 1024 * 1024
MAX_TOP_LEVEL = 10_000
MAX_BOXES = 50_000
MAX_DEPTH = 16

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"udta", b"stbl"}
#: FFmpeg's codec names for the sample-entry codes, so a file without decodable frames reports
#: its codec in the same words as one PyAV opened.
CODEC_NAMES = {
    "avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "dvh1": "hevc", "dvhe": "hevc",
    "mp4v": "mpeg4", "av01": "av1", "vp09": "vp9", "vp08": "vp8", "jpeg": "mjpeg", "mjpa": "mjpeg",
    "apch": "prores", "apcn": "prores", "apcs": "prores", "apco": "prores", "ap4h": "prores", "ap4x": "prores",
    "s263": "h263", "h263": "h263", "SVQ1": "svq1", "SVQ3": "svq3", "cvid": "cinepak", "rle ": "qtrle",
    "dvc ": "dvvideo", "dvcp": "dvvideo", "dv5n": "dvvideo", "dv5p": "dvvideo", "mp4a": "aac",
}  # fmt: skip
_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")


class BoxError(ValueError):
    """The box structure is damaged; the message says where."""


@dataclass
class Track:
    handler: str | None = None
    width: float | None = None
    height: float | None = None
    rotation: int | None = None
    media_duration_s: float | None = None
    created_utc: str | None = None
    codec: str | None = None  # the sample entry's four-character code (``stsd``), as ExifTool's CompressorID
    coded_width: int | None = None  # the sample entry's picture size (before the display matrix)
    coded_height: int | None = None
    samples: int | None = None  # ``stsz`` sample count; 0 in a DASH init segment (no frames)


@dataclass
class MovieBoxes:
    """What the ``moov`` box says, as read by hand."""

    found_moov: bool = False
    created_utc: str | None = None
    modified_utc: str | None = None
    duration_s: float | None = None
    tracks: list[Track] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # udta/ilst/keys, as text
    loci: GPS | None = None
    xmp: bytes | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def video_track(self) -> Track | None:
        return next((t for t in self.tracks if t.handler == "vide"), None)


def read_movie_boxes(path: Path) -> MovieBoxes:
    """Find the ``moov`` box among the top-level boxes and parse it (bounded)."""
    out = MovieBoxes()
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        try:
            _walk_top(fh, size, out)
        except BoxError as exc:
            out.errors.append(f"The video's box structure is damaged: {exc}.")
    if not out.found_moov and not out.errors:
        out.errors.append("The video has no header (moov box): it was cut short or never finished recording.")
    return out


def _walk_top(fh: BinaryIO, size: int, out: MovieBoxes) -> None:
    offset = 0
    for _ in range(MAX_TOP_LEVEL):
        if offset + 8 > size:
            return
        fh.seek(offset)
        box_type, start, end = _header(fh, offset, size)
        if box_type == b"moov":
            if end - start > MAX_MOOV_BYTES:
                out.errors.append("The video header (moov box) is too large to read safely.")
                return
            fh.seek(start)
            out.found_moov = True
            _parse_children(memoryview(fh.read(end - start)), b"moov", out, [0], 1, None)
        elif box_type == b"uuid" and out.xmp is None and end - start > 16:
            fh.seek(start)
            if fh.read(16) == _XMP_UUID and end - start - 16 < 4 * 1024 * 1024:
                out.xmp = fh.read(end - start - 16)
        offset = end
    out.errors.append("The video has too many top-level boxes to read.")


def _header(fh: BinaryIO, offset: int, limit: int) -> tuple[bytes, int, int]:
    head = fh.read(8)
    if len(head) < 8:
        raise BoxError("a box header is cut short")
    size, box_type = struct.unpack(">I4s", head)
    start = offset + 8
    if size == 1:
        ext = fh.read(8)
        if len(ext) < 8:
            raise BoxError("a large box header is cut short")
        size = struct.unpack(">Q", ext)[0]
        start += 8
    elif size == 0:
        size = limit - offset
    end = offset + size
    if size < start - offset or end > limit:
        raise BoxError(f"the {_name(box_type)} box claims more bytes than the file holds")
    return box_type, start, end


def _name(box_type: bytes) -> str:
    return clean_text(box_type.replace(b"\xa9", b"(c)"), 8) or "unnamed"


def _iter(buf: memoryview, counter: list[int], depth: int):  # type: ignore[no-untyped-def]
    if depth > MAX_DEPTH:
        raise BoxError("the boxes are nested too deeply")
    pos, n = 0, len(buf)
    while pos + 8 <= n:
        counter[0] += 1
        if counter[0] > MAX_BOXES:
            raise BoxError("too many boxes")
        size, box_type = struct.unpack_from(">I4s", buf, pos)
        hdr = 8
        if size == 1:
            if pos + 16 > n:
                raise BoxError("a large box header is cut short")
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            hdr = 16
        elif size == 0:
            size = n - pos
        if size < hdr or pos + size > n:
            raise BoxError(f"the {_name(bytes(box_type))} box claims more bytes than its parent holds")
        yield bytes(box_type), buf[pos + hdr : pos + size]
        pos += size


def _parse_children(buf: memoryview, parent: bytes, out: MovieBoxes, counter: list[int], depth: int,
                    track: Track | None, keys: list[str] | None = None) -> None:  # fmt: skip
    try:
        for box_type, payload in _iter(buf, counter, depth):
            _parse_box(box_type, payload, parent, out, counter, depth, track, keys)
    except BoxError as exc:
        out.errors.append(f"The video header is damaged: {exc}.")
    except (struct.error, ValueError, IndexError) as exc:
        out.errors.append(f"The video header is damaged ({type(exc).__name__}).")


def _parse_box(box_type: bytes, payload: memoryview, parent: bytes, out: MovieBoxes, counter: list[int],
               depth: int, track: Track | None, keys: list[str] | None) -> None:  # fmt: skip
    if box_type == b"trak":
        t = Track()
        out.tracks.append(t)
        _parse_children(payload, box_type, out, counter, depth + 1, t)
    elif box_type == b"meta":
        # ISO 'meta' is a full box (4 bytes version/flags); QuickTime's is not.
        body = payload if bytes(payload[4:8]) in (b"hdlr", b"keys", b"ilst") else payload[4:]
        _parse_meta(body, out, counter, depth + 1)
    elif box_type in _CONTAINERS and box_type != b"ilst":
        _parse_children(payload, box_type, out, counter, depth + 1, track)
    elif box_type == b"mvhd":
        created, modified, timescale, duration = _times(payload)
        out.created_utc, out.modified_utc = created, modified
        if timescale:
            out.duration_s = duration / timescale
    elif box_type == b"tkhd" and track is not None:
        _tkhd(payload, track)
    elif box_type == b"mdhd" and track is not None:
        created, _, timescale, duration = _times(payload)
        track.created_utc = created
        if timescale and duration not in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
            track.media_duration_s = duration / timescale
    elif box_type == b"stsd" and track is not None:
        _stsd(payload, track)
    elif box_type == b"stsz" and track is not None and len(payload) >= 12:
        track.samples = struct.unpack_from(">I", payload, 8)[0]
    elif box_type == b"hdlr" and parent == b"mdia" and track is not None and len(payload) >= 12:
        track.handler = bytes(payload[8:12]).decode("latin-1")
    elif parent == b"udta":
        _udta_item(box_type, payload, out)


def _times(payload: memoryview) -> tuple[str | None, str | None, int, int]:
    version = payload[0]
    if version == 1:
        created, modified, timescale, duration = struct.unpack_from(">QQIQ", payload, 4)
    else:
        created, modified, timescale, duration = struct.unpack_from(">IIII", payload, 4)
    return utc_from_epoch_1904(created), utc_from_epoch_1904(modified), timescale, duration


def _stsd(payload: memoryview, track: Track) -> None:
    """The first sample entry: its code names the codec; a visual entry also holds the size."""
    if len(payload) < 16:
        return
    size, code = struct.unpack_from(">I4s", payload, 8)
    if size < 8 or 8 + size > len(payload):
        raise BoxError("the sample description box claims more bytes than it holds")
    track.codec = code.decode("latin-1")
    # VisualSampleEntry: 6 reserved, 2 data reference index, 16 pre-defined/reserved, then width, height.
    if size >= 8 + 28 and track.handler in (None, "vide"):
        width, height = struct.unpack_from(">HH", payload, 8 + 8 + 24)
        track.coded_width, track.coded_height = width or None, height or None


def _tkhd(payload: memoryview, track: Track) -> None:
    version = payload[0]
    base = 4 + (32 if version == 1 else 20)  # times, track id, reserved, duration
    # reserved(8) layer(2) alt group(2) volume(2) reserved(2) matrix(36) width(4) height(4)
    matrix_at = base + 8 + 8
    a, b, _u, c, d = struct.unpack_from(">iiiii", payload, matrix_at)
    width, height = struct.unpack_from(">II", payload, matrix_at + 36)
    track.width, track.height = width / 65536, height / 65536
    if a or b:
        track.rotation = round(math.degrees(math.atan2(b, a))) % 360
    _ = (c, d)


def _udta_item(box_type: bytes, payload: memoryview, out: MovieBoxes) -> None:
    name = box_type.decode("latin-1")
    if box_type == b"loci":
        out.loci = _loci(payload)
        return
    if box_type == b"XMP_":
        out.xmp = bytes(payload[: 4 * 1024 * 1024])
        return
    if box_type[:1] == b"\xa9" and len(payload) >= 4:
        length = struct.unpack_from(">H", payload, 0)[0]
        if 0 < length <= len(payload) - 4:
            text = clean_text(bytes(payload[4 : 4 + length]))
            if text:
                out.tags[f"udta:{name}"] = text
            return
    if len(payload) <= 512:
        text = clean_text(bytes(payload), 512)
        if text and sum(ch.isprintable() for ch in text) == len(text):
            out.tags.setdefault(f"udta:{name}", text)


def _read_cstring(payload: memoryview, pos: int) -> tuple[str, int]:
    data = bytes(payload[pos:])
    if data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        end = data.find(b"\x00\x00", 2)
        end = len(data) if end < 0 else end + (end % 2)
        return data[:end].decode("utf-16", "replace"), pos + end + 2
    end = data.find(b"\x00")
    end = len(data) if end < 0 else end
    return data[:end].decode("utf-8", "replace"), pos + end + 1


def _loci(payload: memoryview) -> GPS | None:
    """3GPP location box: name, role, then longitude, latitude, altitude as 16.16 fixed point."""
    _name_text, pos = _read_cstring(payload, 6)
    pos += 1  # role
    if pos + 12 > len(payload):
        raise BoxError("the location box is cut short")
    lon, lat, alt = struct.unpack_from(">iii", payload, pos)
    lat_f, lon_f = lat / 65536, lon / 65536
    if abs(lat_f) > 90 or abs(lon_f) > 180:
        raise BoxError("the location box holds coordinates out of range")
    return GPS(lat_f, lon_f, alt / 65536)


def _parse_meta(buf: memoryview, out: MovieBoxes, counter: list[int], depth: int) -> None:
    keys: list[str] = []
    try:
        for box_type, payload in _iter(buf, counter, depth):
            if box_type == b"keys" and len(payload) >= 8:
                count = struct.unpack_from(">I", payload, 4)[0]
                pos = 8
                for _ in range(min(count, 1000)):
                    if pos + 8 > len(payload):
                        break
                    size = struct.unpack_from(">I", payload, pos)[0]
                    if size < 8 or pos + size > len(payload):
                        break
                    keys.append(bytes(payload[pos + 8 : pos + size]).decode("utf-8", "replace"))
                    pos += size
            elif box_type == b"ilst":
                for item_type, item in _iter(payload, counter, depth + 1):
                    if item_type[:1] == b"\xa9" or item_type.isascii() and item_type.isalpha():
                        name = "ilst:" + item_type.decode("latin-1")
                    else:
                        index = struct.unpack(">I", item_type)[0]
                        name = keys[index - 1] if 0 < index <= len(keys) else f"key{index}"
                    value = _data_value(item, counter, depth + 2)
                    if value is not None:
                        out.tags[name] = value
    except BoxError as exc:
        out.errors.append(f"The video's metadata box is damaged: {exc}.")
    except (struct.error, ValueError, IndexError) as exc:
        out.errors.append(f"The video's metadata box is damaged ({type(exc).__name__}).")


def _data_value(item: memoryview, counter: list[int], depth: int) -> str | None:
    for box_type, payload in _iter(item, counter, depth):
        if box_type != b"data" or len(payload) < 8:
            continue
        kind = struct.unpack_from(">I", payload, 0)[0] & 0xFFFFFF
        body = bytes(payload[8:])
        if kind == 1:
            return clean_text(body.decode("utf-8", "replace"))
        if kind == 2:
            return clean_text(body.decode("utf-16-be", "replace"))
        if kind == 23 and len(body) == 4:
            return repr(struct.unpack(">f", body)[0])
        if kind == 24 and len(body) == 8:
            return repr(struct.unpack(">d", body)[0])
        if kind in (21, 22) and 1 <= len(body) <= 8:
            return str(int.from_bytes(body, "big", signed=kind == 21))
        return f"<{len(body)} bytes of binary data>" if len(body) > 16 else "0x" + body.hex()
    return None
