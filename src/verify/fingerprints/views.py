"""Which parts of a picture to hash: the whole, the photo inside its frame, and crops.

Re-posted photos arrive with things around them (letterbox bars, coloured borders, caption bands,
screenshot chrome) and with parts cut away. A single hash of the whole frame fails both ways, so the
archive side hashes a few crops of every picture and the query side hashes the picture with its
frame removed. All functions here work on small grey ``uint8`` arrays and return boxes, so the views
are cheap slices of one decoded thumbnail.
"""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom/right exclusive)

#: Archive-side crops as (name, top, bottom, left, right) fractions of the picture. Centre crops
#: catch centred re-crops; the corner and edge tiles (about 60-70% of the area each) catch
#: off-centre crops down to 60% of the area.
ARCHIVE_CROPS: tuple[tuple[str, float, float, float, float], ...] = (
    ("crop-c80", 0.053, 0.947, 0.053, 0.947),
    ("crop-c60", 0.113, 0.887, 0.113, 0.887),
    ("crop-tl", 0.0, 0.8, 0.0, 0.8),
    ("crop-tr", 0.0, 0.8, 0.2, 1.0),
    ("crop-bl", 0.2, 1.0, 0.0, 0.8),
    ("crop-br", 0.2, 1.0, 0.2, 1.0),
    ("crop-t", 0.0, 0.78, 0.11, 0.89),
    ("crop-b", 0.22, 1.0, 0.11, 0.89),
    ("crop-l", 0.11, 0.89, 0.0, 0.78),
    ("crop-r", 0.11, 0.89, 0.22, 1.0),
)

# A row or column belongs to a border when its spread is this small (grey levels)...
_FLAT_STD = 6.0
# ...and its mean is this close to the border colour taken from the picture's edge.
_FLAT_DELTA = 14.0
# A row of a caption band or UI bar: this share of its pixels sit on the row's dominant level.
_BAND_SHARE = 0.9
_BAND_TOL = 4
# A row of text in such a band: this share of its pixels on the band's level.
_TEXT_SHARE = 0.35


def crop_box(shape: tuple[int, int], frac: tuple[float, float, float, float]) -> Box:
    h, w = shape
    t, b, l, r = frac
    return round(t * h), round(b * h), round(l * w), round(r * w)


def trim_box(gray: np.ndarray) -> Box | None:
    """The picture inside uniform borders (letterbox, pillarbox, coloured frames), if any."""
    h, w = gray.shape
    g = gray.astype(np.float32)
    row_mean, row_std = g.mean(axis=1), g.std(axis=1)
    col_mean, col_std = g.mean(axis=0), g.std(axis=0)

    def run(means: np.ndarray, stds: np.ndarray, ref: float) -> int:
        flat = (stds < _FLAT_STD) & (np.abs(means - ref) < _FLAT_DELTA)
        if not flat[0]:
            return 0
        stop = np.flatnonzero(~flat)
        return int(stop[0]) if stop.size else len(flat)

    top = run(row_mean, row_std, row_mean[0])
    bottom = h - run(row_mean[::-1], row_std[::-1], row_mean[-1])
    left = run(col_mean, col_std, col_mean[0])
    right = w - run(col_mean[::-1], col_std[::-1], col_mean[-1])
    if bottom - top < h * 0.2 or right - left < w * 0.2:
        return None
    if (bottom - top) * (right - left) > 0.97 * h * w:
        return None
    return top, bottom, left, right


def _band_rows(gray: np.ndarray) -> np.ndarray:
    """Rows that look like a caption band, UI bar or border: mostly one grey level; also the rows
    of text inside such a band (a good part of their pixels on the band's level above or below)."""
    g = gray.astype(np.int16)
    med = np.median(g, axis=1)
    share = (np.abs(g - med[:, None]) <= _BAND_TOL).mean(axis=1)
    clean = share >= _BAND_SHARE
    if not clean.any():
        return clean
    idx = np.arange(len(g))
    above = np.maximum.accumulate(np.where(clean, idx, -1))
    below = np.minimum.accumulate(np.where(clean, idx, len(g))[::-1])[::-1]
    out = clean.copy()
    for ref in (above, below):
        ok = (ref >= 0) & (ref < len(g))
        colour = med[np.clip(ref, 0, len(g) - 1)]
        near = (np.abs(g - colour[:, None]) <= _BAND_TOL).mean(axis=1)
        out |= ok & (near >= _TEXT_SHARE)
    return out


def _longest_run(mask: np.ndarray, max_gap: int) -> tuple[int, int]:
    """Longest stretch of True in ``mask`` tolerating gaps of up to ``max_gap`` False values."""
    best = (0, 0)
    start = None
    gap = 0
    last_true = -1
    for i, v in enumerate(mask.tolist()):
        if v:
            if start is None:
                start = i
            last_true = i
            gap = 0
        elif start is not None:
            gap += 1
            if gap > max_gap:
                if last_true + 1 - start > best[1] - best[0]:
                    best = (start, last_true + 1)
                start, gap = None, 0
    if start is not None and last_true + 1 - start > best[1] - best[0]:
        best = (start, last_true + 1)
    return best


