"""The fingerprint contract: one small class per algorithm.

A new algorithm is one new module that subclasses ``Fingerprinter`` and is listed in
``fingerprints.ALGORITHMS``; the store, the index and the front ends only see ``Fingerprint``
records (algorithm, variant, packed bits, frame time). Algorithm names carry a version
(``phash-v2``) so fingerprints stored by an older version are recognisably stale.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pathlib import Path

import numpy as np
from PIL import Image

from verify.models import Fingerprint


class Fingerprinter(ABC):
    #: Stable name stored with every fingerprint; changing it orphans stored hashes.
    name: str = ""
    #: Width of the hash in bits.
    bits: int = 64
    #: Hamming distance at or below which two hashes count as the same picture.
    threshold: int = 8

    @abstractmethod
    def hash_image(self, image: Image.Image) -> bytes:
        """Packed hash bits (big-endian) of an upright RGB image."""

    def variants(self, image: Image.Image, *, for_archive: bool) -> dict[str, Image.Image]:
        """Views of an image worth hashing; the robust matcher adds crops, mirrors, trims."""
        return {"full": image}

    def fingerprint_image(self, image: Image.Image, *, for_archive: bool, frame_time_s: float | None = None) -> list[Fingerprint]:
        return [
            Fingerprint(self.name, variant, self.hash_image(view), frame_time_s)
            for variant, view in self.variants(image, for_archive=for_archive).items()
        ]

    def fingerprint_path(self, path: Path, max_pixels: int) -> list[Fingerprint]:
        """Fingerprints of a picture file, decoded the way this algorithm needs (default: upright
        RGB at reduced size). Exchange hashes override it to follow their reference decode."""
        from verify.media import decode_reduced

        return self.fingerprint_image(decode_reduced(path, max_pixels), for_archive=True)

    def fingerprint_frame(self, gray: np.ndarray, time_s: float) -> list[Fingerprint]:
        """Fingerprints of one sampled video frame (its luminance plane); none by default."""
        return []

    @staticmethod
    def distance(a: bytes, b: bytes) -> int:
        return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
