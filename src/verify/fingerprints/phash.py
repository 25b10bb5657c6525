"""``phash-v2``: a 64-bit DCT hash of several views of each picture, with a low-information gate.

Version 1 (``phash``) hashed the full image only, with imagehash. Version 2 hashes, from one small
grey decode, the full picture plus the views the matcher needs (see ``views.py``):

- archive side: ``full``, ``trim`` (borders removed), ``inner`` (the photo inside a screenshot or
  captioned post), and ten crops (``crop-c80``, ``crop-c60``, corner and edge tiles);
- query side: ``full``, ``trim``, ``inner`` and ``strip`` (caption bands cut from top and bottom),
  each also mirrored (``mirror``, ``trim-mirror``, ``inner-mirror``, ``strip-mirror``).

Views with too little picture in them (flat sky, black, blank) are not hashed at all: such hashes
are near-random bits that would put everything next to everything.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from verify.fingerprints import dct
from verify.fingerprints.base import Fingerprinter
from verify.fingerprints.views import (
    ARCHIVE_CROPS,
    Box,
    crop_box,
    inner_box,
    same_box,
    strip_box,
    trim_box,
)
from verify.models import Fingerprint

#: Variant names, in a fixed order: the index stores them as small integer codes.
VARIANTS: tuple[str, ...] = (
    "full",
    "mirror",
    "trim",
    "trim-mirror",
    "inner",
    "inner-mirror",
    "strip",
    "strip-mirror",
    *(name for name, *_ in ARCHIVE_CROPS),
)
MIRRORED = frozenset(v for v in VARIANTS if v.endswith("mirror"))


def pack_bits(bits: np.ndarray) -> bytes:
    """Kept for callers of version 1: pack a boolean array big-endian."""
    return np.packbits(bits.astype(bool).ravel()).tobytes()


def _slice(gray: np.ndarray, box: Box) -> np.ndarray:
    t, b, l, r = box
    return gray[t:b, l:r]


def gray_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L") if image.mode != "L" else image)


class PHashV2(Fingerprinter):
    name = "phash-v2"
    bits = 64
    #: Hash distance (of 64) treated as the same picture when no geometric check is possible.
    threshold = 4

    def hash_image(self, image: Image.Image) -> bytes:
        coeffs = dct.coefficients(dct.thumb(gray_array(image))[None])
        return dct.to_bytes(dct.bits_to_int(coeffs)[0])

    def views(self, gray: np.ndarray, *, for_archive: bool, video: bool = False) -> dict[str, np.ndarray]:
        """Named grey views worth hashing (before the information gate)."""
        shape = gray.shape
        out: dict[str, np.ndarray] = {"full": gray}
        trim = trim_box(gray)
        base = gray
        if trim is not None:
            base = _slice(gray, trim)
            out["trim"] = base
        if not video:
            inner = inner_box(gray)
            if inner is not None and not same_box(inner, trim, shape) and not same_box(inner, (0, shape[0], 0, shape[1]), shape):
                out["inner"] = _slice(gray, inner)
            if not for_archive:
                strip = strip_box(gray)
                if strip is not None and not any(same_box(strip, b, shape) for b in (trim, inner)):
                    out["strip"] = _slice(gray, strip)
        if for_archive:
            crops = ARCHIVE_CROPS[:1] if video else ARCHIVE_CROPS
            for name, *frac in crops:
                out[name] = _slice(base, crop_box(base.shape, tuple(frac)))  # type: ignore[arg-type]
        return out

    def fingerprint_gray(
        self, gray: np.ndarray, *, for_archive: bool, frame_time_s: float | None = None, video: bool = False
    ) -> list[Fingerprint]:
        """All fingerprints of one grey picture (a decoded still or a video frame)."""
        views = self.views(gray, for_archive=for_archive, video=video)
        names = list(views)
        thumbs = np.stack([dct.thumb(v) for v in views.values()])
        coeffs = dct.coefficients(thumbs)
        keep = dct.info(coeffs) >= dct.MIN_INFO
        words = dct.bits_to_int(coeffs)
        out = [Fingerprint(self.name, n, dct.to_bytes(w), frame_time_s) for n, w, k in zip(names, words, keep) if k]
        if not for_archive:
            mirror_words = dct.bits_to_int(dct.mirrored(coeffs))
            for n, w, k in zip(names, mirror_words, keep):
                if k and n in ("full", "trim", "inner", "strip"):
                    out.append(Fingerprint(self.name, "mirror" if n == "full" else f"{n}-mirror", dct.to_bytes(w), frame_time_s))
        return out

    def fingerprint_image(self, image: Image.Image, *, for_archive: bool, frame_time_s: float | None = None) -> list[Fingerprint]:
        return self.fingerprint_gray(gray_array(image), for_archive=for_archive, frame_time_s=frame_time_s)
