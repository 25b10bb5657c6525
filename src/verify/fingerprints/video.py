"""Video fingerprints: dense, motion-adaptive frame sampling, each kept frame hashed with its time.

Keyframes alone are too sparse (often one every 2-10 seconds): a still grabbed between two of them,
during a pan, would not resemble either. So every frame the fast decoder yields is given a cheap
hash (a strided slice of the luminance plane, 32x32, one DCT), and a frame is kept whenever its
hash has moved more than ``MOTION_BITS`` from the last kept frame, at a keyframe, and at least every
``MAX_GAP_S``. A still from any moment is then within a few bits of a kept frame, while a static
shot costs one frame per ``MAX_GAP_S``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from verify.fingerprints import dct
from verify.fingerprints.base import Fingerprinter
from verify.fingerprints.phash import PHashV2
from verify.media import iter_video_frames
from verify.models import Fingerprint

#: A frame whose hash differs from the last kept frame by more than this many bits is kept.
MOTION_BITS = 6
#: A frame is kept at least this often even in a static shot.
MAX_GAP_S = 1.0
#: Beyond this many kept frames (long videos), sampling falls back to one frame per ``LONG_GAP_S``.
MAX_KEPT = 3000
LONG_GAP_S = 5.0
#: Kept frames are hashed from a luminance view about this many pixels on the short side.
VIEW_SHORT = 180


def _stride(shape: tuple[int, int], short: int) -> int:
    return max(1, min(shape) // short)


def video_fingerprints(path: Path, algo: PHashV2, *, for_archive: bool, also: Sequence[Fingerprinter] = ()) -> list[Fingerprint]:
    """pHash views of every kept frame; ``also``: further hashes per kept frame (PDQ, vPDQ-style)."""
    out: list[Fingerprint] = []
    last_word: int | None = None
    last_t = -1e9
    kept = 0
    for frame in iter_video_frames(path):
        gray = frame.gray
        coarse = gray[:: _stride(gray.shape, 64), :: _stride(gray.shape, 64)]
        coeffs = dct.coefficients(dct.thumb(np.ascontiguousarray(coarse))[None])
        word = int(dct.bits_to_int(coeffs)[0])
        gap = frame.time_s - last_t
        if kept >= MAX_KEPT:
            keep = gap >= LONG_GAP_S
        else:
            moved = last_word is None or (word ^ last_word).bit_count() > MOTION_BITS
            keep = moved or frame.key or gap >= MAX_GAP_S
        if not keep:
            continue
        s = _stride(gray.shape, VIEW_SHORT)
        view = np.ascontiguousarray(gray[::s, ::s])
        fps = algo.fingerprint_gray(view, for_archive=for_archive, frame_time_s=round(frame.time_s, 3), video=True)
        last_word, last_t = word, frame.time_s
        if fps:
            out.extend(fps)
            for extra in also:
                out.extend(extra.fingerprint_frame(gray, round(frame.time_s, 3)))
            kept += 1
    return out
