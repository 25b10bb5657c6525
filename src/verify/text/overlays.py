"""Text laid over a photo by whoever published it: outlined captions, corner watermarks, tiled marks.

Tesseract reads dark text on a light, even ground. Overlaid text is the opposite: white letters
with a black rim over a busy photo (the meme and news-card caption), a channel's handle blended
into a corner at half opacity, a handle repeated on a diagonal across the whole picture. Each is
turned into dark-on-white text here, from what makes it overlaid rather than from the photo:

- **outlined**: near-white, unsaturated pixels lying next to dark ones (the fill inside its rim);
  the rest of the photo, even where it is white, is mostly not next to a dark rim.
- **light strokes**: letters lighter than what is around them by a margin (a morphological
  top-hat), thresholded at two levels, so a faint mark and a strong one both survive.
- **corners**: the four corners, where channels put their marks, cut out, enlarged and turned
  into light strokes; read together on one sheet.
- **diagonal**: the angle of the word-shaped blobs of light strokes; when many agree on a slant,
  the strokes are turned level and read.

Pure functions from pixels to pixels (and back to picture boxes); the engine calls are made by
``verify.text.read_picture``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Share of a picture's width and height a corner cut-out covers.
CORNER_W, CORNER_H = 0.45, 0.2
#: Fewest outlined pixels (share of the picture) worth an engine call.
MIN_OUTLINED = 0.0008
GAP = 30


def outlined_light_text(rgb: np.ndarray) -> np.ndarray | None:
    """White-filled letters with a dark rim, black on white; None when there are too few.

    Each near-white piece is kept whole when most of its edge touches dark pixels (a letter in
    its rim) and it is no bigger than a caption's letter: a white wall or sky is mostly edged by
    other colours, and too big.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    sat = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1]
    white = ((gray >= 205) & (sat < 50)).astype(np.uint8)
    if white.mean() < MIN_OUTLINED:
        return None
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    dark = cv2.dilate((gray < 90).astype(np.uint8), reach) > 0
    edge = (white > 0) & ~(cv2.erode(white, np.ones((3, 3), np.uint8)) > 0)
    n, labels, stats, _c = cv2.connectedComponentsWithStats(white, connectivity=8)
    edge_n = np.bincount(labels[edge], minlength=n)
    rimmed = np.bincount(labels[edge & dark], minlength=n)
    h_img = gray.shape[0]
    keep = np.zeros(n, bool)
    keep[1:] = (
        (rimmed[1:] >= 0.6 * np.maximum(edge_n[1:], 1))
        & (stats[1:, cv2.CC_STAT_HEIGHT] <= 0.25 * h_img)
        & (stats[1:, cv2.CC_STAT_AREA] >= 3)
    )
    mask = keep[labels]
    if mask.mean() < MIN_OUTLINED:
        return None
    return np.where(mask, 0, 255).astype(np.uint8)


