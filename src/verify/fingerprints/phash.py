"""imagehash's DCT pHash (64 bits): robust to resizing and recompression, the archive's workhorse."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from verify.fingerprints.base import Fingerprinter


def pack_bits(bits: np.ndarray) -> bytes:
    return np.packbits(bits.astype(bool).ravel()).tobytes()


class PHash(Fingerprinter):
    name = "phash"
    bits = 64
    threshold = 8

    def hash_image(self, image: Image.Image) -> bytes:
        return pack_bits(imagehash.phash(image, hash_size=8).hash)
