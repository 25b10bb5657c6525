"""Hostile EXIF built byte by byte: declared counts, offsets and directory links that lie.

A TIFF structure (the inside of every EXIF block) is a chain of directories (IFDs) of 12-byte
entries: tag, type, count, value-or-offset. Nothing in the format stops an entry from declaring a
billion values, an offset past the end, or a directory that links back to itself, and a reader
that believes them walks for minutes. ``layout`` writes whatever it is told, so each builder below
can lie in exactly one place; ``hostile_set`` gives a folder's worth of them in several containers.

Used by tests/test_exif_bombs.py and benchmarks/hostile_meta.py.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
UNIT = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
BILLION = 1_000_000_000


@dataclass
class Entry:
    """One directory entry. ``data``: bytes stored after the directories (offset filled in), or
    ``raw``: the 4-byte value/offset field exactly as given (to lie about where data is), or
    ``ifd``: the name of another directory whose offset goes in the field."""

    tag: int
    type: int
    count: int
    data: bytes | None = None
    raw: int | None = None
    ifd: str | None = None


@dataclass
class Ifd:
    entries: list[Entry]
    next: str | int | None = None  # another directory's name, a raw offset, or none
    declared: int | None = None  # the entry count written, when it should lie
    at: int | None = None  # a fixed position (to overlap or loop), else laid out in order


@dataclass
class Layout:
    ifds: dict[str, Ifd]
    first: str | int = "ifd0"
    order: str = "<"
    pad: int = 0  # bytes of zeros after everything (room a lying count can point into)
    offsets: dict[str, int] = field(default_factory=dict)


def layout(spec: Layout, start: int = 8) -> bytes:
    """The TIFF bytes for ``spec``: header, directories in order from ``start``, then their data.

    ``start`` > 8 leaves room after the header (``tiff_file`` puts a real picture there).
    """
    o = spec.order
    pos = start
    for name, ifd in spec.ifds.items():
        if ifd.at is not None:
            spec.offsets[name] = ifd.at
            continue
        spec.offsets[name] = pos
        pos += 2 + 12 * len(ifd.entries) + 4
    data_start = pos
    blobs = bytearray()
    body: dict[int, bytes] = {}
    for name, ifd in spec.ifds.items():
        chunk = bytearray(struct.pack(o + "H", len(ifd.entries) if ifd.declared is None else ifd.declared))
        for e in ifd.entries:
            head = struct.pack(o + "HHI", e.tag, e.type, e.count)
            if e.ifd is not None:
                value = struct.pack(o + "I", spec.offsets[e.ifd])
            elif e.raw is not None:
                value = struct.pack(o + "I", e.raw)
            else:
                payload = e.data or b""
                if len(payload) <= 4:
                    value = payload.ljust(4, b"\x00")
                else:
                    value = struct.pack(o + "I", data_start + len(blobs))
                    blobs += payload + (b"\x00" if len(payload) % 2 else b"")
            chunk += head + value
        nxt = ifd.next
        chunk += struct.pack(o + "I", spec.offsets[nxt] if isinstance(nxt, str) else (nxt or 0))
        body[spec.offsets[name]] = bytes(chunk)
    first = spec.offsets[spec.first] if isinstance(spec.first, str) else spec.first
    image = bytearray((b"II*\x00" if o == "<" else b"MM\x00*") + struct.pack(o + "I", first)).ljust(data_start, b"\x00")
    image += blobs
    for at, chunk in body.items():
        if at + len(chunk) > len(image):
            image += b"\x00" * (at + len(chunk) - len(image))
        image[at : at + len(chunk)] = chunk
    return bytes(image) + b"\x00" * spec.pad


def ascii_entry(tag: int, text: str) -> Entry:
    raw = text.encode() + b"\x00"
    return Entry(tag, ASCII, len(raw), data=raw)


def base_ifd0(make: str = "Canon", model: str = "Canon EOS 7D", extra: list[Entry] | None = None) -> list[Entry]:
    return [ascii_entry(0x010F, make), ascii_entry(0x0110, model), Entry(0x0112, SHORT, 1, data=struct.pack("<H", 1)),
            *(extra or [])]  # fmt: skip


def dated_exif(extra: list[Entry] | None = None) -> list[Entry]:
    return [ascii_entry(0x9003, "2021:05:16 12:27:36"), *(extra or [])]


def gps_entries(extra: list[Entry] | None = None) -> list[Entry]:
    deg = struct.pack("<6I", 36, 1, 12, 1, 0, 1)
    return [ascii_entry(0x0001, "N"), Entry(0x0002, RATIONAL, 3, data=deg), ascii_entry(0x0003, "E"),
            Entry(0x0004, RATIONAL, 3, data=deg), *(extra or [])]  # fmt: skip


def full(ifd0_extra=None, exif_extra=None, gps_extra=None, interop_extra=None, ifd1_extra=None, make="Canon",
         pad: int = 64, links: dict[str, object] | None = None) -> Layout:  # fmt: skip
    """A camera-like structure (IFD0 -> Exif, GPS; Exif -> Interop; IFD0 -> IFD1) with extras."""
    ifd0 = Ifd(base_ifd0(make, extra=[Entry(0x8769, LONG, 1, ifd="exif"), Entry(0x8825, LONG, 1, ifd="gps"), *(ifd0_extra or [])]),
               next="ifd1")  # fmt: skip
    exif = Ifd(dated_exif([Entry(0xA005, LONG, 1, ifd="interop"), *(exif_extra or [])]))
    gps = Ifd(gps_entries(gps_extra))
    interop = Ifd([ascii_entry(0x0001, "R98"), *(interop_extra or [])])
    ifd1 = Ifd([Entry(0x0103, SHORT, 1, data=struct.pack("<H", 6)), *(ifd1_extra or [])])
    spec = Layout({"ifd0": ifd0, "exif": exif, "gps": gps, "interop": interop, "ifd1": ifd1}, pad=pad)
    for key, value in (links or {}).items():
        name, attr = key.split(".")
        setattr(spec.ifds[name], attr, value)
    return spec


def makernote_layout(inner: list[Entry], make: str = "Canon", declared: int | None = None) -> Layout:
    """A camera-like structure whose Exif IFD holds a Canon-style maker note: a bare directory of
    ``inner`` whose offsets count from the TIFF header (as exifread reads Canon, Sony, Casio)."""
    spec = full(make=make)
    spec.ifds["makernote"] = Ifd(inner, declared=declared)
    spec.ifds["exif"].entries.append(Entry(0x927C, UNDEFINED, 2 + 12 * len(inner) + 4, ifd="makernote"))
    return spec


# -- containers ----------------------------------------------------------------------------------


def picture(seed: int = 1, size: tuple[int, int] = (64, 48)) -> Image.Image:
    im = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for x in range(0, size[0], 8):
        im.paste((255 - x % 256, x % 256, 128), (x, 0, x + 4, size[1]))
    return im


def jpeg_with_exif(tiff: bytes, seed: int = 1) -> bytes:
    """A small real JPEG with ``tiff`` as its APP1 Exif segment (cut to what a segment can hold)."""
    app1 = b"Exif\x00\x00" + tiff[: 65533 - 6]
    buf = io.BytesIO()
    picture(seed).save(buf, "JPEG", quality=80)
    jpeg = buf.getvalue()
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def png_with_exif(tiff: bytes, seed: int = 1) -> bytes:
    buf = io.BytesIO()
    picture(seed).save(buf, "PNG", exif=tiff)
    return buf.getvalue()


def webp_with_exif(tiff: bytes, seed: int = 1) -> bytes:
    buf = io.BytesIO()
    picture(seed).save(buf, "WEBP", exif=b"Exif\x00\x00" + tiff, quality=80)
    return buf.getvalue()


def tiff_file(spec: Layout, seed: int = 1) -> bytes:
    """A real TIFF picture whose first directory also carries the hostile links and entries.

    Pillow writes the picture; the hostile directories are laid out after it, the header pointed
    at them, and the picture's own tags copied into the first one so it still decodes.
    """
    from PIL import TiffImagePlugin

    buf = io.BytesIO()
    picture(seed).save(buf, "TIFF")
    base = buf.getvalue()
    with Image.open(io.BytesIO(base)) as im:
        tags = dict(im.tag_v2)
        strips, counts = tags[TiffImagePlugin.STRIPOFFSETS], tags[TiffImagePlugin.STRIPBYTECOUNTS]
    strips = strips if isinstance(strips, tuple) else (strips,)
    counts = counts if isinstance(counts, tuple) else (counts,)
    assert len(strips) == 1, "one strip keeps the copy simple"
    picture_tags = [Entry(0x0100, LONG, 1, raw=tags[256]), Entry(0x0101, LONG, 1, raw=tags[257]),
                    Entry(0x0102, SHORT, 3, data=struct.pack("<3H", 8, 8, 8)), Entry(0x0103, SHORT, 1, raw=1),
                    Entry(0x0106, SHORT, 1, raw=2), Entry(0x0111, LONG, 1, raw=strips[0]),
                    Entry(0x0115, SHORT, 1, raw=3), Entry(0x0116, LONG, 1, raw=tags[278]),
                    Entry(0x0117, LONG, 1, raw=counts[0])]  # fmt: skip
    spec.ifds["ifd0"].entries[:0] = picture_tags
    spec.ifds["ifd0"].entries.sort(key=lambda e: e.tag)
    # In a TIFF file the next directory in the chain is a second page, not a thumbnail: the chain
    # cases (IFD1, loops through it) are built in the other containers only (see hostile_set).
    spec.ifds["ifd0"].next = None
    start = len(base) + len(base) % 2
    out = bytearray(layout(spec, start))
    out[8 : len(base)] = base[8:]
    return bytes(out)


# -- the catalogue ---------------------------------------------------------------------------------

FAR = 0x7FFFFFF0  # an offset no EXIF block reaches


def _entry_bombs() -> dict[str, Layout]:
    """A billion values declared in each directory, in the types readers walk value by value."""
    inside = 8  # a real position: the lie is the count, not where the values start
    return {
        "count-ifd0": full(ifd0_extra=[Entry(0x010E, ASCII, BILLION, raw=inside), Entry(0x013E, RATIONAL, BILLION, raw=inside),
                                       Entry(0x927C, UNDEFINED, BILLION, raw=inside)]),  # fmt: skip
        "count-exif-makernote": full(exif_extra=[Entry(0x927C, UNDEFINED, BILLION, raw=inside)]),
        "count-exif-usercomment": full(exif_extra=[Entry(0x9286, UNDEFINED, BILLION, raw=inside), Entry(0x829A, RATIONAL, BILLION, raw=inside)]),
        "count-gps": full(gps_extra=[Entry(0x0006, RATIONAL, BILLION, raw=inside), Entry(0x001B, UNDEFINED, BILLION, raw=inside)]),
        "count-interop": full(interop_extra=[Entry(0x0002, UNDEFINED, BILLION, raw=inside), Entry(0x1001, SHORT, BILLION, raw=inside)]),
        "count-ifd1-thumbnail": full(ifd1_extra=[Entry(0x0201, LONG, 1, raw=inside), Entry(0x0202, LONG, 1, raw=BILLION),
                                                 Entry(0x0111, LONG, BILLION, raw=inside), Entry(0x0117, LONG, BILLION, raw=inside)]),  # fmt: skip
        "count-makernote-inner": makernote_layout([Entry(0x0001, SHORT, BILLION, raw=inside), Entry(0x000D, UNDEFINED, BILLION, raw=inside),
                                                   Entry(0x927C, UNDEFINED, BILLION, raw=inside)]),  # fmt: skip
        "count-makernote-nikon": full(make="NIKON CORPORATION", exif_extra=[Entry(0x927C, UNDEFINED, BILLION, raw=inside)]),
        "count-makernote-sony": makernote_layout([Entry(0x927C, UNDEFINED, BILLION, raw=inside)], make="SONY"),
        "count-four-billion-ascii": full(ifd0_extra=[Entry(0x0131, ASCII, 0xFFFFFFFF, raw=inside)]),
    }


def _offset_bombs() -> dict[str, Layout]:
    """Directories and values placed past the end of the block."""
    cases = {
        "past-end-ifd0": full(),
        "past-end-exif": full(),
        "past-end-gps": full(),
        "past-end-interop": full(),
        "past-end-ifd1": full(links={"ifd0.next": FAR}),
        "past-end-values": full(ifd0_extra=[Entry(0x0131, ASCII, 100, raw=FAR)], exif_extra=[Entry(0x927C, UNDEFINED, 5000, raw=FAR)],
                                gps_extra=[Entry(0x0006, RATIONAL, 1, raw=FAR)]),  # fmt: skip
        "past-end-makernote": full(exif_extra=[Entry(0x927C, UNDEFINED, 100, raw=0xFFFFFF00)]),
        "past-end-makernote-inner": makernote_layout([Entry(0x0006, ASCII, 64, raw=FAR), Entry(0x0001, SHORT, 400, raw=FAR)]),
    }
    cases["past-end-ifd0"].first = FAR
    for name, tag in (("past-end-exif", 0x8769), ("past-end-gps", 0x8825)):
        for e in cases[name].ifds["ifd0"].entries:
            if e.tag == tag:
                e.ifd, e.raw = None, FAR
    for e in cases["past-end-interop"].ifds["exif"].entries:
        if e.tag == 0xA005:
            e.ifd, e.raw = None, FAR
    return cases


def _wide_directories() -> dict[str, Layout]:
    """Directories that declare 65,535 entries where the block holds a handful."""
    cases = {f"wide-{name}": full() for name in ("ifd0", "exif", "gps", "interop", "ifd1")}
    for name, spec in cases.items():
        spec.ifds[name.removeprefix("wide-")].declared = 0xFFFF
    cases["wide-makernote"] = makernote_layout([Entry(0x0006, ASCII, 4, data=b"abc\x00")], declared=0xFFFF)
    return cases


def _loops() -> dict[str, Layout]:
    """Directory links that lead back to a directory already read."""
    return {
        "loop-ifd0-self": full(links={"ifd0.next": "ifd0"}),
        "loop-ifd1-to-ifd0": full(links={"ifd1.next": "ifd0"}),
        "loop-exif-to-ifd0": _relink(full(), "ifd0", 0x8769, "ifd0"),
        "loop-gps-to-exif": _relink(full(), "ifd0", 0x8825, "exif"),
        "loop-interop-to-exif": _relink(full(), "exif", 0xA005, "exif"),
        "loop-interop-to-ifd0": _relink(full(), "exif", 0xA005, "ifd0"),
        "loop-makernote-to-ifd0": _relink(makernote_layout([Entry(0x0006, ASCII, 4, data=b"abc\x00")]), "exif", 0x927C, "ifd0"),
        "loop-gps-fanout": full(ifd0_extra=[Entry(0x8825, LONG, 1, ifd="gps") for _ in range(400)],
                                gps_extra=[Entry(0x0100 + i, UNDEFINED, 8, data=b"12345678") for i in range(400)]),  # fmt: skip
    }


def _relink(spec: Layout, where: str, tag: int, target: str) -> Layout:
    for e in spec.ifds[where].entries:
        if e.tag == tag:
            e.ifd = target
    return spec


def hostile_tiffs() -> dict[str, Layout]:
    """Every lying structure by name (fresh objects each call: ``layout`` fills in offsets)."""
    return {**_entry_bombs(), **_offset_bombs(), **_wide_directories(), **_loops()}


def wide_tiff_file() -> bytes:
    """A TIFF picture whose first directory really holds 65,535 entries (786 KB), most of them
    maker notes claiming 60,000 bytes each of the file: the entries fit, the work they ask for
    (65,535 x 60,000 value reads) does not."""
    spec = full(pad=64_000)
    junk = [Entry(0x927C, UNDEFINED, 60_000, raw=8) for _ in range(0xFFFF - len(spec.ifds["ifd0"].entries) - 9)]
    spec.ifds["ifd0"].entries += junk
    return tiff_file(spec)


def hostile_set(folder: Path, count: int = 50) -> dict[str, Path]:
    """``count`` hostile files in ``folder``: every structure as a JPEG, then again in PNG, WebP
    and TIFF files, plus the truly wide TIFF; named ``<case>.<ext>``."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    wide = folder / "wide-real-65535.tif"
    wide.write_bytes(wide_tiff_file())
    out[wide.name] = wide
    cases = list(hostile_tiffs())
    others = [("png", png_with_exif), ("webp", webp_with_exif), ("tif", None)]
    def other(i: int, name: str) -> tuple[str, object]:
        ext, make = others[i % len(others)]
        if ext == "tif" and ("ifd1" in name or name.startswith("loop-ifd")):
            ext, make = others[0]  # a TIFF file's directory chain is its pages (see tiff_file)
        return ext, make

    plan = [(name, "jpg", jpeg_with_exif) for name in cases]
    plan += [(name, *other(i, name)) for i, name in enumerate(cases)]
    for seed, (name, ext, make) in enumerate(plan[: max(0, count - 1)], start=1):
        spec = hostile_tiffs()[name]
        data = tiff_file(spec, seed) if make is None else make(layout(spec), seed)
        path = folder / f"{name}.{ext}"
        path.write_bytes(data)
        out[path.name] = path
    return out


# -- for the sandbox tests: work a worker process can import by name ---------------------------------


def hold_step(name: str, seconds: float, duration: float | None = None) -> str:
    """Spend ``seconds`` inside a step named ``name`` (after reporting a video ``duration``)."""
    import time

    from verify import steps

    if duration is not None:
        steps.report_duration(duration)
    with steps.step(name):
        time.sleep(seconds)
    return "done"
