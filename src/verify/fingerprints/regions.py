"""Where the pictures are inside a picture: collage tiles, the halves of a side-by-side, the photo on a
web page, the screen in a photo of a screen.

Recycled pictures travel inside other pictures: a 2x2 or 3x3 grid, an uneven mosaic, a labelled
"then and now", a screenshot of an article. The whole query's hashes then describe the collage,
not the picture, and its keypoints are shared among several pictures. The matcher therefore asks
this module for the query's *regions* and runs each as a query of its own.

Three cues, all cheap on a small grey copy:

- **gutters and margins**: rows or columns of one colour across the part being split (any colour,
  any width), found recursively (an XY cut), so a grid, a mosaic or a page layout falls apart
  into its blocks;
- **seams**: a straight line where the picture jumps at almost every pixel along it (two photos
  butted together without a gutter); inside one photo, neighbouring columns differ a little, and
  no natural edge runs dead straight through the whole picture;
- **quadrilaterals**: strong closed edges with four corners (a pasted rectangle on a busy
  background, a screen photographed at an angle): see ``quads``.

Boxes are ``(x, y, w, h)`` in the pixels of the array given.
"""

from __future__ import annotations

import cv2
import numpy as np

XYWH = tuple[int, int, int, int]

#: Long side of the grey copy regions are searched on.
SEARCH_SIDE = 480
#: A row or column is a gutter when this share of its pixels sit within ``_TOL`` of its median.
_CLEAN_SHARE = 0.96
_TOL = 6
#: A region must be at least this share of each side and of the area of the query.
MIN_SIDE = 0.12
MIN_AREA = 0.025
#: A seam column jumps by at least this much (median over its rows) and this many times its neighbours.
SEAM_MIN = 14.0
SEAM_RATIO = 3.0
#: At most this many regions are returned (largest first): a fan-out must stay bounded.
MAX_REGIONS = 16


