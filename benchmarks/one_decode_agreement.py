"""Query-side hashing with one JPEG decode (``fingerprints._query_one_decode``) against the two
decodes it replaces, on every JPEG in the corpus plus generated camera-size files: PDQ must be
bit for bit the same, the grey views' pHash within a few bits. Prints a Markdown summary.

    .venv/bin/python benchmarks/one_decode_agreement.py      # ~1-2 min
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CORPUS

from verify import fingerprints as fpmod
from verify.fingerprints.dct import to_bytes  # noqa: F401  (the module the words come from)

MAX_PIXELS = 200_000_000


def two_decodes(path: Path) -> list:
    gray = fpmod._decode_for_hashing(path, MAX_PIXELS)
    return fpmod.PHASH.fingerprint_gray(fpmod.hash_view(gray), for_archive=False) + fpmod.exchange_fingerprints(path, MAX_PIXELS)


def main() -> None:
    files = sorted((CORPUS / "photos").glob("*.jp*g")) if (CORPUS / "photos").exists() else []
    tmp = tempfile.TemporaryDirectory(prefix="verify-onedecode-")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import speed

    for i, size in enumerate(speed.CAMERA_SIZES):
        files.append(speed.make_camera_jpeg(Path(tmp.name) / f"cam{i}.jpg", 900 + i, size))
    used = same_pdq = 0
    dist: Counter[int] = Counter()
    t_old = t_new = 0.0
    for f in files:
        try:
            shared = fpmod._query_one_decode(f, MAX_PIXELS)
        except Exception:
            shared = None
        if shared is None:
            continue
        used += 1
        t = time.process_time()
        old = two_decodes(f)
        t_old += time.process_time() - t
        t = time.process_time()
        new = fpmod.compute_image(f, MAX_PIXELS, for_archive=False)
        t_new += time.process_time() - t
        o = {(x.algorithm, x.variant): x.value for x in old}
        n = {(x.algorithm, x.variant): x.value for x in new}
        pdq_keys = [k for k in o if k[0] == "pdq"]
        same_pdq += all(o[k] == n.get(k) for k in pdq_keys) and len(pdq_keys) == len([k for k in n if k[0] == "pdq"])
        for k in set(o) | set(n):
            if k[0] == "pdq":
                continue
            if k not in o or k not in n:
                dist[-1] += 1  # a view kept on one side only (its information score crossed the gate)
                continue
            dist[sum(bin(a ^ b).count("1") for a, b in zip(o[k], n[k]))] += 1
    print(f"## One JPEG decode on the query side: agreement with the two decodes it replaces\n")
    print(f"{len(files)} JPEGs tried ({len(files) - 4} corpus, 4 generated 12-24 MP); one decode applied to {used}.")
    print(f"PDQ identical on {same_pdq} of {used}.")
    views = sum(v for k, v in dist.items() if k >= 0)
    print(f"pHash views compared: {views}; bits apart: " + ", ".join(f"{k}: {v}" for k, v in sorted(dist.items()) if k >= 0)
          + (f"; views present on one side only: {dist[-1]}" if dist[-1] else ""))
    print(f"CPU: two decodes {t_old / max(used, 1) * 1000:.1f} ms/file, one decode {t_new / max(used, 1) * 1000:.1f} ms/file")
    tmp.cleanup()


if __name__ == "__main__":
    main()
