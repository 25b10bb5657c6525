"""Pictures with known text, drawn on the fly: screenshots, captions over photos, watermarks.

Arabic is shaped with Pillow's raqm layout (right to left, joined letters), as a phone would
show it. Shared by the text tests and ``benchmarks/text.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


#: Arabic-capable fonts a phone or a news site might show, those installed here (DejaVu always;
#: Noto Sans and Naskh Arabic UI from Debian's fonts-noto-ui-core when installed). The KACST fonts
#: are left out: they have no Western digits, which Arabic posts use for dates as often as not.
ARABIC_FONTS = [
    p for p in (
        FONT,
        Path("/usr/share/fonts/truetype/noto/NotoSansArabicUI-Regular.ttf"),
        Path("/usr/share/fonts/truetype/noto/NotoNaskhArabicUI-Regular.ttf"),
        Path("/usr/share/fonts/truetype/noto/NotoSansArabicUI-Bold.ttf"),
    ) if p.exists()
]  # fmt: skip
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def font(size: int, bold: bool = False, path: Path | None = None) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path or (BOLD if bold else FONT)), size)


def is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def draw_line(d: ImageDraw.ImageDraw, xy_left: tuple[int, int], right: int, text: str, f, fill, **kw) -> None:
    if is_arabic(text):
        d.text((right, xy_left[1]), text, font=f, fill=fill, anchor="ra", direction="rtl", language="ar", **kw)
    else:
        d.text(xy_left, text, font=f, fill=fill, **kw)


def screenshot(
    lines: list[str], *, dark: bool = False, width: int = 1080, size: int = 34, photo: Image.Image | None = None,
    arabic_font: Path | None = None, fg: tuple[int, int, int] | None = None,
) -> Image.Image:
    """A phone screenshot of a post: lines of text, optionally a picture under them.

    ``arabic_font``: the font of the Arabic lines (Latin lines are always DejaVu Sans, as a phone
    falls back to a Latin font); ``fg``: a text colour (a grey timestamp, a blue link).
    """
    bg, ink = ((16, 16, 20), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    gap = int(size * 2.1)
    height = 80 + gap * len(lines) + (photo.height + 40 if photo is not None else 0)
    im = Image.new("RGB", (width, height), bg)
    d = ImageDraw.Draw(im)
    y = 50
    pad = max(12, width // 27)
    for text in lines:
        f = font(size, path=arabic_font if is_arabic(text) else None)
        draw_line(d, (pad, y), width - pad, text, f, fg or ink)
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


def watermark(
    photo: Image.Image, text: str, *, size: int = 26, corner: str = "br", opacity: float = 1.0, outline: bool = True,
) -> Image.Image:
    """A channel's handle in a corner (``tl``, ``tr``, ``bl``, ``br``), white on the picture.

    ``opacity`` below 1 blends it in as channels do to keep the picture watchable; ``outline``
    gives it the thin dark rim many apps add.
    """
    layer = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    f = font(size, bold=True)
    w = d.textlength(text, font=f)
    x = 16 if corner[1] == "l" else photo.width - w - 16
    y = 14 if corner[0] == "t" else photo.height - size - 18
    alpha = round(255 * opacity)
    kw = {"stroke_width": 1, "stroke_fill": (40, 40, 40, alpha)} if outline else {}
    d.text((x, y), text, font=f, fill=(255, 255, 255, alpha), **kw)
    return Image.alpha_composite(photo.convert("RGBA"), layer).convert("RGB")


def tiled_watermark(photo: Image.Image, text: str, *, size: int = 34, angle: float = 30.0, opacity: float = 0.45) -> Image.Image:
    """A handle repeated across the whole picture on a diagonal, semi-transparent (stock and
    channel pictures guarded against re-use)."""
    big = max(photo.size) * 2
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    f = font(size, bold=True)
    step_x = int(d.textlength(text, font=f) + size * 2.5)
    for row, y in enumerate(range(0, big, size * 4)):
        for x in range(-(row % 2) * step_x // 2, big, step_x):
            d.text((x, y), text, font=f, fill=(255, 255, 255, round(255 * opacity)))
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC)
    left, top = (big - photo.width) // 2, (big - photo.height) // 2
    layer = layer.crop((left, top, left + photo.width, top + photo.height))
    return Image.alpha_composite(photo.convert("RGBA"), layer).convert("RGB")
