"""Lenses, not verdicts: error level analysis and the noise residual as pictures to look at.

Both are shown with a caption that says what they can and cannot show, because both are easy to
misread: bright areas in an ELA picture are where detail and edges are, in any photo; a noise
picture changes with the texture. They help an editor look, next to the other readings.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops

ELA_QUALITY = 90
ELA_GAIN = 20.0
NOISE_GAIN = 8.0

ELA_CAPTION = (
    "Error level analysis: the picture re-saved once more at JPEG quality {q} and the difference, "
    "brightened. Areas that were saved fewer times than the rest (pasted in, retouched) can stand out as "
    "brighter or darker than similar areas around them. It CANNOT show manipulation by itself: edges, fine "
    "texture and bright colours always look brighter, and a picture re-saved many times looks even. Compare "
    "like with like (sky with sky, skin with skin), never read a bright patch as proof."
)
NOISE_CAPTION = (
    "Noise residual: the picture minus a smoothed copy of itself, brightened. A camera leaves fairly even "
    "grain over the whole frame; a pasted or airbrushed region can look smoother or grainier than its "
    "surroundings. It CANNOT tell an edit from a naturally smooth surface (sky, walls, out-of-focus "
    "background) or from noise reduction applied to the whole picture."
)


@dataclass
class Lens:
    name: str
    png: bytes
    caption: str
    quality: int | None = None


def _png(im: Image.Image, max_side: int | None = None) -> bytes:
    """PNG bytes, reduced to ``max_side`` for display after the lens was computed at full size."""
    if max_side and max(im.size) > max_side:
        im = im.copy()
        im.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def ela(rgb: Image.Image, quality: int = ELA_QUALITY, max_side: int | None = None) -> Lens:
    """Re-save at ``quality`` and show the brightened absolute difference."""
    im = rgb.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as again:
        diff = ImageChops.difference(im, again.convert("RGB"))
    arr = np.clip(np.asarray(diff, dtype=np.float32) * ELA_GAIN, 0, 255).astype(np.uint8)
    return Lens("ela", _png(Image.fromarray(arr, "RGB"), max_side), ELA_CAPTION.format(q=quality), quality)


def noise(rgb: Image.Image, max_side: int | None = None) -> Lens:
    """Luminance minus its 3x3 median, centred on grey and brightened."""
    import cv2

    grey = np.asarray(rgb.convert("L"))
    smooth = cv2.medianBlur(grey, 3)  # Pillow's MedianFilter is about 20 times slower on 12 MP
    res = grey.astype(np.float32) - smooth.astype(np.float32)
    arr = np.clip(128 + res * NOISE_GAIN, 0, 255).astype(np.uint8)
    return Lens("noise", _png(Image.fromarray(arr, "L"), max_side), NOISE_CAPTION)


def all_lenses(rgb: Image.Image, max_side: int | None = None) -> list[Lens]:
    """Both lenses, computed on the full picture, shown at most ``max_side`` on the long side."""
    return [ela(rgb, max_side=max_side), noise(rgb, max_side=max_side)]
