"""Copy-move (clone) detection: parts of the picture copied elsewhere in the same picture.

The classic retouch: a crowd made bigger, a person or a weapon hidden under a patch of wall or
sky copied from nearby. We look for it the way the literature's keypoint methods do (Amerini et
al., "A SIFT-based forensic method for copy-move attack detection", 2011):

1. SIFT keypoints on the picture (reduced to ``WORK_SIDE`` on its long side; SIFT is scale- and
   rotation-invariant, and a mirrored copy is found by matching against the mirrored picture's
   descriptors too);
2. every keypoint matched against all the others; a match is kept only when it passes the
   generalised nearest-neighbour ratio test (g2NN) and lies far from its own keypoint;
3. the kept pairs are grouped by a geometric transform: RANSAC finds an affine (shift, scale,
   rotation, mirror) that many pairs share; a group needs ``MIN_INLIERS`` pairs;
4. trivial groups are dropped: the transform is near the identity, the two regions overlap,
   the scale is implausible, or the "copy" is a row of repeated things (windows, tiles, text),
   recognised because the same shift repeats in several groups or the region is tiny.

Textured areas with few keypoints (grass, gravel, foliage) are covered by the block-matching
check of ``clone_blocks`` (plain moves only). Truly flat areas (clear sky, a white wall) match
themselves everywhere and are left out on purpose, so a patch of clear sky copied over something
is missed; the reading says "nothing found", never "nothing there".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify.models import Finding

WORK_SIDE = 1600
MAX_KEYPOINTS = 6000
RATIO = 0.5  # g2NN: keep the i-th neighbour while d_i / d_{i+1} < RATIO
KNN = 8
MIN_DISTANCE_FRACTION = 0.04  # of the picture's diagonal: closer pairs are the same detail
MIN_INLIERS = 10
MAX_GROUPS = 6
RANSAC_PX = 4.0
MIN_REGION_FRACTION = 0.0015  # of the picture's area
SYMMETRY_GLIDE = 0.15  # of the region's side: a mirror with less slide is one symmetric object


@dataclass
class ClonePair:
    source: list[int]  # x, y, w, h in the full-size picture
    target: list[int]
    inliers: int
    transform: str  # "shift", "scaled", "rotated", "mirrored"
    src_points: list[tuple[float, float]] = field(default_factory=list)
    dst_points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class CloneReading:
    detected: bool
    pairs: list[ClonePair]
    scale: float  # analysed size / full size
    keypoints: int

    def to_dict(self) -> dict[str, Any]:
        return {"detected": self.detected,
                "pairs": [{"source": p.source, "target": p.target, "inliers": p.inliers, "transform": p.transform} for p in self.pairs]}  # fmt: skip


def analyse(rgb: np.ndarray, blocks: bool = False) -> CloneReading:
    """Copy-move groups in an RGB (or grey) picture array: keypoint self-matching, plus (with
    ``blocks``) the block-matching check for textured areas with few keypoints
    (``clone_blocks``), whose regions are added when the keypoints did not already report them.

    ``blocks`` is off by default: in its first round it added no detection over the keypoints on
    the sample forgeries and it reported a clone in a generated untouched picture (a false alarm
    an editor would read as evidence). It stays available for calibration (docs/forensics.md)."""
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    reading = _keypoints(grey)
    if blocks:
        _add_block_regions(reading, grey)
    return reading


def _add_block_regions(reading: CloneReading, grey: np.ndarray) -> None:
    from verify.forensics import clone_blocks

    regions, bscale = clone_blocks.analyse(grey)
    for r in regions:
        src = _scaled(r.source, 1.0 / bscale)
        dst = _scaled(r.target, 1.0 / bscale)
        a, b = _unscaled(src, 1.0), _unscaled(dst, 1.0)
        if any((_overlap(a, _unscaled(p.source, 1.0)) > 0.3 and _overlap(b, _unscaled(p.target, 1.0)) > 0.3)
               or (_overlap(a, _unscaled(p.target, 1.0)) > 0.3 and _overlap(b, _unscaled(p.source, 1.0)) > 0.3)
               for p in reading.pairs):  # fmt: skip
            continue  # the keypoints already found this pair
        up = 1.0 / bscale
        centre_s = ((r.source[0] + r.source[2]) / 2 * up, (r.source[1] + r.source[3]) / 2 * up)
        centre_d = ((r.target[0] + r.target[2]) / 2 * up, (r.target[1] + r.target[3]) / 2 * up)
        reading.pairs.append(ClonePair(src, dst, r.blocks, "shift (matching blocks)", [centre_s], [centre_d]))
    reading.detected = bool(reading.pairs)


def _keypoints(grey: np.ndarray) -> CloneReading:
    import cv2

    h, w = grey.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    sh, sw = grey.shape
    sift = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS, contrastThreshold=0.03)
    kps, desc = sift.detectAndCompute(grey, None)
    if desc is None or len(kps) < MIN_INLIERS * 2:
        return CloneReading(False, [], scale, len(kps) if kps else 0)
    pts = np.array([k.pt for k in kps], dtype=np.float32)
    min_d = MIN_DISTANCE_FRACTION * float(np.hypot(sw, sh))
    pairs = _g2nn_pairs(desc, pts, min_d)
    # Mirrored copies: descriptors of the mirrored picture, matched back to the picture.
    flipped = cv2.flip(grey, 1)
    kps_f, desc_f = sift.detectAndCompute(flipped, None)
    mirror_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if desc_f is not None and len(kps_f) > MIN_INLIERS:
        pts_f = np.array([[sw - 1 - k.pt[0], k.pt[1]] for k in kps_f], dtype=np.float32)
        mirror_pairs = _cross_pairs(desc, pts, desc_f, pts_f, min_d)
    groups = _groups(pairs, min_d) + _groups(mirror_pairs, min_d, mirrored=True)
    out = _clean(groups, sw, sh, 1.0 / scale)
    return CloneReading(bool(out), out, scale, len(kps))


def _g2nn_pairs(desc: np.ndarray, pts: np.ndarray, min_d: float) -> list[tuple[np.ndarray, np.ndarray]]:
    import cv2

    matcher = cv2.BFMatcher(cv2.NORM_L2)
    knn = matcher.knnMatch(desc, desc, k=min(KNN + 1, len(desc)))
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for row in knn:
        row = [m for m in row if m.trainIdx != m.queryIdx]
        for i in range(len(row) - 1):
            if row[i].distance >= RATIO * max(row[i + 1].distance, 1e-6):
                break
            a, b = row[i].queryIdx, row[i].trainIdx
            if np.hypot(*(pts[a] - pts[b])) < min_d:
                continue
            pa, pb = tuple(np.round(pts[a]).astype(int)), tuple(np.round(pts[b]).astype(int))
            key = (min(pa, pb), max(pa, pb))  # SIFT repeats a point with several orientations
            if key in seen:
                continue
            seen.add(key)
            out.append((pts[a], pts[b]))
    return out


def _cross_pairs(desc: np.ndarray, pts: np.ndarray, desc_f: np.ndarray, pts_f: np.ndarray, min_d: float) -> list[tuple[np.ndarray, np.ndarray]]:
    import cv2

    matcher = cv2.BFMatcher(cv2.NORM_L2)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for row in matcher.knnMatch(desc, desc_f, k=2):
        if len(row) < 2 or row[0].distance >= RATIO * max(row[1].distance, 1e-6):
            continue
        a, b = pts[row[0].queryIdx], pts_f[row[0].trainIdx]
        if np.hypot(*(a - b)) >= min_d:
            out.append((a, b))
    return out


def _groups(pairs: list[tuple[np.ndarray, np.ndarray]], min_d: float, mirrored: bool = False) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Repeated RANSAC: each round takes the largest group of pairs that one affine explains.

    Each pair is oriented one way before fitting (else a reflection that swaps every pair with
    its partner explains them all): first left-to-right, then top-to-bottom, keeping whichever
    orientation explains more, so moves in any direction are found. A group's transform must
    keep the orientation of the pass (no reflection in the plain pass, one in the mirror pass).
    """
    import cv2

    if len(pairs) < MIN_INLIERS:
        return []
    a = np.array([p[0] for p in pairs], dtype=np.float32)
    b = np.array([p[1] for p in pairs], dtype=np.float32)
    alive = np.ones(len(a), dtype=bool)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(MAX_GROUPS * 2):
        idx = np.flatnonzero(alive)
        if len(idx) < MIN_INLIERS:
            break
        best: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        for axis in (0, 1):
            swap = (b[idx, axis] - a[idx, axis]) < 0
            src = np.where(swap[:, None], b[idx], a[idx])
            dst = np.where(swap[:, None], a[idx], b[idx])
            m, mask = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                           maxIters=2000, confidence=0.99)  # fmt: skip
            if m is None or mask is None:
                continue
            if (np.linalg.det(m[:, :2]) < 0) != mirrored:
                continue
            keep = mask.ravel().astype(bool)
            if best is None or keep.sum() > best[3].sum():
                best = (src[keep], dst[keep], m, keep)
        if best is None or best[3].sum() < MIN_INLIERS:
            break
        out.append(best[:3])
        alive[idx[best[3]]] = False
    return out


