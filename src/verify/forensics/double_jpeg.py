"""Double JPEG compression: was this JPEG decoded and saved again on the same 8x8 grid?

When a JPEG saved with quantization step ``q1`` for some frequency is decoded and saved again
with step ``q2``, the coefficients of that frequency end up as ``round(round(c / q1) * q1 / q2)``:
some values of the second histogram can then never occur (gaps, when ``q1 > q2``) or occur twice
as often (peaks, when ``q1 < q2``). That periodic fingerprint is the aligned double quantization
(ADQ) evidence of the forensic literature.

How we look for it, without a reference picture (after Lukas and Fridrich, "Estimation of primary
quantization matrix in double compressed JPEG images", 2003):

1. decode the luminance exactly as stored (libjpeg's YCbCr output, no colour conversion),
   cut it into the file's own 8x8 blocks, take the DCT and divide by the file's table: the
   quantized coefficients the file holds;
2. shift the grid by 4 pixels and take the DCT again: the coefficients now lost their
   quantization and approximate those of a never-compressed picture (the "calibration");
3. for each of the lowest frequencies and each candidate first step, simulate single and
   double quantization of the calibrated coefficients, and see which histogram the file's
   own histogram matches best;
4. sum over the frequencies for each standard (IJG) first quality, to estimate it.

The DCT is a matrix product over all blocks at once (numerically the same transform as
OpenCV's ``cv2.dct`` on each block, but vectorised in numpy).

The reading says "inconclusive" when the evidence is weak: a resize or crop after the first save
destroys the alignment, and a second save at the same or a nearly equal quality leaves nothing to
see. Thresholds are calibrated in ``benchmarks/forensics.py`` on generated re-saves and on the
untouched camera files of the test corpus; docs/forensics.md has the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from verify.forensics.jpeg import ZIGZAG, ijg_table
from verify.models import Finding

#: Zigzag positions (1 = first AC) whose histograms we read: low frequencies carry most values.
FREQUENCIES = tuple(range(1, 16))
#: At most this many blocks are read (a fixed-seed random sample); enough for stable histograms.
MAX_BLOCKS = 60_000
#: Histogram half-width in quantized units.
BINS = 24
#: Steps below this are not read: with a step of 1 or 2 the rounding of the decoded pixels
#: (about 0.3 of a step) blurs the histogram more than any earlier save, and camera pipelines
#: leave odd/even patterns there that mimic one (seen on the corpus's Nikon and Kyocera files).
MIN_STEP = 3
#: With the file's own coefficients (exact integers), the frequencies and the smallest step read.
EXACT_FREQUENCIES = tuple(range(1, 21))
EXACT_MIN_STEP = 1
#: Candidate first steps start here: a first step of 1 (quality 100) leaves nothing to see.
MIN_FIRST_STEP = 2
#: A frequency must have at least this many non-zero coefficients to be read.
MIN_NONZERO = 400
#: Relative improvement of the double-compression fit over the single-compression fit (summed
#: over frequencies) needed to call the file re-saved. Set on the benchmark data.
EXACT_DOUBLE_THRESHOLD = 0.3  # raised by the lead: downscaled pictures saved once scored up to 0.2 (and one 0.8) in a same-day probe
RECOMPUTED_DOUBLE_THRESHOLD = 0.25
#: Below this, the reading is "not re-saved" rather than "inconclusive".
EXACT_SINGLE_THRESHOLD = 0.05
RECOMPUTED_SINGLE_THRESHOLD = 0.08
#: Tiles (in 8x8 blocks) of the local map.
TILE_BLOCKS = 8


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)
    d = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    return d


_D = _dct_matrix()


def block_dct(y: np.ndarray) -> np.ndarray:
    """DCT of every aligned 8x8 block of ``y`` (values already level-shifted): shape (rows, cols, 64)."""
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    b = y[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    out = np.einsum("ij,rcjk,lk->rcil", _D, b, _D, optimize=True)
    return out.reshape(h // 8, w // 8, 64)


def _quantize(x: np.ndarray, q: float) -> np.ndarray:
    """libjpeg's rounding: half away from zero."""
    return np.sign(x) * np.floor(np.abs(x) / q + 0.5)


