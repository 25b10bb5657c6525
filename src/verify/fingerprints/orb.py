"""ORB keypoints on a grey work copy: shared by the keypoint fingerprint (archive side, at ingest)
and by geometric confirmation (both sides, at match time), so both see the same keypoints."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

#: Long side of the grey copy keypoints are found on.
WORK_SIDE = 640
#: ORB keypoints kept per archive picture.
ARCHIVE_FEATURES = 800


@dataclass(frozen=True)
class Features:
    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray | None  # (n, 32) uint8
    shape: tuple[int, int]  # (h, w) of the work copy


def work_copy(gray: np.ndarray) -> np.ndarray:
    """Scaled to about ``WORK_SIDE`` x 3/4 of it in area (so a tall screenshot keeps its width)."""
    h, w = gray.shape
    scale = min(WORK_SIDE * 1.6 / max(h, w), (WORK_SIDE * WORK_SIDE * 0.75 / (h * w)) ** 0.5)
    if scale < 1:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


_ORB = threading.local()


def _orb(n: int) -> cv2.ORB:
    cache = getattr(_ORB, "orbs", None)
    if cache is None:
        cache = _ORB.orbs = {}
    if n not in cache:
        cache[n] = cv2.ORB_create(nfeatures=n, fastThreshold=12)
    return cache[n]


def features(gray: np.ndarray, n: int = ARCHIVE_FEATURES) -> Features:
    """ORB keypoints, strongest first (so a quick check can use the first ``QUICK_FEATURES``)."""
    kps, desc = _orb(n).detectAndCompute(gray, None)
    if desc is None or not kps:
        return Features(np.zeros((0, 2), np.float32), None, gray.shape[:2])
    pts = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    response = np.array([k.response for k in kps], dtype=np.float32)
    # Strongest first, but spread over a 6x6 grid: the 1st of every cell, then the 2nd... so the
    # quick check's head is not all caption text (text corners are the strongest keypoints).
    h, w = gray.shape[:2]
    cell = (np.minimum(pts[:, 1] * 6 // max(1, h), 5) * 6 + np.minimum(pts[:, 0] * 6 // max(1, w), 5)).astype(np.int32)
    by_cell = np.lexsort((-response, cell))
    rank = np.empty(len(kps), dtype=np.int32)
    starts = np.r_[0, np.flatnonzero(np.diff(cell[by_cell])) + 1]
    counts = np.diff(np.r_[starts, len(kps)])
    rank[by_cell] = np.arange(len(kps)) - np.repeat(starts, counts)
    order = np.lexsort((-response, rank))
    pts = pts[order]
    return Features(pts, np.ascontiguousarray(desc[order]), gray.shape[:2])


