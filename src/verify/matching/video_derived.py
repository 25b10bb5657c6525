"""Videos derived from one query video: the clip inside a broadcast frame or beside a presenter
(picture-in-picture), and the screen a clip was re-filmed off, rectified.

A clip shown at 40-70% of a news frame, or filmed off a monitor at an angle, shares no whole-frame
hash with the archived clip: the frame's hashes describe the studio, the banner and the wall. Each
derived video is a sequence of sub-pictures, one per sampled frame, hashed and matched against the
archive like a query video of its own (per-frame region hashes, the time-offset vote, keypoint
confirmation of the best frame pair on the sub-picture itself).

Where the sub-picture is, three cues, all on a few sampled frames:

- **what changes against what stays**: a broadcast's banner, logo, studio background and bezel are
  static while the inset plays; the per-pixel temporal deviation over the sampled frames, closed
  and opened so a ticker line or a swaying presenter's outline drop out, leaves the inset as the
  largest changing block;
- **stable rectangles**: ``regions.find_regions`` (gutters, seams, pasted rectangles) on three
  frames; boxes found on at least two of them are layout, not content;
- **the dominant quadrilateral**: ``regions.screen_quads`` per frame (hand-held: a quad per frame,
  frames without one borrow the nearest frame's), rectified with ``regions.rectify``: the
  still-picture screen rectification, frame by frame.

Sampling is bounded: at most ``MAX_FRAMES`` frames, at least ``STEP_S`` apart, from the decoder's
fast mode (non-reference frames and the deblocking filter skipped); a long video is sampled
sparsely rather than decoded into memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from verify.fingerprints.regions import XYWH, find_regions, iou, rectify, screen_quads
from verify.matching.confirm import QueryFeatures
from verify.media import iter_video_frames, probe_video

#: Sampled frames per query video (all derived videos share them).
MAX_FRAMES = 20
#: Sampled frames are at least this far apart.
STEP_S = 0.5
#: Beyond this, the rest of a long query video is not sampled (the whole-frame pass covers it).
MAX_SECONDS = 900.0
#: Frames are kept at most this long side (the size keypoint confirmation works on).
KEEP_SIDE = 1280
#: Derived videos given the full pipeline (the rest are ranked out by their hashes).
MAX_DERIVED_VIDEOS = 3
#: A region must cover at least this share of the frame (and not nearly all of it).
MIN_AREA = 0.06
MAX_AREA = 0.88
#: Width of the small copies the motion map is computed on.
MOTION_WIDTH = 192


@dataclass
class DerivedVideo:
    """One derived query video: a sub-picture per sampled frame time."""

    #: ``region`` (a box inside the frame: an inset, one side of a side-by-side) or ``rectified``.
    view: str
    #: Sampled frame time -> grey sub-picture (up to ``KEEP_SIDE``).
    frames: dict[float, np.ndarray]
    #: The box in query pixels (for ``rectified``: the bounding box of the first frame's quad).
    region: XYWH | None = None
    #: How it was found (``motion``, ``layout``, ``screen``), for ``detail``.
    cue: str = ""
    quad: tuple[tuple[int, int], ...] | None = None
    times: list[float] = field(default_factory=list)


def sample_frames(path: Path) -> tuple[list[tuple[float, np.ndarray]], tuple[int, int]]:
    """Up to ``MAX_FRAMES`` grey frames spread over the video, and the video's (width, height).

    Frames are scaled to ``KEEP_SIDE``; the size is the decoded (upright) frame size, so that boxes
    can be reported in the query's pixels.
    """
    try:
        duration = probe_video(path, 10**12, 10**9).duration_s or 0.0
    except Exception:
        duration = 0.0
    duration = min(duration, MAX_SECONDS) if duration > 0 else MAX_SECONDS
    step = max(STEP_S, duration / MAX_FRAMES)
    out: list[tuple[float, np.ndarray]] = []
    size = (0, 0)
    next_t = 0.0
    for frame in iter_video_frames(path, fast=True, max_seconds=MAX_SECONDS):
        if frame.time_s + 1e-6 < next_t:
            continue
        g = frame.gray
        h, w = g.shape
        size = (w, h)
        s = min(1.0, KEEP_SIDE / max(h, w))
        if s < 1:
            g = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        out.append((round(frame.time_s, 3), np.ascontiguousarray(g)))
        next_t = frame.time_s + step
        if len(out) >= MAX_FRAMES:
            break
    return out, size


def changing_boxes(grays: list[np.ndarray]) -> list[XYWH]:
    """Blocks of the frame whose content changes while their surroundings stay (an inset playing
    inside a static broadcast layout), largest first, in the pixels of ``grays``.

    Empty when fewer than three frames, or when nearly the whole frame changes (an ordinary clip,
    a compilation) or nothing does (a still image shown as video).
    """
    if len(grays) < 3:
        return []
    h, w = grays[0].shape
    sw = MOTION_WIDTH
    sh = max(8, round(sw * h / w))
    stack = np.stack([cv2.resize(g, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) for g in grays])
    med = np.median(stack, axis=0)
    dev = np.mean(np.abs(stack - med), axis=0)
    if float(np.percentile(dev, 98)) < 4.0:
        return []
    thr = max(3.0, 0.25 * float(np.percentile(dev, 95)))
    mask = (dev > thr).astype(np.uint8)
    k = max(3, sw // 40) | 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    out: list[XYWH] = []
    for i in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1 if n > 1 else []:
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if bw * bh < MIN_AREA * sw * sh or bw * bh > MAX_AREA * sw * sh:
            continue
        if area < 0.5 * bw * bh or max(bw / bh, bh / bw) > 3.5:
            continue  # a ragged blob or a band (a ticker), not a picture
        sx, sy = w / sw, h / sh
        out.append((round(x * sx), round(y * sy), round(bw * sx), round(bh * sy)))
        if len(out) >= 3:
            break
    return out


def stable_boxes(grays: list[np.ndarray]) -> list[XYWH]:
    """Boxes ``find_regions`` finds on at least two of three frames (first, middle, last)."""
    if not grays:
        return []
    picks = [grays[0], grays[len(grays) // 2], grays[-1]] if len(grays) >= 3 else grays[:1]
    found = [find_regions(g) for g in picks]
    if len(found) == 1:
        return found[0][:4]
    out: list[XYWH] = []
    for k, boxes in enumerate(found):
        for b in boxes:
            seen = sum(any(iou(b, o) > 0.8 for o in other) for j, other in enumerate(found) if j != k)
            if seen >= 1 and not any(iou(b, o) > 0.8 for o in out):
                out.append(b)
    return out[:4]


def derive_videos(frames: list[tuple[float, np.ndarray]], size: tuple[int, int]) -> list[DerivedVideo]:
    """Every derived video of the sampled ``frames``: boxes that change inside a static layout,
    stable rectangles, and the rectified dominant quadrilateral."""
    if not frames:
        return []
    grays = [g for _, g in frames]
    times = [t for t, _ in frames]
    h, w = grays[0].shape
    if any(g.shape != (h, w) for g in grays):
        return []  # a resolution change mid-stream: boxes would not line up
    sx = size[0] / w if size[0] else 1.0
    sy = size[1] / h if size[1] else 1.0
    out: list[DerivedVideo] = []
    boxes: list[tuple[XYWH, str]] = []
    for b in changing_boxes(grays):
        boxes.append((b, "motion"))
    for b in stable_boxes(grays):
        if not any(iou(b, o) > 0.85 for o, _ in boxes):
            boxes.append((b, "layout"))
    for (x, y, bw, bh), cue in boxes:
        crops = {t: np.ascontiguousarray(g[y : y + bh, x : x + bw]) for t, g in frames}
        region = (round(x * sx), round(y * sy), round(bw * sx), round(bh * sy))
        out.append(DerivedVideo("region", crops, region, cue, times=times))
    # The dominant quadrilateral per frame (a hand-held camera moves it).
    quads: list[np.ndarray | None] = []
    for g in grays:
        qs = screen_quads(g)
        quads.append(qs[0] if qs else None)
    have = [i for i, q in enumerate(quads) if q is not None]
    if have and len(have) >= max(1, len(frames) // 4):
        rect: dict[float, np.ndarray] = {}
        for i, (t, g) in enumerate(frames):
            j = min(have, key=lambda k: abs(k - i))
            rect[t] = rectify(g, quads[j])  # type: ignore[arg-type]
        q = quads[have[0]]
        assert q is not None
        x0, y0 = q.min(axis=0)
        x1, y1 = q.max(axis=0)
        region = (round(x0 * sx), round(y0 * sy), round((x1 - x0) * sx), round((y1 - y0) * sy))
        corners = tuple((round(float(px) * sx), round(float(py) * sy)) for px, py in q)
        out.append(DerivedVideo("rectified", rect, region, "screen", corners, times=times))
    return out


class FrameRegions(QueryFeatures):
    """Query keypoints of a derived video: each frame time's sub-picture instead of the whole frame."""

    def __init__(self, path: Path, derived: DerivedVideo) -> None:
        super().__init__(path, ("full",))
        self.derived = derived
        for t, g in derived.frames.items():
            self._gray[t] = g

    def gray(self, time_s: float | None = None) -> np.ndarray | None:
        if time_s is None:
            time_s = next(iter(self.derived.frames), None)
        if time_s in self._gray:
            return self._gray[time_s]
        if not self.derived.frames:
            return None
        nearest = min(self.derived.frames, key=lambda t: abs(t - time_s))  # type: ignore[operator]
        return self.derived.frames[nearest]
