"""Hostile EXIF (declared counts, offsets and links that lie) costs milliseconds, not minutes.

Before the structure check, a 15 KB JPEG whose MakerNote declared 1,000,000,000 bytes kept
exifread walking until the two-minute sandbox limit. Every structure in ``exif_bombs`` is built
on the fly; each must be read in well under a second with a plain note naming what was not read,
while the honest parts of the same block (make, date, GPS) are still read. Timing bounds here are
hang detectors only (generous, many times the real cost); the measured cost per file is in
docs/benchmarks.md (benchmarks/hostile_meta.py).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import exif_bombs as bombs
from verify import metadata
from verify.config import Settings
from verify.errors import VerifyError
from verify.media import sniff_file
from verify.metadata import exif_structure
from verify.metadata.xmp import find_packet

ROOT = Path(__file__).resolve().parents[1]
VERIFY = [sys.executable, "-m", "verify"]
#: Hang detector for one file read in this process (real cost: a few milliseconds).
ONE_FILE_S = 10.0
#: Hang detector for a folder of 50 through a command (real cost: a few seconds, most of it start-up).
FOLDER_S = 60.0


def _read(path: Path) -> metadata.Metadata:
    return metadata.read(path, sniff_file(path), Settings(data_dir=path.parent))


def _notes(meta: metadata.Metadata) -> str:
    return " ".join(e for e in meta.errors if e.startswith("EXIF:"))


# -- one structure at a time ---------------------------------------------------------------------

EXPECTED = {  # case -> words the note must contain
    "count-ifd0": "IFD0 directory's tag 0x010E entry declares 1,000,000,000 values",
    "count-exif-makernote": "Exif directory's MakerNote entry declares 1,000,000,000 values",
    "count-exif-usercomment": "Exif directory's tag 0x9286 entry declares 1,000,000,000 values",
    "count-gps": "GPS directory's tag 0x0006 entry declares 1,000,000,000 values",
    "count-interop": "Interop directory's tag 0x0002 entry declares 1,000,000,000 values",
    "count-ifd1-thumbnail": "IFD1 (thumbnail) directory's tag 0x0111 entry declares 1,000,000,000 values",
    "count-makernote-nikon": "MakerNote entry declares 1,000,000,000 values",
    "count-four-billion-ascii": "declares 4,294,967,295 values",
    "past-end-ifd0": "IFD0 directory lies outside the EXIF block",
    "past-end-exif": "Exif directory lies outside the EXIF block",
    "past-end-gps": "GPS directory lies outside the EXIF block",
    "past-end-interop": "Interop directory lies outside the EXIF block",
    "past-end-ifd1": "IFD1 (thumbnail) directory lies outside the EXIF block",
    "past-end-values": "past the end of the",
    "past-end-makernote": "MakerNote entry declares 100 values (100 bytes) at offset 4,294,967,040",
    "wide-ifd0": "IFD0 directory declares 65,535 entries",
    "wide-exif": "Exif directory declares 65,535 entries",
    "wide-gps": "GPS directory declares 65,535 entries",
    "wide-interop": "Interop directory declares 65,535 entries",
    "wide-ifd1": "IFD1 (thumbnail) directory declares 65,535 entries",
    "loop-ifd0-self": "leads back to the IFD0 directory (a loop)",
    "loop-ifd1-to-ifd0": "leads back to the IFD0 directory (a loop)",
    "loop-exif-to-ifd0": "Exif directory leads back to the IFD0 directory",
    "loop-gps-to-exif": "leads back to the GPS directory",
    "loop-interop-to-exif": "Interop directory leads back to the Exif directory",
    "loop-interop-to-ifd0": "Interop directory leads back to the IFD0 directory",
    "loop-gps-fanout": "IFD0 directory repeats 400 of its entries",
}
#: Maker-note directories that do not hold together are bounded the same way, but noted in the
#: raw dump only (exifread's guess of a vendor layout is often wrong on real cameras too).
QUIET = {"count-makernote-inner", "count-makernote-sony", "past-end-makernote-inner", "wide-makernote", "loop-makernote-to-ifd0"}


def test_catalogue_covers_every_directory_and_every_lie() -> None:
    cases = set(bombs.hostile_tiffs())
    assert cases == set(EXPECTED) | QUIET
    for directory in ("ifd0", "exif", "gps", "interop", "ifd1", "makernote"):
        assert any(directory in c and c.startswith("count-") for c in cases), directory
        assert any(directory in c and c.startswith("wide-") for c in cases), directory
        assert any(directory in c and c.startswith("past-end-") for c in cases), directory


@pytest.mark.parametrize("case", sorted(bombs.hostile_tiffs()))
def test_each_hostile_structure_is_read_quickly_with_a_note(case: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.jpg"
    path.write_bytes(bombs.jpeg_with_exif(bombs.layout(bombs.hostile_tiffs()[case])))
    started = time.monotonic()
    meta = _read(path)
    assert time.monotonic() - started < ONE_FILE_S
    if case in QUIET:
        assert "maker notes" in meta.raw.get("verify:exif_structure", ""), meta.raw
    else:
        assert EXPECTED[case] in _notes(meta), meta.errors
        assert "EXIF" in meta.sources or case == "past-end-ifd0"
    # what is honest in the same block is still read
    if not case.startswith(("past-end-ifd0", "loop-exif", "past-end-exif")):
        assert meta.make in ("Canon", "NIKON CORPORATION", "SONY"), (case, meta.make, meta.errors)
    if case.startswith("count-") or case in ("wide-ifd0", "wide-gps", "past-end-values", "loop-ifd0-self"):
        assert meta.captured_at == "2021-05-16T12:27:36", (case, meta.captured_at)
    assert all("Traceback" not in e and str(tmp_path) not in e for e in meta.errors)


def test_exifread_itself_would_walk_the_declared_count(tmp_path: Path) -> None:
    """The bug is real: unguarded, exifread is still walking the billion-byte maker note after 5 s
    (it would take minutes); through the check it is done in milliseconds."""
    path = tmp_path / "makernote.jpg"
    path.write_bytes(bombs.jpeg_with_exif(bombs.layout(bombs.hostile_tiffs()["count-exif-makernote"])))
    code = "import exifread, sys; exifread.process_file(open(sys.argv[1], 'rb'), details=True, extract_thumbnail=False)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], start_new_session=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(5)
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
    block = bombs.layout(bombs.hostile_tiffs()["count-exif-makernote"])
    started = time.monotonic()
    tags, notes, _quiet = exif_structure.exifread_tags(io.BytesIO(block), 0, len(block))
    assert time.monotonic() - started < ONE_FILE_S
    assert "Image Make" in tags and "EXIF DateTimeOriginal" in tags and "EXIF MakerNote" not in tags
    assert any("MakerNote" in n for n in notes)


def test_other_containers_carry_the_same_bombs(tmp_path: Path) -> None:
    spec = bombs.hostile_tiffs
    files = {
        "png": bombs.png_with_exif(bombs.layout(spec()["count-gps"])),
        "webp": bombs.webp_with_exif(bombs.layout(spec()["count-exif-makernote"])),
        "tif": bombs.tiff_file(spec()["count-exif-makernote"]),
    }
    for ext, data in files.items():
        path = tmp_path / f"bomb.{ext}"
        path.write_bytes(data)
        started = time.monotonic()
        meta = _read(path)
        assert time.monotonic() - started < ONE_FILE_S, ext
        assert "declares 1,000,000,000 values" in _notes(meta), (ext, meta.errors)
        assert meta.make == "Canon", ext


def test_a_real_65535_entry_directory_is_cut_and_its_repeats_skipped(tmp_path: Path) -> None:
    """In a TIFF file the 65,535 entries really fit (786 KB), each a maker note of 60,000 bytes of
    the file: 3.9 billion value reads if believed."""
    path = tmp_path / "wide.tif"
    path.write_bytes(bombs.wide_tiff_file())
    started = time.monotonic()
    meta = _read(path)
    assert time.monotonic() - started < ONE_FILE_S
    notes = _notes(meta)
    assert "declares 65,535 entries; more than 1,000 is not plausible" in notes
    assert "repeats" in notes
    assert meta.make == "Canon" and meta.width == 64


# -- the check itself ----------------------------------------------------------------------------


def test_a_clean_block_needs_no_patches_and_reads_as_before() -> None:
    block = bombs.layout(bombs.full())
    result = exif_structure.check(lambda p, n: block[p : p + n], len(block))
    assert result.clean and not result.notes
    assert set(result.directories) == {"IFD0", "Exif", "GPS", "Interop", "IFD1 (thumbnail)"}
    import exifread

    direct = exifread.process_file(io.BytesIO(block), details=True, extract_thumbnail=False)
    checked, notes, quiet = exif_structure.exifread_tags(io.BytesIO(block), 0, len(block))
    assert {k: str(v) for k, v in direct.items()} == {k: str(v) for k, v in checked.items()}
    assert notes == [] and quiet == []


def test_patches_change_only_the_view_never_the_bytes() -> None:
    block = bombs.layout(bombs.hostile_tiffs()["count-exif-makernote"])
    before = bytes(block)
    result = exif_structure.check(lambda p, n: block[p : p + n], len(block))
    assert result.patches and block == before
    (at, patch), *_ = result.patches.items()
    view = exif_structure.BoundedReader(io.BytesIO(block), 0, len(block), result.patches)
    view.seek(at)
    assert view.read(len(patch)) == patch and block[at : at + len(patch)] != patch


def test_bounded_reader_stops_reads_past_the_end_and_endless_reading() -> None:
    data = b"II*\x00" + bytes(60)
    view = exif_structure.BoundedReader(io.BytesIO(data), 0, len(data), {})
    view.seek(60)
    with pytest.raises(exif_structure.ExifOverrun):
        view.read(8)
    view = exif_structure.BoundedReader(io.BytesIO(data), 0, len(data), {}, max_reads=100)
    with pytest.raises(exif_structure.ExifOverrun):
        for _ in range(101):
            view.seek(0)
            view.read(2)


def test_a_block_that_is_not_tiff_is_not_given_to_exifread() -> None:
    result = exif_structure.check(lambda p, n: b"JUNKJUNKJUNKJUNK"[p : p + n], 16)
    assert not result.valid and "TIFF header" in result.notes[0]


def test_a_big_endian_block_is_checked_in_its_own_byte_order() -> None:
    spec = bombs.hostile_tiffs()["count-exif-makernote"]
    spec.order = ">"
    block = bombs.layout(spec)
    assert block[:2] == b"MM"
    tags, notes, _ = exif_structure.exifread_tags(io.BytesIO(block), 0, len(block))
    assert str(tags["Image Make"]) == "Canon" and any("1,000,000,000" in n for n in notes)


def test_entry_positions_in_the_notes_are_the_files_own_numbers() -> None:
    """A note repeats the declared count and offset as the file states them, so an editor (or
    ExifTool) can find the same entry."""
    block = bombs.layout(bombs.hostile_tiffs()["past-end-values"])
    result = exif_structure.check(lambda p, n: block[p : p + n], len(block))
    far = f"{bombs.FAR:,}"
    assert any(far in n for n in result.notes)
    assert struct.unpack("<I", block[4:8])[0] == 8


# -- XMP and IPTC: the same class of bug ---------------------------------------------------------


def test_xmp_search_is_linear_in_the_bytes_scanned() -> None:
    """A lazy regex rescanned to the end from every opening tag: 176 KB of openings took 26 s, the
    8 MB scanned per file would take hours. Now one pass."""
    data = b"<x:xmpmeta " * 800_000  # 8.8 MB, no closing tag anywhere
    started = time.monotonic()
    assert find_packet(data) is None
    assert time.monotonic() - started < ONE_FILE_S
    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF></rdf:RDF></x:xmpmeta>'
    assert find_packet(b"<rdf:RDF x>" + b"<x:xmpmeta " * 1000 + packet) is not None
    assert find_packet(b"junk" + packet + b"tail") == packet


def test_a_jpeg_full_of_xmp_openings_reads_quickly(tmp_path: Path) -> None:
    """The packet search scans the first 8 MB of files whose XMP Pillow does not surface."""
    com = b"<x:xmpmeta " * 5900  # one COM segment's worth
    jpeg = bombs.jpeg_with_exif(bombs.layout(bombs.full()))
    chunks = b"".join(b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com for _ in range(100))
    path = tmp_path / "xmp-openings.jpg"
    path.write_bytes(jpeg[:2] + chunks + jpeg[2:])
    started = time.monotonic()
    meta = _read(path)
    assert time.monotonic() - started < ONE_FILE_S
    assert meta.make == "Canon" and not meta.xmp


def test_iptc_with_endless_repeated_fields_is_bounded(tmp_path: Path) -> None:
    """IPTC fields are read from the APP13 segment only (at most 64 KB): 13,000 repeats of one
    field are 13,000 values, read in milliseconds, and the dump keeps a bounded summary."""
    from test_hostile import iptc_app13

    field = b"\x1c\x02\x19\x00\x01k"  # Keywords = "k"
    body = field * 10_000
    app13 = iptc_app13("x")
    start = app13.index(b"\x1c\x02")
    record = app13[:start] + body
    # rebuild the segment around the longer record (8BIM resource length and segment length)
    jpeg = bombs.jpeg_with_exif(bombs.layout(bombs.full()))
    res = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(body)) + body
    seg = b"Photoshop 3.0\x00" + res
    data = jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(seg) + 2) + seg + jpeg[2:]
    path = tmp_path / "iptc.jpg"
    path.write_bytes(data)
    started = time.monotonic()
    meta = _read(path)
    assert time.monotonic() - started < ONE_FILE_S
    assert isinstance(meta.iptc.get("Keywords"), list) and len(meta.iptc["Keywords"]) == 10_000
    assert len(meta.raw.get("IPTC:Keywords", "")) <= 2100
    del record


# -- a folder of 50 through every front door -----------------------------------------------------


@pytest.fixture(scope="module")
def bomb_folder(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return bombs.hostile_set(tmp_path_factory.mktemp("bombs"), 50)


def _run(args: list[str], data_dir: Path) -> tuple[subprocess.CompletedProcess[bytes], float]:
    env = dict(os.environ)
    env.update({"VERIFY_DATA_DIR": str(data_dir), "VERIFY_ACTOR": "bomb-test"})
    for key in ("VERIFY_DB", "VERIFY_DECODE_TIMEOUT"):
        env.pop(key, None)  # the default limits: sized to the work
    started = time.monotonic()
    proc = subprocess.run([*VERIFY, *args], capture_output=True, timeout=FOLDER_S * 4, env=env, cwd=str(data_dir),
                          start_new_session=True)  # fmt: skip
    return proc, time.monotonic() - started


def test_bomb_folder_is_fifty_files_in_four_containers(bomb_folder: dict[str, Path]) -> None:
    assert len(bomb_folder) == 50
    assert {p.suffix for p in bomb_folder.values()} == {".jpg", ".png", ".webp", ".tif"}


def test_verify_meta_answers_each_of_fifty_bombs_with_a_clear_line(bomb_folder: dict[str, Path], tmp_path: Path) -> None:
    folder = next(iter(bomb_folder.values())).parent
    proc, elapsed = _run(["meta", str(folder), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert elapsed < FOLDER_S, f"50 hostile files took {elapsed:.1f} s"
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert sorted(Path(r["path"]).name for r in records) == sorted(bomb_folder)
    for r in records:
        assert r["error"] is None, r
        assert r["kind"] == "image" and r["width"] == 64
    assert b"Traceback" not in proc.stderr
    # and the human form: the path, then its facts and the notes as warnings
    human, _ = _run(["meta", str(bomb_folder["count-exif-makernote.jpg"])], tmp_path)
    text = human.stdout.decode()
    assert "camera       Canon EOS 7D" in text and "warning      EXIF: The Exif directory's MakerNote entry declares 1,000,000,000" in text


def test_verify_index_stores_each_of_fifty_bombs(bomb_folder: dict[str, Path], tmp_path: Path) -> None:
    folder = next(iter(bomb_folder.values())).parent
    proc, elapsed = _run(["index", str(folder), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert elapsed < FOLDER_S, f"50 hostile files took {elapsed:.1f} s"
    records = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.startswith("{")]
    per_file = {Path(r["path"]).name: r for r in records if r.get("path")}
    assert sorted(per_file) == sorted(bomb_folder)
    assert all(r["status"] == "added" and r["error"] is None for r in per_file.values()), per_file
    assert b"took longer than" not in proc.stderr


def test_upload_path_takes_each_of_fifty_bombs(bomb_folder: dict[str, Path], sqlite_settings: Settings) -> None:
    """What the workbench does with an upload: Services(isolate=True), default limits."""
    from verify.services import Services

    services = Services(sqlite_settings, isolate=True)
    try:
        started = time.monotonic()
        for name, path in bomb_folder.items():
            try:
                result = services.ingest_bytes(path.read_bytes(), filename=name, actor="desk", origin="submission")
            except VerifyError as exc:  # pragma: no cover - a failure here is the bug this guards
                pytest.fail(f"{name}: {exc}")
            assert result.created
            if name == "count-exif-makernote.jpg":
                view = services.inspect(result.item.id, with_matches=False)
                assert any("1,000,000,000" in e for e in view.metadata.errors), view.metadata.errors
        elapsed = time.monotonic() - started
    finally:
        services.close()
    assert elapsed < FOLDER_S, f"50 hostile uploads took {elapsed:.1f} s"


def test_a_maker_note_that_runs_into_other_directories_leaves_them_whole() -> None:
    """A maker note declaring 400 entries laid out before the GPS, Interop and thumbnail
    directories (as a Canon EOS REBEL T3i photo in the corpus does): its entries are cut where the
    next directory starts, so its patches cannot change that directory's entries, and the standard
    directories are read as if it were not there."""
    spec = bombs.makernote_layout([bombs.ascii_entry(0x0006, "IMG:EOS 600D JPEG")], declared=400)
    spec.ifds = {k: spec.ifds[k] for k in ("ifd0", "exif", "makernote", "gps", "interop", "ifd1")}
    block = bombs.layout(spec)
    tags, notes, quiet = exif_structure.exifread_tags(io.BytesIO(block), 0, len(block))
    assert notes == [], notes
    assert any("run into the GPS directory" in q for q in quiet), quiet
    assert "GPS GPSLatitude" in tags and "Interoperability InteroperabilityIndex" in tags and "Thumbnail Compression" in tags
    assert str(tags["MakerNote ImageType"]) == "IMG:EOS 600D JPEG"
