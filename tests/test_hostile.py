"""Hostile files, generated here, through the real ``verify`` command and the upload path.

Each file must cost at most itself: one readable line (or JSON record) per file, no traceback, the
process exits normally, and nothing partial is left in the store. The generators are importable
(``from test_hostile import build_hostile``) so the crash, fuzz and security tests reuse them.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

import factories as f
import procs
from verify.config import Settings, load_settings
from verify.errors import VerifyError

ROOT = Path(__file__).resolve().parents[1]
VERIFY = [sys.executable, "-m", "verify"]

#: A string that would do something if any front end rendered it as HTML or markdown.
XSS = '<img src=http://127.0.0.1:9/x onerror=alert(1)><script>alert("x")</script>![x](http://127.0.0.1:9/y) **b**'


# -- generators ---------------------------------------------------------------------------------


def _jpeg(seed: int = 1, size: tuple[int, int] = (320, 240), exif: bytes | None = None) -> bytes:
    return f.jpeg_bytes(f.photo(seed, size), exif=exif)


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _flip(data: bytes, seed: int, flips: int = 40, start: int = 0) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        i = rng.randrange(start, len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming a huge canvas, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")


def png_zlib_bomb(side: int) -> bytes:
    """A real, complete grey PNG of side x side zeros: tiny on disk, huge once inflated."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + grey pixels
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b"")


def jpeg_header_bomb() -> bytes:
    """A JPEG whose frame header claims 65,000 x 65,000 pixels."""
    data = bytearray(_jpeg(3, (64, 64)))
    i = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, 65000, 65000)
    return bytes(data)


def gif_header_bomb() -> bytes:
    data = bytearray(_save(Image.new("P", (8, 8)), "GIF"))
    struct.pack_into("<HH", data, 6, 65535, 65535)
    return bytes(data)


def gif_many_frames(n: int = 3000) -> bytes:
    frames = [Image.new("P", (16, 16), i % 256) for i in range(n)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10, loop=0)


def exif_loop() -> bytes:
    """EXIF whose IFDs point at themselves and whose counts are absurd."""
    entries = [
        (0x010F, 2, 0xFFFFFFFF, 0x00000100),  # Make: ASCII, four billion characters, beyond the end
        (0x8769, 4, 1, 8),  # Exif IFD pointer -> IFD0 itself (a loop)
        (0x8825, 4, 1, 8),  # GPS IFD pointer -> IFD0 itself
        (0x0110, 2, 0x7FFFFFFF, 0x7FFFFFF0),  # Model: offset far beyond the end
        (0x0112, 3, 0xFFFF, 0),  # Orientation with 65,535 values
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + struct.pack("<I", 8)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    app1 = b"Exif\x00\x00" + tiff
    jpeg = _jpeg(4, (64, 64))
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def exif_huge_ifd_count() -> bytes:
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 0xFFFF) + b"\x00" * 24
    app1 = b"Exif\x00\x00" + tiff
    jpeg = _jpeg(5, (64, 64))
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def exif_xss() -> bytes:
    ex = Image.Exif()
    for tag in (0x010F, 0x0110, 0x0131, 0x010E, 0x013B, 0x8298):  # Make Model Software Description Artist Copyright
        ex[tag] = XSS
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = XSS  # DateTimeOriginal: not even a date
    sub[0x9011] = XSS  # OffsetTimeOriginal
    sub[0xA430] = XSS  # CameraOwnerName
    sub[0xA434] = XSS  # LensModel
    gps = ex.get_ifd(0x8825)
    gps[1] = XSS
    gps[2] = (1, 2)  # wrong arity
    return _jpeg(6, (96, 96), exif=ex.tobytes())


