"""AVCHD (.MTS/.M2TS) camera metadata: the MDPM block inside the H.264 stream.

Sony, Panasonic, Canon and JVC camcorders write the recording date (with time zone), make and
model into an H.264 SEI "user data unregistered" message tagged ``MDPM``; the container itself
carries none of it, and FFmpeg does not expose it. The layout follows ExifTool's H264 module:
after the UUID and ``MDPM`` come a count and that many 5-byte entries (1-byte tag, 4 bytes data).
Only the first block is read, from the first few megabytes, so this is cheap and bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from verify.metadata.parsing import clean_text, parse_exif_datetime

MDPM_MARKER = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM"
SCAN_BYTES = 8 * 1024 * 1024
MAKES = {0x0103: "Panasonic", 0x0108: "Sony", 0x1011: "Canon", 0x1104: "JVC"}


@dataclass
class Mdpm:
    captured_at: str | None = None
    has_offset: bool = False
    dst: bool = False
    make: str | None = None
    model: str | None = None


def _unescape(data: bytes) -> bytes:
    """Drop H.264 emulation-prevention bytes (00 00 03 -> 00 00)."""
    out = bytearray()
    zeros = 0
    for b in data:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _bcd(b: int) -> int:
    hi, lo = b >> 4, b & 0x0F
    if hi > 9 or lo > 9:
        raise ValueError("not a BCD digit pair")
    return hi * 10 + lo


def read_mdpm(path: Path) -> Mdpm | None:
    """The first MDPM block in the file, or ``None`` when there is none."""
    with open(path, "rb") as fh:
        head = fh.read(SCAN_BYTES)
    at = head.find(MDPM_MARKER)
    if at < 0:
        return None
    body = _unescape(head[at + len(MDPM_MARKER) : at + len(MDPM_MARKER) + 2048])
    if not body:
        return None
    count = body[0]
    entries: dict[int, bytes] = {}
    for i in range(count):
        chunk = body[1 + 5 * i : 6 + 5 * i]
        if len(chunk) < 5:
            break
        entries.setdefault(chunk[0], chunk[1:])
    out = Mdpm()
    if 0x18 in entries and 0x19 in entries:
        tz, y1, y2, month = entries[0x18]
        day, hour, minute, second = entries[0x19]
        try:
            stamp = f"{_bcd(y1):02d}{_bcd(y2):02d}:{_bcd(month):02d}:{_bcd(day):02d} {_bcd(hour):02d}:{_bcd(minute):02d}:{_bcd(second):02d}"
        except ValueError:
            stamp = None
        parsed = None
        if stamp:
            # Time-zone byte, as ExifTool decodes it: 0x20 sign, 0x1e hours, 0x01 half hour, 0x40 DST.
            sign = "-" if tz & 0x20 else "+"
            offset = f"{sign}{(tz & 0x1E) >> 1:02d}:{'30' if tz & 0x01 else '00'}"
            try:
                parsed = parse_exif_datetime(stamp, None, offset)
            except ValueError:  # an unset zone byte (0xff) gives an impossible offset: keep the wall clock
                try:
                    parsed = parse_exif_datetime(stamp)
                except ValueError:
                    parsed = None
        if parsed:
            out.captured_at, out.has_offset = parsed
            out.dst = bool(tz & 0x40)
    if 0xE0 in entries:
        code = int.from_bytes(entries[0xE0][:2], "big")
        out.make = MAKES.get(code)
    model = b"".join(entries.get(tag, b"") for tag in (0xE4, 0xE5, 0xE6))
    out.model = clean_text(model, 40)
    return out
