"""Quality benchmark: recall per re-posting transform and the false-match rate, against plain pHash.

Archive: the corpus photos (four in five; the fifth are held out as never-indexed negatives) plus
generated photo-like pictures as distractors. Queries: every transform in ``transforms.py`` applied
to each archived corpus photo, written as JPEG, matched through the real ``Matcher`` (hashes,
shortlist, keypoint confirmation). Negatives: the held-out corpus photos (as they are, and
re-posted with a caption) and generated pictures never indexed.

A query counts as found when the top confident match is its original; a false match is a query
with any confident match on a wrong item (for negatives: any confident match at all). The baseline
is plain ``imagehash.phash`` of the full image, nearest archive hash within 10 bits, from the same run;
a second baseline is PDQ at distance 31 with query quality >= 50 (``pdq_baseline.py``: what an
exchange partner's matcher, HMA, would find), also from the same run.

    .venv/bin/python benchmarks/quality.py            # full run (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/quality.py --quick    # 24 photos, a minute or two
    .venv/bin/python benchmarks/quality.py --families-only --archive-size 10000   # archive-scale row

``--archive-size N`` pads the archive to N items with synthetic distractors (``add_distractors``):
fingerprint rows copied from the real archive items with every hash bit flipped with probability
0.4 (as ``scale.py`` does) and random keypoint words, without originals. They test what grows
with the archive (chance hash hits, shortlist crowding, keypoint-word rarity), not confirmation:
with no file behind them, they can only match by a near-identical hash. The baselines are over
the real archive only.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # factories

import factories  # noqa: I001 (needs the path above)
import imagehash
import numpy as np
from _common import MemoryArchive, require_corpus, table
from PIL import Image, ImageOps
from families import FAMILIES
from pdq_baseline import PDQBaseline
from transforms import TRANSFORMS, jpeg

BASELINE_THRESHOLD = 10
WORK_SIDE = 1600  # originals are scaled to this long side before transforming (re-posts are smaller)


def load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (WORK_SIDE, WORK_SIDE))
        im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    return im


def phash_int(path: Path) -> int:
    return int(str(imagehash.phash(Image.open(path))), 16)


#: Hash bits flipped per synthetic distractor row (``scale.py`` uses the same).
DISTRACTOR_FLIP = 0.4


def add_distractors(archive: MemoryArchive, target_items: int, seed: int = 7) -> int:
    """Pad ``archive`` to ``target_items`` with synthetic items; returns how many were added.

    Each copies the fingerprint rows of a real archive item (round robin) with every hash bit
    flipped with probability ``DISTRACTOR_FLIP`` and as many random 22-bit keypoint words. Their
    originals do not exist, so confirmation never runs on them (the matcher then trusts only a
    hash within ``HASH_CONFIDENT`` bits): what they test is the index growing, not the geometry.
    """
    from verify.fingerprints import keypoints as kp_words

    real = list(archive.items)
    need = target_items - len(real)
    if need <= 0:
        return 0
    rng = np.random.default_rng(seed)
    rows = {i: archive.fingerprints[i] for i in real}
    template = next(iter(archive.items.values()))
    index, keypoints = archive.matcher.index, archive.matcher.keypoints
    next_id = max(real) + 1
    batch = 5000
    done = 0
    while done < need:
        k = min(batch, need - done)
        by_algo: dict[str, tuple[list[np.ndarray], list[int], list[str]]] = {}
        for j in range(k):
            item_id = next_id + done + j
            sha = f"d{item_id:063d}"
            archive.items[item_id] = dataclasses.replace(template, id=item_id, sha256=sha, filename=f"distractor-{item_id}.jpg")
            archive.paths[sha] = Path("/nonexistent") / sha
            for fp in rows[real[(item_id) % len(real)]]:
                if fp.algorithm == kp_words.NAME:
                    n = len(fp.value) // 4
                    keypoints.add(item_id, rng.integers(0, 1 << kp_words.BITS, n, dtype=np.uint32).reshape(kp_words.TABLES, -1))
                    continue
                if fp.frame_time_s is not None:
                    continue
                words, ids, variants = by_algo.setdefault(fp.algorithm, ([], [], []))
                words.append(np.frombuffer(fp.value.rjust(-(-len(fp.value) // 8) * 8, b"\x00"), dtype=">u8").astype(np.uint64))
                ids.append(item_id)
                variants.append(fp.variant)
        for algo, (words, ids, variants) in by_algo.items():
            hashes = np.stack(words)
            flips = np.packbits(rng.random((hashes.shape[0], hashes.shape[1] * 64)) < DISTRACTOR_FLIP, axis=1)
            hashes = hashes ^ flips.view(">u8").astype(np.uint64).reshape(hashes.shape)
            index.add_columns(algo, hashes, np.array(ids), np.full(len(ids), np.nan, np.float32), variants)
        done += k
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small sample for development")
    ap.add_argument("--photos", type=int, default=None, help="archived corpus photos used as query sources")
    ap.add_argument("--generated", type=int, default=None, help="generated distractors in the archive")
    ap.add_argument("--transforms", default=None, help="comma-separated subset of transforms and families")
    ap.add_argument("--families-only", action="store_true", help="only the issue-12 families (collages, screens, memes, ...)")
    ap.add_argument("--negatives", type=int, default=None, help="held-out photos used as negative sources (default: all)")
    ap.add_argument("--archive-size", type=int, default=None, help="pad the archive to this many items with synthetic distractors")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    corpus = require_corpus()
    photos = sorted(p for p in (corpus / "photos").iterdir() if p.is_file())
    held_out = photos[4::5]
    archived = [p for p in photos if p not in held_out]
    n_gen = args.generated if args.generated is not None else (40 if args.quick else 150)
    n_src = args.photos if args.photos is not None else (24 if args.quick else len(archived))
    every = {**TRANSFORMS, **{f"family:{k}": v for k, v in FAMILIES.items()}}
    names = args.transforms.split(",") if args.transforms else [n for n in every if not args.families_only or n.startswith("family:")]
    rng = random.Random(4)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="verify-quality-") as tmp:
        work = Path(tmp)
        gen_dir = work / "generated"
        gen_dir.mkdir()
        generated = []
        for i in range(n_gen + 40):
            size = rng.choice([(1200, 900), (900, 1200), (1280, 720)])
            p = gen_dir / f"gen{i:04d}.jpg"
            p.write_bytes(factories.jpeg_bytes(factories.photo(10_000 + i, size), quality=88))
            generated.append(p)
        gen_archive, gen_negative = generated[:n_gen], generated[n_gen:]
        archive = MemoryArchive()
        truth: dict[Path, int] = {}
        for p in archived + gen_archive:
            item_id, _ = archive.add(p)
            truth[p] = item_id
        base_hashes = np.array([phash_int(p) for p in archived + gen_archive], dtype=np.uint64)
        base_ids = np.array([truth[p] for p in archived + gen_archive])
        pdq_baseline = PDQBaseline((p, truth[p]) for p in archived + gen_archive)
        n_distractors = add_distractors(archive, args.archive_size) if args.archive_size else 0
        t_index = time.perf_counter() - t0

        def baseline(q: Path) -> int | None:
            d = np.bitwise_count(base_hashes ^ np.uint64(phash_int(q)))
            i = int(np.argmin(d))
            return int(base_ids[i]) if d[i] <= BASELINE_THRESHOLD else None

        # Other pictures for the rest of a collage, the page around a pasted photo: never archived.
        fillers = [load_rgb(p).resize((800, 600)) if i % 3 else load_rgb(p) for i, p in enumerate(held_out)]
        fillers += [Image.open(p).convert("RGB") for p in gen_negative[:10]]
        filler_rng = random.Random(11)
        others = lambda: filler_rng.choice(fillers)  # noqa: E731

        def make(name: str, im: Image.Image, rng: random.Random) -> Image.Image:
            fn = every[name]
            return fn(im, rng, others) if name.startswith("family:") else fn(im, rng)  # type: ignore[call-arg]

        sources = archived[:: max(1, len(archived) // n_src)][:n_src]
        stage_time: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        q_dir = work / "queries"
        q_dir.mkdir()
        t_match = 0.0
        n_queries = 0
        for src in sources:
            original = load_rgb(src)
            for name in names:
                im = make(name, original, random.Random(f"{src.name}/{name}"))
                q = q_dir / f"{src.stem}.{name.replace(':', '-')}.jpg"
                q.write_bytes(jpeg(im))
                t = time.perf_counter()
                outcome = archive.match(q)
                spent = time.perf_counter() - t
                t_match += spent
                stage_time[name]["total"] += spent
                for k, v in outcome.timings.items():
                    stage_time[name][k] += v
                n_queries += 1
                s = stats[name]
                s["n"] += 1
                top = outcome.matches[0].item.id if outcome.matches else None
                s["found"] += top == truth[src]
                s["kp"] += top == truth[src] and outcome.matches[0].detail.get("shortlist") == "keypoints"
                s["derived"] += top == truth[src] and "view" in outcome.matches[0].detail
                s["false"] += any(m.item.id != truth[src] for m in outcome.matches)
                s["cand"] += top != truth[src] and any(m.item.id == truth[src] for m in outcome.candidates)
                b = baseline(q)
                s["base_found"] += b == truth[src]
                s["base_false"] += b is not None and b != truth[src]
                pb = pdq_baseline(q)
                s["pdq_found"] += pb == truth[src]
                s["pdq_false"] += pb is not None and pb != truth[src]
                if args.verbose:
                    for m in outcome.matches:
                        if m.item.id != truth[src]:
                            print(f"FALSE {name} {src.name} -> {m.item.filename}: {m.method}", file=sys.stderr)
                if args.verbose and top != truth[src]:
                    best = outcome.candidates[0] if outcome.candidates else None
                    print(f"MISS {name} {src.name}: {best.method if best else 'no candidate'}", file=sys.stderr)
                q.unlink()
        negatives = [(p, "held-out") for p in held_out[: args.negatives]] + [(p, "generated") for p in gen_negative]
        fam_names = [n for n in names if n.startswith("family:")]
        for j, (p, kind) in enumerate(negatives):
            variants = [] if args.families_only else [("as-is", load_rgb(p))]
            if kind == "held-out" and not args.families_only:
                variants.append(("caption-logo", TRANSFORMS["caption-logo"](variants[0][1], random.Random(p.name))))
            if kind == "held-out" and fam_names:
                # every family made of never-archived pictures only: nothing may match
                base = load_rgb(p)
                for fam in fam_names[j % len(fam_names) :: 2] if not args.families_only else fam_names:
                    variants.append((fam, make(fam, base, random.Random(f"neg/{p.name}/{fam}"))))
            for label, im in variants:
                q = q_dir / f"neg.{p.stem}.{label}.jpg"
                q.write_bytes(jpeg(im))
                t = time.perf_counter()
                outcome = archive.match(q)
                t_match += time.perf_counter() - t
                n_queries += 1
                s = stats["negatives (never indexed)" if not label.startswith("family:") else f"negative {label} (never indexed)"]
                s["n"] += 1
                s["false"] += bool(outcome.matches)
                s["base_false"] += baseline(q) is not None
                s["pdq_false"] += pdq_baseline(q) is not None
                if args.verbose and outcome.matches:
                    print(f"FALSE negative {p.name} {label} -> {outcome.matches[0].item.filename}: {outcome.matches[0].method}", file=sys.stderr)
                q.unlink()
        n_neg_sources = len(negatives)
    rows = []
    tot = defaultdict(int)
    for name, s in stats.items():
        neg = name.startswith("negative")
        rows.append([
            name, s["n"],
            "-" if neg else f"{s['found'] / s['n']:.3f}",
            "-" if neg else f"{s['base_found'] / s['n']:.3f}",
            "-" if neg else f"{s['pdq_found'] / s['n']:.3f}",
            "-" if neg else s["kp"],
            "-" if neg else s["derived"],
            "-" if neg else s["cand"],
            s["false"], s["base_false"], s["pdq_false"],
        ])  # fmt: skip
        for k, v in s.items():
            tot[k] += v
        if not neg:
            tot["pos"] += s["n"]
    rows.append([
        "**all**", tot["n"], f"{tot['found'] / tot['pos']:.3f}", f"{tot['base_found'] / tot['pos']:.3f}", f"{tot['pdq_found'] / tot['pos']:.3f}",
        tot["kp"], tot["derived"], tot["cand"],
        f"{tot['false']} ({100 * tot['false'] / tot['n']:.2f}%)", f"{tot['base_false']} ({100 * tot['base_false'] / tot['n']:.2f}%)",
        f"{tot['pdq_false']} ({100 * tot['pdq_false'] / tot['n']:.2f}%)",
    ])  # fmt: skip
    print(
        f"archive: {len(archived)} corpus photos + {len(gen_archive)} generated + {n_distractors} synthetic distractors ({len(archive.matcher.index)} hashes, "
        f"keypoint words for {len(archive.matcher.keypoints)} pictures); "
        f"queries: {len(sources)} photos x {len(names)} transforms + {n_neg_sources} negative sources; "
        f"indexing {t_index:.1f}s, matching {1000 * t_match / max(1, n_queries):.0f} ms/query"
    )
    print(table(["transform", "queries", "recall", f"pHash<={BASELINE_THRESHOLD} recall", "PDQ<=31 recall", "found via keypoint words", "found via a derived query", "only as candidate", "false matches", f"pHash<={BASELINE_THRESHOLD} false", "PDQ<=31 false"], rows))
    print()
    stages = sorted({k for v in stage_time.values() for k in v if k != "total"})
    cost_rows = [[name, f"{1000 * v['total'] / stats[name]['n']:.0f}", *(f"{1000 * v.get(k, 0.0) / stats[name]['n']:.0f}" for k in stages)] for name, v in stage_time.items()]
    print(table(["transform", "ms/query (match)", *(f"{k} ms" for k in stages)], cost_rows))


if __name__ == "__main__":
    main()