def _clean(lines: np.ndarray) -> np.ndarray:
    """Which rows of ``lines`` (n, m) are of one colour (a gutter or margin)."""
    med = np.median(lines, axis=1, keepdims=True)
    return (np.abs(lines - med) <= _TOL).mean(axis=1) >= _CLEAN_SHARE


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of False (content) between True (gutter) values, as (start, stop)."""
    out = []
    start = None
    for i, v in enumerate(mask.tolist()):
        if not v and start is None:
            start = i
        elif v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


def _seams(g: np.ndarray, axis: int) -> list[tuple[int, float]]:
    """Straight seams across ``g`` (columns for ``axis=1``, rows for ``axis=0``): (position, strength)."""
    a = g if axis == 1 else g.T
    if a.shape[1] < 20:
        return []
    jump = np.abs(a[:, 2:] - a[:, :-2])  # two pixels apart: a resized seam is blurred over one or two
    score = np.median(jump, axis=0)
    base = np.median(score)
    out = []
    n = len(score)
    for i in range(3, n - 3):
        s = score[i]
        if s < SEAM_MIN or s < SEAM_RATIO * max(base, 2.0):
            continue
        if s < score[i - 3 : i + 4].max():
            continue
        around = np.r_[score[max(0, i - 8) : i - 2], score[i + 3 : i + 9]]
        if around.size and s < SEAM_RATIO * max(float(np.median(around)), 2.0):
            continue
        if out and i + 1 - out[-1][0] <= 3:
            continue  # the same seam, a plateau of equal scores
        out.append((i + 1, float(s)))
    return out


def _clean_lines(g: np.ndarray, axis: int) -> np.ndarray:
    clean = _clean(g) if axis == 0 else _clean(g.T)
    # a lone one-colour line inside a photo is not a gutter (thin gutters show as seams)
    lone = clean & ~np.r_[False, clean[:-1]] & ~np.r_[clean[1:], False]
    return clean & ~lone


def _split(g: np.ndarray, x: int, y: int, depth: int, out: list[XYWH], min_w: int, min_h: int) -> None:
    """XY cut: margins off, then split at inner gutters (rows, then columns), else at seams; recursively.

    Every piece is kept as a candidate, not only the leaves: a photo with a straight edge of its
    own (a wall, a horizon) may split further, and the matcher ranks all of them by their hashes.
    """
    h, w = g.shape
    if h < min_h or w < min_w or depth <= 0:
        return
    # margins: one-colour rows and columns at the edges
    rows, cols = _clean_lines(g, 0), _clean_lines(g, 1)
    t = int(np.argmin(rows)) if not rows.all() else h
    b = h - int(np.argmin(rows[::-1])) if not rows.all() else h
    lft = int(np.argmin(cols)) if not cols.all() else w
    r = w - int(np.argmin(cols[::-1])) if not cols.all() else w
    if b - t < min_h or r - lft < min_w:
        return
    if (t, b, lft, r) != (0, h, 0, w):
        g = g[t:b, lft:r]
        x, y, h, w = x + lft, y + t, b - t, r - lft
        if g.std() > 8:
            out.append((x, y, w, h))
    pieces: list[tuple[int, int, int, int]] = []
    for axis in (0, 1):
        runs = [run for run in _runs(_clean_lines(g, axis)) if run[1] - run[0] >= 3]
        if len(runs) > 1:
            pieces = [(0, a, w, b2 - a) if axis == 0 else (a, 0, b2 - a, h) for a, b2 in runs]
            break
    if not pieces:
        for axis in (1, 0):
            seams = _seams(g, axis)
            if seams:
                # the strongest seam only: the others are split off further down, so a straight
                # edge inside one photo cannot cut the photo beside it
                cut = max(seams, key=lambda c: c[1])[0]
                edges = [0, cut, w if axis == 1 else h]
                pieces = [(a, 0, b2 - a, h) if axis == 1 else (0, a, w, b2 - a) for a, b2 in zip(edges, edges[1:]) if b2 - a >= 3]
                break
    if len(pieces) <= 1:
        return
    for px, py, pw, ph in pieces:
        if pw >= min_w and ph >= min_h:
            sub = g[py : py + ph, px : px + pw]
            if sub.std() > 8:
                out.append((x + px, y + py, pw, ph))
            _split(sub, x + px, y + py, depth - 1, out, min_w, min_h)


def find_regions(gray: np.ndarray) -> list[XYWH]:
    """Boxes of the pictures inside ``gray`` (not the whole picture itself), largest first.

    Empty when the picture is one picture. Each box is at least ``MIN_SIDE`` of the width and
    height and ``MIN_AREA`` of the area, and holds real picture (not a flat block or a text line).
    """
    H, W = gray.shape[:2]
    scale = min(1.0, SEARCH_SIDE / max(H, W))
    small = cv2.resize(gray, (max(1, round(W * scale)), max(1, round(H * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    g = small.astype(np.float32)
    h, w = g.shape
    boxes: list[XYWH] = []
    _split(g, 0, 0, 5, boxes, max(16, int(w * MIN_SIDE)), max(16, int(h * MIN_SIDE)))
    boxes += [_xywh(q) for q in quads(small) if _axis_aligned(q)]
    out: list[XYWH] = []
    for bx, by, bw, bh in sorted(set(boxes), key=lambda b: -b[2] * b[3]):
        if bw * bh < MIN_AREA * w * h or bw < MIN_SIDE * w or bh < MIN_SIDE * h:
            continue
        if bw * bh > 0.9 * w * h:
            continue  # the whole picture (or it with a margin): the normal pipeline has it
        if max(bw / bh, bh / bw) > 4:
            continue  # a banner or a text column, not a picture
        patch = g[by : by + bh, bx : bx + bw]
        if patch.std() < 12:
            continue
        if any(iou((bx, by, bw, bh), o) > 0.8 for o in out):
            continue
        out.append((bx, by, bw, bh))
        if len(out) >= MAX_REGIONS:
            break
    return [(round(x / scale), round(y / scale), round(bw / scale), round(bh / scale)) for x, y, bw, bh in out]


def iou(a: XYWH, b: XYWH) -> float:
    """Intersection over union of two boxes (0 for empty ones)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / max(1, aw * ah + bw * bh - inter)