def _hist(values: np.ndarray) -> np.ndarray:
    v = np.clip(values, -BINS - 1, BINS + 1).astype(np.int64) + BINS + 1
    h = np.bincount(v, minlength=2 * BINS + 3)[1:-1].astype(np.float64)  # drop the overflow bins
    h[BINS] = 0.0  # the zero bin: where the calibration errs most, and no periodic trace lives
    return h / max(1.0, h.sum())


def _distance(models: np.ndarray, h: np.ndarray) -> np.ndarray:
    """L1 distance of each model histogram (rows) to ``h``. (A squared Hellinger distance, which
    weighs the tails more, was tried: no better on the benchmark, and noisier on small pictures.)"""
    return np.abs(models - h[None, :]).sum(axis=1)


@dataclass
class DoubleReading:
    double_compressed: bool | None  # None: inconclusive
    confidence: float | None  # 0..1, how strongly the histograms favour the verdict
    first_quality: int | None  # estimated IJG quality of the earlier save
    score: float | None  # relative fit improvement (the raw evidence)
    steps: dict[int, int] = field(default_factory=dict)  # zigzag position -> estimated first step
    frequencies: int = 0
    local_map: np.ndarray | None = None  # per tile: positive = fits double compression, negative = single
    local_fraction: float | None = None  # share of tiles that look singly compressed in a re-saved file
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "double_compressed": self.double_compressed, "confidence": self.confidence,
            "first_quality": self.first_quality, "score": self.score,
            "steps": {str(k): v for k, v in self.steps.items()}, "frequencies": self.frequencies,
            "local_fraction": self.local_fraction, "note": self.note,
        }  # fmt: skip


def luminance(path: Path, max_pixels: int) -> np.ndarray:
    """The stored luminance plane, level-shifted (decoded by libjpeg without colour conversion)."""
    from verify.media import open_image

    with open_image(path, max_pixels) as im:
        if im.format != "JPEG":
            raise ValueError("not a JPEG")
        if im.mode in ("RGB", "YCbCr"):
            im.draft("YCbCr", im.size)
            y = np.asarray(im)[:, :, 0]
        elif im.mode == "L":
            y = np.asarray(im)
        else:  # CMYK and others: not the common case, the reading does not apply
            raise ValueError(f"colour mode {im.mode} not read")
    return y.astype(np.float32) - 128.0


def coefficients(path: Path) -> np.ndarray | None:
    """The file's own quantized luminance DCT coefficients, (rows, cols, 64) in natural order, as
    libjpeg's entropy decoder reads them (the ``jpeglib`` package); ``None`` when the package is
    missing or cannot read the file (the reading then recomputes them from the pixels)."""
    try:
        import jpeglib
    except ImportError:
        return None
    try:
        y = np.asarray(jpeglib.read_dct(str(path)).Y)
    except Exception:
        return None
    if y.ndim != 4:
        return None
    return y.reshape(y.shape[0], y.shape[1], 64)


