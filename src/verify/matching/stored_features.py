"""Archive keypoints stored at ingest, so confirming a match touches no archive image file.

Keypoint confirmation compares the query's ORB keypoints with an archive picture's. Those used to
be computed at query time by decoding the archive original (10-30 ms each, up to 40 per query,
cached in memory): at archive scale the cache misses and a query reads dozens of originals. Now
``analyse`` computes them once at ingest, on exactly the copy confirmation would decode
(``confirm.load_gray``: same decode, same ORB), and the store keeps them in ``item_features``
(a derived record: the original is never touched, and a missing record falls back to decoding).

Compact: per keypoint its position in 1/16 pixel as two ``uint16`` and its 32-byte descriptor:
36 bytes, about 29 kB per picture for 800 keypoints (29 GB per million pictures, in the database,
read only for the handful of shortlisted items per query).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from verify.fingerprints.orb import Features

#: The record's format: a change means a new version, and old records are recomputed or ignored.
VERSION = "orb800-v1"
_HEAD = struct.Struct("<HHH")  # keypoints, height, width
_SCALE = 16.0


def compute(path: Path) -> bytes | None:
    """The archive-side confirmation features of an image file, packed (``None``: nothing to store)."""
    from verify.fingerprints.orb import features
    from verify.matching.confirm import load_gray

    return pack(features(load_gray(Path(path))))


def pack(f: Features) -> bytes | None:
    h, w = f.shape
    if f.descriptors is None or len(f.points) == 0 or max(h, w) * _SCALE >= 65535:
        return None
    pts = np.clip(np.rint(f.points * _SCALE), 0, 65535).astype("<u2")
    return _HEAD.pack(len(pts), h, w) + pts.tobytes() + np.ascontiguousarray(f.descriptors, dtype=np.uint8).tobytes()


def unpack(data: bytes) -> Features | None:
    """The stored features back; a malformed record gives ``None`` (the original is decoded instead)."""
    try:
        n, h, w = _HEAD.unpack_from(data)
        if len(data) != _HEAD.size + n * 4 + n * 32:
            return None
        pts = np.frombuffer(data, "<u2", n * 2, _HEAD.size).reshape(n, 2).astype(np.float32) / _SCALE
        desc = np.frombuffer(data, np.uint8, n * 32, _HEAD.size + n * 4).reshape(n, 32)
    except (struct.error, ValueError):
        return None
    return Features(pts, np.ascontiguousarray(desc), (h, w))
