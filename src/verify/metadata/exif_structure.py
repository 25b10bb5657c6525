"""Check an EXIF block's TIFF structure before exifread walks it, and bound what exifread reads.

An EXIF block is a TIFF structure: directories (IFDs) of 12-byte entries, each declaring a type,
a count of values and where they are. Nothing stops a file from declaring a billion values, a
directory past the end, 65,535 entries in a 15 KB file, or a directory that links back to
itself. exifread believes the counts: for a maker note it reads the declared number of values one
by one, so a 15 KB JPEG whose MakerNote claims 1,000,000,000 bytes kept a decoder busy until the
two-minute limit (ExifTool reads the same file in 60 ms).

So before exifread sees a block, ``check`` walks the structure the way exifread will (IFD0 and
its chain, the Exif, GPS, Interop and SubIFD directories, the thumbnail directory IFD1, and the
maker-note directory for the makes exifread decodes), bounded by the block's real size, and plans
small patches that exifread then reads through ``BoundedReader``:

- an entry whose values would lie past the end of the block, a repeated entry, or a maker note
  larger than ``MAX_MAKERNOTE_BYTES`` gets an unknown type, which exifread skips;
- a directory that does not fit is cut to the entries that do (its count rewritten, its link to
  a next directory cleared); one past the end, or one already read (a loop), is unlinked;
- a directory with more than ``MAX_ENTRIES`` entries is cut there.

Each patch adds a plain-language note, so the editor learns what was not read and why. The
original bytes are never changed: patches exist only in the reader handed to exifread.
``BoundedReader`` is the backstop for anything the walk did not foresee: a read past the end of
the block, or more reads than ``MAX_READS``, stops exifread for this block with a note.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

#: Bytes per value of each TIFF type exifread knows (1-13); any other type it skips.
UNIT = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
#: The type written over an entry that must not be read: exifread skips types it does not know.
SKIPPED_TYPE = 0xFFFF
#: Real directories hold tens of entries (maker notes about 150 at most); past this, cut.
MAX_ENTRIES = 1000
#: exifread reads a maker note value by value; real ones are tens of kilobytes.
MAX_MAKERNOTE_BYTES = 1024 * 1024
#: Reads exifread may make in one block (a 64 KB maker note of bytes is 65,536): a backstop.
MAX_READS = 2_000_000

_POINTERS = {0x8769: "Exif", 0x8825: "GPS", 0xA005: "Interop", 0x014A: "SubIFD"}
#: Entries exifread follows or reads value by value: a repeat of one is a way to multiply work.
_WALKED = {0x927C, *_POINTERS}
_NAMES = {0x927C: "MakerNote", 0x010F: "Make", 0x0110: "Model", 0x0201: "ThumbnailOffset", 0x0202: "ThumbnailLength"}


class ExifOverrun(Exception):
    """exifread asked for bytes past the end of the block, or for too many reads."""


@dataclass
class StructureCheck:
    """What ``check`` found: patches for exifread's view, notes for the editor, directories read."""

    valid: bool = True
    patches: dict[int, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # problems of the EXIF structure itself, for the editor
    quiet: list[str] = field(default_factory=list)  # maker notes left undecoded: for the raw dump only
    directories: dict[str, int] = field(default_factory=dict)  # name -> offset in the block

    @property
    def clean(self) -> bool:
        return self.valid and not self.patches


def _tag_name(tag: int) -> str:
    return _NAMES.get(tag) or f"tag 0x{tag:04X}"


class _Walk:
    def __init__(self, read: Callable[[int, int], bytes], size: int, order: str) -> None:
        self.read, self.size, self.order = read, size, order
        self.result = StructureCheck()
        self.visited: dict[int, str] = {}
        self.make: str | None = None
        self.kept: dict[int, tuple[int, bool]] = {}
        self.tables: list[tuple[int, int, str]] = []  # (start, end, name) of each directory's entry table
        self.maker_entry: tuple[int, int, int, int, int, str] | None = None  # checked after all the others  # directory position -> (entries kept, cut short)

    # -- low-level -------------------------------------------------------------------------

    def u16(self, pos: int, order: str | None = None) -> int:
        return struct.unpack((order or self.order) + "H", self.read(pos, 2))[0]

    def u32(self, pos: int, order: str | None = None) -> int:
        return struct.unpack((order or self.order) + "I", self.read(pos, 4))[0]

    def patch(self, pos: int, value: int, width: int, order: str | None = None) -> None:
        self.result.patches[pos] = struct.pack((order or self.order) + ("H" if width == 2 else "I"), value)

    def note(self, text: str) -> None:
        if text not in self.result.notes:
            self.result.notes.append(text)

    def skip_entry(self, pos: int, order: str) -> None:
        self.patch(pos + 2, SKIPPED_TYPE, 2, order)

    # -- directories -----------------------------------------------------------------------

    def directory(
        self, name: str, at: int, *, base: int = 0, order: str | None = None, relative: bool = False,
        pointer_tags: bool = False, unlink: Callable[[], None],
    ) -> list[tuple[int, int, int, int, int]] | None:  # fmt: skip
        """Check one directory at ``base + at``; return its kept entries (pos, tag, type, count, value).

        ``unlink`` removes the link that led here, for a directory that cannot be read at all.
        """
        order = order or self.order
        pos = base + at
        if at < 0 or pos < 8 or pos + 2 > self.size:
            self.note(f"The {name} directory lies outside the EXIF block (offset {at:,} of {self.size:,} bytes); it was not read.")
            unlink()
            return None
        if pos in self.visited:
            self.note(f"The {name} directory leads back to the {self.visited[pos]} directory (a loop); it was not read again.")
            unlink()
            return None
        inside = next((other for start, end, other in self.tables if start <= pos < end), None)
        if inside is not None:
            self.note(f"The {name} directory lies inside the {inside} directory's entries; it was not read.")
            unlink()
            return None
        self.visited[pos] = name
        declared = self.u16(pos, order)
        fits = (self.size - pos - 6) // 12  # entries that fit, leaving room for the next-directory link
        keep = min(declared, fits, MAX_ENTRIES)
        # Directory tables must not overlap: the patches of one would change the entries of another.
        runs_into = None
        for start, _end, other in sorted(self.tables):
            if pos < start < pos + 2 + 12 * keep + 4:
                keep, runs_into = (start - pos - 6) // 12, other
                break
        if keep < 0:
            self.note(f"The {name} directory lies outside the EXIF block (offset {at:,} of {self.size:,} bytes); it was not read.")
            unlink()
            return None
        if keep < declared:
            if runs_into is not None:
                why = f"they run into the {runs_into} directory"
            elif fits < min(declared, MAX_ENTRIES):
                why = f"only {fits:,} fit in the {self.size:,}-byte EXIF block"
            else:
                why = f"more than {MAX_ENTRIES:,} is not plausible"
            self.note(f"The {name} directory declares {declared:,} entries; {why}, so only the first {keep:,} were read.")
            self.patch(pos, keep, 2, order)
            self.patch(pos + 2 + 12 * keep, 0, 4, order)  # exifread finds the next link after the kept entries
        self.tables.append((pos, pos + 2 + 12 * keep + 4, name))
        self.result.directories[name] = pos
        self.kept[pos] = (keep, keep < declared)
        entries = []
        seen: set[int] = set()
        repeats = 0
        for i in range(keep):
            epos = pos + 2 + 12 * i
            tag, typ, count = struct.unpack(order + "HHI", self.read(epos, 8))
            value = self.u32(epos + 8, order)
            if typ not in UNIT:
                continue  # exifread skips types it does not know
            if tag in seen and tag in _WALKED:
                repeats += 1
                self.skip_entry(epos, order)
                continue
            seen.add(tag)
            nbytes = count * UNIT[typ]
            if nbytes > 4:
                data = base + (value + at - 8 if relative else value)
                if data < 0 or data + nbytes > self.size:
                    self.note(f"The {name} directory's {_tag_name(tag)} entry declares {count:,} value{'s' if count != 1 else ''} ({nbytes:,} bytes) at offset "
                              f"{value:,}, past the end of the {self.size:,}-byte EXIF block; it was not read.")  # fmt: skip
                    self.skip_entry(epos, order)
                    continue
                if tag == 0x927C and nbytes > MAX_MAKERNOTE_BYTES:
                    self.note(f"The maker notes in the {name} directory claim {nbytes:,} bytes, more than any camera writes; "
                              "they were not read.")  # fmt: skip
                    self.skip_entry(epos, order)
                    continue
            entries.append((epos, tag, typ, count, value))
        if repeats:
            self.note(f"The {name} directory repeats {repeats:,} of its entries; only the first of each was read.")
        if pointer_tags:
            for epos, tag, typ, count, value in entries:
                if tag in (0x8825, 0xA005):
                    self.sub_directory(_POINTERS[tag], epos, typ, count, value, order)
        return entries

    def first_value(self, typ: int, count: int, value: int, epos: int, order: str) -> int | None:
        if typ not in (3, 4, 13) or count < 1:
            return None
        if count * UNIT[typ] <= 4:
            return self.u16(epos + 8, order) if typ == 3 else value
        return self.u16(value, order) if typ == 3 else self.u32(value, order)

    def sub_directory(self, name: str, epos: int, typ: int, count: int, value: int, order: str) -> None:
        """A directory that an entry points at (Exif, GPS, Interop): exifread reads its first value."""
        target = self.first_value(typ, count, value, epos, order)
        if target is None:
            self.note(f"The {name} directory link has the wrong type; it was not followed.")
            self.skip_entry(epos, order)
            return
        entries = self.directory(name, target, order=order, pointer_tags=False, unlink=lambda: self.skip_entry(epos, order))
        if entries is None:
            return
        if name == "Exif":
            for e in entries:
                if e[1] in (0x8825, 0xA005):
                    self.sub_directory(_POINTERS[e[1]], e[0], e[2], e[3], e[4], order)
            note = next((e for e in entries if e[1] == 0x927C), None)
            if note is not None:
                self.maker_entry = (*note, order)  # after the standard directories, which take precedence

    # -- maker notes -----------------------------------------------------------------------

    def maker_note(self, epos: int, tag: int, typ: int, count: int, value: int, order: str) -> None:
        """Check the directory exifread will read inside the maker note, chosen as it chooses (by Make)."""
        make = self.make or ""
        start = value if count * UNIT[typ] > 4 else epos + 8
        head = self.read(start, min(count, 18)) if count else b""
        unlink = lambda: self.skip_entry(epos, order)  # noqa: E731 - exifread then sees no maker note
        layout: tuple[int, int, str, bool] | None = None  # at, base, order, relative
        if "NIKON" in make:
            if head[:7] == b"Nikon\x00\x01":
                layout = (start + 8, 0, order, False)
            elif head[:7] == b"Nikon\x00\x02":
                layout = (start + 18, 0, order, True) if head[12:14] in (b"\x00*", b"*\x00") else None
            else:
                layout = (start, 0, order, False)
        elif make.startswith("OLYMPUS"):
            layout = (start + 8, 0, order, False)
        elif "CASIO" in make or "Casio" in make or "SONY" in make or make == "Canon":
            layout = (start, 0, order, False)
        elif make == "FUJIFILM":
            layout = (12, start, "<", False)
        elif make == "Apple" and head[:10] == b"Apple iOS\x00":
            layout = (0, start + 14, order, False)
        elif make == "DJI":
            layout = (0, start, "<", False)
        if layout is None:
            return  # exifread keeps the maker note as bytes and reads no directory in it
        at, base, note_order, relative = layout
        # exifread guesses each make's layout, and many cameras (labelled Sony, Olympus and Casio
        # notes, edited files) do not match its guess: what it reads past the real entries is noise.
        # The cuts and skips above keep that bounded like everywhere else; the notes about it are
        # not problems of the file, so they go to the raw dump only.
        before = len(self.result.notes)
        self.directory("maker notes", at, base=base, order=note_order, relative=relative, unlink=unlink)
        if len(self.result.notes) > before:
            problems = self.result.notes[before:]
            del self.result.notes[before:]
            self.result.quiet.append(
                f"The maker notes ({make or 'unknown make'}) do not hold together as exifread reads them, usually a vendor "
                f"layout it does not know; values past the first problem may be misread ({' '.join(problems)[:600]})"
            )


def check(read: Callable[[int, int], bytes], size: int) -> StructureCheck:
    """Walk the TIFF structure of an EXIF block of ``size`` bytes, as exifread will, and plan patches.

    ``read(pos, n)`` returns the block's bytes (fewer at its end). Never raises for bad data: a
    block that is not a TIFF structure at all comes back with ``valid`` False.
    """

    def bounded(pos: int, n: int) -> bytes:
        if pos < 0 or pos >= size:
            return b"\x00" * n
        data = read(pos, min(n, size - pos))
        return data.ljust(n, b"\x00")

    head = bounded(0, 8)
    if size < 14 or head[:2] not in (b"II", b"MM"):
        result = StructureCheck(valid=False)
        result.notes.append("The EXIF block does not start with a TIFF header; exifread was not run on it.")
        return result
    walk = _Walk(bounded, size, "<" if head[:2] == b"II" else ">")
    first = walk.u32(4)
    # IFD0, IFD1 (the thumbnail directory) and any further directories, linked one to the next.
    index, link, at = 0, 4, first
    while at:
        name = {0: "IFD0", 1: "IFD1 (thumbnail)"}.get(index, f"IFD{index}")
        here = link
        entries = walk.directory(name, at, pointer_tags=True, unlink=lambda here=here: walk.patch(here, 0, 4))
        if entries is None:
            break
        if index == 0:
            make = next((e for e in entries if e[1] == 0x010F and e[2] == 2), None)
            if make is not None:
                _pos, _tag, _typ, count, value = make
                raw = bounded(value, count) if count > 4 else bounded(make[0] + 8, count)
                try:
                    walk.make = raw.split(b"\x00", 1)[0].decode("utf-8")
                except UnicodeDecodeError:
                    walk.make = None
            for epos, tag, typ, count, value in entries:
                if tag == 0x8769:
                    walk.sub_directory("Exif", epos, typ, count, value, walk.order)
                elif tag == 0x014A:
                    _sub_ifds(walk, epos, typ, count, value)
        keep, cut = walk.kept[walk.result.directories[name]]
        if cut:
            break  # the link after a cut directory was cleared
        link = walk.result.directories[name] + 2 + 12 * keep
        at = walk.u32(link)
        index += 1
        if at and index >= 16:
            walk.note("The EXIF block chains more than 16 directories; the rest were not read.")
            walk.patch(link, 0, 4)
            break
    if walk.maker_entry is not None:
        walk.maker_note(*walk.maker_entry)
    return walk.result


def _sub_ifds(walk: _Walk, epos: int, typ: int, count: int, value: int) -> None:
    """SubIFDs (0x014A): exifread reads every listed directory; all must be sound or none is followed."""
    if typ not in (4, 13) or count > 16:
        walk.note("The SubIFDs entry lists too many directories or has the wrong type; they were not read.")
        walk.skip_entry(epos, walk.order)
        return
    offsets = [value] if count == 1 else [walk.u32(value + 4 * i) for i in range(count)]
    for i, at in enumerate(offsets):
        if walk.directory(f"SubIFD{i}", at, pointer_tags=True, unlink=lambda: walk.skip_entry(epos, walk.order)) is None:
            return


class BoundedReader:
    """A read-only view of an EXIF block for exifread: patches applied, reads bounded.

    Reading past ``size`` or more than ``max_reads`` times raises ``ExifOverrun``: exifread does
    not catch it, so the walk stops at once instead of continuing through zeros.
    """

    def __init__(self, stream: BinaryIO, start: int, size: int, patches: dict[int, bytes], max_reads: int = MAX_READS) -> None:
        self._stream, self._start, self._size = stream, start, size
        self._patches = patches
        self._keys = sorted(patches)
        self._pos = 0
        self._reads = 0
        self._max_reads = max_reads

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self._pos
        elif whence == 2:
            offset += self._size
        self._pos = max(0, offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        self._reads += 1
        if self._reads > self._max_reads:
            raise ExifOverrun("exifread asked for more reads than the EXIF block can justify")
        if n is None or n < 0:
            n = self._size - self._pos
        if self._pos + n > self._size:
            raise ExifOverrun("exifread asked for bytes past the end of the EXIF block")
        self._stream.seek(self._start + self._pos)
        data = self._stream.read(n)
        if self._keys:
            data = self._apply(self._pos, data)
        self._pos += len(data)
        return data

    def _apply(self, pos: int, data: bytes) -> bytes:
        end = pos + len(data)
        i = bisect.bisect_left(self._keys, pos - 3)
        out: bytearray | None = None
        while i < len(self._keys) and self._keys[i] < end:
            at = self._keys[i]
            patch = self._patches[at]
            for j, b in enumerate(patch):
                k = at + j - pos
                if 0 <= k < len(data):
                    if out is None:
                        out = bytearray(data)
                    out[k] = b
            i += 1
        return bytes(out) if out is not None else data


def exifread_tags(stream: BinaryIO, start: int, size: int) -> tuple[dict, list[str], list[str]]:
    """exifread's tags for the EXIF block at ``start`` (``size`` bytes) of ``stream``, checked first.

    Returns (tags, notes, quiet): ``notes`` say in plain words what in the block was not read and
    why; ``quiet`` says which maker notes were left undecoded (for the raw dump, not a problem).
    """
    import exifread

    def read(pos: int, n: int) -> bytes:
        stream.seek(start + pos)
        return stream.read(n)

    result = check(read, size)
    if not result.valid:
        return {}, result.notes, result.quiet
    reader = BoundedReader(stream, start, size, result.patches)
    try:
        tags = exifread.process_file(reader, details=True, extract_thumbnail=False, strict=False)  # type: ignore[arg-type]
    except ExifOverrun as exc:
        return {}, [*result.notes, f"The maker notes were not read: {exc}."], result.quiet
    return tags, result.notes, result.quiet