def analyse(y: np.ndarray, table: np.ndarray, *, with_map: bool = True, seed: int = 0,
            coef_q: np.ndarray | None = None) -> DoubleReading:
    """The double-compression reading of a level-shifted luminance plane saved with ``table``
    (64 values, natural order).

    ``coef_q``, when given, holds the file's own quantized luminance coefficients (rows, cols, 64,
    natural order) as the entropy decoder read them: exact integers, so steps of 1 and 2 (the
    high qualities cameras and apps use) can be read too. Without it, they are recomputed from
    the decoded pixels, and steps under ``MIN_STEP`` are skipped."""
    if y.shape[0] < 64 or y.shape[1] < 64:
        return DoubleReading(None, None, None, None, note="The picture is too small to read.")
    exact = coef_q is not None
    if exact:
        rows, cols = min(coef_q.shape[0], y.shape[0] // 8), min(coef_q.shape[1], y.shape[1] // 8)
        coef = coef_q[:rows, :cols].astype(np.float32) * table.reshape(1, 1, 64).astype(np.float32)
    else:
        coef = block_dct(y)
    calib = block_dct(y[4:, 4:])
    rng = np.random.default_rng(seed)
    flat = coef.reshape(-1, 64)
    cflat = calib.reshape(-1, 64)
    pick = rng.choice(len(flat), min(MAX_BLOCKS, len(flat)), replace=False) if len(flat) > MAX_BLOCKS else slice(None)
    cpick = rng.choice(len(cflat), min(MAX_BLOCKS, len(cflat)), replace=False) if len(cflat) > MAX_BLOCKS else slice(None)
    obs_all, cal_all = flat[pick], cflat[cpick]
    half = rng.random(len(obs_all)) < 0.5
    quality_cost = np.zeros(101)
    single_cost = 0.0
    free_cost = 0.0
    single_full = free_full = 0.0  # the same costs on all blocks (for the first-quality estimate)
    used: list[int] = []
    steps: dict[int, int] = {}
    models: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
    candidate_q = np.arange(30, 101)
    first_tables = np.stack([ijg_table(int(q)) for q in candidate_q])
    for zz in EXACT_FREQUENCIES if exact else FREQUENCIES:
        idx = int(ZIGZAG[zz])
        q2 = float(table[idx])
        if q2 < (EXACT_MIN_STEP if exact else MIN_STEP):
            continue
        obs = np.round(obs_all[:, idx] / q2)
        if np.count_nonzero(obs) < MIN_NONZERO:
            continue
        c = cal_all[:, idx]
        max_step = int(min(120, max(3 * q2, 12)))
        candidates = [_hist(_quantize(c, q2))] + [_hist(_quantize(_quantize(c, s) * s, q2)) for s in range(MIN_FIRST_STEP, max_step + 1)]
        model = np.stack(candidates)  # row 0: single save; row k: first step MIN_FIRST_STEP + k - 1
        d_all = _distance(model, _hist(obs))
        # Cross-validated evidence: the first step is chosen on one half of the blocks and its
        # improvement over the single-save fit measured on the other half (and the other way
        # round). Picking the best of many candidates on noisy histograms (small pictures, few
        # coefficients) otherwise always "improves" the fit.
        d_a = _distance(model, _hist(obs[half]))
        d_b = _distance(model, _hist(obs[~half]))
        single_cost += float(d_a[0] + d_b[0])
        free_cost += float(d_b[int(np.argmin(d_a))] + d_a[int(np.argmin(d_b))])
        dists = np.full(max_step + 1, np.inf)
        dists[MIN_FIRST_STEP:] = d_all[1:]
        if MIN_FIRST_STEP <= q2 <= max_step:
            dists[int(q2)] = d_all[0]
        d_single = float(d_all[0])
        single_full += d_single
        free_full += float(d_all.min())
        used.append(zz)
        k = int(np.argmin(d_all))
        best = int(q2) if k == 0 else MIN_FIRST_STEP + k - 1
        steps[zz] = best
        if best != q2:
            models[zz] = (best, model[0], model[k])
        firsts = first_tables[:, idx]
        quality_cost[candidate_q] += np.where((firsts <= max_step) & (firsts >= MIN_FIRST_STEP), dists[np.clip(firsts, MIN_FIRST_STEP, max_step)], d_single)
    if len(used) < 3:
        return DoubleReading(None, None, None, None, frequencies=len(used),
                             note="Too few non-zero coefficients (a flat or very small picture, or a very low or very high quality), so the reading says nothing either way.")  # fmt: skip
    score = (single_cost - free_cost) / max(single_cost, 1e-9)
    q_costs = quality_cost[candidate_q]
    # Qualities whose table equals the file's own at every read frequency are the single hypothesis.
    same = np.array([all(ijg_table(int(q))[ZIGZAG[z]] == table[ZIGZAG[z]] for z in used) for q in candidate_q])
    q_costs = np.where(same, np.inf, q_costs)
    best_q = int(candidate_q[int(np.argmin(q_costs))])
    q_score = (single_full - float(q_costs.min())) / max(single_full, 1e-9)
    full_score = (single_full - free_full) / max(single_full, 1e-9)
    # Recomputed coefficients are noisier: the earlier, stricter thresholds apply to them.
    DOUBLE_THRESHOLD, SINGLE_THRESHOLD = (EXACT_DOUBLE_THRESHOLD, EXACT_SINGLE_THRESHOLD) if exact else (RECOMPUTED_DOUBLE_THRESHOLD, RECOMPUTED_SINGLE_THRESHOLD)
    if score >= DOUBLE_THRESHOLD:
        verdict: bool | None = True
        confidence = float(min(1.0, 0.5 + 0.5 * (score - DOUBLE_THRESHOLD) / (1 - DOUBLE_THRESHOLD) + 0.25))
        # The IJG fit must explain most of what the free fit explains, else the first save used
        # tables of its own (a camera) and no quality number is given.
        first_q = best_q if q_score >= 0.8 * full_score else None
    elif score <= SINGLE_THRESHOLD:
        verdict, confidence, first_q = False, float(min(1.0, 0.5 + 0.5 * (SINGLE_THRESHOLD - score) / SINGLE_THRESHOLD)), None
    else:
        verdict, confidence, first_q = None, float(0.5 * (score - SINGLE_THRESHOLD) / (DOUBLE_THRESHOLD - SINGLE_THRESHOLD)), None
    reading = DoubleReading(verdict, round(confidence, 2), first_q, round(score, 3), steps, len(used))
    if with_map and verdict and models:
        reading.local_map, reading.local_fraction = _local_map(coef, table, models)
    return reading


def _local_map(coef: np.ndarray, table: np.ndarray, models: dict[int, tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, float]:
    """Per tile, the mean log-likelihood ratio "double" versus "single" of its coefficients."""
    rows, cols = coef.shape[:2]
    llr = np.zeros((rows, cols))
    count = np.zeros((rows, cols))
    for zz, (_, h_single, h_double) in models.items():
        idx = int(ZIGZAG[zz])
        v = np.round(coef[:, :, idx] / float(table[idx]))
        nz = v != 0
        b = np.clip(v, -BINS, BINS).astype(np.int64) + BINS
        ratio = np.log(h_double + 1e-4) - np.log(h_single + 1e-4)
        llr += np.where(nz, ratio[b], 0.0)
        count += nz
    t = TILE_BLOCKS
    tr, tc = max(1, rows // t), max(1, cols // t)
    llr_t = llr[: tr * t, : tc * t].reshape(tr, t, tc, t).sum(axis=(1, 3))
    n_t = count[: tr * t, : tc * t].reshape(tr, t, tc, t).sum(axis=(1, 3))
    m = np.where(n_t >= 8, llr_t / np.maximum(n_t, 1), 0.0)
    fraction = float(np.mean(m < -0.05)) if m.size else 0.0
    return m.astype(np.float32), round(fraction, 3)


def map_image(reading: DoubleReading, size: tuple[int, int]) -> Any:
    """The local map as an RGBA overlay of ``size``: red where a tile looks singly compressed."""
    from PIL import Image

    m = reading.local_map
    if m is None:
        return None
    red = np.clip(-m / 0.3, 0, 1)
    rgba = np.zeros((*m.shape, 4), dtype=np.uint8)
    rgba[..., 0] = 230
    rgba[..., 3] = (red * 170).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA").resize(size, Image.Resampling.NEAREST)


def findings(r: DoubleReading | None) -> list[Finding]:
    if r is None:
        return []
    if r.double_compressed:
        first = f", first at about quality {r.first_quality}" if r.first_quality else ""
        local = ""
        if r.local_fraction is not None and 0.01 <= r.local_fraction <= 0.4:
            local = (f" About {r.local_fraction:.0%} of the picture does not share that history (red on the map): "
                     "it may have been pasted in or retouched before the last save, or it is simply flat or dark there.")  # fmt: skip
        return [Finding("double_compressed", "caution", "Saved as JPEG at least twice",
                        f"The picture's DCT histograms show the periodic gaps or peaks left when a JPEG is decoded and "
                        f"saved again on the same grid{first} (confidence {r.confidence:.2f}). Re-saving happens for "
                        f"innocent reasons (an app, a messenger, an editor's crop); it means the file is not "
                        f"as the camera wrote it.{local}")]  # fmt: skip
    if r.double_compressed is False:
        return [Finding("single_compressed", "info", "No sign of a second JPEG save",
                        f"The DCT histograms fit a single save (confidence {r.confidence:.2f}). A re-save after "
                        "resizing or cropping, or at the same quality, leaves no such trace, so this does not prove "
                        "the file is original.")]  # fmt: skip
    return [Finding("double_inconclusive", "info", "Double compression: inconclusive",
                    r.note or "The histograms are neither clearly single nor clearly double; the reading says nothing either way.")]  # fmt: skip
