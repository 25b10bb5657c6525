"""Forensic readings on generated forgeries and re-saves from the corpus, against untouched camera files.

    python benchmarks/forensics.py [--files N] [--seed S]

* negatives: corpus JPEGs with a camera make in their EXIF and custom (non-IJG) tables, i.e.
  files as a camera wrote them; a clone or double-compression flag on them is a false alarm;
* copy-move forgeries: from each negative (reduced to 2000 px), a region of 2-15% of the area
  copied elsewhere (moved, scaled 0.9-1.1, rotated up to 10 degrees, or mirrored), saved at
  quality 80-95; found = a reported pair covers the true source and target;
* double compression: each negative re-saved at its own quality plus or minus 5-25 (some with a
  local edit: a patch pasted off the 8x8 grid before the re-save), and generated IJG pictures saved
  twice (first quality known, so the first-quality estimate can be scored);
* IJG quality estimate: Pillow saves at qualities 10-100;
* seconds per 12 MP picture for each reading (one generated 4000 x 3000 JPEG).

Prints Markdown tables (pasted into docs/forensics.md).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_corpus, table  # noqa: E402

from verify.forensics import clone, double_jpeg, jpeg, lenses  # noqa: E402


#: Software names in EXIF that mean an editor wrote the file after the camera (not untouched).
EDITORS = ("photoshop", "gimp", "quicktime", "lightroom", "paint", "picasa", "acdsee", "windows", "microsoft", "adobe", "editor")


def camera_files(corpus: Path) -> list[Path]:
    """Corpus JPEGs as a camera wrote them: EXIF make, custom tables, and no trace of an editor
    (no Photoshop or Adobe segment, no editor named in EXIF Software). Files an editor re-saved
    (Photoshop keeps the EXIF make) are double compressed for real and are not negatives."""
    out = []
    for p in sorted((corpus / "photos").glob("*.jp*g")):
        try:
            with Image.open(p) as im:
                exif = im.getexif()
                make, software = exif.get(0x010F), str(exif.get(0x0131) or "").lower()
                if im.format != "JPEG" or im.mode not in ("RGB", "L") or not make:
                    continue
                if "photoshop" in im.info or "adobe" in im.info or any(e in software for e in EDITORS):
                    continue
            r = jpeg.read(p, use_exiftool=False)
        except Exception:
            continue
        if r.standard_tables is False and 0 in r.tables:
            out.append(p)
    return out


def _double_of(data: bytes, exact: bool = True) -> double_jpeg.DoubleReading:
    coef_q = None
    if exact:  # the file's own coefficients, as examine() reads them (jpeglib wants a path)
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
            f.write(data)
            f.flush()
            coef_q = double_jpeg.coefficients(Path(f.name))
    with Image.open(io.BytesIO(data)) as im:
        table_ = np.array(im.quantization[0])
        if im.mode == "L":
            y = np.asarray(im).astype(np.float32) - 128
        else:
            im.draft("YCbCr", im.size)
            y = np.asarray(im)[:, :, 0].astype(np.float32) - 128
    return double_jpeg.analyse(y, table_, with_map=True, coef_q=coef_q)


def _save(im: Image.Image, q: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return buf.getvalue()


def _covers(box: list[int], region: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    rx, ry, rw, rh = region
    return rx - 0.25 * rw <= cx <= rx + 1.25 * rw and ry - 0.25 * rh <= cy <= ry + 1.25 * rh


def forge(im: Image.Image, rng: random.Random) -> tuple[Image.Image, str, str, tuple, tuple]:
    w, h = im.size
    frac = rng.uniform(0.02, 0.15)
    band = "2-5%" if frac < 0.05 else ("5-10%" if frac < 0.10 else "10-15%")
    aspect = rng.uniform(0.7, 1.4)
    pw = int(min(w * 0.45, (frac * w * h * aspect) ** 0.5))
    ph = int(min(h * 0.45, frac * w * h / max(1, pw)))
    x0, y0 = rng.randrange(0, w - pw), rng.randrange(0, h - ph)
    patch = im.crop((x0, y0, x0 + pw, y0 + ph))
    how = rng.choice(["moved", "scaled", "rotated", "mirrored"])
    if how == "scaled":
        f = rng.choice([rng.uniform(0.9, 0.97), rng.uniform(1.03, 1.1)])
        patch = patch.resize((max(8, int(pw * f)), max(8, int(ph * f))), Image.Resampling.BICUBIC)
    elif how == "rotated":
        patch = patch.rotate(rng.uniform(2, 10) * rng.choice([-1, 1]), resample=Image.Resampling.BICUBIC)
    elif how == "mirrored":
        patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for _ in range(200):  # a target that does not overlap the source
        x1, y1 = rng.randrange(0, w - patch.width), rng.randrange(0, h - patch.height)
        if abs(x1 - x0) >= pw or abs(y1 - y0) >= ph:
            break
    out = im.copy()
    out.paste(patch, (x1, y1))
    return out, how, band, (x0, y0, pw, ph), (x1, y1, patch.width, patch.height)


def rate(hits: list[bool]) -> str:
    return f"{sum(hits) / len(hits):.2f} ({sum(hits)}/{len(hits)})" if hits else "-"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=24, help="camera files to use (negatives and sources)")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    corpus = require_corpus()
    rng = random.Random(args.seed)
    files = camera_files(corpus)
    rng.shuffle(files)
    files = files[: args.files]
    print(f"{len(files)} untouched camera files (EXIF make, custom tables) from {corpus}\n")

    neg_double: list[bool] = []
    neg_double_inconclusive: list[bool] = []
    neg_clone: list[bool] = []
    clone_hits: dict[str, list[bool]] = {}
    dq: dict[str, list[bool]] = {}
    dq_inconclusive: dict[str, list[bool]] = {}
    local_seen: list[bool] = []
    t_clone: list[float] = []
    for n, path in enumerate(files):
        data = path.read_bytes()
        d0 = _double_of(data)
        neg_double.append(d0.double_compressed is True)
        neg_double_inconclusive.append(d0.double_compressed is None)
        with Image.open(path) as im:
            pic = im.convert("RGB")
        small = pic.copy()
        small.thumbnail((2000, 2000))
        t0 = time.perf_counter()
        neg_clone.append(clone.analyse(np.asarray(small)).detected)
        t_clone.append(time.perf_counter() - t0)
        forged, how, band, src, dst = forge(small, rng)
        q = rng.randint(80, 95)
        with Image.open(io.BytesIO(_save(forged, q))) as fim:
            r = clone.analyse(np.asarray(fim.convert("RGB")))
        found = any((_covers(p.source, src) and _covers(p.target, dst)) or (_covers(p.source, dst) and _covers(p.target, src)) for p in r.pairs)
        clone_hits.setdefault(f"transform: {how}", []).append(found)
        clone_hits.setdefault(f"area: {band}", []).append(found)
        clone_hits.setdefault("all", []).append(found)
        own = jpeg.read(path, use_exiftool=False).quality or 90
        for delta in rng.sample([-25, -20, -15, -10, -5, 5, 10, 15, 20, 25], 3):
            q2 = max(30, min(100, own + delta))
            d = q2 - own
            if d == 0:
                continue
            edit = rng.random() < 0.3
            re = pic
            if edit:
                re = pic.copy()
                w, h = re.size
                pw, ph = w // 6, h // 6
                patch = re.crop((3, 5, 3 + pw, 5 + ph)).resize((pw, ph))
                re.paste(patch, (w // 2 + 3, h // 2 + 5))
            res = _double_of(_save(re, q2))
            direction = "below" if d < 0 else "above"
            size = "differ by 10 or more" if abs(d) >= 10 else "differ by under 10"
            for key in (f"{direction}, {size}", size, "all"):
                dq.setdefault(key, []).append(res.double_compressed is True)
                dq_inconclusive.setdefault(key, []).append(res.double_compressed is None)
            if edit and res.double_compressed:
                local_seen.append(bool(res.local_fraction and res.local_fraction >= 0.01))
        print(f"  {n + 1}/{len(files)} {path.name}", file=sys.stderr, flush=True)

    # IJG pictures saved twice, the first quality known. The base is a camera photo reduced to 5/8
    # (which wipes its own 8x8 grid, like a never-compressed picture); generated drawings are not
    # used here: their flat areas plus white noise calibrate badly at low qualities and are no photo.
    first_err: list[int] = []
    gen_hits: dict[str, list[bool]] = {}
    pairs = [(q1, q2) for q1 in (50, 60, 70, 80, 90) for q2 in (q1 - 20, q1 - 10, q1 + 10, q1 + 20) if 30 <= q2 <= 98]
    for i, (q1, q2) in enumerate(pairs):
        with Image.open(files[i % len(files)]) as im:
            base = im.convert("RGB")
        base = base.resize((base.width * 5 // 8, base.height * 5 // 8), Image.Resampling.LANCZOS)
        res = _double_of(_save(Image.open(io.BytesIO(_save(base, q1))), q2))
        key = "first coarser (q1 < q2)" if q1 < q2 else "first finer (q1 > q2)"
        gen_hits.setdefault(key, []).append(res.double_compressed is True)
        if res.first_quality is not None:
            first_err.append(abs(res.first_quality - q1))
        single = _double_of(_save(base, q2))
        gen_hits.setdefault("single saves flagged (false alarm)", []).append(single.double_compressed is True)

    # IJG quality estimate.
    q_err = []
    with Image.open(files[0]) as im:
        base = im.convert("RGB")
    for q in range(10, 101, 5):
        with Image.open(io.BytesIO(_save(base, q))) as im:
            est = jpeg.estimate_quality({k: np.array(v) for k, v in im.quantization.items()})
        q_err.append(abs((est.quality or 0) - q))

    # Seconds per 12 MP picture.
    with Image.open(files[0]) as im:
        big = im.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    data12 = _save(big, 90)
    tmp = Path("/tmp/verify-bench-12mp.jpg")
    tmp.write_bytes(data12)
    timings = []
    t0 = time.perf_counter()
    jpeg.read(tmp, use_exiftool=False)
    timings.append(["JPEG compression history", f"{time.perf_counter() - t0:.3f}"])
    t0 = time.perf_counter()
    _double_of(data12)
    timings.append(["double compression (incl. decode)", f"{time.perf_counter() - t0:.2f}"])
    t0 = time.perf_counter()
    clone.analyse(np.asarray(big))
    timings.append(["copy-move (SIFT at 1600 px)", f"{time.perf_counter() - t0:.2f}"])
    t0 = time.perf_counter()
    lenses.all_lenses(big, max_side=1600)
    timings.append(["ELA + noise lenses", f"{time.perf_counter() - t0:.2f}"])
    tmp.unlink(missing_ok=True)

    print("### Copy-move detection\n")
    print(table(["forgeries", "detected where made"], [[k, rate(v)] for k, v in sorted(clone_hits.items())]))
    print(f"\nFalse alarms on untouched camera files: {rate(neg_clone)}; median {np.median(t_clone):.2f} s per picture (<= 2000 px)\n")
    print("### Double compression (camera originals re-saved)\n")
    print(table(["re-save", "flagged", "inconclusive"], [[k, rate(v), rate(dq_inconclusive[k])] for k, v in sorted(dq.items())]))
    print(f"\nFalse alarms on untouched camera files: {rate(neg_double)}; inconclusive on them: {rate(neg_double_inconclusive)}")
    print(f"Local edit shown on the map (of re-saves with an edit that were flagged): {rate(local_seen)}\n")
    print("### Double compression (generated IJG pictures, first quality known)\n")
    print(table(["case", "rate"], [[k, rate(v)] for k, v in sorted(gen_hits.items())]))
    if first_err:
        print(f"\nFirst-quality estimate given for {len(first_err)} of {len(pairs)}; error median {np.median(first_err):.0f}, "
              f"max {max(first_err)}, within 2: {np.mean(np.array(first_err) <= 2):.2f}\n")
    print("### IJG quality estimate (Pillow, qualities 10-100)\n")
    print(f"max error {max(q_err)}, mean {np.mean(q_err):.2f} over {len(q_err)} qualities\n")
    print("### Seconds per 12 MP picture\n")
    print(table(["reading", "seconds"], timings))


if __name__ == "__main__":
    main()
