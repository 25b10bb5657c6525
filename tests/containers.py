"""Containers built by hand (or written by PyAV), for the container-metadata tests.

Each builder writes exactly what the specification says and nothing a decoder would need beyond
it, so the tests show metadata read from the container alone: a DASH init segment (no samples),
an old QuickTime movie (``moov`` with ``mvhd`` and a track header, no ``ftyp``, no frames), an
AVCHD clip with a Sony MDPM SEI, a Windows Media header, and a C2PA manifest store placed in
each container the C2PA specification defines.
"""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

EPOCH_1904 = datetime(1904, 1, 1, tzinfo=UTC)


def scene(seed: int, size: tuple[int, int]) -> np.ndarray:
    """A smooth, detailed picture (random blocks, upscaled): something a perceptual hash can tell apart."""
    from PIL import Image

    small = np.random.default_rng(seed).integers(0, 255, (max(2, size[1] // 16), max(2, size[0] // 16), 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC))
EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)


# -- ISO BMFF / QuickTime ---------------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def secs_1904(when: datetime) -> int:
    return int((when - EPOCH_1904).total_seconds())


MATRICES = {  # tkhd display matrices (16.16 and 2.30 fixed point), as phones write them
    0: (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000),
    90: (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000),
    180: (-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000),
    270: (0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000),
}


def quicktime_movie(
    *, created: datetime, modified: datetime, timescale: int = 600, duration: int = 6000, width: int = 1280,
    height: int = 720, rotation: int = 0, codec: bytes = b"avc1", with_ftyp: bool = False,
) -> bytes:  # fmt: skip
    """A movie header and one video track with no samples: what an old QuickTime ``.mov`` whose
    media was lost (or never written) still says about itself."""
    c, m = secs_1904(created), secs_1904(modified)
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", c, m, timescale, duration) + struct.pack(">IH", 0x10000, 0x100)
                    + b"\0" * 10 + struct.pack(">9i", *MATRICES[0]) + b"\0" * 24 + struct.pack(">I", 2))  # fmt: skip
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">IIII", c, m, 1, 0) + struct.pack(">I", duration) + b"\0" * 8
                    + struct.pack(">hhhh", 0, 0, 0, 0) + struct.pack(">9i", *MATRICES[rotation])
                    + struct.pack(">II", width << 16, height << 16))  # fmt: skip
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIII", c, m, timescale, duration) + struct.pack(">HH", 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, b"mhlr" + b"vide" + b"\0" * 12 + b"\x0cVideoHandler")
    entry = (b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 16 + struct.pack(">HH", width, height)
             + struct.pack(">II", 0x480000, 0x480000) + b"\0" * 4 + struct.pack(">H", 1) + b"\0" * 32
             + struct.pack(">hh", 24, -1))  # fmt: skip
    stsd = full_box(b"stsd", 0, 0, struct.pack(">I", 1) + box(codec, entry))
    stbl = box(b"stbl", stsd + full_box(b"stts", 0, 0, b"\0" * 4) + full_box(b"stsc", 0, 0, b"\0" * 4)
               + full_box(b"stsz", 0, 0, b"\0" * 8) + full_box(b"stco", 0, 0, b"\0" * 4))  # fmt: skip
    vmhd = full_box(b"vmhd", 0, 1, b"\0" * 8)
    minf = box(b"minf", vmhd + stbl)
    trak = box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + minf))
    moov = box(b"moov", mvhd + trak)
    head = box(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ") if with_ftyp else box(b"wide", b"")
    return head + box(b"mdat", b"") + moov


def fragmented_mp4(path: Path, frames: int = 12, size: tuple[int, int] = (320, 240)) -> Path:
    """A real fragmented MP4 written by PyAV (``empty_moov``: the header holds no samples)."""
    import av

    out = av.open(str(path), "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    base = scene(7, size)
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(np.roll(base, i * 4, axis=1), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def dash_init_segment(path: Path) -> bytes:
    """The initialisation segment of a DASH stream: ``ftyp`` + ``moov`` of a fragmented MP4, no media."""
    fragmented_mp4(path)
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"moof":
            return data[:pos]
        pos += size
    raise AssertionError("PyAV wrote no movie fragment")


def with_top_level_box(data: bytes, extra: bytes, after: bytes | None = None) -> bytes:
    """Insert a top-level box right after the first box of type ``after`` (default: at the end,
    where it moves no sample or item offset, so the picture still decodes)."""
    if after is None:
        return data + extra
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if kind == after:
            return data[: pos + size] + extra + data[pos + size :]
        pos += size
    return extra + data


# -- C2PA manifest stores ----------------------------------------------------------------------

C2PA_STORE_TYPE = bytes.fromhex("6332706100110010800000AA00389B71")
C2PA_MANIFEST_TYPE = bytes.fromhex("63326D6100110010800000AA00389B71")
C2PA_UUID = bytes.fromhex("D8FEC3D61B0E483C92975828877EC481")


def jumbf_store(padding: int = 0) -> bytes:
    """A JUMBF C2PA manifest store holding one (unsigned, empty) manifest: present, not valid."""
    manifest_desc = box(b"jumd", C2PA_MANIFEST_TYPE + b"\x03" + b"urn:uuid:" + str(uuid.UUID(int=7)).encode() + b"\0")
    manifest = box(b"jumb", manifest_desc + box(b"free", b"\0" * padding))
    store_desc = box(b"jumd", C2PA_STORE_TYPE + b"\x03" + b"c2pa\0")
    return box(b"jumb", store_desc + manifest)


def jpeg_with_store(jpeg: bytes, store: bytes, segment_payload: int = 1000) -> bytes:
    """The store in APP11 segments after SOI: ``JP``, instance, sequence, then the JUMBF box,
    split over as many segments as needed (each continuation repeats the box's 8-byte header)."""
    header, rest = store[:8], store[8:]
    segments = []
    seq = 1
    first = True
    while rest or first:
        chunk_len = segment_payload - (0 if first else 8)
        chunk, rest = rest[:chunk_len], rest[chunk_len:]
        body = b"JP" + struct.pack(">HI", 1, seq) + header + chunk
        segments.append(b"\xff\xeb" + struct.pack(">H", 2 + len(body)) + body)
        seq += 1
        first = False
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_store(png: bytes, store: bytes) -> bytes:
    """The store as a ``caBX`` chunk right after IHDR."""
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + png_chunk(b"caBX", store) + png[ihdr_end:]


def webp_with_store(webp: bytes, store: bytes) -> bytes:
    """The store as a ``C2PA`` RIFF chunk at the end, with the RIFF size fixed."""
    chunk = b"C2PA" + struct.pack("<I", len(store)) + store + (b"\0" if len(store) & 1 else b"")
    body = webp[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff_with_store(image, store: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """The store in IFD0 tag 0xCD41 (type UNDEFINED), written by Pillow."""
    from PIL import TiffImagePlugin

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[0xCD41] = store
    ifd.tagtype[0xCD41] = 7
    buf = io.BytesIO()
    image.save(buf, "TIFF", tiffinfo=ifd)
    return buf.getvalue()


def isobmff_c2pa_box(store: bytes) -> bytes:
    """The C2PA ``uuid`` box: UUID, version/flags, purpose "manifest", merkle offset, the store."""
    return box(b"uuid", C2PA_UUID + b"\0\0\0\0" + b"manifest\0" + b"\0" * 8 + store)


# -- MPEG transport stream (AVCHD) ------------------------------------------------------------


def _crc32_mpeg(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _psi(table_id: int, body: bytes, ext: int) -> bytes:
    section = struct.pack(">BHHBBB", table_id, 0xB000 | (len(body) + 9), ext, 0xC1, 0, 0) + body
    return b"\0" + section + struct.pack(">I", _crc32_mpeg(section))


def _ts_packets(pid: int, payload: bytes, counter: list[int], bdav: bool) -> bytes:
    out = bytearray()
    first = True
    while payload or first:
        room = 184
        chunk, payload = payload[:room], payload[room:]
        header = struct.pack(">BHB", 0x47, (0x4000 if first else 0) | pid, 0x10 | (counter[0] & 0xF))
        if len(chunk) < room:  # stuffing in an adaptation field
            pad = room - len(chunk)
            header = struct.pack(">BHB", 0x47, (0x4000 if first else 0) | pid, 0x30 | (counter[0] & 0xF))
            adaptation = bytes([pad - 1]) + (b"\x00" + b"\xff" * (pad - 2) if pad >= 2 else b"")
            chunk = adaptation + chunk
        counter[0] += 1
        packet = header + chunk
        assert len(packet) == 188
        out += (b"\0\0\0\0" if bdav else b"") + packet
        first = False
    return bytes(out)


def escape_rbsp(data: bytes) -> bytes:
    """Emulation prevention: an encoder never lets 00 00 0x (x <= 3) appear in a NAL unit."""
    out = bytearray()
    zeros = 0
    for b in data:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


MDPM_UUID = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66")


def mdpm_sei(entries: list[tuple[int, bytes]]) -> bytes:
    """An SEI NAL unit (Annex B) with one user-data-unregistered message holding an MDPM block."""
    block = MDPM_UUID + b"MDPM" + bytes([len(entries)]) + b"".join(bytes([t]) + d for t, d in entries)
    size = len(block)
    sei = bytes([5]) + b"\xff" * (size // 255) + bytes([size % 255]) + block + b"\x80"
    return b"\x00\x00\x00\x01\x06" + escape_rbsp(sei)


def sony_mdpm(when: str = "2019-04-24 22:24:00", tz: int = 0x44, model: bytes = b"HDR-CX240E") -> list[tuple[int, bytes]]:
    """Sony's MDPM entries: time zone and date (BCD), make code 0x0108, model over 0xE4-0xE6."""
    digits = when.replace("-", "").replace(":", "").replace(" ", "")
    bcd = bytes.fromhex(digits)  # YYYYMMDDhhmmss as BCD pairs
    model = model.ljust(12, b"\0")
    return [(0x18, bytes([tz]) + bcd[0:3]), (0x19, bcd[3:7]), (0xE0, b"\x01\x08\x31\x00"),
            (0xE4, model[0:4]), (0xE5, model[4:8]), (0xE6, model[8:12])]  # fmt: skip


def avchd_clip(nal_units: bytes, *, bdav: bool = True) -> bytes:
    """A transport stream (192-byte BDAV packets, as camcorders write .MTS) with a PAT, a PMT
    naming one H.264 stream, and one PES packet carrying ``nal_units``."""
    counters = {0: [0], 0x100: [0], 0x1011: [0]}
    pat = _psi(0x00, struct.pack(">HH", 1, 0xE000 | 0x100), 1)
    pmt = _psi(0x02, struct.pack(">HH", 0xE000 | 0x1011, 0xF000) + struct.pack(">BHH", 0x1B, 0xE000 | 0x1011, 0xF000), 1)
    pts = 90000
    pts_bytes = bytes([0x21 | ((pts >> 29) & 0x0E), (pts >> 22) & 0xFF, 0x01 | ((pts >> 14) & 0xFE), (pts >> 7) & 0xFF, 0x01 | ((pts << 1) & 0xFE)])
    pes = b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05" + pts_bytes + b"\x00\x00\x00\x01\x09\xf0" + nal_units
    out = _ts_packets(0, pat, counters[0], bdav) + _ts_packets(0x100, pmt, counters[0x100], bdav)
    out += _ts_packets(0x1011, pes, counters[0x1011], bdav)
    for _ in range(3):  # a few more PSI repeats, as a real stream has
        out += _ts_packets(0, pat, counters[0], bdav)
    return out


def h264_parameter_sets(size: tuple[int, int] = (320, 240)) -> bytes:
    """A real SPS and PPS (Annex B) from libx264, so a demuxer can tell the picture size."""
    import av

    buf = io.BytesIO()
    out = av.open(buf, "w", format="h264")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    data = bytearray()
    for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((size[1], size[0], 3), np.uint8), format="rgb24")):
        out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    data = buf.getvalue()
    keep = bytearray()
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        nxt = data.find(b"\x00\x00\x01", pos + 3)
        nal = data[pos + 3 : nxt if nxt >= 0 else len(data)].rstrip(b"\x00")
        if nal[0] & 0x1F in (7, 8):
            keep += b"\x00\x00\x00\x01" + nal
        pos = nxt
    return bytes(keep)


def mpegts_with_sei(path: Path, sei: bytes, frames: int = 25, size: tuple[int, int] = (320, 240)) -> Path:
    """A decodable MPEG-TS clip (libx264 via PyAV) whose first access unit carries ``sei``.

    Encoded to an H.264 byte stream, the SEI inserted before the first slice, then remuxed into
    a transport stream by PyAV: the way a camcorder's stream carries its MDPM block.
    """
    import av

    raw = io.BytesIO()
    enc = av.open(raw, "w", format="h264")
    stream = enc.add_stream("libx264", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    base = scene(3, size)
    for i in range(frames):
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(base, i * 3, axis=0), format="rgb24")):
            enc.mux(packet)
    for packet in stream.encode():
        enc.mux(packet)
    enc.close()
    data = raw.getvalue()
    # before the first IDR slice (NAL type 5)
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0 and data[pos + 3] & 0x1F != 5:
        pos = data.find(b"\x00\x00\x01", pos + 3)
    assert pos > 0
    if data[pos - 1] == 0:  # a four-byte start code
        pos -= 1
    data = data[:pos] + sei + data[pos:]
    src = av.open(io.BytesIO(data), format="h264")
    dst = av.open(str(path), "w", format="mpegts")
    inp = src.streams.video[0]
    out_stream = dst.add_stream_from_template(inp)
    n = 0
    for packet in src.demux(inp):
        if packet.size == 0:
            continue
        packet.stream = out_stream
        packet.pts = packet.dts = n * 3600
        packet.time_base = __import__("fractions").Fraction(1, 90000)
        dst.mux(packet)
        n += 1
    dst.close()
    src.close()
    return path


# -- ASF (Windows Media) ---------------------------------------------------------------------


def _guid(text: str) -> bytes:
    return uuid.UUID(text).bytes_le


def _asf_object(guid: str, data: bytes) -> bytes:
    return _guid(guid) + struct.pack("<Q", 24 + len(data)) + data


def filetime(when: datetime) -> int:
    return int((when - EPOCH_1601).total_seconds() * 10_000_000)


def asf_header(*, created: datetime, play_s: float, preroll_ms: int, width: int, height: int, codec: bytes = b"WMV2",
               title: str = "Flood", author: str = "Desk") -> bytes:  # fmt: skip
    """An ASF Header Object (file properties, one video stream, content description) and an
    empty Data Object: a Windows Media file whose packets are gone."""
    props = (_guid("4B1ACBE3-100B-11D0-A39B-00A0C90348F6") + struct.pack("<QQQQQQ", 0, filetime(created), 0,
             int(play_s * 1e7), int(play_s * 1e7), preroll_ms) + struct.pack("<IIII", 2, 3200, 3200, 1_000_000))  # fmt: skip
    bitmap = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, codec, 0, 0, 0, 0, 0)
    specific = struct.pack("<IIBH", width, height, 2, len(bitmap)) + bitmap
    stream = (_guid("BC19EFC0-5B4D-11CF-A8FD-00805F5C442B") + _guid("20FB5700-5B55-11CF-A8FD-00805F5C442B")
              + struct.pack("<QIIHI", 0, len(specific), 0, 1, 0) + specific)  # fmt: skip
    texts = [t.encode("utf-16-le") + b"\0\0" for t in (title, author, "", "", "")]
    content = struct.pack("<HHHHH", *(len(t) for t in texts)) + b"".join(texts)
    objects = [
        _asf_object("8CABDCA1-A947-11CF-8EE4-00C00C205365", props),
        _asf_object("B7DC0791-A9B7-11CF-8EE6-00C00C205365", stream),
        _asf_object("75B22633-668E-11CF-A6D9-00AA0062CE6C", content),
    ]
    body = b"".join(objects)
    header = _guid("75B22630-668E-11CF-A6D9-00AA0062CE6C") + struct.pack("<QIBB", 30 + len(body), len(objects), 1, 2) + body
    data = _guid("75B22636-668E-11CF-A6D9-00AA0062CE6C") + struct.pack("<Q", 50) + b"\0" * 16 + struct.pack("<QH", 0, 0x0101)
    return header + data


def wmv_clip(path: Path, frames: int = 25, size: tuple[int, int] = (320, 240)) -> Path:
    """A real Windows Media clip (WMV2 in ASF) written by PyAV."""
    import av

    out = av.open(str(path), "w", format="asf")
    stream = out.add_stream("wmv2", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    base = scene(5, size)
    for i in range(frames):
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(base, i * 3, axis=1), format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


# -- HEIF with a damaged image item -----------------------------------------------------------


def _children(data: bytes, start: int, end: int):  # type: ignore[no-untyped-def]
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8:
            return
        yield kind, pos, pos + size
        pos += size


def damage_heif_primary_item(data: bytes) -> bytes:
    """Overwrite the coded picture of the primary item (found through ``pitm`` and ``iloc``),
    leaving every other item (EXIF, XMP) and every box intact: a HEIC whose image item is damaged."""
    meta = next((s, e) for k, s, e in _children(data, 0, len(data)) if k == b"meta")
    boxes = {k: (s, e) for k, s, e in _children(data, meta[0] + 12, meta[1])}
    ps, _ = boxes[b"pitm"]
    version = data[ps + 8]
    primary = struct.unpack_from(">H" if version == 0 else ">I", data, ps + 12)[0]
    ls, _ = boxes[b"iloc"]
    version = data[ls + 8]
    pos = ls + 12
    sizes = data[pos] << 8 | data[pos + 1]
    off_size, len_size, base_size = sizes >> 12, (sizes >> 8) & 0xF, (sizes >> 4) & 0xF
    index_size = sizes & 0xF if version in (1, 2) else 0
    pos += 2
    count_fmt = ">H" if version < 2 else ">I"
    count = struct.unpack_from(count_fmt, data, pos)[0]
    pos += struct.calcsize(count_fmt)

    def read(n: int) -> int:
        nonlocal pos
        value = int.from_bytes(data[pos : pos + n], "big") if n else 0
        pos += n
        return value

    out = bytearray(data)
    for _ in range(count):
        item = read(2 if version < 2 else 4)
        if version in (1, 2):
            read(2)  # construction method
        read(2)  # data reference index
        base = read(base_size)
        for _ in range(read(2)):
            read(index_size)
            offset, length = read(off_size), read(len_size)
            if item == primary:
                start = base + offset
                # keep the first NAL length, scramble the rest: a decoder rejects it
                out[start + 4 : start + length] = bytes((i * 37 + 11) & 0xFF for i in range(length - 4))
    return bytes(out)


# -- signing (a throwaway certificate chain) ---------------------------------------------------


def sign_c2pa(mime: str, data: bytes, title: str = "signed") -> bytes:
    """``data`` signed by c2pa-python with a fresh test CA and signer (not on any trust list)."""
    import datetime as dt

    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject: str, issuer: x509.Name | None, key, signer_key, ca: bool):  # type: ignore[no-untyped-def]
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        usage = x509.KeyUsage(not ca, False, False, False, False, ca, ca, False, False)
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
             .not_valid_after(now + dt.timedelta(days=30)).add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(usage, critical=True).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))  # fmt: skip
        if not ca:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
        return b.sign(signer_key, hashes.SHA256()), name

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca, ca_name = build("Test Root CA", None, ca_key, ca_key, True)
    ee, _ = build("Test Signer", ca_name, key, ca_key, False)
    pem = (ee.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)).decode()
    signer = c2pa.Signer.from_callback(lambda d: key.sign(d, ec.ECDSA(hashes.SHA256())), c2pa.C2paSigningAlg.ES256, pem, None)
    manifest = {"claim_generator_info": [{"name": "verify-tests", "version": "1.0"}], "title": title,
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created",
                                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}  # fmt: skip
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue()


