"""Where text sits in a photo: lines of glyphs found by their edges, cut out and cleaned up.

Tesseract reads documents and screenshots well from the whole page, but in a photo (a banner in
a crowd, a channel's watermark in a corner, a caption over the picture) its page layout analysis
sees a picture and reads nothing. This module finds text-like lines with OpenCV (dense, horizontal
runs of strong edges of glyph height), binarises each with the text dark on white, and lays them
out on one clean sheet so the engine reads them all in a single call. Word boxes on the sheet map
back to the photo's pixels through ``Sheet.to_picture``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Lines kept per picture (best first), so a textured photo cannot cost a minute.
MAX_REGIONS = 16
#: Height (px) each line is scaled to on the sheet.
LINE_HEIGHT = 48
GAP = 24


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    w: int
    h: int
    score: float


def find_regions(gray: np.ndarray) -> list[Region]:
    """Text-like lines in a grey picture, best first (at most ``MAX_REGIONS``)."""
    h_img, w_img = gray.shape
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _t, edges = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Strokes lighter (a white watermark) or darker than their surroundings, whatever the texture
    # behind them: top-hat and black-hat pick out thin bright or dark structures.
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    maps = [edges]
    for op in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        hat = cv2.morphologyEx(gray, op, disc)
        _t, strokes = cv2.threshold(hat, max(40.0, float(np.percentile(hat, 99)) * 0.5), 255, cv2.THRESH_BINARY)
        maps.append(strokes)
    regions: list[Region] = []
    for found in maps:
        for kw in (max(9, w_img // 120), max(17, w_img // 60)):  # letters of small and large text
            joined = cv2.morphologyEx(found, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, 1)))
            joined = cv2.morphologyEx(joined, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
            contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for c in contours:
                x, y, w, h = cv2.boundingRect(c)
                if h < 8 or h > h_img * 0.25 or w < 2.0 * h or w > w_img * 0.98:
                    continue
                fill = float(cv2.countNonZero(found[y : y + h, x : x + w])) / (w * h)
                if not 0.1 <= fill <= 0.75:
                    continue
                # Glyphs make many vertical strokes: count transitions along the middle row.
                row = found[y + h // 2, x : x + w] > 0
                strokes_n = int(np.count_nonzero(row[1:] != row[:-1])) / 2
                if strokes_n < max(3, w / h):
                    continue
                glyphs = _glyph_variety(gray[y : y + h, x : x + w])
                if glyphs <= 0:
                    continue
                regions.append(Region(x, y, w, h, fill * min(strokes_n / (w / h), 4.0) * glyphs))
    return sorted(_merge_lines(regions), key=lambda r: -r.score)[:MAX_REGIONS]


def _glyph_variety(crop: np.ndarray) -> float:
    """How much a line's pieces look like letters rather than a row of windows or bricks.

    The line is binarised with the minority (the strokes) as foreground; letters are pieces of
    about the line's height and of varied widths. Returns 0 for too few pieces or uniform ones.
    """
    _t, bw = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if np.count_nonzero(bw) > bw.size / 2:
        bw = 255 - bw
    n, _labels, stats, _c = cv2.connectedComponentsWithStats(bw, connectivity=8)
    h = crop.shape[0]
    widths = [int(s[cv2.CC_STAT_WIDTH]) for s in stats[1:] if 0.3 * h <= s[cv2.CC_STAT_HEIGHT] <= 1.0 * h and s[cv2.CC_STAT_AREA] >= 6]
    if len(widths) < 3:
        # Cursive script (Arabic) joins a word's letters: one long piece is a word, not a window.
        return 0.3 if widths and max(widths) > 2 * h else 0.0
    cv = float(np.std(widths) / (np.mean(widths) + 1e-6))
    if cv < 0.15:
        return 0.0
    return min(1.0, cv) * min(1.0, len(widths) / 6)


def binarise(crop: np.ndarray) -> np.ndarray:
    """The line with its letters black on white: Otsu, then the side touching the edges is the ground."""
    _t, bw = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    border = np.concatenate([bw[0], bw[-1], bw[:, 0], bw[:, -1]])
    if np.count_nonzero(border) < border.size / 2:
        bw = 255 - bw
    return bw


def _same_line(a: Region, b: Region) -> bool:
    """Pieces of one line: mostly the same rows, and touching or a word gap apart."""
    overlap = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if overlap < 0.6 * min(a.h, b.h):
        return False
    gap = max(a.x, b.x) - min(a.x + a.w, b.x + b.w)
    return gap < 0.7 * max(a.h, b.h)


def _merge_lines(regions: list[Region]) -> list[Region]:
    """Words found apart, and the same line found by several maps, become one region."""
    merged = list(regions)
    changed = True
    while changed:
        changed = False
        out: list[Region] = []
        for r in merged:
            for i, k in enumerate(out):
                if _same_line(r, k) or _iou(r, k) > 0.3:
                    x0, y0 = min(r.x, k.x), min(r.y, k.y)
                    x1, y1 = max(r.x + r.w, k.x + k.w), max(r.y + r.h, k.y + k.h)
                    out[i] = Region(x0, y0, x1 - x0, y1 - y0, max(r.score, k.score))
                    changed = True
                    break
            else:
                out.append(r)
        merged = out
    return merged


def _iou(a: Region, b: Region) -> float:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.w * a.h + b.w * b.h - inter)


@dataclass
class Sheet:
    """Cleaned-up lines stacked on white; ``bands`` map sheet rows back to the picture."""

    image: np.ndarray
    bands: list[tuple[int, int, Region, float]]  # sheet y0, y1, region, scale

    def to_picture(self, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int] | None:
        cy = y + h / 2
        for y0, y1, r, scale in self.bands:
            if y0 <= cy < y1:
                return (
                    r.x + round((x - 10) / scale) - 2,
                    r.y + round((y - y0) / scale) - 2,
                    max(1, round(w / scale)),
                    max(1, round(h / scale)),
                )
        return None


def sheet(gray: np.ndarray, regions: list[Region], *, line_height: int = LINE_HEIGHT, sort: bool = True, pad_x: bool = True) -> Sheet | None:
    """One white sheet with every region binarised (text dark) and scaled to ``line_height``.

    ``sort``: lay the regions out top to bottom (else in the order given, so band ``i`` is
    region ``i``). ``pad_x``: widen each region by a third of its height (off for word boxes
    whose neighbours must stay out).
    """
    if not regions:
        return None
    pieces = []
    for r in sorted(regions, key=lambda r: (r.y, r.x)) if sort else regions:
        pad = max(3, r.h // 3)
        px = pad if pad_x else 3
        x0, y0 = max(0, r.x - px), max(0, r.y - pad)
        crop = gray[y0 : r.y + r.h + pad, x0 : r.x + r.w + px]
        scale = line_height / crop.shape[0]
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), line_height), interpolation=cv2.INTER_CUBIC)
        bw = binarise(crop)
        pieces.append((bw, Region(x0, y0, crop.shape[1], crop.shape[0], r.score), scale))
    width = max(p[0].shape[1] for p in pieces) + 20
    height = sum(p[0].shape[0] + GAP for p in pieces) + GAP
    canvas = np.full((height, width), 255, np.uint8)
    bands = []
    y = GAP
    for bw, r, scale in pieces:
        canvas[y : y + bw.shape[0], 10 : 10 + bw.shape[1]] = bw
        bands.append((y - GAP // 2, y + bw.shape[0] + GAP // 2, r, scale))
        y += bw.shape[0] + GAP
    return Sheet(canvas, bands)