def xmp_packet(text: str) -> bytes:
    """An XMP packet whose description, creator, city and history all carry ``text``."""
    from xml.sax.saxutils import escape

    t = escape(text, {'"': "&quot;"})
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" '
        f'photoshop:City="{t}" photoshop:Country="{t}" xmp:CreatorTool="{t}">'
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{t}</rdf:li></rdf:Alt></dc:description>'
        f'<dc:creator><rdf:Seq><rdf:li>{t}</rdf:li></rdf:Seq></dc:creator>'
        f'<xmpMM:History><rdf:Seq><rdf:li stEvt:action="saved" stEvt:softwareAgent="{t}"/></rdf:Seq></xmpMM:History>'
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode("utf-8")


def iptc_app13(text: str) -> bytes:
    """A Photoshop APP13 segment with IPTC caption, by-line, city and keywords set to ``text``."""
    value = text.encode("utf-8")[:2000]
    datasets = b"".join(b"\x1c\x02" + bytes([tag]) + struct.pack(">H", len(value)) + value for tag in (0x78, 0x50, 0x5A, 0x19, 0x69))
    irb = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(datasets)) + datasets + (b"\x00" if len(datasets) % 2 else b"")
    body = b"Photoshop 3.0\x00" + irb
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def jpeg_xmp_iptc(text: str, seed: int = 14, exif: bytes | None = None) -> bytes:
    """A JPEG carrying ``text`` in XMP and IPTC (and EXIF when given)."""
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": 90, "xmp": xmp_packet(text)}
    if exif is not None:
        kwargs["exif"] = exif
    f.photo(seed, (160, 120)).save(buf, "JPEG", **kwargs)
    data = buf.getvalue()
    return data[:2] + iptc_app13(text) + data[2:]


def png_text_xss() -> bytes:
    info = PngImagePlugin.PngInfo()
    for key in ("Title", "Author", "Description", "Software", "Comment", "XML:com.adobe.xmp"):
        info.add_text(key, XSS)
    info.add_itxt("Source", XSS, lang="en", tkey=XSS)
    return _save(f.photo(7, (96, 96)), "PNG", pnginfo=info)


