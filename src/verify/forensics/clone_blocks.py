"""Copy-move by block matching: the check for textured areas with few keypoints.

SIFT (``clone.py``) needs corners and blobs; a patch of grass, gravel, foliage, water or a rough
wall copied over something has few of them, and the keypoint reading misses it. The classic
answer (Fridrich, Soukal and Lukáš, "Detection of copy-move forgery in digital images", 2003) is
to compare every overlapping block with every other:

1. the grey picture reduced to ``WORK_SIDE`` on its long side, cut into ``BLOCK`` x ``BLOCK``
   blocks every ``STEP`` pixels; each block described by its lowest DCT frequencies (robust to
   the re-save that follows a retouch);
2. blocks without texture are dropped before matching: a clear sky, a white wall or a smooth
   gradient matches itself everywhere (the trivial pairs), so a block needs detail beyond its
   mean and its slope (``MIN_TEXTURE``);
3. each block's nearest neighbours in feature space (a k-d tree), kept when close and far apart
   in the picture; each kept pair votes for its shift vector;
4. a shift shared by many blocks that form one connected region of at least
   ``MIN_REGION_FRACTION`` of the picture is a copied region; shifts that repeat at multiples of
   one another (tiles, fences, brickwork) and regions that are mostly one repeating pattern are
   dropped as trivial.

Only plain moves are found here (a block-wise comparison does not survive rotation or scaling);
the keypoint reading covers those. Mirrored blocks are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORK_SIDE = 640
BLOCK = 16
STEP = 2
FEATURES = 10  # lowest zigzag DCT coefficients of a block
MAX_FEATURE_DISTANCE = 2.0  # grey levels (orthonormal DCT / block side): near-identical blocks only
MIN_TEXTURE = 3.0  # grey levels of detail beyond mean and slope: flatter blocks are trivial
NEIGHBOURS = 6
MIN_SHIFT_FRACTION = 0.04  # of the diagonal, like the keypoint reading
MIN_REGION_FRACTION = 0.01  # of the picture's area
SHIFT_TOLERANCE = 2  # pixels (at the working size): the reduction blurs an exact shift by a pixel
MAX_PEAKS = 8


@dataclass
class BlockRegion:
    source: tuple[float, float, float, float]  # x0, y0, x1, y1 in working pixels
    target: tuple[float, float, float, float]
    blocks: int
    shift: tuple[float, float]


def _dct16() -> np.ndarray:
    n = BLOCK
    k = np.arange(n)
    d = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / (2 * n)) * np.sqrt(2 / n)
    d[0] /= np.sqrt(2)
    return d


def _zigzag(n: int, count: int) -> list[tuple[int, int]]:
    order = sorted(((i, j) for i in range(n) for j in range(n)), key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]))
    return order[:count]


def analyse(grey: np.ndarray) -> tuple[list[BlockRegion], float]:
    """Copied regions (plain moves) in a grey picture; returns them in working pixels and the
    working scale (working size / given size)."""
    import cv2
    from scipy.spatial import cKDTree

    h, w = grey.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    g = cv2.resize(grey, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else grey
    g = g.astype(np.float32)
    sh, sw = g.shape
    if sh < 4 * BLOCK or sw < 4 * BLOCK:
        return [], scale
    # Each wanted DCT coefficient of every overlapping block at once, as a correlation of the
    # picture with that coefficient's 16 x 16 basis image (cheap next to a full DCT per block).
    d = _dct16()
    zz = _zigzag(BLOCK, FEATURES)
    planes = []
    for i, j in zz:
        kernel = np.outer(d[i], d[j]).astype(np.float32) / BLOCK
        planes.append(cv2.filter2D(g, -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[: sh - BLOCK + 1 : STEP, : sw - BLOCK + 1 : STEP])
    coef = np.stack(planes, axis=-1)
    box = np.ones((BLOCK, BLOCK), np.float32) / (BLOCK * BLOCK)
    energy = cv2.filter2D(g * g, -1, box, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[: sh - BLOCK + 1 : STEP, : sw - BLOCK + 1 : STEP]
    rows, cols = coef.shape[:2]
    low = (coef[:, :, :3] ** 2).sum(axis=-1)  # mean and slope
    texture = np.sqrt(np.maximum(energy - low, 0.0))
    feats = coef.reshape(-1, FEATURES)
    ys, xs = np.mgrid[0:rows, 0:cols]
    pos = np.stack([xs.ravel() * STEP, ys.ravel() * STEP], axis=1).astype(np.float32)
    keep = texture.ravel() >= MIN_TEXTURE
    if keep.sum() < 50:
        return [], scale
    feats, pos = feats[keep], pos[keep]
    tree = cKDTree(feats)
    dist, idx = tree.query(feats, k=NEIGHBOURS + 1, distance_upper_bound=MAX_FEATURE_DISTANCE)
    a = np.repeat(np.arange(len(feats)), NEIGHBOURS + 1)
    b = idx.ravel()
    ok = (b < len(feats)) & (b != a)
    a, b = a[ok], b[ok]
    shift = pos[b] - pos[a]
    # One orientation per pair: the shift points right (or down when purely vertical).
    flip = (shift[:, 0] < 0) | ((shift[:, 0] == 0) & (shift[:, 1] < 0))
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    shift = np.where(flip[:, None], -shift, shift)
    min_shift = MIN_SHIFT_FRACTION * float(np.hypot(sw, sh))
    far = np.hypot(shift[:, 0], shift[:, 1]) >= min_shift
    a, b, shift = a[far], b[far], shift[far]
    if len(a) == 0:
        return [], scale
    # Vote for shifts on a grid of SHIFT_TOLERANCE pixels, then gather the votes around a peak.
    t = SHIFT_TOLERANCE
    key = np.round(shift / t).astype(np.int64)
    kx, ky = key[:, 0] - key[:, 0].min(), key[:, 1] - key[:, 1].min()
    width = int(ky.max()) + 1
    flat_key = kx * width + ky
    uniq, counts = np.unique(flat_key, return_counts=True)
    min_blocks = max(20, int(MIN_REGION_FRACTION * sw * sh / (STEP * STEP) * 0.25))
    order = np.argsort(-counts)
    regions: list[BlockRegion] = []
    peaks: list[np.ndarray] = []
    for u in uniq[order][: MAX_PEAKS * 3]:
        centre = np.median(shift[flat_key == u], axis=0)
        near = np.max(np.abs(shift - centre), axis=1) <= t
        if near.sum() < min_blocks:
            break
        if any(np.max(np.abs(centre - p)) <= 2 * t for p in peaks):
            continue
        peaks.append(centre)
        region = _region(pos[a[near]], pos[b[near]], sw, sh, min_blocks)
        if region is not None:
            regions.append(BlockRegion(region[0], region[1], region[2], (float(centre[0]), float(centre[1]))))
        if len(peaks) >= MAX_PEAKS:
            break
    return _drop_repeats(regions, peaks, t), scale


def _region(src: np.ndarray, dst: np.ndarray, w: int, h: int, min_blocks: int) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float], int] | None:
    """The largest connected region of matching source blocks, with its target."""
    import cv2

    mask = np.zeros((h // STEP + 1, w // STEP + 1), dtype=np.uint8)
    cells = (src / STEP).astype(int)
    mask[cells[:, 1], cells[:, 0]] = 1
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    lab = labels[cells[:, 1], cells[:, 0]]
    best = int(np.argmax(np.bincount(lab, minlength=n)[1:])) + 1
    sel = lab == best
    if sel.sum() < min_blocks:
        return None
    s, d = src[sel], dst[sel]
    box_s = (float(s[:, 0].min()), float(s[:, 1].min()), float(s[:, 0].max() + BLOCK), float(s[:, 1].max() + BLOCK))
    box_d = (float(d[:, 0].min()), float(d[:, 1].min()), float(d[:, 0].max() + BLOCK), float(d[:, 1].max() + BLOCK))
    area = (box_s[2] - box_s[0]) * (box_s[3] - box_s[1])
    if area < MIN_REGION_FRACTION * w * h:
        return None
    # A region must be filled with matches, not a loose scatter along a pattern.
    cover = sel.sum() * STEP * STEP / max(area, 1.0)
    if cover < 0.4:
        return None
    return box_s, box_d, int(sel.sum())


def _drop_repeats(regions: list[BlockRegion], peaks: list[np.ndarray], t: float) -> list[BlockRegion]:
    """Repeated patterns (tiles, fences, brickwork, rows of windows) match at a shift and at its
    multiples, or at several shifts at once; a single retouch makes one shift."""
    out = []
    for r in regions:
        s = np.array(r.shift)
        multiples = sum(1 for p in peaks for m in (0.5, 2.0, 3.0) if np.max(np.abs(p - m * s)) <= 2 * t)
        if multiples:
            continue
        out.append(r)
    if len(out) >= 4:  # many unrelated strong shifts: a texture matching itself everywhere
        return []
    return out
