"""Re-share families the quality benchmark generates: pictures inside pictures, photos of screens,
memes, tight crops and turned pictures (issue 12).

Each generator takes the archived picture, a seeded ``random.Random`` and ``others``: a callable
giving a random *other* picture (never archived) for the remaining tiles of a collage or the page
around a pasted photo. Everything that varies in the wild is drawn from the seed: layouts (2 to 9
tiles, uneven mosaics), gutter widths (none to wide) and colours, labels and their fonts, page
chrome, tilt angles, glare, moire, blur, caption fonts and sizes, crop positions. The same
generators with only ``others`` pictures make the never-archived negatives of each family.

They are written to be general, not to suit the matcher: nothing here knows how regions are found.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

Others = Callable[[], Image.Image]
Family = Callable[[Image.Image, random.Random, Others], Image.Image]

_FONTS = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
)
_WORDS = (
    "THEN", "NOW", "2015", "2024", "BEFORE", "AFTER", "when", "you", "see", "it", "nobody", "me", "the", "city",
    "flood", "protest", "army", "really", "LOL", "WAIT", "FOR", "IT", "breaking", "viral", "share", "if",
)  # fmt: skip


def font(rng: random.Random, size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(rng.choice(_FONTS), max(8, size))
    except OSError:
        return ImageFont.load_default(size=max(8, size))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    kind = rng.random()
    if kind < 0.35:
        return (255, 255, 255)
    if kind < 0.55:
        return (0, 0, 0)
    return tuple(rng.randrange(256) for _ in range(3))  # type: ignore[return-value]


def cover(im: Image.Image, w: int, h: int, rng: random.Random | None = None) -> Image.Image:
    """Scale and crop to fill ``w`` x ``h`` (what collage apps do), off centre when ``rng`` says so."""
    s = max(w / im.width, h / im.height)
    r = im.resize((max(w, round(im.width * s)), max(h, round(im.height * s))), Image.Resampling.BILINEAR)
    fx = rng.random() if rng else 0.5
    fy = rng.random() if rng else 0.5
    x, y = int((r.width - w) * fx), int((r.height - h) * fy)
    return r.crop((x, y, x + w, y + h))


def _fit(im: Image.Image, w: int, h: int) -> Image.Image:
    s = min(w / im.width, h / im.height)
    return im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.BILINEAR)


# -- pictures inside pictures ----------------------------------------------------------------------


def _grid_cells(rows: int, cols: int, W: int, H: int, gutter: int, margin: int) -> list[tuple[int, int, int, int]]:
    cw = (W - 2 * margin - (cols - 1) * gutter) / cols
    ch = (H - 2 * margin - (rows - 1) * gutter) / rows
    return [
        (round(margin + c * (cw + gutter)), round(margin + r * (ch + gutter)), round(cw), round(ch))
        for r in range(rows)
        for c in range(cols)
    ]


def _compose(cells: list[tuple[int, int, int, int]], W: int, H: int, im: Image.Image, rng: random.Random, others: Others, bg: tuple[int, int, int]) -> Image.Image:
    canvas = Image.new("RGB", (W, H), bg)
    target = rng.randrange(len(cells))
    for i, (x, y, w, h) in enumerate(cells):
        pic = im if i == target else others()
        canvas.paste(cover(pic, w, h, rng), (x, y))
    return canvas


def grid(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """A regular grid: 1x2, 2x1, 2x2, 2x3, 3x2 or 3x3, gutters of 0-40 px in any colour."""
    rows, cols = rng.choice([(1, 2), (2, 1), (2, 2), (2, 2), (3, 3), (2, 3), (3, 2)])
    aspect = im.width / im.height
    cell_w = rng.randint(300, 700) if rows * cols <= 4 else rng.randint(260, 420)
    cell_h = round(cell_w / aspect * rng.uniform(0.8, 1.2))
    gutter = rng.choice([0, 0, 2, 4, 8, 12, 20, 40])
    margin = rng.choice([0, 0, gutter])
    W = cols * cell_w + (cols - 1) * gutter + 2 * margin
    H = rows * cell_h + (rows - 1) * gutter + 2 * margin
    return _compose(_grid_cells(rows, cols, W, H, gutter, margin), W, H, im, rng, others, _colour(rng))


def mosaic(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """An uneven mosaic: one big tile and a column or row of 2-4 small ones, or a recursive split."""
    W = rng.randint(900, 1400)
    H = round(W * rng.uniform(0.6, 1.3))
    gutter = rng.choice([0, 3, 6, 10, 16, 30])
    bg = _colour(rng)
    cells: list[tuple[int, int, int, int]] = []

    def split(x: int, y: int, w: int, h: int, depth: int) -> None:
        if depth == 0 or (depth < 3 and rng.random() < 0.3) or min(w, h) < 260:
            cells.append((x, y, w, h))
            return
        if w >= h:
            a = round((w - gutter) * rng.uniform(0.35, 0.65))
            split(x, y, a, h, depth - 1)
            split(x + a + gutter, y, w - a - gutter, h, depth - 1)
        else:
            a = round((h - gutter) * rng.uniform(0.35, 0.65))
            split(x, y, w, a, depth - 1)
            split(x, y + a + gutter, w, h - a - gutter, depth - 1)

    split(0, 0, W, H, rng.choice([2, 3, 3]))
    cells = cells[:9]
    if len(cells) < 2:
        cells = _grid_cells(1, 2, W, H, gutter, 0)
    return _compose(cells, W, H, im, rng, others, bg)


def side_by_side(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """A labelled "then and now" (or before/after) pair, side by side or stacked, labels on or above."""
    stacked = rng.random() < 0.3
    w = rng.randint(420, 720)
    h = round(w / (im.width / im.height) * rng.uniform(0.85, 1.15))
    gutter = rng.choice([0, 4, 10, 24])
    label_band = rng.choice([0, 0, round(h * rng.uniform(0.08, 0.16))])
    bg = _colour(rng)
    W = w if stacked else 2 * w + gutter
    H = (2 * (h + label_band) + gutter) if stacked else h + label_band
    canvas = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(canvas)
    labels = rng.choice([("THEN", "NOW"), ("2014", "2024"), ("BEFORE", "AFTER"), ("Real", "Fake?")])
    target = rng.randrange(2)
    fg = (0, 0, 0) if sum(bg) > 380 else (255, 255, 255)
    for i in range(2):
        x = 0 if stacked else i * (w + gutter)
        y = (i * (h + label_band + gutter)) if stacked else 0
        pic = cover(im if i == target else others(), w, h, rng)
        canvas.paste(pic, (x, y + label_band))
        f = font(rng, round(h * rng.uniform(0.06, 0.12)))
        if label_band:
            d.text((x + w // 2, y + label_band // 2), labels[i], fill=fg, font=f, anchor="mm")
        else:  # on the picture, outlined
            d.text((x + rng.randint(8, w // 4), y + rng.randint(8, h // 6)), labels[i], fill=(255, 255, 255), font=f, stroke_width=2, stroke_fill=(0, 0, 0))
    return canvas


def web_page(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """A news article or feed post on a desktop page: header bar, headline, text, sidebar, the photo."""
    W = rng.choice([1280, 1366, 1440, 1024])
    H = round(W * rng.uniform(0.6, 0.9))
    dark = rng.random() < 0.25
    bg = (24, 24, 28) if dark else rng.choice([(255, 255, 255), (246, 246, 246), (250, 248, 240)])
    fg = (230, 230, 230) if dark else (25, 25, 25)
    canvas = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(canvas)
    bar = rng.randint(40, 80)
    d.rectangle([0, 0, W, bar], fill=tuple(rng.randrange(256) for _ in range(3)))
    d.text((20, bar // 4), rng.choice(["The Daily Wire", "NEWSFEED", "worldpost", "Local Times"]), fill=(255, 255, 255), font=font(rng, bar // 2))
    col_x = rng.randint(20, W // 8)
    col_w = round(W * rng.uniform(0.45, 0.62))
    y = bar + rng.randint(20, 50)
    hf = font(rng, rng.randint(22, 34))
    d.text((col_x, y), " ".join(rng.choice(_WORDS) for _ in range(6)), fill=fg, font=hf)
    y += rng.randint(50, 70)
    pw = round(col_w * rng.uniform(0.7, 1.0))
    ph = round(pw * im.height / im.width)
    ph = min(ph, H - y - 60)
    pic = _fit(im, pw, ph)
    canvas.paste(pic, (col_x, y))
    y += pic.height + 14
    tf = font(rng, rng.randint(13, 18))
    while y < H - 20:
        d.text((col_x, y), " ".join(rng.choice(_WORDS) for _ in range(12)), fill=fg, font=tf)
        y += 24
    # a sidebar with small thumbnails of other pictures and text
    sx = col_x + col_w + rng.randint(30, 60)
    sy = bar + 30
    while sx + 160 < W and sy + 120 < H and rng.random() < 0.85:
        thumb = cover(others(), 150, 100, rng)
        canvas.paste(thumb, (sx, sy))
        d.text((sx + 160, sy + 10), " ".join(rng.choice(_WORDS) for _ in range(3)), fill=fg, font=tf)
        sy += 130
    return canvas


# -- photos of a screen ------------------------------------------------------------------------------


def screen_photo(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """The picture on a monitor or phone, photographed: bezel, perspective tilt, moire, glare, soft focus."""
    import cv2

    sw = 1000
    sh = round(sw * im.height / im.width)
    screen = im.resize((sw, sh), Image.Resampling.BILINEAR)
    arr = np.asarray(screen, dtype=np.float32)
    # moire: a beat between the screen's pixel grid and the camera's sensor
    if rng.random() < 0.7:
        yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
        fx, fy = rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.25)
        pattern = 1 + rng.uniform(0.04, 0.12) * np.sin(2 * math.pi * (fx * xx + fy * yy))
        arr = arr * pattern[..., None]
    bezel = round(sw * rng.uniform(0.02, 0.08))
    bc = rng.choice([(10, 10, 10), (30, 30, 32), (200, 200, 205)])
    framed = np.full((sh + 2 * bezel, sw + 2 * bezel, 3), bc, np.float32)
    framed[bezel : bezel + sh, bezel : bezel + sw] = arr
    fh, fw = framed.shape[:2]
    # the camera's view: a background, the screen warped with a random tilt
    W, H = rng.choice([(1600, 1200), (1200, 1600), (1600, 900), (1400, 1400)])
    bgc = np.array([rng.randrange(40, 200) for _ in range(3)], np.float32)
    bgimg = np.ones((H, W, 3), np.float32) * bgc
    bgimg += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 8, (H, W, 1))
    scale = rng.uniform(0.65, 0.95) * min(W / fw, H / fh)
    cx, cy = W / 2 + rng.uniform(-0.08, 0.08) * W, H / 2 + rng.uniform(-0.08, 0.08) * H
    hw, hh = fw * scale / 2, fh * scale / 2
    tilt_x, tilt_y = rng.uniform(-0.18, 0.18), rng.uniform(-0.15, 0.15)  # relative shortening of one side
    rot = math.radians(rng.uniform(-6, 6))
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        kx = 1 - tilt_y * sy  # the far side (top or bottom) is shorter
        ky = 1 - tilt_x * sx
        x, y = sx * hw * kx, sy * hh * ky
        corners.append((cx + x * math.cos(rot) - y * math.sin(rot), cy + x * math.sin(rot) + y * math.cos(rot)))
    src = np.float32([[0, 0], [fw, 0], [fw, fh], [0, fh]])
    M = cv2.getPerspectiveTransform(src, np.float32(corners))
    warped = cv2.warpPerspective(framed, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
    mask = warped[..., 0] >= 0
    out = np.where(mask[..., None], warped, bgimg)
    # glare: a soft bright blob somewhere on the screen
    if rng.random() < 0.7:
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        gx, gy = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H
        r = rng.uniform(0.08, 0.25) * min(W, H)
        out = out + rng.uniform(60, 140) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))[..., None]
    # exposure and colour cast of the camera
    out = out * rng.uniform(0.8, 1.15) + rng.uniform(-15, 15)
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
    blur = rng.choice([0, 0.6, 1.0, 1.6])
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    return img


# -- memes and heavy captions ------------------------------------------------------------------------


def meme(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """Big outlined text over the top and bottom of the picture (the classic meme), 1-2 lines each."""
    im = im.copy()
    im.thumbnail((rng.choice([800, 1000, 1200]), 1200))
    w, h = im.size
    d = ImageDraw.Draw(im)
    size = round(h * rng.uniform(0.07, 0.13))
    f = font(rng, size)
    fill = rng.choice([(255, 255, 255), (255, 255, 255), (255, 240, 0), (0, 0, 0)])
    stroke = (0, 0, 0) if fill != (0, 0, 0) else (255, 255, 255)
    sw = max(2, size // 12)
    for where in ("top", "bottom") if rng.random() < 0.8 else (rng.choice(["top", "bottom"]),):
        lines = rng.choice([1, 1, 2])
        for k in range(lines):
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 5))).upper()
            while d.textlength(text, font=f) > 0.95 * w and " " in text:
                text = text.rsplit(" ", 1)[0]
            y = (h * 0.02 + k * size * 1.15) if where == "top" else (h * 0.97 - (lines - k) * size * 1.15)
            d.text((w / 2, y), text, fill=fill, font=f, anchor="ma", stroke_width=sw, stroke_fill=stroke)
    return im


# -- tight crops and turned pictures -----------------------------------------------------------------


def crop_40(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """A crop keeping 35-45% of the area anywhere in the picture, scaled to 640 px on the long side."""
    area = rng.uniform(0.35, 0.45)
    w, h = im.size
    aspect = rng.choice([1.0, w / h, h / w, 16 / 9]) if rng.random() < 0.5 else w / h
    cw = min(w, round(math.sqrt(area * w * h * aspect)))
    ch = min(h, round(area * w * h / cw))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = im.crop((x, y, x + cw, y + ch))
    out.thumbnail((640, 640), Image.Resampling.LANCZOS)
    return out


def turn_90(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    """Turned a quarter clockwise (orientation lost on re-post), resized like a re-post."""
    out = im.transpose(Image.Transpose.ROTATE_270)
    out.thumbnail((rng.choice([720, 1080, 1600]),) * 2)
    return out


def turn_270(im: Image.Image, rng: random.Random, others: Others) -> Image.Image:
    out = im.transpose(Image.Transpose.ROTATE_90)
    out.thumbnail((rng.choice([720, 1080, 1600]),) * 2)
    return out


FAMILIES: dict[str, Family] = {
    "grid": grid,
    "mosaic": mosaic,
    "side-by-side": side_by_side,
    "web-page": web_page,
    "screen-photo": screen_photo,
    "meme": meme,
    "crop-40": crop_40,
    "turn-90": turn_90,
    "turn-270": turn_270,
}


def mirror_of(family: Family) -> Family:
    """The family applied to a mirrored picture (re-posts flip pictures)."""
    return lambda im, rng, others: family(ImageOps.mirror(im), rng, others)
