"""ASF (.wmv, .asf) header objects FFmpeg does not fully expose, read by hand and bounded.

The ASF Header Object holds a fixed number of sub-objects, each a GUID and a 64-bit size. Three
matter here: File Properties (creation date, play duration, preroll), Stream Properties (the
video stream's picture size and codec) and Content Description (title, author). The header is
read from the first bytes of the file only; every declared size is checked against the header's
own size and the file's, and the object count is capped, so a hostile header costs an error,
never a long walk.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from verify.metadata.parsing import clean_text

HEADER_GUID = uuid.UUID("75B22630-668E-11CF-A6D9-00AA0062CE6C").bytes_le
FILE_PROPERTIES = uuid.UUID("8CABDCA1-A947-11CF-8EE4-00C00C205365").bytes_le
STREAM_PROPERTIES = uuid.UUID("B7DC0791-A9B7-11CF-8EE6-00C00C205365").bytes_le
CONTENT_DESCRIPTION = uuid.UUID("75B22633-668E-11CF-A6D9-00AA0062CE6C").bytes_le
VIDEO_MEDIA = uuid.UUID("BC19EFC0-5B4D-11CF-A8FD-00805F5C442B").bytes_le

#: The header holds metadata and stream descriptions only: real ones are a few kilobytes.
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_OBJECTS = 1000

#: FFmpeg's names for the common Windows Media four-character codes.
CODEC_NAMES = {
    "WMV1": "wmv1", "WMV2": "wmv2", "WMV3": "wmv3", "WVC1": "vc1", "WMVA": "vc1", "MP43": "msmpeg4v3",
    "MP42": "msmpeg4v2", "MP4S": "mpeg4", "M4S2": "mpeg4", "H264": "h264", "MSS1": "mss1", "MSS2": "mss2",
}  # fmt: skip


class ASFError(ValueError):
    """The header is damaged; the message says where."""


@dataclass
class ASFHeader:
    created_utc: str | None = None
    play_duration_s: float | None = None
    preroll_s: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None  # four-character code of the first video stream
    title: str | None = None
    author: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        """What the clip lasts: the play duration less the preroll it includes (as FFmpeg and players)."""
        if self.play_duration_s is None:
            return None
        value = round(self.play_duration_s - (self.preroll_s or 0.0), 6)
        return value if value > 0 else None


def is_asf(head: bytes) -> bool:
    return head[:16] == HEADER_GUID


def filetime_utc(value: int) -> str | None:
    """Windows FILETIME (100 ns since 1601-01-01 UTC) as ISO 8601; 0 and absurd values are unset."""
    if value <= 0:
        return None
    try:
        when = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 10)
    except OverflowError:
        return None
    # FFmpeg writes the Unix epoch for "unknown" (ExifTool shows it as 0000:00:00): unset too.
    if when <= datetime(1970, 1, 1, tzinfo=UTC) or when.year > 2200:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def read_asf_header(path: Path) -> ASFHeader:
    """The header objects of an ASF file; raises ``ASFError`` when there is no readable header."""
    with open(path, "rb") as fh:
        file_size = fh.seek(0, 2)
        fh.seek(0)
        head = fh.read(30)
        if len(head) < 30 or not is_asf(head):
            raise ASFError("the file does not start with an ASF header")
        size, count = struct.unpack_from("<QI", head, 16)
        if size < 30 or size > file_size:
            raise ASFError("the header claims more bytes than the file holds")
        if size > MAX_HEADER_BYTES:
            raise ASFError("the header is too large to read safely")
        body = fh.read(size - 30)
    out = ASFHeader()
    pos = 0
    for _ in range(min(count, MAX_OBJECTS)):
        if pos + 24 > len(body):
            break
        guid = body[pos : pos + 16]
        obj_size = struct.unpack_from("<Q", body, pos + 16)[0]
        if obj_size < 24 or pos + obj_size > len(body):
            out.errors.append("The ASF header is damaged: an object claims more bytes than the header holds.")
            break
        data = body[pos + 24 : pos + obj_size]
        try:
            if guid == FILE_PROPERTIES:
                _file_properties(data, out)
            elif guid == STREAM_PROPERTIES:
                _stream_properties(data, out)
            elif guid == CONTENT_DESCRIPTION:
                _content_description(data, out)
        except struct.error:
            out.errors.append("The ASF header is damaged: an object is cut short.")
        pos += obj_size
    if count > MAX_OBJECTS:
        out.errors.append("The ASF header declares too many objects; only the first were read.")
    return out


def _file_properties(data: bytes, out: ASFHeader) -> None:
    created, _packets, play, _send, preroll = struct.unpack_from("<QQQQQ", data, 24)
    out.created_utc = filetime_utc(created)
    out.play_duration_s = play / 1e7 if play else None
    out.preroll_s = preroll / 1000
    flags = struct.unpack_from("<I", data, 64)[0]
    if flags & 0x1:  # the broadcast flag: durations are not valid while a stream is being written
        out.play_duration_s = None


def _stream_properties(data: bytes, out: ASFHeader) -> None:
    if data[:16] != VIDEO_MEDIA or out.width is not None:
        return
    specific_len = struct.unpack_from("<I", data, 40)[0]
    specific = data[54 : 54 + specific_len]
    if len(specific) < 11:
        return
    width, height = struct.unpack_from("<II", specific, 0)
    out.width, out.height = (width or None), (height or None)
    # BITMAPINFOHEADER after the 11 bytes: size, width, height, planes, bit count, compression.
    if len(specific) >= 11 + 20:
        code = specific[11 + 16 : 11 + 20]
        out.codec = clean_text(code.decode("latin-1"), 4) or None


def _content_description(data: bytes, out: ASFHeader) -> None:
    lengths = struct.unpack_from("<HHHHH", data, 0)
    pos = 10
    texts = []
    for n in lengths:
        texts.append(clean_text(data[pos : pos + n].decode("utf-16-le", "replace").rstrip("\x00"), 300))
        pos += n
    out.title, out.author = texts[0] or None, texts[1] or None
