"""Video benchmark: near-duplicate clip families, and stills grabbed from archived clips.

Archive: every ``tx__tmk_sample-videos_*`` clip (families chair, pattern, doorknob), the other
corpus videos as distractors, and a generated 720p clip with a fast pan. Two checks:

1. each family clip, matched against the archive without itself, should confidently match the
   other members of its family (recall over family pairs) and nothing outside it;
2. stills grabbed at random moments of archived clips (re-encoded as JPEG, some scaled down)
   should confidently match their clip within 2 seconds of the moment they were grabbed.

    .venv/bin/python benchmarks/video.py           # full (a few minutes)
    .venv/bin/python benchmarks/video.py --quick   # fewer stills
    .venv/bin/python benchmarks/video.py --families [--quick]   # issue 12 video families
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SETTINGS, MemoryArchive, require_corpus, table
from PIL import Image
from transforms import jpeg

from verify.fingerprints import compute, compute_image
from verify.media import probe_video, sniff_file, video_frame_at

#: Corpus clips that are the same footage in another encode (checked by eye): one family.
SAME_FOOTAGE = {
    "mei__m4v_sample_iPod.m4v": "apple-sample",  # the same Apple sample film in two encodes
    "mei__mov_sample_iTunes.mov": "apple-sample",
    "mei__mov_xmp480qt.mov": "sea",  # the same one-second sea shot
    "mei__mp4_uuid540.mp4": "sea",
    "mei__mp4_sample_mpeg4.mp4": "quicktime-logo",  # the QuickTime logo animation, two sizes
    "mei__3gp_sample.3gp": "quicktime-logo",
}


def family(path: Path) -> str | None:
    name = path.name
    if name in SAME_FOOTAGE:
        return SAME_FOOTAGE[name]
    if "tmk_sample-videos_" not in name:
        return None
    return name.split("tmk_sample-videos_")[1].split("-")[0]


def fast_pan(path: Path, seconds: float = 6.0, fps: int = 30) -> Path:
    """A 720p H.264 clip panning fast (32 px per frame, a screen width in 1.3 s) across a wide scene."""
    import av
    import factories
    import numpy as np

    rng = np.random.default_rng(7)
    w, h = 1280, 720
    n = int(seconds * fps)
    scene = np.asarray(factories.photo(77, (w + 32 * n + 8, h)))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = 120
        for i in range(n):
            x = i * 32
            frame = scene[:, x : x + w]
            frame = np.clip(frame.astype(np.int16) + rng.integers(-3, 4, frame.shape), 0, 255).astype(np.uint8)
            for p in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stills", type=int, default=None, help="stills grabbed per archived clip")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--families", action="store_true", help="picture-in-picture, compilation, re-filmed (issue 12)")
    ap.add_argument("--sources", type=int, default=None, help="--families: archived source clips")
    args = ap.parse_args()
    if args.families:
        import video_families

        video_families.bench(quick=args.quick, sources=args.sources, verbose=args.verbose)
        return
    corpus = require_corpus()
    videos = sorted(p for p in (corpus / "videos").iterdir() if p.is_file())
    per_clip = args.stills if args.stills is not None else (2 if args.quick else 5)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="verify-video-") as tmp:
        work = Path(tmp)
        pan = fast_pan(work / "generated-fast-pan-720p.mp4")
        archive = MemoryArchive()
        ids: dict[Path, int] = {}
        t0 = time.perf_counter()
        for p in [*videos, pan]:
            try:
                ids[p], _ = archive.add(p)
            except Exception as exc:  # an undecodable corpus clip is reported, not fatal
                print(f"skipped {p.name}: {exc}", file=sys.stderr)
        t_index = time.perf_counter() - t0
        by_id = {v: k for k, v in ids.items()}

        # 1. clip families
        rows = []
        pairs = found = cross = 0
        for p in videos:
            fam = family(p)
            if fam is None or p not in ids:
                continue
            q = compute(p, sniff_file(p), SETTINGS, for_archive=False)
            outcome = archive.matcher.match(q, query_path=p, exclude_item_id=ids[p])
            members = {ids[o] for o in videos if family(o) == fam and o != p and o in ids}
            got = {m.item.id for m in outcome.matches}
            wrong = [by_id[i].name for i in got if family(by_id[i]) != fam]
            pairs += len(members)
            found += len(members & got)
            cross += len(wrong)
            best = outcome.matches[0] if outcome.matches else None
            rows.append([
                p.name.split("videos_")[-1], f"{len(members & got)}/{len(members)}", len(wrong),
                f"{best.detail.get('share', '-')} @ {best.detail.get('offset_s', '-')}s" if best else "-",
            ])  # fmt: skip
            if args.verbose:
                for m in outcome.matches + outcome.candidates:
                    print(f"  {p.name} -> {m.item.filename} conf={m.confident} {m.method}", file=sys.stderr)
        print(f"archive: {len(ids)} clips ({len(archive.matcher.index)} fingerprints), indexed in {t_index:.1f}s")
        print()
        print(table(["query clip", "family members found", "cross-family matches", "best share @ offset"], rows))
        print(f"\nfamily recall {found}/{pairs} = {found / max(1, pairs):.3f}; cross-family matches: {cross}")

        # 2. stills grabbed from archived clips
        hits = total = blank = 0
        t_match = 0.0
        srows = []
        for p, item_id in ids.items():
            try:
                info = probe_video(p, 10**9, 10**6)
            except Exception:
                continue
            dur = info.duration_s or 0
            if dur <= 0.5:
                continue
            ok = 0
            errs = []
            blank_before = blank
            for k in range(per_clip):
                t = rng.uniform(0, max(0.0, dur - 0.2))
                im = video_frame_at(p, t)
                if k % 2:
                    im = im.resize((max(1, im.width * 3 // 4), max(1, im.height * 3 // 4)), Image.Resampling.BILINEAR)
                q = work / f"still-{item_id}-{k}.jpg"
                q.write_bytes(jpeg(im, 85))
                if not compute_image(q, 10**9, for_archive=False):
                    blank += 1  # a flat frame (grey, black): gated by design, it must match nothing
                    continue
                t1 = time.perf_counter()
                outcome = archive.match(q)
                t_match += time.perf_counter() - t1
                fam = family(p)
                good = [m for m in outcome.matches if m.item.id == item_id and m.match_time_s is not None and abs(m.match_time_s - t) <= 2.0]
                wrong = [m for m in outcome.matches if m.item.id != item_id and (fam is None or family(by_id[m.item.id]) != fam)]
                total += 1
                cross += len(wrong)
                if args.verbose:
                    for m in wrong:
                        print(f"WRONG still {p.name} t={t:.2f} -> {m.item.filename} at {m.match_time_s}: {m.method}", file=sys.stderr)
                if good:
                    ok += 1
                    errs.append(abs(good[0].match_time_s - t))  # type: ignore[operator]
                elif args.verbose:
                    near = [(m.item.filename, m.match_time_s, m.method) for m in outcome.matches + outcome.candidates][:3]
                    print(f"MISS still {p.name} t={t:.2f}: {near}", file=sys.stderr)
            hits += ok
            srows.append([p.name, f"{dur:.1f}", f"{ok}/{per_clip - (blank - blank_before)}", f"{max(errs):.2f}" if errs else "-"])
        print()
        print(table(["archived clip", "duration s", "stills found (±2 s)", "worst time error s"], srows))
        print(f"\nstill recall {hits}/{total} = {hits / max(1, total):.3f} ({blank} flat stills gated as low-information, not counted); matching {1000 * t_match / max(1, total):.0f} ms/still")
        print(f"cross-family (or wrong clip) confident matches overall: {cross}")


if __name__ == "__main__":
    main()
