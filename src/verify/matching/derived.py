"""Queries derived from one query picture: its sub-pictures, its screen rectified, its caption text
painted out, its quarter turns.

When the whole query confirms nothing, the matcher runs each derived picture through the same
pipeline (hashes, shortlist, keypoint words, confirmation) as if it were a query of its own, cheap
hash stage first and at most ``MAX_DERIVED`` of them in full. Each carries where it came from, so a
match can say which part of the query it was (``detail["region"]``, in query pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from verify.fingerprints.regions import find_regions, rectify, screen_quads
from verify.fingerprints.views import without_caption_text

#: Derived queries that get the full pipeline (the rest are ranked out by their hashes).
MAX_DERIVED = 6


@dataclass(frozen=True)
class Derived:
    """One derived query picture."""

    #: ``region`` (a picture inside the query), ``rectified`` (a tilted screen or frame made
    #: upright), ``uncaptioned`` (meme text painted out), ``turned-90`` / ``turned-270``.
    view: str
    gray: np.ndarray
    #: Where it is in the query, ``[x, y, w, h]`` in the query file's upright pixels (None: all of it).
    region: tuple[int, int, int, int] | None = None
    #: The four corners of a rectified quadrilateral, in query pixels.
    quad: tuple[tuple[int, int], ...] | None = None


def upright_size(path: Path) -> tuple[int, int] | None:
    """The query's width and height as it is shown (EXIF orientation applied), from its header."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except Exception:
        return None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def derive(gray: np.ndarray, size: tuple[int, int] | None) -> list[Derived]:
    """Every derived query of ``gray`` (the query's grey work copy), most specific first.

    ``size`` is the query file's upright size, to report regions in its pixels.
    """
    h, w = gray.shape
    sx = (size[0] / w) if size else 1.0
    sy = (size[1] / h) if size else 1.0
    out: list[Derived] = []
    for x, y, bw, bh in find_regions(gray):
        region = (round(x * sx), round(y * sy), round(bw * sx), round(bh * sy))
        out.append(Derived("region", np.ascontiguousarray(gray[y : y + bh, x : x + bw]), region))
    for q in screen_quads(gray):
        x0, y0 = q.min(axis=0)
        x1, y1 = q.max(axis=0)
        region = (round(x0 * sx), round(y0 * sy), round((x1 - x0) * sx), round((y1 - y0) * sy))
        corners = tuple((round(float(px) * sx), round(float(py) * sy)) for px, py in q)
        out.append(Derived("rectified", rectify(gray, q), region, corners))
    clean = without_caption_text(gray)
    if clean is not None:
        out.append(Derived("uncaptioned", clean))
    # The query turned by a quarter clockwise from the original is turned back anticlockwise.
    out.append(Derived("turned-90", np.ascontiguousarray(np.rot90(gray, 1))))
    out.append(Derived("turned-270", np.ascontiguousarray(np.rot90(gray, -1))))
    return out