def quicktime_clip(path: Path, frames: int = 12, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small decodable QuickTime movie (libx264 in ``mov``), written by PyAV."""
    import av

    out = av.open(str(path), "w", format="mov")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    base = scene(9, size)
    for i in range(frames):
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(base, i * 2, axis=1), format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path.read_bytes()


def avi_clip(path: Path, frames: int = 25, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small decodable AVI (MPEG-4 part 2), written by PyAV."""
    import av

    out = av.open(str(path), "w", format="avi")
    stream = out.add_stream("mpeg4", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    base = scene(3, size)
    for i in range(frames):
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(base, i * 2, axis=1), format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path.read_bytes()


def riff_with_store(riff: bytes, store: bytes) -> bytes:
    """The store as a ``C2PA`` chunk at the end of any RIFF file (WebP, AVI), RIFF size fixed."""
    return webp_with_store(riff, store)


def jxl_with_store(image, store: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """A JPEG XL file in its container form (signature, ``ftyp``, codestream) with the store as
    a top-level ``jumb`` box, as the C2PA specification places it."""
    import pillow_jxl  # noqa: F401  (registers the JXL plugin)

    buf = io.BytesIO()
    image.save(buf, "JXL")
    codestream = buf.getvalue()
    assert codestream[:2] == b"\xff\x0a"  # a bare codestream, wrapped here
    signature = struct.pack(">I4s", 12, b"JXL ") + b"\r\n\x87\n"
    return signature + box(b"ftyp", b"jxl " + b"\0\0\0\0" + b"jxl ") + store + box(b"jxlc", codestream)


def long_clip(path: Path, seconds: int = 40, size: tuple[int, int] = (320, 240), creation_time: str | None = None) -> Path:
    """A longer MOV (libx264, ultrafast), slow enough to fingerprint that a tiny time limit stops it."""
    import av

    out = av.open(str(path), "w", format="mov")
    if creation_time:
        out.metadata["creation_time"] = creation_time
    stream = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    base = scene(11, size)
    for i in range(seconds * 25):
        frame = av.VideoFrame.from_ndarray(np.roll(base, (i * 3) % size[0], axis=1), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path
