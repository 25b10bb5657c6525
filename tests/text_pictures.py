"""Pictures with known text, drawn on the fly: screenshots, captions over photos, watermarks.

Arabic is shaped with Pillow's raqm layout (right to left, joined letters), as a phone would
show it. Shared by the text tests and ``benchmarks/text.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else FONT), size)


def is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def draw_line(d: ImageDraw.ImageDraw, xy_left: tuple[int, int], right: int, text: str, f, fill, **kw) -> None:
    if is_arabic(text):
        d.text((right, xy_left[1]), text, font=f, fill=fill, anchor="ra", direction="rtl", language="ar", **kw)
    else:
        d.text(xy_left, text, font=f, fill=fill, **kw)


def screenshot(lines: list[str], *, dark: bool = False, width: int = 1080, size: int = 34, photo: Image.Image | None = None) -> Image.Image:
    """A phone screenshot of a post: lines of text, optionally a picture under them."""
    bg, fg = ((16, 16, 20), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    gap = int(size * 2.1)
    height = 80 + gap * len(lines) + (photo.height + 40 if photo is not None else 0)
    im = Image.new("RGB", (width, height), bg)
    d = ImageDraw.Draw(im)
    y = 50
    for text in lines:
        draw_line(d, (40, y), width - 40, text, font(size), fg)
        y += gap
    if photo is not None:
        im.paste(photo, ((width - photo.width) // 2, y + 20))
    return im


def caption_over(photo: Image.Image, text: str, *, size: int = 40, where: str = "bottom") -> Image.Image:
    """White outlined caption over a photo (the meme and news-card style)."""
    im = photo.copy()
    d = ImageDraw.Draw(im)
    f = font(size, bold=True)
    w = d.textlength(text, font=f)
    x = max(10, int((im.width - w) / 2))
    y = im.height - size * 2 if where == "bottom" else size // 2
    draw_line(d, (x, y), im.width - x, text, f, (255, 255, 255), stroke_width=max(2, size // 14), stroke_fill=(0, 0, 0))
    return im


def banner_over(photo: Image.Image, text: str, *, size: int = 36) -> Image.Image:
    """A news-card caption: a dark band across the lower part of the photo with light text."""
    im = photo.copy()
    d = ImageDraw.Draw(im)
    band = int(size * 1.8)
    top = im.height - band - size
    d.rectangle((0, top, im.width, top + band), fill=(20, 20, 28))
    draw_line(d, (30, top + (band - size) // 2), im.width - 30, text, font(size, bold=True), (250, 250, 250))
    return im


def watermark(photo: Image.Image, text: str, *, size: int = 26) -> Image.Image:
    """A channel's handle in the bottom-right corner, white on the picture."""
    im = photo.copy()
    d = ImageDraw.Draw(im)
    f = font(size, bold=True)
    w = d.textlength(text, font=f)
    d.text((im.width - w - 16, im.height - size - 18), text, font=f, fill=(255, 255, 255), stroke_width=1, stroke_fill=(40, 40, 40))
    return im