def _xywh(q: np.ndarray) -> XYWH:
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _axis_aligned(q: np.ndarray, tol: float = 0.03) -> bool:
    x, y, w, h = _xywh(q)
    box = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
    d = np.abs(_order(q) - box).max()
    return bool(d <= tol * max(w, h))


def _order(q: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    q = q.reshape(4, 2).astype(np.float32)
    s, d = q.sum(axis=1), q[:, 0] - q[:, 1]
    return np.array([q[np.argmin(s)], q[np.argmax(d)], q[np.argmax(s)], q[np.argmin(d)]], np.float32)


def quads(gray: np.ndarray, *, min_area: float = 0.08, max_area: float = 0.97, limit: int = 4) -> list[np.ndarray]:
    """Convex four-cornered outlines in ``gray`` (largest first): screens, pasted pictures, frames.

    Canny edges, closed by a small dilation (glare and moire break them), outer and nested
    contours simplified to polygons; a polygon with four corners, convex, with no corner sharper
    than 45 degrees, covering ``min_area`` to ``max_area`` of the picture, is a candidate.
    Corners are in the pixels of ``gray``, ordered top-left, top-right, bottom-right, bottom-left.
    """
    h, w = gray.shape[:2]
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    found: list[np.ndarray] = []
    for lo, hi in ((30, 90), (60, 160)):
        edges = cv2.Canny(blur, lo, hi)
        edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            area = cv2.contourArea(c)
            if area < min_area * w * h or area > max_area * w * h:
                continue
            peri = cv2.arcLength(c, True)
            for eps in (0.02, 0.04):
                poly = cv2.approxPolyDP(c, eps * peri, True)
                if len(poly) == 4 and cv2.isContourConvex(poly):
                    q = _order(poly)
                    if _angles_ok(q):
                        found.append(q)
                    break
    found.sort(key=lambda q: -cv2.contourArea(q))
    out: list[np.ndarray] = []
    for q in found:
        if all(np.abs(q - o).max() > 0.03 * max(w, h) for o in out):
            out.append(q)
        if len(out) >= limit:
            break
    return out


def _angles_ok(q: np.ndarray, min_deg: float = 45.0) -> bool:
    for i in range(4):
        a, b, c = q[i - 1], q[i], q[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-9))
        if np.degrees(np.arccos(np.clip(cos, -1, 1))) < min_deg:
            return False
    return True


def rectify(gray: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The inside of ``quad`` warped to an upright rectangle (``getPerspectiveTransform``).

    The rectangle's sides are the mean lengths of the quad's opposite sides: a fair guess of the
    screen's aspect when the tilt is moderate.
    """
    tl, tr, br, bl = quad
    w = int(round((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2))
    h = int(round((np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2))
    w, h = max(8, w), max(8, h)
    M = cv2.getPerspectiveTransform(quad.astype(np.float32), np.float32([[0, 0], [w, 0], [w, h], [0, h]]))
    return cv2.warpPerspective(gray, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def screen_quads(gray: np.ndarray) -> list[np.ndarray]:
    """Tilted quadrilaterals worth rectifying (a screen photographed at an angle), in ``gray`` pixels.

    Found on a small copy; quads that are already upright rectangles are left to ``find_regions``.
    """
    H, W = gray.shape[:2]
    scale = min(1.0, SEARCH_SIDE / max(H, W))
    small = cv2.resize(gray, (max(1, round(W * scale)), max(1, round(H * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    return [q / scale for q in quads(small, min_area=0.12, limit=2) if not _axis_aligned(q, 0.015)]
