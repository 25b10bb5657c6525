"""Perceptual fingerprints of images and of video frames.

``compute`` is the single entry point: it decodes the file once (a small grey decode for images,
dense motion-adaptive frames for video) and hashes every view the matcher needs. ``for_archive``
selects the archive-side views (crops) or the query-side views (mirrors); both sides hash the full
picture, the picture with its borders trimmed and the photo found inside a screenshot or frame.
Archive stills also get keypoint words (``keypoints.py``): a second, crop- and rotation-proof way
into the shortlist that the matcher uses when the hashes find nothing it can confirm.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from verify.config import Settings
from verify.fingerprints import keypoints
from verify.fingerprints.base import Fingerprinter
from verify.fingerprints.pdq import PDQ
from verify.fingerprints.phash import VARIANTS, PHashV2
from verify.fingerprints.video import video_fingerprints
from verify.media import Sniffed, decode_reduced
from verify.models import Fingerprint

PHASH = PHashV2()
ALGORITHMS: dict[str, Fingerprinter] = {fp.name: fp for fp in (PHASH,)}
#: Hashes computed at ingest for exchange with other organisations (exports, partners' banks),
#: not loaded into the archive's match index. A new one is a module plus a line here.
EXCHANGE: dict[str, Fingerprinter] = {fp.name: fp for fp in (PDQ(),)}

#: Images are decoded (JPEG draft) to at least this many pixels on the short side for hashing:
#: enough for a 60% crop or a photo inside a screenshot to still be well above 32x32.
HASH_DECODE_TARGET = 160


def hash_view(gray: np.ndarray, short: int = HASH_DECODE_TARGET) -> np.ndarray:
    """Scale a grey array so its short side is about ``short`` pixels (area averaging, OpenCV)."""
    h, w = gray.shape
    if min(h, w) <= short * 1.25:
        return gray
    scale = short / min(h, w)
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def compute_image(path: Path, max_pixels: int, *, for_archive: bool = True) -> list[Fingerprint]:
    if not for_archive:
        shared = _query_one_decode(path, max_pixels)
        if shared is not None:
            gray, exchange = shared
            return PHASH.fingerprint_gray(hash_view(gray), for_archive=False) + exchange
    gray = _decode_for_hashing(path, max_pixels)
    out = PHASH.fingerprint_gray(hash_view(gray), for_archive=for_archive)
    if for_archive:
        # The same decode the keypoint check loads an original at, so the words name its keypoints.
        out += keypoints.fingerprint_gray(gray)
    return out + exchange_fingerprints(path, max_pixels)


def exchange_fingerprints(path: Path, max_pixels: int, names: tuple[str, ...] | None = None) -> list[Fingerprint]:
    """The exchange hashes (PDQ) of a picture, each from its own reference decode."""
    out: list[Fingerprint] = []
    for name, algo in EXCHANGE.items():
        if names is None or name in names:
            out += algo.fingerprint_path(path, max_pixels)
    return out


def keypoint_words(path: Path, max_pixels: int) -> list[Fingerprint]:
    """The keypoint words alone, for a picture stored before they existed (the same decode as ingest)."""
    return keypoints.fingerprint_gray(_decode_for_hashing(path, max_pixels))


def _decode_for_hashing(path: Path, max_pixels: int) -> np.ndarray:
    # Ask the JPEG decoder for a little more than we hash so that it picks its cheapest scale
    # and decode_reduced does not resample again; OpenCV's area resize is faster than Pillow's.
    return np.asarray(decode_reduced(path, max_pixels, target=HASH_DECODE_TARGET * 2, mode="L"))


def _draft_scale(size: tuple[int, int], request: tuple[int, int]) -> int:
    """The reduction (1, 2, 4 or 8) Pillow's JPEG ``draft`` picks for ``request`` (its own arithmetic)."""
    scale = min(size[0] // max(1, request[0]), size[1] // max(1, request[1]))
    return next(s for s in (8, 4, 2, 1) if scale >= s)


def _query_one_decode(path: Path, max_pixels: int) -> tuple[np.ndarray, list[Fingerprint]] | None:
    """Query side (``verify hash``, ``verify match``): one JPEG decode for PDQ and the grey views.

    PDQ's reference front end decodes the JPEG in colour at the codec scale toward its 512 px
    thumbnail; the grey views decode luminance only at the scale toward 320 px. For camera-size
    pictures both scales are 1/8, so the second decode (about 40% of a 12-24 MP file's hashing
    time) is the same work again: here the colour decode is done once, PDQ is computed from it
    exactly as ``pdq.luma_from_path`` would (bit for bit: same draft, same resize), and the grey
    picture is its luminance (Pillow's ITU-R 601 weights) instead of the decoder's Y channel,
    which differs by rounding (at most 1-2 grey levels; pHash agreement is measured in
    docs/benchmarks.md). Archive ingest keeps the separate luminance decode: its grey picture is
    also what the stored keypoints are computed on. ``None``: not a single-frame colour JPEG whose
    two scales agree (the two decodes then run as before).
    """
    from PIL import Image, ImageOps

    from verify.fingerprints import pdq
    from verify.media import open_image

    if set(EXCHANGE) != {pdq.NAME}:
        return None
    im = open_image(path, max_pixels)
    try:
        if im.format != "JPEG" or getattr(im, "n_frames", 1) > 1 or len(im.tile) != 1 or im.mode not in ("RGB", "L"):
            return None
        size = pdq.thumbnail_size(im.size)
        target = HASH_DECODE_TARGET * 2
        if size == im.size or _draft_scale(im.size, size) != _draft_scale(im.size, (target, target)):
            return None
        im.draft(None, size)
        im.load()
        value, quality = pdq.hash_luma(pdq.luma_of(im.resize(size, Image.Resampling.BICUBIC)))
        exchange = [Fingerprint(pdq.NAME, pdq.variant_name("full", quality), value)]
        upright = ImageOps.exif_transpose(im) or im
        gray = upright.convert("L")
        short = min(gray.size)
        if short > target * 2:  # as decode_reduced does
            scale = target / short
            gray = gray.resize((max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.Resampling.BILINEAR)
        return np.asarray(gray), exchange
    except Exception:  # damaged or odd: the usual path decodes again and reports it properly
        return None
    finally:
        im.close()


def compute(path: Path, sniffed: Sniffed, settings: Settings, *, for_archive: bool = True) -> list[Fingerprint]:
    """Fingerprints for one file; raises ``UnreadableMedia`` when it cannot be decoded.

    A picture with too little in it (flat, black, blank) yields no fingerprints: it cannot be
    told apart from other such pictures, so it is better not matched at all.
    """
    if sniffed.kind == "image":
        return compute_image(path, settings.max_image_pixels, for_archive=for_archive)
    return video_fingerprints(path, PHASH, for_archive=for_archive, also=tuple(EXCHANGE.values()))


__all__ = ["ALGORITHMS", "EXCHANGE", "PHASH", "exchange_fingerprints", "VARIANTS", "Fingerprinter", "compute", "compute_image", "keypoint_words"]