def ink_lines(bw: np.ndarray, *, min_height: int = 6) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the bands of rows holding ink (black) in a black-on-white picture.

    A band is split where a row is empty; its horizontal extent is where its ink is. Bands
    shorter than ``min_height`` (specks) or taller than a third of the picture are dropped.
    """
    ink = bw < 128
    rows = ink.sum(axis=1) > max(2, bw.shape[1] // 400)
    out = []
    y = 0
    h_img = bw.shape[0]
    while y < h_img:
        if not rows[y]:
            y += 1
            continue
        y0 = y
        while y < h_img and rows[y]:
            y += 1
        if min_height <= y - y0 <= h_img / 3:
            cols = np.flatnonzero(ink[y0:y].any(axis=0))
            out.append((int(cols[0]), y0, int(cols[-1] - cols[0] + 1), y - y0))
    return out


def light_strokes(gray: np.ndarray, *, stroke: int = 15, floor: float = 18.0) -> list[np.ndarray]:
    """Strokes lighter than their surroundings, black on white, at a strong and a faint threshold.

    Grain is smoothed away first and specks smaller than a letter's dot dropped after, so photo
    noise does not turn into thousands of "glyphs" (which cost the engine seconds). A threshold
    whose result covers more than a quarter of the picture found texture, not letters: left out.
    """
    smooth = cv2.medianBlur(gray, 3)
    hat = cv2.morphologyEx(smooth, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (stroke, stroke)))
    top = float(np.percentile(hat, 99.7))
    out = []
    speck = max(6, (stroke // 5) ** 2)
    for level in (max(floor * 2, top * 0.6), max(floor, top * 0.4)):
        bw = cv2.morphologyEx((hat >= level).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        n, labels, stats, _c = cv2.connectedComponentsWithStats(bw, connectivity=8)
        keep = np.zeros(n, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= speck
        bw = keep[labels]
        if bw.mean() > 0.25 or not bw.any():
            continue
        out.append(np.where(bw, 0, 255).astype(np.uint8))
    return out


@dataclass(frozen=True)
class Tile:
    y0: int  # where the tile starts on the sheet
    height: int
    x: int  # where the tile's pixels came from in the picture
    y: int
    scale: float


@dataclass
class Mosaic:
    """Tiles stacked on one white sheet, so several cut-outs cost one engine call."""

    image: np.ndarray
    tiles: list[Tile]

    def to_picture(self, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int] | None:
        cy = y + h / 2
        for t in self.tiles:
            if t.y0 <= cy < t.y0 + t.height:
                return (t.x + round((x - 10) / t.scale), t.y + round((y - t.y0) / t.scale), max(1, round(w / t.scale)), max(1, round(h / t.scale)))
        return None


def mosaic(tiles: list[tuple[np.ndarray, int, int, float]]) -> Mosaic | None:
    """(image, x, y, scale) tiles, black text on white, stacked with gaps between them."""
    if not tiles:
        return None
    width = max(t[0].shape[1] for t in tiles) + 20
    height = sum(t[0].shape[0] + GAP for t in tiles) + GAP
    sheet = np.full((height, width), 255, np.uint8)
    placed = []
    y = GAP
    for img, x0, y0, scale in tiles:
        sheet[y : y + img.shape[0], 10 : 10 + img.shape[1]] = img
        placed.append(Tile(y, img.shape[0], x0, y0, scale))
        y += img.shape[0] + GAP
    return Mosaic(sheet, placed)


def corner_tiles(gray: np.ndarray) -> list[tuple[np.ndarray, int, int, float]]:
    """The four corners as light strokes at two thresholds, enlarged so small marks read.

    The thresholds are relative to the corner's own strongest strokes, so a mark blended in at
    low opacity is cut out as cleanly as a solid one.
    """
    h, w = gray.shape
    cw, ch = max(32, round(w * CORNER_W)), max(24, round(h * CORNER_H))
    scale = min(3.0, max(1.0, 240 / ch))
    tiles = []
    for x0, y0 in ((0, 0), (w - cw, 0), (0, h - ch), (w - cw, h - ch)):
        crop = gray[y0 : y0 + ch, x0 : x0 + cw]
        if scale != 1.0:
            crop = cv2.resize(crop, (round(cw * scale), round(ch * scale)), interpolation=cv2.INTER_CUBIC)
        for bw in light_strokes(crop, stroke=max(15, round(15 * scale) | 1)):
            tiles.append((bw, x0, y0, scale))
    return tiles


def diagonal_angle(strokes: np.ndarray) -> float | None:
    """The slant (degrees, counter-clockwise) shared by many word-shaped blobs, or None.

    Letters of one word are joined by a closing; each blob long and thin enough to be a word
    votes with its angle. A slant counts when at least six blobs agree within a few degrees and
    it is at least 12 degrees off level (level text is read by the other passes).
    """
    ink = (strokes < 128).astype(np.uint8)
    if ink.mean() < 0.002:
        return None
    joined = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles = []
    for c in contours:
        if cv2.contourArea(c) < 150:
            continue
        (_cx, _cy), (rw, rh), a = cv2.minAreaRect(c)
        long_side, short_side = max(rw, rh), min(rw, rh)
        if short_side < 6 or long_side < 3.5 * short_side:
            continue
        # OpenCV's angle is of the first side, clockwise in image coordinates: the long side's
        # angle from level, counter-clockwise as seen, in (-90, 90].
        slope = -(a if rw >= rh else a - 90)
        slope = (slope + 90) % 180 - 90
        angles.append(slope)
    if len(angles) < 6:
        return None
    hist, edges = np.histogram(angles, bins=36, range=(-90, 90))
    best = int(hist.argmax())
    near = [a for a in angles if edges[max(0, best - 1)] <= a <= edges[min(36, best + 2)]]
    if len(near) < 6 or len(near) < 0.4 * len(angles):
        return None
    angle = float(np.median(near))
    return angle if 12 <= abs(angle) <= 78 else None


def level(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned by ``-angle`` (text slanted up by ``angle`` becomes level), on white, and
    the affine map from the turned image back to the picture."""
    h, w = image.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    turn[0, 2] += nw / 2 - w / 2
    turn[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(image, turn, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)
    back = cv2.invertAffineTransform(turn)
    return out, back


def box_back(back: np.ndarray, x: int, y: int, w: int, h: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The picture box (axis-aligned, clipped) around a box found in a turned image."""
    pts = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], float) @ back.T
    x0, y0 = np.clip(pts.min(axis=0), 0, None)
    x1, y1 = pts.max(axis=0)
    x1, y1 = min(x1, shape[1]), min(y1, shape[0])
    return round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0))
