"""``orb-lsh-v1``: words from an archive picture's strongest ORB keypoints, for a keypoint shortlist.

Hashes of the whole picture fail when a re-post is cropped *and* rotated *and* framed (a screenshot
of a rotated crop): the right original then ranks far down the hash shortlist. Keypoints survive
all of that. Each of the ``KEYPOINTS`` strongest keypoints (spread over the picture) becomes
``TABLES`` words, each ``BITS`` bits sampled from its 256-bit ORB descriptor at fixed positions
(bit-sampling locality-sensitive hashing for Hamming space): two descriptors of the same physical
point usually differ in a few dozen bits, so they share at least one word with good odds, while
unrelated descriptors rarely do. The index (``matching/keypoints.py``) counts shared words per
item, weighted by rarity, and sends the best few to the full geometric check.

The bit positions are part of the format: changing them means a new algorithm name.
"""

from __future__ import annotations

import cv2
import numpy as np

from verify.fingerprints.orb import features
from verify.models import Fingerprint

NAME = "orb-lsh-v1"
#: Keypoints per archive picture that get words (the grid-spread strongest).
KEYPOINTS = 100
#: ORB keypoints detected to choose them from (fewer than the confirmation's 800: cheaper at ingest).
WORDS_FEATURES = 200
#: Long side of the grey copy the words' keypoints are found on. Half the confirmation's copy:
#: ORB's pyramid on the query side bridges the scale, at half the cost per picture at ingest
#: (1.4 ms instead of 3.0 ms on the corpus camera JPEGs), and the quality benchmark is no worse.
WORDS_SIDE = 320
#: Independent word tables, and the bits per word.
TABLES = 3
BITS = 22

_BIT_POSITIONS = np.stack([np.random.default_rng(20261126 + t).choice(256, BITS, replace=False) for t in range(TABLES)])
_WEIGHTS = (1 << np.arange(BITS, dtype=np.uint32)).astype(np.uint32)


def words(descriptors: np.ndarray | None) -> np.ndarray:
    """``(TABLES, n)`` uint32 words of ``n`` ORB descriptors (``(n, 32)`` uint8)."""
    if descriptors is None or len(descriptors) == 0:
        return np.zeros((TABLES, 0), dtype=np.uint32)
    bits = np.unpackbits(descriptors, axis=1)  # (n, 256)
    out = np.empty((TABLES, len(descriptors)), dtype=np.uint32)
    for t in range(TABLES):
        out[t] = bits[:, _BIT_POSITIONS[t]].astype(np.uint32) @ _WEIGHTS
    return out


def to_bytes(w: np.ndarray) -> bytes:
    return np.ascontiguousarray(w, dtype="<u4").tobytes()


def from_bytes(value: bytes) -> np.ndarray:
    """The stored ``(TABLES, n)`` words back; malformed values give no words rather than an error."""
    if len(value) % (4 * TABLES):
        return np.zeros((TABLES, 0), dtype=np.uint32)
    arr = np.frombuffer(value, dtype="<u4")
    return arr.reshape(TABLES, -1).astype(np.uint32)


def fingerprint_gray(gray: np.ndarray) -> list[Fingerprint]:
    """The keypoint words of one decoded grey picture (nothing for a picture without keypoints)."""
    h, w = gray.shape
    scale = WORDS_SIDE / max(h, w)
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    feats = features(np.ascontiguousarray(small), WORDS_FEATURES)
    if feats.descriptors is None or len(feats.descriptors) < 8:
        return []
    return [Fingerprint(NAME, "words", to_bytes(words(feats.descriptors[:KEYPOINTS])))]
