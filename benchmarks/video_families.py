"""Generators for the video re-share families of issue 12: picture-in-picture, a clip inside a
compilation, a clip re-filmed off a screen. Used by ``benchmarks/video.py --families`` and by
``tests/test_matching_video_families.py``.

Every clip is rendered as a function of time (``Clip.frame(t)``), so a derived video can play its
source at another frame rate or speed without holding frames in memory. Sources are Ken Burns pans
and zooms over photos (real corpus photos when given, generated ones otherwise) with a moving shape
and, sometimes, a cut to a second photo. Every parameter is drawn from a seeded ``random.Random``:
inset scale and position, banner colours and text, compilation order and resolution, screen tilt,
bezel, moire, glare, blur, frame rate and CRF, so no benchmark run is tuned to one layout.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

Frame = np.ndarray  # H x W x 3 uint8 RGB


@dataclass
class Clip:
    """A clip as a function of time: ``frame(t)`` for ``0 <= t < duration`` at ``size`` (w, h)."""

    render: Callable[[float], Frame]
    duration: float
    size: tuple[int, int]
    fps: float

    def frame(self, t: float) -> Frame:
        return self.render(min(max(0.0, t), self.duration - 1e-3))


def _even(v: float) -> int:
    return max(16, int(round(v / 2)) * 2)


def _load(photo: Image.Image | Path, long_side: int = 1400) -> np.ndarray:
    im = Image.open(photo) if isinstance(photo, Path) else photo
    im = im.convert("RGB")
    s = long_side / max(im.size)
    return np.asarray(im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.BILINEAR))


def ken_burns(photos: list[Image.Image | Path], rng: random.Random, *, size: tuple[int, int] | None = None, duration: float | None = None, fps: float | None = None) -> Clip:
    """A source clip: pans and zooms over one or two photos (a cut between them), a shape moving across."""
    w, h = size or rng.choice([(640, 360), (854, 480), (960, 540), (1280, 720)])
    duration = duration or rng.uniform(5.0, 8.0)
    fps = fps or rng.choice([24.0, 25.0, 30.0])
    shots = [_load(p) for p in photos[: 1 + (rng.random() < 0.5 and len(photos) > 1)]]
    cut = duration * rng.uniform(0.4, 0.6) if len(shots) > 1 else duration
    aspect = w / h
    plans = []
    for img in shots:
        ih, iw = img.shape[:2]
        cw0 = min(iw, ih * aspect) * rng.uniform(0.65, 0.95)
        cw1 = cw0 * rng.uniform(0.75, 1.0) if rng.random() < 0.5 else cw0 / rng.uniform(0.75, 1.0)
        cw1 = min(cw1, min(iw, ih * aspect))

        def pos(cw: float) -> tuple[float, float]:
            ch = cw / aspect
            return rng.uniform(0, iw - cw), rng.uniform(0, ih - ch)

        plans.append((img, cw0, cw1, pos(cw0), pos(cw1)))
    colour = tuple(rng.randrange(256) for _ in range(3))
    radius = rng.uniform(0.05, 0.12) * h
    start = (rng.uniform(0, w), rng.uniform(0, h))
    vel = (rng.uniform(-0.4, 0.4) * w, rng.uniform(-0.3, 0.3) * h)

    def render(t: float) -> Frame:
        k = 0 if t < cut else 1
        img, cw0, cw1, p0, p1 = plans[k]
        u = (t if k == 0 else t - cut) / (cut if k == 0 else duration - cut)
        cw = cw0 + (cw1 - cw0) * u
        x = p0[0] + (p1[0] - p0[0]) * u
        y = p0[1] + (p1[1] - p0[1]) * u
        s = w / cw
        M = np.float32([[s, 0, -x * s], [0, s, -y * s]])
        out = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        cx = int((start[0] + vel[0] * t) % w)
        cy = int((start[1] + vel[1] * t) % h)
        cv2.circle(out, (cx, cy), int(radius), colour, -1, lineType=cv2.LINE_AA)
        return out

    return Clip(render, duration, (w, h), fps)


def encode(clip: Clip, path: Path, *, crf: int = 23, fps: float | None = None, size: tuple[int, int] | None = None, gop: int = 250) -> Path:
    """H.264 (libx264, yuv420p) of ``clip`` sampled at ``fps`` and scaled to ``size``."""
    import av

    fps = fps or clip.fps
    w, h = size or clip.size
    w, h = _even(w), _even(h)
    rate = round(fps) if abs(fps - round(fps)) < 1e-6 else fps
    with av.open(str(path), "w", format="mp4") as out:
        from fractions import Fraction

        stream = out.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        stream.codec_context.gop_size = gop
        n = max(1, int(clip.duration * fps))
        for i in range(n):
            frame = clip.frame(i / fps)
            if frame.shape[1] != w or frame.shape[0] != h:
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            for p in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path


# -- picture-in-picture ------------------------------------------------------------------------------


def _text(img: Frame, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int], thick: int = 2) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


_WORDS = ["BREAKING", "LIVE", "NEWS", "UPDATE", "WORLD", "REPORT", "TONIGHT", "FLOODS", "ELECTION", "PROTEST", "MARKETS", "STORM", "CITY", "COUNCIL"]


def _headline(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def broadcast(source: Clip, background: Image.Image | Path, rng: random.Random, *, side_by_side: bool | None = None, size: tuple[int, int] | None = None) -> tuple[Clip, dict[str, object]]:
    """``source`` inside a news broadcast frame: an inset (40-70% of the width, in a corner or the
    centre) over a studio background with a lower-third banner, a ticker and a channel logo; or
    (``side_by_side``) beside a presenter. Returns the clip and its parameters."""
    W, H = size or rng.choice([(1280, 720), (1920, 1080), (960, 540)])
    sbs = rng.random() < 0.35 if side_by_side is None else side_by_side
    bg = cv2.GaussianBlur(_load(background, max(W, H) + 200), (0, 0), rng.uniform(2, 9))
    bg = cv2.resize(bg, (W, H), interpolation=cv2.INTER_AREA)
    bg = (bg * rng.uniform(0.45, 0.9)).astype(np.uint8)
    sw, sh = source.size
    if sbs:
        scale = rng.uniform(0.45, 0.52)
        iw = int(W * scale)
        ih = int(iw * sh / sw)
        x = W - iw - int(W * rng.uniform(0.01, 0.04)) if rng.random() < 0.7 else int(W * rng.uniform(0.01, 0.04))
        y = int((H - ih) * rng.uniform(0.2, 0.5))
        where = "beside presenter"
    else:
        scale = rng.uniform(0.4, 0.7)
        iw = int(W * scale)
        ih = int(iw * sh / sw)
        corner = rng.choice(["tl", "tr", "bl", "br", "centre"])
        m = int(W * rng.uniform(0.02, 0.05))
        banner_h = int(H * 0.16)
        x = {"tl": m, "bl": m, "tr": W - iw - m, "br": W - iw - m}.get(corner, (W - iw) // 2)
        y = {"tl": m, "tr": m, "bl": H - ih - banner_h - m // 2, "br": H - ih - banner_h - m // 2}.get(corner, max(m, (H - banner_h - ih) // 2))
        y = max(0, y)
        where = corner
    border = rng.choice([0, 0, 2, 4, 6])
    border_colour = tuple(rng.randrange(256) for _ in range(3))
    banner_colour = tuple(rng.randrange(40, 220) for _ in range(3))
    headline = _headline(rng, rng.randint(2, 4))
    ticker = "  +++  ".join(_headline(rng, 3) for _ in range(4))
    logo = rng.choice(["NEWS 24", "TV1", "WORLD", "CH 7", "INFO"])
    logo_corner = rng.choice(["tl", "tr"])
    presenter_colour = tuple(rng.randrange(256) for _ in range(3))
    speed = rng.uniform(60, 160)
    fps = rng.choice([25.0, 30.0, 29.97])
    t0 = 0.0

    def render(t: float) -> Frame:
        out = bg.copy()
        if sbs:  # the presenter: a figure swaying on the other half
            px = int((W * 0.25 if x + iw / 2 > W / 2 else W * 0.75) + 12 * np.sin(t * 1.3))
            cv2.ellipse(out, (px, int(H * 0.42)), (int(W * 0.06), int(H * 0.11)), 0, 0, 360, presenter_colour, -1, cv2.LINE_AA)
            cv2.rectangle(out, (px - int(W * 0.11), int(H * 0.55)), (px + int(W * 0.11), H), tuple(int(c * 0.6) for c in presenter_colour), -1)
        inset = cv2.resize(source.frame(t0 + t), (iw, ih), interpolation=cv2.INTER_AREA)
        if border:
            cv2.rectangle(out, (x - border, y - border), (x + iw + border, y + ih + border), border_colour, -1)
        out[y : y + ih, x : x + iw] = inset[: H - y, : W - x]
        by = int(H * 0.84)
        cv2.rectangle(out, (0, by), (W, by + int(H * 0.1)), banner_colour, -1)
        _text(out, headline, (int(W * 0.03), by + int(H * 0.07)), H / 700, (255, 255, 255), 2)
        cv2.rectangle(out, (0, by + int(H * 0.1)), (W, H), (20, 20, 20), -1)
        _text(out, ticker, (int(W - (speed * t) % (W * 2)), H - int(H * 0.015)), H / 1200, (240, 240, 240), 1)
        lx = int(W * 0.03) if logo_corner == "tl" else int(W * 0.85)
        cv2.rectangle(out, (lx, int(H * 0.03)), (lx + int(W * 0.12), int(H * 0.1)), (200, 30, 30), -1)
        _text(out, logo, (lx + 6, int(H * 0.085)), H / 900, (255, 255, 255), 2)
        return out

    return Clip(render, source.duration, (W, H), fps), {"layout": where, "scale": round(scale, 2), "size": (W, H)}


# -- compilation -------------------------------------------------------------------------------------


def compilation(target: Clip, others: list[Clip], rng: random.Random, *, size: tuple[int, int] | None = None) -> tuple[Clip, dict[str, float]]:
    """``target`` (a stretch of it) cut into a sequence of other clips at a random position, at
    another resolution and frame rate. Returns the clip and where the target is
    (``query_start_s``, ``archive_start_s``, ``length_s``)."""
    W, H = size or rng.choice([(640, 360), (854, 480), (1280, 720), (960, 540)])
    fps = rng.choice([24.0, 25.0, 30.0])
    a0 = rng.uniform(0, max(0.0, target.duration - 4.0))
    length = rng.uniform(3.5, target.duration - a0)
    parts: list[tuple[Clip, float, float]] = [(c, (s := rng.uniform(0, max(0.0, c.duration - 3))), rng.uniform(2.0, min(5.0, c.duration - s))) for c in others]
    pos = rng.randint(1 if parts else 0, len(parts))
    parts.insert(pos, (target, a0, length))
    starts = []
    t = 0.0
    for _, _, ln in parts:
        starts.append(t)
        t += ln
    total = t

    def render(tq: float) -> Frame:
        k = max(i for i, s in enumerate(starts) if s <= tq)
        c, s0, _ = parts[k]
        f = c.frame(s0 + tq - starts[k])
        if (f.shape[1], f.shape[0]) != (W, H):  # letterboxed into the compilation's frame
            s = min(W / f.shape[1], H / f.shape[0])
            nw, nh = int(f.shape[1] * s), int(f.shape[0] * s)
            canvas = np.zeros((H, W, 3), np.uint8)
            canvas[(H - nh) // 2 : (H - nh) // 2 + nh, (W - nw) // 2 : (W - nw) // 2 + nw] = cv2.resize(f, (nw, nh), interpolation=cv2.INTER_AREA)
            f = canvas
        return f

    return Clip(render, total, (W, H), fps), {"query_start_s": round(starts[pos], 3), "archive_start_s": round(a0, 3), "length_s": round(length, 3)}


# -- re-filmed off a screen --------------------------------------------------------------------------


def refilmed(source: Clip, room: Image.Image | Path, rng: random.Random, *, size: tuple[int, int] | None = None) -> tuple[Clip, dict[str, object]]:
    """``source`` played on a screen and filmed by a hand-held camera: perspective tilt, a bezel,
    moire, glare, soft focus, hand shake, another frame rate and a slightly different speed."""
    W, H = size or rng.choice([(1280, 720), (960, 540), (1024, 576)])
    bg = cv2.resize(cv2.GaussianBlur(_load(room, max(W, H)), (0, 0), 6), (W, H)) * rng.uniform(0.3, 0.6)
    bg = bg.astype(np.uint8)
    sw, sh = source.size
    fill = rng.uniform(0.55, 0.85)
    cw = W * fill
    ch = cw * sh / sw
    if ch > H * 0.9:
        ch = H * 0.9
        cw = ch * sw / sh
    cx, cy = W / 2 + rng.uniform(-0.08, 0.08) * W, H / 2 + rng.uniform(-0.06, 0.06) * H
    tilt = rng.uniform(0.04, 0.16)  # perspective: one side shorter than the other
    side = rng.choice([-1, 1])
    vert = rng.uniform(-0.06, 0.06)
    rot = np.radians(rng.uniform(-6, 6))
    base = np.float32([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]])
    base[[1, 2] if side > 0 else [0, 3], 1] *= 1 - tilt
    base[[0, 1], 0] *= 1 - vert
    R = np.float32([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    corners = base @ R.T + np.float32([cx, cy])
    bezel = rng.uniform(0.03, 0.07)
    bezel_colour = rng.randrange(10, 60)
    moire = rng.uniform(0.04, 0.12)
    mf = (rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.4))
    glare = rng.random() < 0.7
    gx, gy, gr = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H, rng.uniform(0.08, 0.2) * W
    blur = rng.uniform(0.6, 1.8)
    shake = rng.uniform(2, 8)
    speed = rng.uniform(0.97, 1.03)
    fps = rng.choice([25.0, 30.0, 29.97, 24.0])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    pattern = (1 + moire * np.sin(xx * mf[0] + yy * mf[1])).astype(np.float32)
    glow = (np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * gr**2)) * (rng.uniform(50, 110) if glare else 0.0)).astype(np.float32)
    duration = source.duration / speed

    def render(t: float) -> Frame:
        f = source.frame(t * speed)
        fh, fw = f.shape[:2]
        bz = int(bezel * fw)
        panel = np.full((fh + 2 * bz, fw + 2 * bz, 3), bezel_colour, np.uint8)
        panel[bz : bz + fh, bz : bz + fw] = f
        jitter = np.float32([[shake * np.sin(t * 2.1 + i), shake * np.cos(t * 1.7 + 2 * i)] for i in range(4)])
        src = np.float32([[0, 0], [panel.shape[1], 0], [panel.shape[1], panel.shape[0]], [0, panel.shape[0]]])
        M = cv2.getPerspectiveTransform(src, corners + jitter)
        out = cv2.warpPerspective(panel, M, (W, H), dst=bg.copy(), borderMode=cv2.BORDER_TRANSPARENT)
        mask = cv2.warpPerspective(np.ones(panel.shape[:2], np.float32), M, (W, H))
        gain = 1 + mask * (pattern - 1)  # moire and glare only on the screen
        lit = out.astype(np.float32) * gain[..., None] + (mask * glow)[..., None]
        out = np.clip(lit, 0, 255).astype(np.uint8)
        return cv2.GaussianBlur(out, (0, 0), blur)

    return Clip(render, duration, (W, H), fps), {"tilt": round(tilt, 2), "fill": round(fill, 2), "speed": round(speed, 3), "fps": fps}


# -- the benchmark (``benchmarks/video.py --families``) ----------------------------------------------

FAMILIES = ("picture-in-picture", "side-by-side", "compilation", "re-filmed")


def make_query(family: str, source: Clip, others: list[Clip], backdrop: Image.Image | Path, rng: random.Random) -> tuple[Clip, dict[str, object]]:
    """One query video of ``family`` showing ``source``."""
    if family == "picture-in-picture":
        return broadcast(source, backdrop, rng, side_by_side=False)
    if family == "side-by-side":
        return broadcast(source, backdrop, rng, side_by_side=True)
    if family == "compilation":
        return compilation(source, others, rng)  # type: ignore[return-value]
    return refilmed(source, backdrop, rng)


def bench(quick: bool = False, sources: int | None = None, verbose: bool = False) -> None:
    """Recall and false matches per family, today's matcher (no derived videos, no matched
    stretches) as the same-run baseline, and seconds per query."""
    import sys
    import tempfile
    import time

    from _common import MemoryArchive, require_corpus, table

    corpus = require_corpus()
    photos = sorted(p for p in (corpus / "photos").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    rng = random.Random(2026)
    rng.shuffle(photos)
    n_src = sources or (5 if quick else 12)
    n_neg = 2 if quick else 4
    n_dis = 4 if quick else 12
    pool = iter(photos)
    with tempfile.TemporaryDirectory(prefix="verify-vfam-") as tmp:
        work = Path(tmp)
        archive = MemoryArchive()
        baseline = MemoryArchive()
        baseline.matcher.video_derived = False
        baseline.matcher.video_segments = False
        srcs: list[tuple[int, Clip]] = []
        t0 = time.perf_counter()
        for k in range(n_src + n_dis):
            clip = ken_burns([next(pool), next(pool)], rng)
            p = encode(clip, work / f"archive-{k}.mp4", crf=rng.randint(18, 28))
            item, _ = archive.add(p)
            baseline.add(p)
            if k < n_src:
                srcs.append((item, clip))
        if not quick:  # the corpus clips as distractors too
            for p in sorted((corpus / "videos").iterdir()):
                try:
                    archive.add(p)
                    baseline.add(p)
                except Exception as exc:
                    print(f"skipped {p.name}: {exc}", file=sys.stderr)
        print(f"archive: {len(archive.items)} clips ({len(archive.matcher.index)} fingerprints), built in {time.perf_counter() - t0:.0f}s")
        never = [ken_burns([next(pool), next(pool)], rng) for _ in range(n_neg)]
        rows = []
        totals = {"found": 0, "base": 0, "false": 0, "base_false": 0, "n": 0}
        for fam in FAMILIES:
            found = base_found = false = base_false = 0
            secs: list[float] = []
            offset_err: list[float] = []
            cases = [(item, clip) for item, clip in srcs] + [(None, c) for c in never]
            for j, (item, clip) in enumerate(cases):
                others = [ken_burns([next(pool)], rng, duration=rng.uniform(3, 5)) for _ in range(rng.randint(2, 4))] if fam == "compilation" else []
                qclip, info = make_query(fam, clip, others, next(pool), rng)
                q = encode(qclip, work / f"q-{fam}-{j}.mp4", crf=rng.randint(20, 32))
                t1 = time.perf_counter()
                out = archive.match(q)
                secs.append(time.perf_counter() - t1)
                base = baseline.match(q)
                hit = [m for m in out.matches if m.item.id == item]
                wrong = [m for m in out.matches if m.item.id != item]
                bwrong = [m for m in base.matches if m.item.id != item]
                false += len(wrong)
                base_false += len(bwrong)
                if item is not None:
                    found += bool(hit)
                    base_found += any(m.item.id == item for m in base.matches)
                    if hit and fam == "compilation" and "query_start_s" in hit[0].detail:
                        offset_err.append(abs(float(hit[0].detail["query_start_s"]) - float(info["query_start_s"])))  # type: ignore[arg-type]
                if verbose:
                    got = [(m.item.id, m.method) for m in out.matches] or [(m.item.id, m.method) for m in out.candidates[:1]]
                    print(f"  {fam} #{j} want {item} {info}: {got} ({secs[-1]:.2f}s) timings {({k: round(v, 2) for k, v in out.timings.items()})}", file=sys.stderr)
            n = len(srcs)
            totals["found"] += found
            totals["base"] += base_found
            totals["false"] += false
            totals["base_false"] += base_false
            totals["n"] += n
            rows.append([
                fam, f"{found}/{n} = {found / n:.2f}", false, f"{base_found}/{n} = {base_found / n:.2f}", base_false,
                f"{np.mean(secs):.2f} / {max(secs):.2f}", f"{max(offset_err):.2f}" if offset_err else "-",
            ])  # fmt: skip
        print()
        print(table(["family", "recall", "false matches", "baseline recall", "baseline false", "s/query mean / max", "worst start error s"], rows))
        print(f"\n{len(FAMILIES) * (n_src + n_neg)} queries ({len(FAMILIES) * n_neg} never-archived); recall {totals['found']}/{totals['n']}, false matches {totals['false']}; baseline recall {totals['base']}/{totals['n']}, false {totals['base_false']}")
