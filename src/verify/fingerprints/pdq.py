"""``pdq``: Meta's PDQ hash (256 bits), for exchanging hashes with other organisations.

PDQ is what Hasher-Matcher-Actioner, ThreatExchange and many trust-and-safety teams share: a list
of ``pdq <64 hex>`` lines that says "we have seen this picture" without sending the picture. The
desk does not match its own archive with it (pHash views plus keypoints do that better, see
docs/matching.md); it computes PDQ so the archive can be exported in that form and a partner's list
(a *bank*, ``verify.banks``) can be checked against every query.

This is a numpy port of the reference implementation (facebook/ThreatExchange, ``pdq/python`` and
``pdq/cpp/hashing/pdqhashing.cpp``), step for step:

1. front end (``luma_from_path``): the reference Python hasher's ``Image.open`` plus
   ``thumbnail((512, 512))`` as Pillow did it before version 7: the JPEG decoder scales by 1/2,
   1/4 or 1/8 toward the thumbnail size (``draft``), then a bicubic resize to at most 512 px on the
   long side; no EXIF rotation (partners hash the file as stored);
2. luminance ``0.299 R + 0.587 G + 0.114 B`` in double precision;
3. two passes of Jarosz box filters along rows then columns (a tent filter), each window
   ``ceil(side / 128)`` pixels, the reference's edge handling (shorter windows at the borders);
4. decimation to 64x64 by taking the pixel at ``int((i + 0.5) * side / 64)``;
5. the quality metric: the sum of ``|int((u - v) * 100 / 255)|`` over vertical and horizontal
   neighbours of the 64x64 picture, divided by 90, at most 100;
6. the 16x16 DCT (rows 1..16 of the 64-point DCT-II basis, ``D A D^T``);
7. bit ``16 i + j`` set when coefficient ``(i, j)`` exceeds the median (Torben's median of 256 values
   is the 128th smallest); hex digits are the sixteen 16-bit words, word 15 first.

Checked against the twelve reference pictures and hashes published with the reference code
(``tests/test_pdq.py``): eleven are bit for bit, ``sharpen-a-lot.jpg`` differs by 2 bits of 256
(a pair of coefficients around the median swaps; see docs/matching.md for what was ruled out).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from verify.fingerprints.base import Fingerprinter
from verify.models import Fingerprint

NAME = "pdq"
#: The reference front end's thumbnail size (long side, pixels).
THUMBNAIL = 512
#: PDQ distance (of 256) at or below which two hashes are the same picture: the value HMA and
#: ThreatExchange use.
MATCH_DISTANCE = 31
#: Hashes of pictures with less structure than this are near-random; the exchange convention is not
#: to match (or share) them.
MIN_QUALITY = 50
#: Below this many pixels on a side the reference gives up (all-zero hash, quality 0).
MIN_HASHABLE_DIM = 5

_LUMA = (0.299, 0.587, 0.114)
_DCT = np.array([[math.cos((math.pi / 2 / 64.0) * (i + 1) * (2 * j + 1)) for j in range(64)] for i in range(16)])


def _box_1d(a: np.ndarray, window: int, axis: int, at: np.ndarray | None = None) -> np.ndarray:
    """One Jarosz box-filter pass: the mean over ``[k - w + h, k + h)`` clipped to the array, where
    ``h = (w + 2) // 2`` (the reference's four phases; windows shrink at the edges).

    ``at``: compute the output only at these positions (the decimation keeps 64 of them), which
    is the same arithmetic on fewer cells.
    """
    n = a.shape[axis]
    half = (window + 2) // 2
    csum = np.cumsum(a, axis=axis, dtype=np.float64)
    pad = [(0, 0)] * a.ndim
    pad[axis] = (1, 0)
    csum = np.pad(csum, pad)
    k = np.arange(n) if at is None else at
    lo = np.maximum(0, k - window + half)
    hi = np.minimum(n, k + half)
    shape = [1] * a.ndim
    shape[axis] = len(k)
    return (np.take(csum, hi, axis=axis) - np.take(csum, lo, axis=axis)) / (hi - lo).reshape(shape)


def _window(side: int) -> int:
    return (side + 127) // 128


def downsample_64(luma: np.ndarray) -> np.ndarray:
    """The 64x64 picture PDQ hashes: tent-filtered (two X,Y box passes) and decimated."""
    rows, cols = luma.shape
    if rows == 64 and cols == 64:
        return luma.astype(np.float64)  # the reference takes a 64x64 input as it is (video frames)
    buf = luma.astype(np.float64)
    along_rows, along_cols = _window(cols), _window(rows)
    ii = ((np.arange(64) + 0.5) * rows / 64).astype(np.int64)
    jj = ((np.arange(64) + 0.5) * cols / 64).astype(np.int64)
    # X, Y, X, Y passes; every pass works on columns (or rows) independently, so the second pair
    # only needs the 64 columns, then the 64 rows, that decimation keeps.
    buf = _box_1d(buf, along_rows, 1)
    buf = _box_1d(buf, along_cols, 0)
    buf = _box_1d(buf, along_rows, 1, at=jj)
    return _box_1d(buf, along_cols, 0, at=ii)


def quality_64(buf: np.ndarray) -> int:
    """The reference's quality: how many significant gradients the 64x64 picture has, 0..100."""
    dv = np.trunc((buf[:-1, :] - buf[1:, :]) * 100 / 255)
    dh = np.trunc((buf[:, :-1] - buf[:, 1:]) * 100 / 255)
    total = int(np.abs(dv).sum() + np.abs(dh).sum())
    return min(100, total // 90)


def hash_luma(luma: np.ndarray) -> tuple[bytes, int]:
    """(32-byte hash, quality) of a luminance array (rows x columns, 0..255 floats)."""
    if luma.ndim != 2 or min(luma.shape) < MIN_HASHABLE_DIM:
        return bytes(32), 0
    buf = downsample_64(luma)
    quality = quality_64(buf)
    coeffs = _DCT @ buf @ _DCT.T
    median = np.sort(coeffs.ravel())[127]
    bits = coeffs > median
    # Word i holds row i with column j at bit j; hex (and bytes) run from word 15 down to word 0.
    return np.packbits(bits[::-1, ::-1]).tobytes(), quality


def luma_of(image: Image.Image) -> np.ndarray:
    """Luminance the reference way: convert to RGB, weight in double precision."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return _LUMA[0] * rgb[..., 0] + _LUMA[1] * rgb[..., 1] + _LUMA[2] * rgb[..., 2]


def thumbnail_size(size: tuple[int, int], limit: int = THUMBNAIL) -> tuple[int, int]:
    """Pillow 6's ``thumbnail`` arithmetic (truncating), which the reference hashes were made with."""
    x, y = size
    if x > limit:
        y = int(max(y * limit / x, 1))
        x = limit
    if y > limit:
        x = int(max(x * limit / y, 1))
        y = limit
    return x, y


def reference_thumbnail(image: Image.Image) -> Image.Image:
    """The reference front end: JPEG draft toward the thumbnail size, then a bicubic resize.

    Pillow 7 and later decode the bridge pictures at full size inside ``thumbnail`` (it asks the
    decoder for twice the size) and give hashes 2 bits away on three of the twelve reference
    pictures; the pre-7 order reproduces them (docs/matching.md).
    """
    size = thumbnail_size(image.size)
    if size == image.size:
        return image
    if image.format == "JPEG":
        image.draft(None, size)
    return image.resize(size, Image.Resampling.BICUBIC)


def luma_from_path(path: Path, max_pixels: int) -> np.ndarray:
    """Decode a stored picture the way the reference hasher does and return its luminance."""
    from verify.media import open_image

    with open_image(path, max_pixels) as im:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        return luma_of(reference_thumbnail(im))


def frame_luma(gray: np.ndarray) -> np.ndarray:
    """A video frame's luminance plane at most 512 px on its long side (area averaging).

    vPDQ proper has ffmpeg scale RGB frames; the decoder's Y plane is the same weighting of R, G
    and B, so these frame hashes agree with vPDQ's within a few bits, not bit for bit.
    """
    import cv2

    h, w = gray.shape
    tw, th = thumbnail_size((w, h))
    if (tw, th) == (w, h):
        return gray.astype(np.float64)
    return cv2.resize(gray, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float64)


def variant_name(view: str, quality: int) -> str:
    """Stored variant: the view and the quality (``full:q100``), so exports and banks can gate on it."""
    return f"{view}:q{quality}"


def quality_of(fp: Fingerprint) -> int:
    """The quality recorded in a PDQ fingerprint's variant (0 when it cannot be read)."""
    try:
        return int(fp.variant.rsplit(":q", 1)[1])
    except (IndexError, ValueError):
        return 0


def to_hex(value: bytes) -> str:
    return value.hex()


def from_hex(text: str) -> bytes:
    """64 hex digits to the 32-byte hash; ``ValueError`` for anything else."""
    text = text.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("a PDQ hash is 64 hexadecimal digits")
    return bytes.fromhex(text)


class PDQ(Fingerprinter):
    """PDQ as a fingerprint: one hash per picture, one per sampled video frame, with quality."""

    name = NAME
    bits = 256
    threshold = MATCH_DISTANCE

    def hash_image(self, image: Image.Image) -> bytes:
        return hash_luma(luma_of(reference_thumbnail(image)))[0]

    def fingerprint_image(self, image: Image.Image, *, for_archive: bool, frame_time_s: float | None = None) -> list[Fingerprint]:
        value, quality = hash_luma(luma_of(reference_thumbnail(image)))
        return [Fingerprint(self.name, variant_name("full", quality), value, frame_time_s)]

    def fingerprint_path(self, path: Path, max_pixels: int) -> list[Fingerprint]:
        value, quality = hash_luma(luma_from_path(path, max_pixels))
        return [Fingerprint(self.name, variant_name("full", quality), value)]

    def fingerprint_frame(self, gray: np.ndarray, time_s: float) -> list[Fingerprint]:
        """vPDQ-style: one hash per sampled frame, with its time and quality."""
        value, quality = hash_luma(frame_luma(gray))
        return [Fingerprint(self.name, variant_name("frame", quality), value, time_s)]


__all__ = [
    "MATCH_DISTANCE",
    "MIN_QUALITY",
    "NAME",
    "PDQ",
    "from_hex",
    "hash_luma",
    "luma_from_path",
    "quality_of",
    "to_hex",
]
