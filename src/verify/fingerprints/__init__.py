"""Perceptual fingerprints of images and of video keyframes.

``compute`` is the single entry point: it decodes the file once (reduced size for images,
keyframes for video) and runs every registered algorithm over the result.
"""

from __future__ import annotations

from pathlib import Path

from verify.config import Settings
from verify.fingerprints.base import Fingerprinter
from verify.fingerprints.phash import PHash
from verify.media import Sniffed, decode_reduced, iter_keyframes
from verify.models import Fingerprint

ALGORITHMS: dict[str, Fingerprinter] = {fp.name: fp for fp in (PHash(),)}

#: Seconds between sampled video frames when a codec marks few keyframes.
VIDEO_MIN_GAP_S = 0.5


def compute(path: Path, sniffed: Sniffed, settings: Settings, *, for_archive: bool = True) -> list[Fingerprint]:
    """Fingerprints for one file; raises ``UnreadableMedia`` when it cannot be decoded."""
    if sniffed.kind == "image":
        image = decode_reduced(path, settings.max_image_pixels)
        return [fp for algo in ALGORITHMS.values() for fp in algo.fingerprint_image(image, for_archive=for_archive)]
    out: list[Fingerprint] = []
    for t, frame in iter_keyframes(path, min_gap_s=VIDEO_MIN_GAP_S):
        frame.thumbnail((512, 512))
        for algo in ALGORITHMS.values():
            out.extend(algo.fingerprint_image(frame, for_archive=for_archive, frame_time_s=round(t, 3)))
    return out


__all__ = ["ALGORITHMS", "Fingerprinter", "compute"]