def _video(tmp: Path, name: str, fmt_ext: str = ".mp4", metadata: dict[str, str] | None = None) -> bytes:
    path = tmp / f"src-{name}{fmt_ext}"
    if fmt_ext == ".mov":
        import av

        with av.open(str(path), "w", format="mov") as out:
            for k, v in (metadata or {}).items():
                out.metadata[k] = v
            stream = out.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
            for i in range(20):
                frame = av.VideoFrame.from_image(f.photo(50 + i // 10, (160, 120)))
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    else:
        f.video(path, seconds=2, fps=10, size=(160, 120), seed=hash(name) % 1000, gop=10, metadata=metadata)
    data = path.read_bytes()
    path.unlink()
    return data


def _find_box(data: bytes, kind: bytes, start: int = 0) -> int:
    return data.index(kind, start) - 4


def mp4_absurd_dimensions(mp4: bytes) -> bytes:
    data = bytearray(mp4)
    t = data.index(b"tkhd")
    size = struct.unpack(">I", data[t - 4 : t])[0]
    struct.pack_into(">II", data, t - 4 + size - 8, 0xFFFF0000, 0xFFFF0000)
    a = data.index(b"avc1")
    struct.pack_into(">HH", data, a + 4 + 24, 0xFFFF, 0xFFFF)
    return bytes(data)


def mp4_endless_atom(mp4: bytes) -> bytes:
    """The box after ``ftyp`` claims to be four gigabytes long."""
    data = bytearray(mp4)
    ftyp_size = struct.unpack(">I", data[0:4])[0]
    struct.pack_into(">I", data, ftyp_size, 0xFFFFFFF0)
    return bytes(data)


def mp4_largesize_atom(mp4: bytes) -> bytes:
    """A 64-bit box size of 2**63-1 right after ``ftyp``."""
    ftyp_size = struct.unpack(">I", mp4[0:4])[0]
    return mp4[:ftyp_size] + struct.pack(">I4sQ", 1, b"free", 2**63 - 1) + mp4[ftyp_size:]


def mp4_nested_atoms(depth: int = 20000) -> bytes:
    """``ftyp`` then boxes nested twenty thousand deep (recursive parsers overflow their stack)."""
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0, b"isom", b"mp41")
    body = b""
    total = 8 * depth
    for i in range(depth):
        body += struct.pack(">I4s", total - 8 * i, b"moov" if i == 0 else b"trak")
    return ftyp + body


def mov_huge_frame(folder: Path) -> bytes:
    """A real, decodable MJPEG movie whose one frame is 9,000 x 8,000 pixels (beyond the limit)."""
    import av

    path = folder / "src-huge.mov"
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = 9000, 8000, "yuvj420p"
        frame = av.VideoFrame(9000, 8000, "yuvj420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = path.read_bytes()
    path.unlink()
    return data


def mp4_zero_size_moov(mp4: bytes) -> bytes:
    data = bytearray(mp4)
    m = data.index(b"moov")
    struct.pack_into(">I", data, m - 4, 0)
    return bytes(data)


def build_hostile(folder: Path) -> dict[str, Path]:
    """Write the hostile set into ``folder``; returns name -> path. About sixty files."""
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = _jpeg(1)
    png = _save(f.photo(2, (200, 150)), "PNG")
    webp = _save(f.photo(8, (200, 150)), "WEBP", quality=80)
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = _save(f.photo(9, (128, 96)), "HEIF", quality=60)
    mp4 = _video(folder, "clean", metadata={"title": XSS, "comment": XSS, "artist": XSS, "location": XSS})
    mov = _video(folder, "clean", ".mov", metadata={"title": XSS})
    files: dict[str, bytes] = {
        "empty.jpg": b"",
        "empty.mp4": b"",
        "one-byte.png": b"\x89",
        "jpeg-magic-only.jpg": b"\xff\xd8\xff",
        "png-magic-only.png": b"\x89PNG\r\n\x1a\n",
        "ftyp-only.mp4": mp4[:32],
        "riff-webp-only.webp": b"RIFF\x00\x00\x00\x00WEBP",
        "valid.jpg": jpeg,
        "valid.png": png,
        "valid.webp": webp,
        "valid.heic": heic,
        "valid-xss-tags.mp4": mp4,
        "valid-xss-tags.mov": mov,
        "png-as.jpg": png,
        "jpeg-as.mp4": _jpeg(11),
        "mp4-as.jpg": _video(folder, "asjpg"),
        "text-as.jpg": b"just some text pretending to be a photo\n" * 20,
        "html-as.png": b"<html><body><script>alert(1)</script><img src=http://127.0.0.1:9/x></body></html>",
        "svg-as.jpg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><image href="http://127.0.0.1:9/x"/></svg>',
        "zip-as.jpg": b"PK\x03\x04" + os.urandom(200),
        "elf-as.png": b"\x7fELF\x02\x01\x01" + b"\x00" * 200,
        "polyglot-jpeg-zip.jpg": _jpeg(12) + b"PK\x03\x04" + b"\x00" * 26 + b"evil.sh" + b"#!/bin/sh\nrm -rf /\n",
        "polyglot-jpeg-html.jpg": b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>" + b"\x00" * 100,
        "polyglot-gif-js.gif": b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(1);//" + b"\x00" * 20 + b";",
        "polyglot-pdf-jpeg.jpg": b"%PDF-1.4\n" + _jpeg(13),
        "bomb-png-header-100k.png": png_header_bomb(),
        "bomb-png-header-neg.png": png_header_bomb(0x7FFFFFFF, 0x7FFFFFFF),
        "bomb-png-zlib-16k.png": png_zlib_bomb(16_000),
        "bomb-jpeg-header-65k.jpg": jpeg_header_bomb(),
        "bomb-gif-header.gif": gif_header_bomb(),
        "gif-3000-frames.gif": gif_many_frames(3000),
        "exif-loop.jpg": exif_loop(),
        "exif-huge-count.jpg": exif_huge_ifd_count(),
        "exif-xss.jpg": exif_xss(),
        "png-text-xss.png": png_text_xss(),
        "jpeg-xmp-iptc-xss.jpg": jpeg_xmp_iptc(XSS),
        "mp4-absurd-dimensions.mp4": mp4_absurd_dimensions(mp4),
        "mov-huge-frame.mov": mov_huge_frame(folder),
        "mp4-endless-atom.mp4": mp4_endless_atom(mp4),
        "mp4-largesize-atom.mp4": mp4_largesize_atom(mp4),
        "mp4-nested-20000.mp4": mp4_nested_atoms(),
        "mp4-zero-size-moov.mp4": mp4_zero_size_moov(mp4),
        "mov-truncated.mov": mov[: len(mov) // 3],
        "mp4-no-moov.mp4": mp4[: mp4.index(b"moov") - 4] if mp4.index(b"moov") > mp4.index(b"mdat") else mp4[: len(mp4) // 2],
    }
    for cut in (0.1, 0.5, 0.9):
        files[f"jpeg-truncated-{int(cut * 100)}.jpg"] = jpeg[: int(len(jpeg) * cut)]
        files[f"png-truncated-{int(cut * 100)}.png"] = png[: int(len(png) * cut)]
        files[f"mp4-truncated-{int(cut * 100)}.mp4"] = mp4[: int(len(mp4) * cut)]
    files["webp-truncated.webp"] = webp[: len(webp) // 2]
    files["heic-truncated.heic"] = heic[: len(heic) // 2]
    for seed in range(3):
        files[f"jpeg-bitflip-{seed}.jpg"] = _flip(jpeg, seed, start=4)
        files[f"png-bitflip-{seed}.png"] = _flip(png, seed, start=8)
        files[f"mp4-bitflip-{seed}.mp4"] = _flip(mp4, seed, flips=200, start=12)
    files["webp-bitflip.webp"] = _flip(webp, 1, start=12)
    files["heic-bitflip.heic"] = _flip(heic, 1, start=24)
    files["mov-bitflip.mov"] = _flip(mov, 2, flips=200, start=12)
    # Hostile names: script, control characters, terminal escapes, bidi overrides, not UTF-8.
    files['<img src=x onerror=alert(1)><script>alert(1)<\\script>.jpg'] = _jpeg(20)
    files["ctrl\x1b[2J\x07\r\nname.jpg"] = _jpeg(21)
    files["tab\tand\x7fdel.png"] = _save(f.photo(22, (64, 64)), "PNG")
    files["right-to-left-\u202egpj.exe"] = _jpeg(23)
    files["%2e%2e%2f..%2fetc%2fpasswd.jpg"] = _jpeg(24)
    files["x" * 200 + ".jpg"] = _jpeg(25)
    out: dict[str, Path] = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        out[name] = path
    bad = os.fsencode(folder) + b"/not-utf8-\xff\xfe.jpg"
    with open(bad, "wb") as fh:
        fh.write(_jpeg(26))
    out["not-utf8"] = Path(os.fsdecode(bad))
    return out


# -- helpers ------------------------------------------------------------------------------------


def run_verify(args: list[str], data_dir: Path, timeout: float = 600, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.update({"VERIFY_DATA_DIR": str(data_dir), "VERIFY_ACTOR": "hostile-test", "VERIFY_DECODE_TIMEOUT": "60"})
    env.pop("VERIFY_DB", None)
    env.update(env_extra or {})
    return procs.run([*VERIFY, *args], capture_output=True, timeout=timeout, env=env, cwd=str(data_dir))


def assert_store_consistent(settings: Settings) -> None:
    """No row without its file, no file without its row, nothing in .incoming, log intact."""
    from verify.integrity import audit, doctor
    from verify.store import BlobStore, Store

    store = Store(settings.database_url)
    try:
        blobs = BlobStore(settings.media_dir)
        doc = doctor(store, blobs, repair=False, grace_s=0)
        assert doc.orphan_blobs == [], doc.orphan_blobs
        assert doc.missing_originals == [], doc.missing_originals
        assert doc.incoming_leftovers == [], doc.incoming_leftovers
        assert doc.database_ok and doc.ok, doc.problems
        rep = audit(store, blobs)
        assert rep.ok, rep.problems
    finally:
        store.close()


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_hostile(tmp_path_factory.mktemp("hostile") / "in")


def _no_traceback(proc: subprocess.CompletedProcess[bytes]) -> str:
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out, out[-3000:]
    assert "Error:" not in out.replace("UnreadableMedia", ""), out[-3000:]
    return out


# -- tests ----------------------------------------------------------------------------------------


def test_hostile_set_is_big_enough(hostile_dir: dict[str, Path]) -> None:
    assert len(hostile_dir) >= 74


@pytest.mark.slow
def test_index_reports_each_hostile_file_and_keeps_store_whole(hostile_dir: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    folder = next(iter(hostile_dir.values())).parent
    proc = run_verify(["index", str(folder), "--json", "--workers", "2"], data)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    # one record per file (files whose names start with a dot are skipped by design: none here)
    assert len(records) == len(hostile_dir), (len(records), len(hostile_dir))
    by_name = {Path(r["path"]).name: r for r in records}
    for rec in records:
        assert rec["status"] in {"added", "present", "error", "skipped"}, rec
        if rec["status"] == "error":
            msg = rec["error"]
            assert msg and "\n" not in msg and "Traceback" not in msg and str(data) not in msg, msg
            assert "/" not in msg, f"server path leaked into message: {msg}"
    for name in ("valid.jpg", "valid.png", "valid.webp", "valid.heic", "valid-xss-tags.mp4", "valid-xss-tags.mov", "exif-xss.jpg", "polyglot-jpeg-zip.jpg"):
        assert by_name[name]["status"] in ("added", "present"), by_name[name]  # png-as.jpg has the same bytes
    for name in ("empty.jpg", "bomb-png-header-100k.png", "bomb-jpeg-header-65k.jpg", "jpeg-truncated-50.jpg", "text-as.jpg", "mp4-truncated-10.mp4", "bomb-gif-header.gif"):
        assert by_name[name]["status"] == "error", by_name[name]
    assert "pixels" in by_name["bomb-png-header-100k.png"]["error"]
    assert by_name["mov-huge-frame.mov"]["status"] == "error" and "beyond the limit" in by_name["mov-huge-frame.mov"]["error"]
    assert_store_consistent(load_settings(data_dir=data))
    # rerun: everything valid is already there, nothing new, nothing broken
    again = run_verify(["index", str(folder), "--json", "--workers", "2"], data)
    _no_traceback(again)
    assert again.returncode == 0
    statuses = [json.loads(line)["status"] for line in again.stdout.decode().splitlines() if line.strip()]
    assert "added" not in statuses
    assert_store_consistent(load_settings(data_dir=data))


@pytest.mark.slow
def test_index_human_output_one_clear_line_per_bad_file(hostile_dir: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    folder = next(iter(hostile_dir.values())).parent
    proc = run_verify(["index", str(folder), "--workers", "2"], data)
    out = _no_traceback(proc)
    assert proc.returncode == 0
    # hostile names are printed escaped: no raw terminal escapes or carriage returns reach the terminal
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    summary = proc.stdout.decode().splitlines()
    head = next(line for line in summary if " unreadable" in line)
    n_bad = int(head.split(" unreadable")[0].rsplit(", ", 1)[-1])
    listed = summary[summary.index("unreadable:") + 1 :]
    assert n_bad >= 40 and len(listed) == n_bad  # exactly one line per unreadable file
    assert all(line.startswith("  ") and ": " in line for line in listed)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["meta", "match", "hash"])
def test_read_commands_answer_every_hostile_file(command: str, hostile_dir: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    folder = next(iter(hostile_dir.values())).parent
    if command == "match":  # an archive to match against, so hashing and geometric confirmation run on hostile queries
        seed = [str(hostile_dir[n]) for n in ("valid.jpg", "valid.png", "valid-xss-tags.mp4", "exif-xss.jpg")]
        assert run_verify(["index", *seed], data).returncode == 0
    proc = run_verify([command, str(folder), "--json"], data)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    assert len(records) == len(hostile_dir)
    if command == "match":
        flipped = [r for r in records if Path(r["path"]).name.startswith("jpeg-bitflip") and not r["error"]]
        assert any(r["matches"] or r["candidates"] for r in flipped), "damaged copies of an archived photo should still be matched"
    errors = [r for r in records if r["error"]]
    oks = [r for r in records if not r["error"]]
    assert len(errors) >= 40 and len(oks) >= 8
    for r in errors:
        assert "\n" not in r["error"] and "/" not in r["error"], r["error"]
    # nothing is stored by read-only commands
    media = data / "media"
    stored = sorted(p.name for p in media.rglob("*") if p.is_file()) if media.exists() else []
    assert len(stored) == (4 if command == "match" else 0), stored


def test_meta_keeps_hostile_strings_as_plain_data(hostile_dir: dict[str, Path], tmp_path: Path) -> None:
    proc = run_verify(["meta", str(hostile_dir["jpeg-xmp-iptc-xss.jpg"]), "--json"], tmp_path)
    _no_traceback(proc)
    rec = json.loads(proc.stdout)
    assert rec["error"] is None
    assert sum(XSS in str(v) for v in rec["raw"].values()) >= 4, rec["raw"]  # XMP and IPTC read, verbatim
    proc = run_verify(["meta", str(hostile_dir["exif-xss.jpg"]), "--json"], tmp_path)
    _no_traceback(proc)
    rec = json.loads(proc.stdout)
    assert rec["error"] is None
    assert rec["make"] == XSS and rec["software"] == XSS  # reported verbatim, as data
    assert rec["captured_at"] is None  # a script is not a date


def test_upload_path_handles_every_hostile_file(hostile_dir: dict[str, Path], sqlite_settings: Settings) -> None:
    """What the upload page calls: Services(isolate=True).ingest_bytes, with the stranger's filename."""
    from verify.services import Services

    services = Services(sqlite_settings, isolate=True)
    stored = 0
    try:
        for name, path in hostile_dir.items():
            try:
                result = services.ingest_bytes(path.read_bytes(), filename=name, actor="desk", origin="submission")
            except VerifyError as exc:
                msg = str(exc)
                assert msg and "Traceback" not in msg and str(path.parent) not in msg
            else:
                stored += result.created
                fn = result.item.filename
                assert fn is None or ("/" not in fn and not any(ord(c) < 32 or ord(c) == 127 for c in fn)), fn
        # path traversal in an upload's name never leaves the media folder and is not kept as a path
        r = services.ingest_bytes(_jpeg(99), filename="../../../../etc/passwd.jpg", actor="desk")
        assert r.item.filename == "passwd.jpg"
        r = services.ingest_bytes(_jpeg(98), filename="..\\..\\windows\\win.ini.jpg", actor="desk")
        assert r.item.filename == "win.ini.jpg"
    finally:
        services.close()
    assert stored >= 10
    assert_store_consistent(sqlite_settings)
    assert not (sqlite_settings.data_dir.parent / "etc").exists()


def test_sandbox_bounds_time(sqlite_settings: Settings, hostile_dir: dict[str, Path]) -> None:
    """A decode that overruns the time limit is stopped; the next file is served normally."""
    from dataclasses import replace

    from verify.sandbox import Sandbox

    slow = replace(sqlite_settings, max_image_pixels=400_000_000)
    box = Sandbox(timeout_s=0.05, memory_bytes=3 * 1024**3, workers=1)
    try:
        with pytest.raises(VerifyError, match="took longer than"):
            box.analyse(hostile_dir["bomb-png-zlib-16k.png"], slow)
        box.timeout_s = 60
        ok = box.analyse(hostile_dir["valid.jpg"], slow)
        assert ok.kind == "image" and ok.width == 320
    finally:
        box.close()


def test_sandbox_bounds_memory(sqlite_settings: Settings, hostile_dir: dict[str, Path]) -> None:
    """With the pixel limit lifted, the 16k x 16k zlib bomb hits the memory ceiling, not the machine."""
    from dataclasses import replace

    from verify.errors import TooLarge
    from verify.sandbox import Sandbox

    lifted = replace(sqlite_settings, max_image_pixels=400_000_000)
    box = Sandbox(timeout_s=120, memory_bytes=1024**3, workers=1)  # about 0.6 GB of it is the imported codecs
    try:
        with pytest.raises(TooLarge, match="memory"):
            box.analyse(hostile_dir["bomb-png-zlib-16k.png"], lifted)
        assert box.analyse(hostile_dir["valid.png"], lifted).kind == "image"
    finally:
        box.close()


def test_sandbox_survives_a_crashing_decoder() -> None:
    """A codec that aborts the process (segfault, abort) costs one call; the pool recovers."""
    from verify.sandbox import Sandbox

    box = Sandbox(timeout_s=30, workers=1)
    try:
        first = box.call(os.getpid)
        with pytest.raises(VerifyError, match="crashed the decoder"):
            box.call(os.abort)
        second = box.call(os.getpid)
        assert first != second and second != os.getpid()
    finally:
        box.close()


def test_default_limits_stop_bombs_without_decoding(hostile_dir: dict[str, Path], sqlite_settings: Settings) -> None:
    from verify.errors import TooLarge
    from verify.services import analyse

    for name in ("bomb-png-header-100k.png", "bomb-jpeg-header-65k.jpg", "bomb-png-zlib-16k.png", "bomb-gif-header.gif"):
        with pytest.raises(TooLarge):
            analyse(hostile_dir[name], sqlite_settings)


def test_sandbox_replaces_a_worker_killed_while_idle() -> None:
    """A decoder killed from outside between files (the OOM killer, an operator) is replaced."""
    import signal

    from verify.sandbox import Sandbox

    box = Sandbox(timeout_s=30, workers=1)
    try:
        first = box.call(os.getpid)
        os.kill(first, signal.SIGKILL)
        import time

        time.sleep(0.2)
        second = box.call(os.getpid)
        assert second != first
    finally:
        box.close()


@pytest.mark.parametrize("command", ["index", "meta"])
def test_cli_time_limit_stops_one_file_and_goes_on(command: str, hostile_dir: dict[str, Path], tmp_path: Path) -> None:
    """End to end: with the pixel limit lifted, the zlib bomb overruns a short decode time limit;
    the command reports that one file and carries on with the rest."""
    # 676 MP of zeros: about 6 s to inflate here (the 16k bomb took 1.6 s on an idle machine, too
    # close to any limit); the two small photos take a few tens of milliseconds
    bomb = tmp_path / "bomb-png-zlib-26k.png"
    bomb.write_bytes(png_zlib_bomb(26_000))
    files = [str(hostile_dir["valid.jpg"]), str(bomb), str(hostile_dir["valid.png"])]
    extra = {"VERIFY_DECODE_TIMEOUT": "2", "VERIFY_MAX_IMAGE_PIXELS": "1000000000"}
    proc = run_verify([command, *files, "--json"], tmp_path, env_extra=extra)
    _no_traceback(proc)
    assert proc.returncode == 0
    records = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.decode().splitlines())}
    assert "took longer than 2 seconds" in records[bomb.name]["error"]
    assert records["valid.jpg"]["error"] is None and records["valid.png"]["error"] is None