def _describe(m: np.ndarray) -> tuple[str, float, float, bool]:
    a = m[:, :2]
    det = float(np.linalg.det(a))
    sx = float(np.sqrt(abs(det)))
    flip = det < 0
    r = a @ np.diag([-1.0, 1.0]) if flip else a  # a mirror: measure the rotation after undoing it
    angle = float(np.degrees(np.arctan2(r[1, 0], r[0, 0])))
    if flip:
        kind = "mirrored"
    elif abs(sx - 1) > 0.04:
        kind = "scaled"
    elif abs(angle) > 3:
        kind = "rotated"
    else:
        kind = "shift"
    return kind, sx, angle, flip


def _glide(m: np.ndarray) -> float:
    """The slide along the mirror line of a reflecting affine, in pixels.

    A symmetric object maps onto itself by a pure reflection (no slide); a mirrored copy pasted
    elsewhere almost always also slides along the mirror line.
    """
    a = m[:, :2] / max(1e-9, float(np.sqrt(abs(np.linalg.det(m[:, :2])))))
    theta = float(np.arctan2(a[1, 0], a[0, 0])) / 2
    return float(m[0, 2] * np.cos(theta) + m[1, 2] * np.sin(theta))


def _box(points: np.ndarray, pad: float, w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0 = points.min(axis=0) - pad
    x1, y1 = points.max(axis=0) + pad
    return max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / small if small > 0 else 1.0


def _clean(groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]], w: int, h: int, up: float) -> list[ClonePair]:
    out: list[ClonePair] = []
    shifts: list[np.ndarray] = []
    pad = 0.01 * max(w, h)
    for s, d, m in groups:
        kind, sx, angle, flip = _describe(m)
        if not 0.75 <= sx <= 1.33 or abs(angle) > 30:
            continue  # a copy that much changed is more likely two similar things
        a, b = _box(s, pad, w, h), _box(d, pad, w, h)
        if _overlap(a, b) > 0.5:
            continue
        area = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
        if area < MIN_REGION_FRACTION * w * h:
            continue
        if flip and abs(_glide(m)) < SYMMETRY_GLIDE * np.sqrt(area):
            continue  # a pure reflection: the two halves of one symmetric thing (a butterfly, a face, a facade)
        # The same pair of regions seen again in the other direction, or by the mirror pass.
        if any(_overlap(a, _unscaled(p.target, up)) > 0.5 and _overlap(b, _unscaled(p.source, up)) > 0.5 for p in out) or \
           any(_overlap(a, _unscaled(p.source, up)) > 0.5 and _overlap(b, _unscaled(p.target, up)) > 0.5 for p in out):  # fmt: skip
            continue
        shift = np.median(d - s, axis=0)
        shifts.append(shift)
        # Order each pair so the source is left of (or above) the target: a stable reading.
        if (a[0], a[1]) > (b[0], b[1]):
            a, b, s, d = b, a, d, s
        out.append(ClonePair(_scaled(a, up), _scaled(b, up), len(s), kind,
                             [tuple(map(float, p * up)) for p in s[:200]], [tuple(map(float, p * up)) for p in d[:200]]))  # fmt: skip
    # Repeated patterns (windows, tiles, fences) produce several groups with the same shift.
    if len(shifts) >= 3:
        arr = np.array(shifts)
        repeated = [i for i in range(len(arr)) if np.sum(np.hypot(*(arr - arr[i]).T) < 0.02 * max(w, h)) >= 3]
        out = [p for i, p in enumerate(out) if i not in repeated]
    return out


