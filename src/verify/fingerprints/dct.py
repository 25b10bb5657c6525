"""A DCT perceptual hash in plain numpy, fast enough to hash a dozen views of a picture per frame.

Same idea as imagehash's pHash (32x32 grey thumbnail, low 8x8 DCT band, bit = above the median),
computed with two small matrix products instead of a full 32x32 DCT, and batched over many views
at once. A horizontal mirror only flips the sign of the odd horizontal frequencies, so the mirrored
hash comes from the same coefficients for free.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Side of the grey thumbnail the DCT runs on.
SIDE = 32
#: Side of the low-frequency block that becomes the 64 hash bits (DC replaced, see ``_BAND``).
BAND = 8


def _dct_rows(n: int, k: int) -> np.ndarray:
    """The first ``k`` rows of the orthonormal DCT-II matrix of size ``n``."""
    x = np.arange(n)
    rows = np.cos(np.pi * (2 * x[None, :] + 1) * np.arange(k)[:, None] / (2 * n))
    rows[0] *= 1 / np.sqrt(2)
    return (rows * np.sqrt(2 / n)).astype(np.float32)


_D = _dct_rows(SIDE, BAND + 1)  # 9 rows: the 9th gives a replacement for the DC term
# Indices of the 64 coefficients used: the 8x8 low band minus DC, plus (0, 8) in DC's place.
_ROWS, _COLS = np.meshgrid(np.arange(BAND), np.arange(BAND), indexing="ij")
_ROWS = _ROWS.ravel().copy()
_COLS = _COLS.ravel().copy()
_COLS[0] = BAND  # (0,0) -> (0,8)
_MIRROR_SIGN = np.where(_COLS % 2 == 1, -1.0, 1.0).astype(np.float32)
_WEIGHTS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)

#: Below this many significant AC coefficients a view carries too little picture to hash:
#: flat skies, black frames, blank pages. Tuned so no corpus photo is gated (see docs/matching.md).
MIN_INFO = 10
#: An AC coefficient counts as significant above this magnitude (grey levels 0..255, orthonormal DCT).
_SIGNIFICANT = 12.0


def thumb(gray: np.ndarray) -> np.ndarray:
    """A 32x32 float32 thumbnail by area averaging (the anti-aliasing pHash relies on)."""
    if gray.shape[0] < SIDE or gray.shape[1] < SIDE:
        small = cv2.resize(gray, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)
    else:
        small = cv2.resize(gray, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def coefficients(thumbs: np.ndarray) -> np.ndarray:
    """``(n, 64)`` DCT coefficients of ``(n, 32, 32)`` thumbnails, in hash-bit order."""
    block = _D @ thumbs @ _D.T  # (n, 9, 9)
    return block[:, _ROWS, _COLS]


def info(coeffs: np.ndarray) -> np.ndarray:
    """How much picture each view holds: the count of significant AC coefficients (DC excluded)."""
    return (np.abs(coeffs[:, 1:]) > _SIGNIFICANT).sum(axis=1)


def bits_to_int(coeffs: np.ndarray) -> np.ndarray:
    """Hash words: one bit per coefficient, set when above the view's median coefficient."""
    med = np.median(coeffs, axis=1, keepdims=True)
    bits = (coeffs > med).astype(np.uint64)
    return (bits * _WEIGHTS).sum(axis=1, dtype=np.uint64)


def mirrored(coeffs: np.ndarray) -> np.ndarray:
    """Coefficients of the horizontally mirrored views, without another DCT."""
    return coeffs * _MIRROR_SIGN


def to_bytes(word: int | np.uint64) -> bytes:
    return int(word).to_bytes(8, "big")
