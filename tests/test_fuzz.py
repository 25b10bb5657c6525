"""Fuzz targets (Hypothesis): the sniffer, the metadata readers and ``analyse`` on mutated bytes.

The contract under fuzzing: untrusted bytes produce a result or a ``VerifyError`` (readers: a
per-field error in ``Metadata.errors``), never any other exception. Seeds are small valid files of
each container; Hypothesis flips, overwrites, inserts and truncates. Runs in-process so Python
level failures show with their traceback; a hard crash here would kill pytest, which the
sandbox (tests/test_hostile.py) turns into one failed file in production.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from PIL import Image

import factories as f
from verify.config import load_settings
from verify.errors import VerifyError
from verify.media import sniff_bytes
from verify.metadata import read as read_metadata
from verify.models import Metadata
from verify.services import analyse

FUZZ = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    import tempfile

    from test_hostile import exif_xss

    small = f.photo(3, (64, 48))
    out = {
        "jpeg": exif_xss(),
        "png": _save(small, "PNG"),
        "webp": _save(small, "WEBP"),
        "gif": _save(small.convert("P"), "GIF"),
        "tiff": _save(small, "TIFF"),
    }
    with tempfile.TemporaryDirectory() as d:
        p = f.video(Path(d) / "s.mp4", seconds=1, fps=5, size=(64, 48), seed=1, gop=5, metadata={"title": "t", "location": "+48.85+002.35/"})
        out["mp4"] = p.read_bytes()
    return out


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut", "int"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 64))]
        elif op == "cut":
            del data[max(1, i) :]
        else:  # overwrite four bytes with an extreme 32-bit value: sizes, counts, offsets
            data[i : i + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x01"]))
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_settings(data_dir=tmp_path_factory.mktemp("fuzzdata"))


@FUZZ
@given(st.binary(max_size=600))
def test_sniff_random_bytes(data: bytes) -> None:
    try:
        sniffed = sniff_bytes(data)
    except VerifyError as exc:
        assert str(exc)
    else:
        assert sniffed.kind in ("image", "video")


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_analyse_mutated_files(kind: str, tmp_path: Path, fuzz_settings) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"fuzz.{kind}"

    @FUZZ
    @given(mutated(kind))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        try:
            result = analyse(path, fuzz_settings, for_archive=False)
        except VerifyError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert result.kind in ("image", "video") and len(result.sha256) == 64

    run()


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_metadata_readers_never_raise(kind: str, tmp_path: Path, fuzz_settings) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"meta.{kind}"
    sniffed = sniff_bytes(SEEDS[kind])

    @FUZZ
    @given(mutated(kind))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        meta = read_metadata(path, sniffed, fuzz_settings)  # the file may now be anything: still no exception
        assert isinstance(meta, Metadata)
        for text in meta.errors:
            assert isinstance(text, str)

    run()


@FUZZ
@given(mutated("mp4"))
def test_movie_box_reader_is_bounded(data: bytes) -> None:
    import tempfile

    from verify.metadata.isobmff import read_movie_boxes

    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(data)
        fh.flush()
        boxes = read_movie_boxes(Path(fh.name))
    assert isinstance(boxes.errors, list)


@FUZZ
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.integers(), st.tuples(st.integers(), st.integers()), st.floats()))
def test_value_parsers_raise_only_value_error(value: object) -> None:
    """Values as files store them (text, bytes, numbers, rationals): a ValueError or a result."""
    from verify.metadata import parsing

    for fn in (parsing.parse_offset, parsing.parse_exif_datetime, parsing.parse_iso6709, parsing.quicktime_datetime, parsing.rational_to_float):
        try:
            fn(value)
        except ValueError:
            pass
    for fn in (parsing.clean_text, parsing.raw_text):
        out = fn(value)
        assert out is None or isinstance(out, str)


@FUZZ
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_xmp_parser_raises_only_value_error(packet: bytes | str) -> None:
    from verify.metadata.xmp import parse_xmp

    try:
        parse_xmp(packet)
    except ValueError:
        pass
