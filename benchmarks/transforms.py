"""The re-posting transforms the quality benchmark applies: what happens to a photo on its way back.

Each transform takes an RGB ``PIL.Image`` and a seeded ``random.Random`` and returns the re-posted
picture; ``apply`` also writes it as a JPEG (re-posts are almost always re-encoded).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

Transform = Callable[[Image.Image, random.Random], Image.Image]


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _crop_area(im: Image.Image, area: float, fx: float, fy: float) -> Image.Image:
    """Crop keeping ``area`` of the picture, positioned at fractions ``fx, fy`` of the free room."""
    w, h = im.size
    s = area**0.5
    cw, ch = int(w * s), int(h * s)
    x, y = int((w - cw) * fx), int((h - ch) * fy)
    return im.crop((x, y, x + cw, y + ch))


def _text_lines(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rng: random.Random, fill: tuple[int, int, int]) -> None:
    x0, y0, _x1, y1 = box  # text runs to the right edge
    size = max(10, (y1 - y0) // 4)
    font = _font(size)
    words = ["BREAKING", "Footage", "shows", "today", "city", "army", "attack", "near", "the", "border", "#news", "LIVE", "2024", "residents", "fled"]
    y = y0 + size // 3
    while y + size < y1:
        line = " ".join(rng.choice(words) for _ in range(8))
        draw.text((x0 + size // 2, y), line, fill=fill, font=font)
        y += int(size * 1.4)


def _logo(im: Image.Image, rng: random.Random, scale: float = 0.16) -> Image.Image:
    im = im.copy()
    w, h = im.size
    lw, lh = int(w * scale), int(w * scale * 0.4)
    logo = Image.new("RGBA", (lw, lh), (200, 20, 20, 200))
    d = ImageDraw.Draw(logo)
    d.text((lw // 10, lh // 5), "NEWS24", fill=(255, 255, 255, 255), font=_font(max(8, lh // 2)))
    corner = rng.choice([(8, 8), (w - lw - 8, 8), (8, h - lh - 8), (w - lw - 8, h - lh - 8)])
    im.paste(logo, corner, logo)
    return im


def resize(im: Image.Image, rng: random.Random) -> Image.Image:
    return im.resize((max(1, im.width * 2 // 5), max(1, im.height * 2 // 5)), Image.Resampling.LANCZOS)


def recompress(im: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=30)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def mirror(im: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.mirror(im)


def crop_center_80(im: Image.Image, rng: random.Random) -> Image.Image:
    return _crop_area(im, 0.8, 0.5, 0.5)


def crop_center_60(im: Image.Image, rng: random.Random) -> Image.Image:
    return _crop_area(im, 0.6, 0.5, 0.5)


def crop_offcentre_80(im: Image.Image, rng: random.Random) -> Image.Image:
    return _crop_area(im, 0.8, rng.choice([0.0, 1.0, rng.random()]), rng.choice([0.0, 1.0, rng.random()]))


def crop_offcentre_60(im: Image.Image, rng: random.Random) -> Image.Image:
    return _crop_area(im, 0.6, rng.choice([0.0, 1.0, rng.random()]), rng.choice([0.0, 1.0, rng.random()]))


def letterbox(im: Image.Image, rng: random.Random) -> Image.Image:
    """White bars to a square (portrait-friendly social crop) or black bars to 16:9."""
    w, h = im.size
    if rng.random() < 0.5:
        side = max(w, h)
        canvas = Image.new("RGB", (side, side), (255, 255, 255))
        canvas.paste(im, ((side - w) // 2, (side - h) // 2))
        return canvas
    cw, ch = max(w, int(h * 16 / 9)), max(h, int(w * 9 / 16)) + h // 5
    canvas = Image.new("RGB", (cw, ch), (0, 0, 0))
    canvas.paste(im, ((cw - w) // 2, (ch - h) // 2))
    return canvas


def coloured_border(im: Image.Image, rng: random.Random) -> Image.Image:
    colour = tuple(rng.randrange(256) for _ in range(3))
    b = int(min(im.size) * rng.uniform(0.06, 0.15))
    return ImageOps.expand(im, border=b, fill=colour)  # type: ignore[arg-type]


def screenshot(im: Image.Image, rng: random.Random) -> Image.Image:
    """A phone screenshot of a post: status bar, app header, the photo, caption and buttons."""
    W = 1080
    ph = int(im.height * W / im.width)
    photo = im.resize((W, ph), Image.Resampling.BILINEAR)
    dark = rng.random() < 0.5
    bg, fg = ((18, 18, 18), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    top, bottom = 260, 520
    H = max(top + ph + bottom, int(W * 2.1))
    canvas = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(canvas)
    d.rectangle([0, 0, W, 70], fill=(0, 0, 0) if dark else (240, 240, 240))
    d.text((30, 15), "12:41", fill=fg, font=_font(36))
    d.text((W - 220, 15), "5G  87%", fill=fg, font=_font(36))
    d.ellipse([30, 110, 130, 210], fill=(rng.randrange(256), 120, 200))
    d.text((160, 125), "@eyewitness_now", fill=fg, font=_font(40))
    d.text((160, 175), "2h", fill=(128, 128, 128), font=_font(30))
    y = top + (H - top - bottom - ph) // 2
    canvas.paste(photo, (0, y))
    _text_lines(d, (20, y + ph + 20, W - 20, y + ph + 260), rng, fg)
    for i in range(4):
        d.rectangle([60 + i * 260, y + ph + 300, 140 + i * 260, y + ph + 360], outline=fg, width=4)
    return canvas.resize((W // 2, H // 2), Image.Resampling.BILINEAR)


def caption_logo(im: Image.Image, rng: random.Random) -> Image.Image:
    """A caption band (above or below) with text, and a channel logo on the picture."""
    w, h = im.size
    band = int(h * rng.uniform(0.15, 0.25))
    canvas = Image.new("RGB", (w, h + band), (255, 255, 255) if rng.random() < 0.6 else (10, 10, 60))
    fg = (0, 0, 0) if canvas.getpixel((0, 0)) == (255, 255, 255) else (255, 255, 255)
    above = rng.random() < 0.5
    canvas.paste(_logo(im, rng), (0, band if above else 0))
    d = ImageDraw.Draw(canvas)
    _text_lines(d, (0, 0 if above else h, w, band if above else h + band), rng, fg)
    return canvas


def rotate(im: Image.Image, rng: random.Random) -> Image.Image:
    """Rotated 3-5 degrees, the corners left black (canvas expanded)."""
    angle = rng.uniform(3, 5) * rng.choice([-1, 1])
    return im.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=(0, 0, 0))


def rotate_cropped(im: Image.Image, rng: random.Random) -> Image.Image:
    """Rotated 3-5 degrees with the corners cropped away (what photo editors do)."""
    import math

    angle = rng.uniform(3, 5) * rng.choice([-1, 1])
    r = im.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    w, h = im.size
    a = math.radians(abs(angle))
    # largest axis-aligned rectangle inside the rotated one (same aspect), conservative
    f = 1 / (math.cos(a) + max(w / h, h / w) * math.sin(a))
    cw, ch = int(w * f), int(h * f)
    return r.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2))


def colour_grade(im: Image.Image, rng: random.Random) -> Image.Image:
    im = ImageEnhance.Color(im).enhance(rng.uniform(0.3, 1.8))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.7, 1.4))
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.75, 1.25))
    r, g, b = im.split()
    tint = rng.uniform(-25, 25)
    r = r.point(lambda v: max(0, min(255, int(v + tint))))
    b = b.point(lambda v: max(0, min(255, int(v - tint))))
    return Image.merge("RGB", (r, g, b))


def grayscale(im: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.grayscale(im).convert("RGB")


def social(im: Image.Image, rng: random.Random) -> Image.Image:
    """A platform re-upload: longest side 1080, strong compression (done by ``apply``)."""
    im = im.copy()
    im.thumbnail((1080, 1080), Image.Resampling.BICUBIC)
    return recompress(im, rng)


def combo(im: Image.Image, rng: random.Random) -> Image.Image:
    """Mirror + off-centre 80% crop + colour grade + caption band with logo + recompression."""
    im = crop_offcentre_80(mirror(im, rng), rng)
    im = colour_grade(im, rng)
    return recompress(caption_logo(im, rng), rng)


def combo_screenshot(im: Image.Image, rng: random.Random) -> Image.Image:
    """Crop 80% + small rotation + screenshot of a post."""
    return screenshot(rotate_cropped(crop_offcentre_80(im, rng), rng), rng)


TRANSFORMS: dict[str, Transform] = {
    "resize": resize,
    "recompress": recompress,
    "social": social,
    "grayscale": grayscale,
    "mirror": mirror,
    "crop-centre-80": crop_center_80,
    "crop-centre-60": crop_center_60,
    "crop-offcentre-80": crop_offcentre_80,
    "crop-offcentre-60": crop_offcentre_60,
    "letterbox": letterbox,
    "coloured-border": coloured_border,
    "screenshot": screenshot,
    "caption-logo": caption_logo,
    "rotate-3-5": rotate,
    "rotate-3-5-cropped": rotate_cropped,
    "colour-grade": colour_grade,
    "combo-mirror-crop-caption": combo,
    "combo-crop-rotate-screenshot": combo_screenshot,
}


def jpeg(im: Image.Image, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()
