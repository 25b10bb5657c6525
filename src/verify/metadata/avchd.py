"""AVCHD (.MTS/.M2TS) camera metadata: the MDPM block inside the H.264 stream.

Sony, Panasonic, Canon and JVC camcorders write the recording date (with time zone), make and
model into an H.264 SEI "user data unregistered" message tagged ``MDPM``; the container itself
carries none of it, and FFmpeg does not expose it. The layout follows ExifTool's H264 module:
after the UUID and ``MDPM`` come a count and that many 5-byte entries (1-byte tag, 4 bytes data).
Only the first block is read, from the first few megabytes, so this is cheap and bounded.
Make comes from entry 0xE0 (a maker code); the model from entries 0xE4-0xE6, read for Sony only
as ExifTool does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from verify.metadata.parsing import clean_text, parse_exif_datetime

MDPM_MARKER = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM"
SCAN_BYTES = 8 * 1024 * 1024
MAX_ES_BYTES = 2 * 1024 * 1024
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


@dataclass
class H264Facts:
    """What the first megabytes of a transport stream's H.264 video say, without decoding it."""

    mdpm: Mdpm | None = None
    width: int | None = None  # from the sequence parameter set, as ExifTool's H264:ImageWidth
    height: int | None = None


def read_mdpm(path: Path) -> Mdpm | None:
    """The first MDPM block of the H.264 stream, or ``None`` when there is none."""
    return read_h264(path).mdpm


def read_h264(path: Path) -> H264Facts:
    """The first MDPM block and the picture size (first SPS) of the H.264 stream.

    The transport stream is demultiplexed (PAT, PMT, the H.264 elementary stream's PES packets)
    so an SEI message split across 188/192-byte packets is read whole; the SEI NAL units are
    then parsed message by message, as ExifTool does. Bounded: at most ``SCAN_BYTES`` of the
    file and ``MAX_ES_BYTES`` of video stream are looked at.
    """
    with open(path, "rb") as fh:
        head = fh.read(SCAN_BYTES)
    out = H264Facts()
    for nal in iter_nal_units(video_elementary_stream(head)):
        if not nal:
            continue
        kind = nal[0] & 0x1F
        if kind == 6 and out.mdpm is None:
            payload = _mdpm_payload(_unescape(nal[1:]))
            if payload is not None:
                out.mdpm = parse_mdpm(payload)
        elif kind == 7 and out.width is None:
            try:
                out.width, out.height = sps_size(_unescape(nal[1:]))
            except (IndexError, ValueError):
                pass  # a damaged SPS: no size, the rest still counts
        if out.mdpm is not None and out.width is not None:
            break
    return out


