"""PDQ at distance 31 as a baseline: what an exchange partner's matcher (HMA) would find.

``PDQBaseline`` is the function ``quality.py`` can call next to its plain-pHash baseline: give it
the archive's (path, item id) pairs once, then ``baseline(query_path)`` is the nearest archive
item by PDQ within 31 bits when the query's quality is at least 50, else ``None``.

Run alone, it reports PDQ-at-31 recall per re-posting transform of ``transforms.py`` on the corpus
photos (four in five archived, with generated distractors) and false matches on never-archived
pictures (the held-out fifth and generated ones), the same split as ``quality.py``:

    .venv/bin/python benchmarks/pdq_baseline.py --quick     # 24 photos
    .venv/bin/python benchmarks/pdq_baseline.py             # every archived corpus photo
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # factories

import numpy as np

from verify.fingerprints import pdq


def pdq_of(path: Path) -> tuple[np.ndarray, int]:
    """(4 x uint64 words, quality) of a file, decoded the reference way."""
    value, quality = pdq.hash_luma(pdq.luma_from_path(path, 400_000_000))
    return np.frombuffer(value, dtype=">u8").astype(np.uint64), quality


class PDQBaseline:
    """Nearest archive item by PDQ, at the exchange threshold (d <= 31, query quality >= 50)."""

    def __init__(self, archive: Iterable[tuple[Path, int]]) -> None:
        pairs = list(archive)
        self.ids = np.array([item_id for _, item_id in pairs])
        self.words = np.stack([pdq_of(p)[0] for p, _ in pairs]) if pairs else np.zeros((0, 4), np.uint64)

    def __call__(self, query: Path) -> int | None:
        words, quality = pdq_of(query)
        if quality < pdq.MIN_QUALITY or not len(self.ids):
            return None
        d = np.bitwise_count(self.words ^ words).sum(axis=1)
        i = int(np.argmin(d))
        return int(self.ids[i]) if d[i] <= pdq.MATCH_DISTANCE else None


def main() -> None:
    import factories
    from _common import require_corpus, table
    from quality import load_rgb
    from transforms import TRANSFORMS, jpeg

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    corpus = require_corpus()
    photos = sorted(p for p in (corpus / "photos").iterdir() if p.is_file())
    held_out = photos[4::5]
    archived = [p for p in photos if p not in held_out]
    n_gen = 40 if args.quick else 150
    n_src = 24 if args.quick else len(archived)
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="verify-pdq-") as tmp:
        work = Path(tmp)
        generated = []
        for i in range(n_gen + 40):
            p = work / f"gen{i:04d}.jpg"
            p.write_bytes(factories.jpeg_bytes(factories.photo(10_000 + i, rng.choice([(1200, 900), (900, 1200), (1280, 720)])), quality=88))
            generated.append(p)
        archive = archived + generated[:n_gen]
        truth = {p: i + 1 for i, p in enumerate(archive)}
        baseline = PDQBaseline(truth.items())
        stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        sources = archived[:: max(1, len(archived) // n_src)][:n_src]
        for src in sources:
            original = load_rgb(src)
            for name, fn in TRANSFORMS.items():
                q = work / "q.jpg"
                q.write_bytes(jpeg(fn(original, random.Random(f"{src.name}/{name}"))))
                got = baseline(q)
                s = stats[name]
                s["n"] += 1
                s["found"] += got == truth[src]
                s["false"] += got is not None and got != truth[src]
        for p in held_out + generated[n_gen:]:
            q = work / "q.jpg"
            q.write_bytes(jpeg(load_rgb(p)))
            s = stats["negatives (never indexed)"]
            s["n"] += 1
            s["false"] += baseline(q) is not None
    rows = []
    for name, s in stats.items():
        neg = name.startswith("negatives")
        rows.append([name, s["n"], "-" if neg else f"{s['found'] / s['n']:.3f}", s["false"]])
    print(f"archive: {len(archive)} pictures ({len(archived)} corpus photos); {len(sources)} query sources")
    print(table(["transform", "queries", "PDQ<=31 recall", "PDQ<=31 false"], rows))


if __name__ == "__main__":
    main()