def _scaled(box: tuple[float, float, float, float], up: float) -> list[int]:
    x0, y0, x1, y1 = box
    return [int(round(x0 * up)), int(round(y0 * up)), int(round((x1 - x0) * up)), int(round((y1 - y0) * up))]


def _unscaled(box: list[int], up: float) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return x / up, y / up, (x + w) / up, (y + h) / up


def draw(rgb_image: Any, reading: CloneReading) -> Any:
    """The picture with each pair drawn: source box, target box, and lines between matched points."""
    from PIL import ImageDraw

    im = rgb_image.convert("RGB").copy()
    dr = ImageDraw.Draw(im)
    width = max(2, im.width // 300)
    colours = [(255, 40, 40), (40, 200, 255), (255, 200, 0), (120, 255, 80), (255, 80, 255), (255, 140, 0)]
    for i, p in enumerate(reading.pairs):
        c = colours[i % len(colours)]
        for box in (p.source, p.target):
            x, y, w, h = box
            dr.rectangle([x, y, x + w, y + h], outline=c, width=width)
        for a, b in list(zip(p.src_points, p.dst_points))[:40]:
            dr.line([a, b], fill=c, width=1)
        dr.text((p.source[0] + 4, p.source[1] + 4), f"{i + 1}", fill=c)
        dr.text((p.target[0] + 4, p.target[1] + 4), f"{i + 1}'", fill=c)
    return im


def findings(r: CloneReading | None, reduced: bool = False) -> list[Finding]:
    if r is None:
        return []
    if not r.detected:
        return []
    kinds = ", ".join(sorted({p.transform for p in r.pairs}))
    boxes = "; ".join(f"{i + 1}: {p.source} -> {p.target} ({p.inliers} matching {'blocks' if 'blocks' in p.transform else 'points'}, {p.transform})" for i, p in enumerate(r.pairs[:4]))
    return [Finding("clone_detected", "red_flag" if any(p.inliers >= (200 if "blocks" in p.transform else 25) for p in r.pairs) else "caution",
                    f"Part of the picture appears copied elsewhere in it ({len(r.pairs)} region pair{'s' if len(r.pairs) > 1 else ''})",
                    f"Matching detail in two places, related by one {kinds} transform: {boxes} (x, y, width, height in pixels). "
                    "Look at both regions on the picture: a patch copied to hide or add something, or two genuinely "
                    "similar things (a repeated sign, identical objects). Only the editor's eye can tell which.")]  # fmt: skip