class _Bits:
    """Big-endian bit reader with Exp-Golomb codes (H.264 7.2), bounded by its buffer."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]  # IndexError past the end
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("an Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def sps_size(rbsp: bytes) -> tuple[int, int]:
    """Picture width and height (after cropping) from an H.264 sequence parameter set."""
    b = _Bits(rbsp)
    profile = b.u(8)
    b.u(16)  # constraint flags, level
    b.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma = b.ue()
        if chroma == 3:
            b.u(1)
        b.ue(), b.ue(), b.u(1)  # bit depths, qpprime bypass
        if b.u(1):  # scaling matrices
            for i in range(8 if chroma != 3 else 12):
                if b.u(1):
                    last = nxt = 8
                    for _ in range(16 if i < 6 else 64):
                        if nxt:
                            nxt = (last + b.se()) % 256
                        last = nxt or last
    b.ue()  # log2_max_frame_num
    poc = b.ue()
    if poc == 0:
        b.ue()
    elif poc == 1:
        b.u(1), b.se(), b.se()
        for _ in range(min(b.ue(), 255)):
            b.se()
    b.ue(), b.u(1)  # max_num_ref_frames, gaps
    width_mbs, height_units = b.ue() + 1, b.ue() + 1
    frame_mbs_only = b.u(1)
    if not frame_mbs_only:
        b.u(1)
    b.u(1)  # direct_8x8_inference
    width, height = width_mbs * 16, height_units * 16 * (2 - frame_mbs_only)
    if b.u(1):  # frame cropping
        left, right, top, bottom = b.ue(), b.ue(), b.ue(), b.ue()
        unit_x = 2 if chroma in (1, 2) else 1
        unit_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
        width -= unit_x * (left + right)
        height -= unit_y * (top + bottom)
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise ValueError("an impossible picture size")
    return width, height


def _packet_layout(data: bytes) -> tuple[int, int] | None:
    """(packet size, offset of the sync byte): 188-byte MPEG-TS or 192-byte BDAV (.MTS, .M2TS)."""
    if len(data) > 376 and data[0] == 0x47 and data[188] == 0x47:
        return 188, 0
    if len(data) > 388 and data[4] == 0x47 and data[196] == 0x47:
        return 192, 4
    return None


def video_elementary_stream(data: bytes) -> bytes:
    """The first ``MAX_ES_BYTES`` of the H.264 stream carried in a transport stream."""
    layout = _packet_layout(data)
    if layout is None:
        return b""
    size, sync = layout
    pmt_pids: set[int] = set()
    video_pids: set[int] = set()
    es = bytearray()
    in_pes = False
    for at in range(sync, len(data) - 187, size):
        packet = data[at : at + 188]
        if packet[0] != 0x47:
            continue  # lost sync: skip this packet, the layout is fixed
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        start = bool(packet[1] & 0x40)
        control = (packet[3] >> 4) & 0x3
        pos = 4
        if control & 0x2:
            pos += 1 + packet[4]
        if not control & 0x1 or pos >= 188:
            continue
        payload = packet[pos:]
        if pid == 0 and start:
            pmt_pids |= set(_section_entries(payload, pat=True))
        elif pid in pmt_pids and start:
            video_pids |= set(_section_entries(payload, pat=False))
        elif pid in video_pids or (not video_pids and start and payload[:4] in (b"\x00\x00\x01\xe0",)):
            if not video_pids:
                video_pids.add(pid)  # no PMT seen: the first video PES stream
            if start:
                if payload[:3] != b"\x00\x00\x01" or len(payload) < 9:
                    in_pes = False
                    continue
                in_pes = True
                payload = payload[9 + payload[8] :]
            if in_pes:
                es += payload
                if len(es) >= MAX_ES_BYTES:
                    break
    return bytes(es)


def _section_entries(payload: bytes, *, pat: bool) -> list[int]:
    """PMT PIDs from a PAT, or H.264 stream PIDs from a PMT (first section, bounded by its length)."""
    pointer = payload[0]
    sec = payload[1 + pointer :]
    if len(sec) < 12:
        return []
    length = ((sec[1] & 0x0F) << 8) | sec[2]
    end = min(len(sec), 3 + length) - 4  # without the CRC
    out: list[int] = []
    if pat:
        for i in range(8, end - 3, 4):
            program = (sec[i] << 8) | sec[i + 1]
            if program:
                out.append(((sec[i + 2] & 0x1F) << 8) | sec[i + 3])
        return out
    info_len = ((sec[10] & 0x0F) << 8) | sec[11]
    i = 12 + info_len
    while i + 5 <= end:
        stream_type = sec[i]
        pid = ((sec[i + 1] & 0x1F) << 8) | sec[i + 2]
        es_len = ((sec[i + 3] & 0x0F) << 8) | sec[i + 4]
        if stream_type == 0x1B:  # H.264
            out.append(pid)
        i += 5 + es_len
    return out


def iter_nal_units(es: bytes):  # type: ignore[no-untyped-def]
    """NAL units of an Annex B byte stream (split on 00 00 01 start codes)."""
    pos = es.find(b"\x00\x00\x01")
    while pos >= 0:
        start = pos + 3
        nxt = es.find(b"\x00\x00\x01", start)
        end = len(es) if nxt < 0 else nxt
        yield es[start:end].rstrip(b"\x00")
        pos = nxt


def _mdpm_payload(sei: bytes) -> bytes | None:
    """The body after UUID + "MDPM" of the first user-data-unregistered SEI message, if it is MDPM."""
    pos, end = 0, len(sei)
    while pos < end:
        kind = size = 0
        while pos < end:
            byte = sei[pos]
            pos += 1
            kind += byte
            if byte != 0xFF:
                break
        if kind == 0x80:  # rbsp trailing bits
            return None
        while pos < end:
            byte = sei[pos]
            pos += 1
            size += byte
            if byte != 0xFF:
                break
        if pos + size > end:
            return None
        if kind == 5 and sei.startswith(MDPM_MARKER, pos):
            return sei[pos + len(MDPM_MARKER) : pos + size]
        pos += size  # another message (picture timing, an encoder's own user data): skip it
    return None


def parse_mdpm(body: bytes) -> Mdpm:
    """The MDPM entries: a count, then 5-byte entries (tag, 4 bytes) in ascending tag order."""
    count = body[0] if body else 0
    entries: dict[int, bytes] = {}
    last = -1
    for i in range(count):
        chunk = body[1 + 5 * i : 6 + 5 * i]
        if len(chunk) < 5 or chunk[0] <= last:  # out of sequence: ExifTool stops there too
            break
        last = chunk[0]
        entries[chunk[0]] = chunk[1:]
    return _decode(entries)


def _decode(entries: dict[int, bytes]) -> Mdpm:
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
    if out.make == "Sony":  # other makers use 0xE4-0xE6 for other things (ExifTool reads Sony's only)
        model = b""
        for tag in (0xE4, 0xE5, 0xE6):  # consecutive entries, combined
            if tag not in entries:
                break
            model += entries[tag]
        out.model = clean_text(model.split(b"\x00")[0], 40) or None
    return out
