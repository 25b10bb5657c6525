"""Type sniffing from bytes and safe decoding."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from factories import jpeg_bytes, photo, png_bytes, video, write
from verify.errors import TooLarge, UnreadableMedia, UnsupportedMedia, VerifyError
from verify.media import decode_reduced, iter_keyframes, probe_video, sniff_bytes


def _encode(fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    photo(1, (64, 48)).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "kind", "mime"),
    [("JPEG", "image", "image/jpeg"), ("PNG", "image", "image/png"), ("GIF", "image", "image/gif"),
     ("WEBP", "image", "image/webp"), ("TIFF", "image", "image/tiff"), ("HEIF", "image", "image/heic")],
)  # fmt: skip
def test_sniffs_image_formats_from_bytes(fmt: str, kind: str, mime: str) -> None:
    sniffed = sniff_bytes(_encode(fmt)[:4096])
    assert (sniffed.kind, sniffed.mime) == (kind, mime)


@pytest.mark.parametrize(
    ("head", "mime"),
    [(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
     (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"),
     (b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01M4V M4A ", "video/x-m4v"),
     (b"\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00", "video/3gpp"),
     (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "video/quicktime"),
     (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
     (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
     (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
     ((b"\x47" + b"\x00" * 187) * 3, "video/mp2t"),
     ((b"\x00\x00\x00\x00\x47" + b"\x00" * 187) * 3, "video/mp2t")],
)  # fmt: skip
def test_sniffs_video_containers(head: bytes, mime: str) -> None:
    sniffed = sniff_bytes(head)
    assert sniffed.kind == "video" and sniffed.mime == mime


def test_extension_is_never_trusted(tmp_path: Path) -> None:
    from verify.media import sniff_file

    assert sniff_file(write(tmp_path / "photo.mp4", _encode("PNG"))).mime == "image/png"
    with pytest.raises(UnsupportedMedia, match="text file"):
        sniff_file(write(tmp_path / "photo.jpg", b"<html><script>alert(1)</script></html>"))
    with pytest.raises(UnsupportedMedia, match="empty"):
        sniff_file(write(tmp_path / "empty.jpg", b""))


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_sniffing_arbitrary_bytes_never_crashes(data: bytes) -> None:
    try:
        sniffed = sniff_bytes(data)
    except UnsupportedMedia as exc:
        assert str(exc)
    else:
        assert sniffed.kind in ("image", "video")


def test_reduced_decode_is_small_upright_rgb(tmp_path: Path) -> None:
    from verify.media import open_image

    big = photo(3, (4000, 3000))
    f = write(tmp_path / "big.jpg", jpeg_bytes(big))
    im = decode_reduced(f, max_pixels=10**9, target=512)
    assert im.mode == "RGB" and 512 <= min(im.size) <= 1024
    assert open_image(f, 10**9).size == (4000, 3000)
    # EXIF orientation 6 (rotate 90 CW to display) is applied
    exif = Image.Exif()
    exif[0x0112] = 6
    g = write(tmp_path / "rot.jpg", jpeg_bytes(photo(4, (800, 600)), exif=exif.tobytes()))
    assert decode_reduced(g, 10**9).size[0] < decode_reduced(g, 10**9).size[1]


def test_pixel_limit_stops_bombs_before_decoding(tmp_path: Path) -> None:
    f = write(tmp_path / "a.png", png_bytes(photo(1, (400, 300))))
    with pytest.raises(TooLarge):
        decode_reduced(f, max_pixels=400 * 300 - 1)


def test_truncated_image_fails_instead_of_padding(tmp_path: Path) -> None:
    data = jpeg_bytes(photo(1))
    f = write(tmp_path / "t.jpg", data[: len(data) // 3])
    with pytest.raises(UnreadableMedia):
        decode_reduced(f, 10**9)


def test_video_probe_and_keyframes(tmp_path: Path) -> None:
    clip = video(tmp_path / "c.mp4", seconds=3, fps=25, gop=25)
    info = probe_video(clip, 10**8, 3600)
    assert (info.width, info.height, info.codec) == (320, 240, "h264")
    assert 2.9 < (info.duration_s or 0) < 3.2 and info.fps == 25
    times = [t for t, _ in iter_keyframes(clip)]
    assert times[0] == 0.0 and len(times) >= 3
    assert all(b > a for a, b in zip(times, times[1:]))


def test_broken_video_is_readable_error(tmp_path: Path) -> None:
    clip = video(tmp_path / "c.mp4", seconds=1)
    bad = write(tmp_path / "bad.mp4", clip.read_bytes()[:1500])
    with pytest.raises(VerifyError):
        probe_video(bad, 10**8, 3600)
