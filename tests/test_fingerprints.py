"""Fingerprints: the views each side hashes, the low-information gate, dense video sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from factories import jpeg_bytes, photo, video, write
from PIL import Image, ImageOps

from verify.config import Settings
from verify.fingerprints import PHASH, compute, compute_image, keypoints, pdq
from verify.fingerprints.views import inner_box, trim_box
from verify.media import decode_reduced, sniff_file

SETTINGS = Settings(data_dir=Path("/nonexistent"))


def _fps(path: Path, *, for_archive: bool):  # type: ignore[no-untyped-def]
    return compute(path, sniff_file(path), SETTINGS, for_archive=for_archive)


def test_archive_and_query_views(tmp_path: Path) -> None:
    p = write(tmp_path / "a.jpg", jpeg_bytes(photo(1)))
    archive = {fp.variant for fp in _fps(p, for_archive=True)}
    query = {fp.variant for fp in _fps(p, for_archive=False)}
    assert {"full", "crop-c80", "crop-c60", "crop-tl", "crop-br"} <= archive
    assert "mirror" not in archive
    assert {"full", "mirror"} <= query
    assert not any(v.startswith("crop") for v in query)
    fps = _fps(p, for_archive=True)
    hashes = [fp for fp in fps if fp.algorithm == "phash-v2"]
    assert all(len(fp.value) == 8 and fp.frame_time_s is None for fp in hashes)
    # plus one set of keypoint words, archive side only (queries use their own file's keypoints)
    words = [fp for fp in fps if fp.algorithm == keypoints.NAME]
    # and one PDQ hash for exchange (``pdq.py``), 32 bytes
    exchange = [fp for fp in fps if fp.algorithm == pdq.NAME]
    assert len(exchange) == 1 and len(exchange[0].value) == 32
    assert len(words) == 1 and len(fps) == len(hashes) + 2
    assert keypoints.from_bytes(words[0].value).shape == (keypoints.TABLES, keypoints.KEYPOINTS)
    assert not any(fp.algorithm == keypoints.NAME for fp in _fps(p, for_archive=False))


def test_mirror_hash_equals_hash_of_mirrored_picture(tmp_path: Path) -> None:
    im = photo(2)
    a = write(tmp_path / "a.png", b"")
    im.save(a, "PNG")
    b = tmp_path / "b.png"
    ImageOps.mirror(im).save(b, "PNG")
    mirror_of_a = next(fp for fp in compute_image(a, 10**9, for_archive=False) if fp.variant == "mirror")
    full_of_b = next(fp for fp in compute_image(b, 10**9, for_archive=False) if fp.variant == "full")
    assert PHASH.distance(mirror_of_a.value, full_of_b.value) <= 2


def test_flat_black_and_blank_pictures_get_no_fingerprints(tmp_path: Path) -> None:
    sky = np.tile(np.linspace(90, 200, 600)[:, None, None], (1, 800, 3)).astype(np.uint8)
    for name, im in [
        ("grey", Image.new("RGB", (800, 600), (128, 128, 128))),
        ("black", Image.new("RGB", (800, 600), (0, 0, 0))),
        ("sky", Image.fromarray(sky)),
    ]:
        p = write(tmp_path / f"{name}.jpg", jpeg_bytes(im))
        for side in (True, False):
            fps = _fps(p, for_archive=side)
            # Only the exchange hash (PDQ) is kept, with the low quality that keeps it out of matching.
            assert [fp.algorithm for fp in fps] == ["pdq"], name
            assert pdq.quality_of(fps[0]) < pdq.MIN_QUALITY, name


def test_reduced_decode_uses_the_jpeg_draft(tmp_path: Path) -> None:
    p = write(tmp_path / "big.jpg", jpeg_bytes(photo(3, (3200, 2400))))
    im = decode_reduced(p, 10**9, target=300, mode="L")
    assert im.mode == "L"
    assert im.size == (400, 300)  # decoded at 1/8 by the codec itself


def test_trim_and_inner_boxes_find_the_picture() -> None:
    pic = np.asarray(photo(4, (400, 300)).convert("L"))
    framed = np.full((500, 400), 255, np.uint8)
    framed[100:400] = pic
    t = trim_box(framed)
    assert t is not None and abs(t[0] - 100) <= 2 and abs(t[1] - 400) <= 2
    screenshot = framed.copy()
    screenshot[20:40, 10:200] = 30  # a line of "text" in the top bar
    screenshot[430:450, 10:300] = 30
    box = inner_box(screenshot)
    assert box is not None and abs(box[0] - 100) <= 4 and abs(box[1] - 400) <= 4


def test_video_frames_are_dense_and_timed(tmp_path: Path) -> None:
    clip = video(tmp_path / "clip.mp4", seconds=4.0, fps=25, gop=100)  # one keyframe every 4 s
    fps = _fps(clip, for_archive=True)
    times = sorted({fp.frame_time_s for fp in fps if fp.frame_time_s is not None})
    assert len(times) == len({fp.frame_time_s for fp in fps})  # every video fingerprint has a time
    assert times[0] < 0.1 and times[-1] > 3.0
    assert max(b - a for a, b in zip(times, times[1:])) <= 1.05  # never more than a second apart
    query = _fps(clip, for_archive=False)
    assert any(fp.variant == "mirror" for fp in query)


def test_other_pixel_formats_hash_like_the_jpeg(tmp_path: Path) -> None:
    """CMYK JPEG, transparent PNG, palette GIF and 16-bit grey PNG all reach the same picture."""
    im = photo(5, (640, 480))
    ref = write(tmp_path / "ref.png", b"")
    im.save(ref)
    want = compute_image(ref, 10**9)[0].value
    im.convert("CMYK").save(tmp_path / "c.jpg")
    im.convert("RGBA").save(tmp_path / "a.png")
    im.convert("P").save(tmp_path / "p.gif")
    Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 256).save(tmp_path / "g16.png")
    for name in ("c.jpg", "a.png", "p.gif", "g16.png"):
        got = compute_image(tmp_path / name, 10**9)
        assert got, name
        assert PHASH.distance(got[0].value, want) <= 6, name
