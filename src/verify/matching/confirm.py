"""Confirming a hash candidate by geometry: do the two pictures share a planar layout of keypoints?

Hashes shortlist; this decides. ORB keypoints on a grey copy about 640 pixels wide, matched with
Lowe's ratio test, then a RANSAC homography. A re-post of the same picture (cropped, scaled,
rotated a few degrees, framed, captioned, recompressed, colour-graded) keeps dozens to hundreds of
keypoints in one consistent geometry; two different pictures rarely keep more than a handful, and
those scattered. A mirrored copy is compared mirrored. The homography must also be plausible (no
reflection, sane scale, near-affine) and the inliers must spread over a real part of both pictures,
so a shared logo or a UI bar cannot confirm on its own.

Archive features are cached (LRU) by file and frame time: the same originals come up again and again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from verify.fingerprints.orb import WORK_SIDE, Features, features, work_copy
from verify.media import decode_reduced, sniff_file, video_frame_at

#: ORB keypoints per query picture and per archive picture (matching cost is their product).
QUERY_FEATURES = 1000
#: Keypoints used by the quick check that screens the extended shortlist.
QUICK_FEATURES = 300
#: Quick-check inliers that earn a full comparison.
QUICK_INLIERS = 8
#: Lowe's ratio test.
RATIO = 0.8
#: RANSAC reprojection tolerance in pixels of the work copy.
REPROJ_PX = 6.0
#: Inliers needed to call two pictures the same (confident) and to think it worth a look.
CONFIRM_INLIERS = 25
CANDIDATE_INLIERS = 10
#: The inliers must spread over at least this share of each picture (5-95 percentile box): a
#: shared logo or UI element covers less. The query side may be small (a photo in a screenshot).
MIN_SPREAD_ARCHIVE = 0.03
MIN_SPREAD_QUERY = 0.01
#: Homography sanity: scale between the pictures and the perspective terms.
SCALE_RANGE = (0.12, 8.0)
MAX_PERSPECTIVE = 0.003
#: Perspective may shorten a side of the archive picture to this share of its opposite side.
MAX_FORESHORTENING = 0.25

_MAX_PIXELS = 400_000_000  # files here were already validated on ingest or by the caller


@dataclass(frozen=True)
class Geometry:
    """The outcome of one comparison."""

    inliers: int
    good_matches: int
    spread_query: float
    spread_archive: float
    mirrored: bool
    plausible: bool

    @property
    def confirmed(self) -> bool:
        return self.plausible and self.inliers >= CONFIRM_INLIERS

    @property
    def promising(self) -> bool:
        return self.plausible and self.inliers >= CANDIDATE_INLIERS


NO_GEOMETRY = Geometry(0, 0, 0.0, 0.0, False, False)


def load_gray(path: Path, time_s: float | None = None, *, full: bool = False) -> np.ndarray:
    """A grey work copy of an image file, or of the video frame at ``time_s``.

    ``full`` keeps up to twice the work size, so that a region (the photo inside a screenshot) can
    be cut out and still be sharp.
    """
    kind = sniff_file(path).kind
    if kind == "video":
        im = video_frame_at(path, time_s or 0.0).convert("L")
    else:
        im = decode_reduced(path, _MAX_PIXELS, target=WORK_SIDE if full else WORK_SIDE // 2, mode="L")
    arr = np.asarray(im)
    if full:
        h, w = arr.shape
        scale = 2 * WORK_SIDE / max(h, w)
        if scale < 1:
            arr = cv2.resize(arr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(arr)
    return work_copy(arr)


def region_of(gray: np.ndarray, region: str) -> np.ndarray:
    """The part of a query the hashes matched: the whole, borders trimmed, or the inner photo.

    Boxes are found on the same small view the fingerprints used, then scaled up.
    """
    if region == "full":
        return gray
    from verify.fingerprints import hash_view
    from verify.fingerprints.views import inner_box, strip_box, trim_box

    small = hash_view(gray)
    box = {"trim": trim_box, "inner": inner_box, "strip": strip_box}.get(region, trim_box)(small)
    if box is None:
        return gray
    sy, sx = gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1]
    t, b, l, r = box
    return gray[int(t * sy) : int(b * sy), int(l * sx) : int(r * sx)]


def _spread(points: np.ndarray, shape: tuple[int, int]) -> float:
    if len(points) == 0:
        return 0.0
    lo, hi = np.percentile(points, 5, axis=0), np.percentile(points, 95, axis=0)
    w, h = hi - lo
    return float(max(0.0, w) * max(0.0, h) / (shape[0] * shape[1]))


_MATCHER = threading.local()


def _bf() -> cv2.BFMatcher:
    m = getattr(_MATCHER, "bf", None)
    if m is None:
        m = _MATCHER.bf = cv2.BFMatcher(cv2.NORM_HAMMING)
    return m


def _head(f: Features, n: int) -> Features:
    return Features(f.points[:n], None if f.descriptors is None else f.descriptors[:n], f.shape)


def compare(query: Features, archive: Features, *, mirrored: bool = False, quick: bool = False) -> Geometry:
    """Keypoint geometry between a query and an archive picture (``quick``: strongest keypoints only)."""
    if quick:
        query, archive = _head(query, QUICK_FEATURES), _head(archive, QUICK_FEATURES)
    if query.descriptors is None or archive.descriptors is None or len(query.points) < 8 or len(archive.points) < 8:
        return Geometry(0, 0, 0.0, 0.0, mirrored, False)
    pairs = _bf().knnMatch(query.descriptors, archive.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 8:
        return Geometry(0, len(good), 0.0, 0.0, mirrored, False)
    src = query.points[[m.queryIdx for m in good]]
    dst = archive.points[[m.trainIdx for m in good]]
    if len(good) < (QUICK_INLIERS if quick else CANDIDATE_INLIERS):
        return Geometry(0, len(good), 0.0, 0.0, mirrored, False)
    # USAC (OpenCV's modern RANSAC) finds the same homography as classic RANSAC in a fraction of
    # the time when most matches are wrong, which is the common case (different pictures).
    H, mask = cv2.findHomography(src, dst, cv2.USAC_FAST, REPROJ_PX, maxIters=2000, confidence=0.995)
    if H is None or mask is None:
        return Geometry(0, len(good), 0.0, 0.0, mirrored, False)
    inl = mask.ravel().astype(bool)
    n = int(inl.sum())
    sq, sa = _spread(src[inl], query.shape), _spread(dst[inl], archive.shape)
    det = float(np.linalg.det(H[:2, :2]))
    scale = np.sqrt(det) if det > 0 else 0.0
    plausible = (
        det > 0
        and SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]
        and abs(H[2, 0]) < MAX_PERSPECTIVE
        and abs(H[2, 1]) < MAX_PERSPECTIVE
        and sq >= MIN_SPREAD_QUERY
        and sa >= MIN_SPREAD_ARCHIVE
        and _real_view(H, archive.shape)
    )
    return Geometry(n, len(good), round(sq, 3), round(sa, 3), mirrored, plausible)


def _real_view(H: np.ndarray, shape: tuple[int, int]) -> bool:
    """Could a camera or an editor have produced this homography? The archive picture, mapped into
    the query, must stay a convex four-sided shape (a tilted screen is one; a homography folding
    the picture over itself is RANSAC fitting noise), and its sides may shrink by perspective
    to no less than a quarter of the opposite side (MAX_FORESHORTENING).

    This is what lets confirmation accept real perspective (a photo of a screen, a picture on a
    small part of a collage) without accepting arbitrary warps.
    """
    h, w = shape
    try:
        inv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return False
    corners = np.float32([[[0, 0]], [[w, 0]], [[w, h]], [[0, h]]])
    denom = inv[2, 0] * corners[:, 0, 0] + inv[2, 1] * corners[:, 0, 1] + inv[2, 2]
    if np.any(denom <= 0):  # a corner behind the camera: not a view of a flat picture
        return False
    q = cv2.perspectiveTransform(corners, inv).reshape(4, 2)
    if not cv2.isContourConvex(q.astype(np.float32)):
        return False
    sides = np.linalg.norm(q - np.roll(q, -1, axis=0), axis=1)
    top, right, bottom, left = sides
    return bool(min(top, bottom) >= MAX_FORESHORTENING * max(top, bottom) and min(left, right) >= MAX_FORESHORTENING * max(left, right))


class FeatureCache:
    """Keypoints of archive originals (and frames), least recently used dropped first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, float | None], Features | None] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: tuple[str, float | None]) -> Features | None:
        """Cached features, or ``None`` when not cached (or cached as unreadable)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: tuple[str, float | None], feats: Features) -> Features:
        with self._lock:
            self._data[key] = feats
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return feats

    def get(self, key: tuple[str, float | None], load: Callable[[], np.ndarray]) -> Features | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        try:
            feats: Features | None = features(load())
        except Exception:  # a missing or unreadable original cannot confirm anything
            feats = None
        with self._lock:
            self._data[key] = feats
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return feats


class QueryFeatures:
    """The query's keypoints, computed on demand per frame time, region and orientation."""

    def __init__(self, path: Path | None, regions: tuple[str, ...] = ("full",), *, gray: np.ndarray | None = None) -> None:
        self.path = path
        #: The query regions that were hashed (``full``, ``trim``, ``inner``, ``strip``).
        self.regions = regions
        self._gray: dict[float | None, np.ndarray | None] = {}
        if gray is not None:  # a query derived from the file (a region of it, rectified, turned)
            self._gray[None] = gray
        self._feats: dict[tuple[float | None, str, bool, float], Features | None] = {}

    def gray(self, time_s: float | None = None) -> np.ndarray | None:
        """The grey copy keypoints are found on (up to twice the work size), loaded once."""
        if self.path is None:
            return None
        if time_s not in self._gray:
            try:
                self._gray[time_s] = load_gray(self.path, time_s, full=True)
            except Exception:
                self._gray[time_s] = None
        return self._gray[time_s]

    def get(self, time_s: float | None, mirrored: bool, region: str = "full", scale: float = 1.0) -> Features | None:
        """Keypoints of one region and orientation; ``scale`` < 1 finds them on a smaller copy
        (a tight crop shown large matches the archive's small keypoint-word copy better)."""
        if self.path is None:
            return None
        key = (time_s, region, mirrored, scale)
        if key not in self._feats:
            gray = self.gray(time_s)
            if gray is None:
                self._feats[key] = None
            else:
                view = work_copy(region_of(gray, region))
                if scale != 1.0:
                    h, w = view.shape
                    view = cv2.resize(view, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
                self._feats[key] = features(np.ascontiguousarray(view[:, ::-1]) if mirrored else view, QUERY_FEATURES)
        return self._feats[key]


def confirm(
    query: QueryFeatures,
    archive: Features | None,
    *,
    time_s: float | None,
    mirror_first: bool,
    regions: tuple[str, ...] = ("full",),
    screen_only: bool = False,
) -> Geometry:
    """Compare a query with an archive picture.

    A quick look (strongest keypoints only) at each orientation of each query region (the whole,
    borders trimmed, the photo inside a screenshot, caption bands stripped) picks the most
    promising pairings; only the best two get the full comparison. Hashes can point to the wrong
    orientation or region, and a caption's text grabs the strongest keypoints of the whole query,
    so every region is looked at. With ``screen_only`` the quick look alone answers (``plausible``
    means promising), for items beyond the shortlist.
    """
    if archive is None:
        return NO_GEOMETRY
    looks: list[tuple[int, bool, str]] = []
    for mirrored in (mirror_first, not mirror_first):
        for reg in regions:
            q = query.get(time_s, mirrored, reg)
            if q is None:
                return NO_GEOMETRY
            looks.append((compare(q, archive, mirrored=mirrored, quick=True).inliers, mirrored, reg))
    looks.sort(key=lambda x: -x[0])
    if screen_only:
        inliers, mirrored, _ = looks[0]
        return Geometry(inliers, 0, 0.0, 0.0, mirrored, inliers >= QUICK_INLIERS)
    best = NO_GEOMETRY
    for k, (inliers, mirrored, reg) in enumerate(looks[:2]):
        if k and inliers < QUICK_INLIERS:
            break
        q = query.get(time_s, mirrored, reg)
        assert q is not None
        g = compare(q, archive, mirrored=mirrored)
        if g.confirmed:
            return g
        if (g.plausible, g.inliers) > (best.plausible, best.inliers):
            best = g
    return best