def inner_box(gray: np.ndarray) -> Box | None:
    """The photo inside a screenshot, a captioned post or a frame: the largest block of picture rows
    and columns between bands of near-uniform colour (which may carry text or icons)."""
    if min(gray.shape) >= 120:  # half resolution is plenty to find bands, at a quarter of the cost
        box = inner_box(np.ascontiguousarray(gray[::2, ::2]))
        if box is None:
            return None
        hh, ww = gray.shape
        t, b, l, r = box
        return 2 * t, min(hh, 2 * b), 2 * l, min(ww, 2 * r)
    h, w = gray.shape
    photo_rows = ~_band_rows(gray)
    top, bottom = _longest_run(photo_rows, max(1, h // 60))
    if bottom - top < h * 0.25:
        return None
    sub = gray[top:bottom].astype(np.float32)
    # Columns: screenshots put the photo edge to edge; only plain side margins are cut, so a flat
    # stretch inside the photo (a wall, the sky) is not mistaken for a margin.
    photo_cols = sub.std(axis=0) >= _FLAT_STD
    left, right = _longest_run(photo_cols, max(1, w // 60))
    if right - left < w * 0.25:
        return None
    area = (bottom - top) * (right - left)
    if area > 0.95 * h * w or area < 0.12 * h * w:
        return None
    return top, bottom, left, right


def strip_box(gray: np.ndarray) -> Box | None:
    """The picture with caption bands and bars stripped from its top and bottom edges only.

    Unlike ``inner_box`` this never looks inside the picture, so a dark or flat photo (night, fog)
    under a caption keeps its own flat rows; it catches what ``inner_box`` gives up on.
    """
    h, w = gray.shape
    band = _band_rows(gray)
    gap = max(1, h // 60)

    def edge_run(mask: np.ndarray) -> int:
        n = 0
        misses = 0
        for i, v in enumerate(mask.tolist()):
            if v:
                n, misses = i + 1, 0
            else:
                misses += 1
                if misses > gap:
                    break
        return n

    top = edge_run(band)
    bottom = h - edge_run(band[::-1])
    if bottom - top < h * 0.3 or bottom - top > h * 0.97:
        return None
    return top, bottom, 0, w


def same_box(a: Box | None, b: Box | None, shape: tuple[int, int], tol: float = 0.03) -> bool:
    if a is None or b is None:
        return a is b
    h, w = shape
    return all(abs(x - y) <= tol * s for x, y, s in zip(a, b, (h, h, w, w)))


#: Meme text: bright strokes outlined in dark (or the reverse) within this share of the top and bottom.
_CAPTION_BAND = 0.38
#: A row is text-dense when this share of it is caption strokes.
_TEXT_ROW_SHARE = 0.05


def caption_text_mask(gray: np.ndarray) -> np.ndarray | None:
    """Pixels of big outlined caption text over the top and bottom of a picture (a meme), or None.

    Meme text is near-white with a near-black outline (or the reverse): bright pixels right next
    to dark ones, densely, in rows near the top or bottom edge. The mask covers those rows' text
    strokes (dilated), so they can be painted over before hashing and ignored by keypoints.
    """
    import cv2

    h, w = gray.shape
    if h < 48 or w < 48:
        return None
    k = np.ones((5, 5), np.uint8)
    bright = (gray >= 215).astype(np.uint8)
    dark = (gray <= 45).astype(np.uint8)
    strokes = (bright & cv2.dilate(dark, k)) | (dark & cv2.dilate(bright, k))
    rows = strokes.mean(axis=1) >= _TEXT_ROW_SHARE / 3
    band = int(h * _CAPTION_BAND)
    dense = np.zeros(h, bool)
    for lo, hi in ((0, band), (h - band, h)):
        r = rows[lo:hi]
        if r.mean() > 0.08 and strokes[lo:hi][r].mean() >= _TEXT_ROW_SHARE:
            dense[lo:hi] = r
    if not dense.any():
        return None
    mask = cv2.dilate(strokes * dense[:, None].astype(np.uint8), np.ones((7, 7), np.uint8), iterations=2)
    share = mask.mean()
    if share < 0.01 or share > 0.35:
        return None
    return mask.astype(bool)


def without_caption_text(gray: np.ndarray) -> np.ndarray | None:
    """The picture with meme caption text painted over from its surroundings, or None if it has none.

    Painting (OpenCV's Telea inpainting) keeps the picture's geometry, so the result hashes close to
    the uncaptioned original; cropping the text bands away would change the aspect and the hash.
    Done at most 640 px on the long side (the keypoint work size), where it takes a few ms.
    """
    import cv2

    h, w = gray.shape
    scale = min(1.0, 640 / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    mask = caption_text_mask(small)
    if mask is None:
        return None
    return cv2.inpaint(np.ascontiguousarray(small), mask.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
