"""Text in pictures: captions, handles, watermarks and dates, read offline (Arabic and English).

``read_picture`` reads one picture, ``read_file`` a still or a video (its keyframes, with text
that stays on screen reported once with its time span). The result is plain data kept in the
item's metadata (``Metadata.text``); ``facts`` turns it into handles, addresses, dates and
places for the findings and for search. The engine is one module (``engine``); preprocessing,
line order and fact extraction are pure and tested without it.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from verify.text import engine as _engine
from verify.text import regions
from verify.text.layout import Line, Word, assemble, clean

#: Longest side the engine sees; bigger pictures are read on a reduced copy (and say so).
MAX_SIDE = 2400
#: Pictures smaller than this (longest side) are enlarged first: small text reads badly.
UPSCALE_BELOW = 1000
#: Frames read per video.
MAX_FRAMES = 12
#: Page-pass lines at least this sure are not read again from a cut-out.
RELIABLE = 0.85
#: Seconds one engine call may take.
CALL_TIMEOUT_S = 30.0


@dataclass
class TextLine:
    text: str
    confidence: float
    box: list[int]
    time_s: float | None = None
    until_s: float | None = None  # videos: the last frame the line was seen in


@dataclass
class TextReading:
    """What the engine read: the contract of ``verify meta --json``'s ``text``."""

    engine: str
    languages: list[str]
    lines: list[TextLine] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def full_text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def engine_status(binary: str | None, langs: str) -> _engine.EngineStatus:
    return _engine.status(binary, langs)


def prepare(picture: Image.Image) -> tuple[Image.Image, float, str | None]:
    """A grey copy the engine reads well, the factor from original pixels to it, and a note.

    Dark-mode screenshots (light text on a dark ground) are inverted; small pictures enlarged;
    huge ones reduced, which is said in the note.
    """
    gray = ImageOps.grayscale(picture)
    w, h = gray.size
    note = None
    longest = max(w, h)
    scale = 1.0
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        note = f"read on a reduced copy ({round(w * scale)}x{round(h * scale)} of {w}x{h} pixels)"
    elif longest < UPSCALE_BELOW:
        scale = min(3.0, UPSCALE_BELOW * 2 / longest)
    if scale != 1.0:
        gray = gray.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    arr = np.asarray(gray)
    if float(np.median(arr)) < 100:  # mostly dark: light text on a dark ground
        gray = ImageOps.invert(gray)
    return gray, scale, note


def read_picture(picture: Image.Image, status: _engine.EngineStatus, *, time_s: float | None = None) -> TextReading:
    """The text lines of one picture (boxes in the picture's own pixels).

    Two passes: the whole page (screenshots, documents, posts), then the text-like lines the page
    pass left unread, cut out and cleaned (banners, watermarks, captions over a photo: see
    ``regions``). The second costs one more engine call and only runs when such lines exist.
    """
    prepared, scale, note = prepare(picture)
    gray = np.asarray(prepared)
    # A screenshot or document (much flat ground) is read as sparse text, which keeps every line
    # (the page layout mode drops some); a photo by page layout, which ignores texture.
    page = assemble(_engine.recognise(prepared, status, CALL_TIMEOUT_S, psm=11 if flat_ground(gray) else 3))
    sure = [ln.box for ln in page if ln.confidence >= RELIABLE]
    todo = [r for r in regions.find_regions(gray) if not any(_covered(r, b) > 0.3 for b in sure)]
    # Lines the page pass read unsurely are read again, cut out and cleaned (outlined captions).
    todo += [regions.Region(*ln.box, 0.0) for ln in page if ln.confidence < RELIABLE]
    cut = regions.sheet(gray, todo)
    found: list[Line] = []
    if cut is not None:
        words = _engine.recognise(Image.fromarray(cut.image), status, CALL_TIMEOUT_S, psm=6)
        placed = []
        for w in words:
            box = cut.to_picture(w.x, w.y, w.w, w.h)
            if box is not None:
                band = next(i for i, (y0, y1, _r, _s) in enumerate(cut.bands) if y0 <= w.y + w.h / 2 < y1)
                placed.append(Word(w.text, w.confidence, *box, (band, *w.line_key)))
        found = [ln for ln in assemble(placed, min_confidence=0.7) if sum(ch.isalnum() for ch in ln.text) >= 3]
    lines = _better_of(page, found)
    lines = [_unscale(line, scale, time_s) for line in lines]
    return TextReading(_engine.NAME, list(status.languages), lines, note)


def flat_ground(gray: np.ndarray) -> bool:
    """Whether at least 40% of the picture is one flat tone (a screenshot, a page, a card)."""
    hist = np.bincount(gray[::4, ::4].ravel(), minlength=256)
    peak = int(hist.argmax())
    return hist[max(0, peak - 6) : peak + 7].sum() >= 0.4 * hist.sum()


def _better_of(page: list[Line], found: list[Line]) -> list[Line]:
    """Page lines, each replaced by a cut-out reading of the same place that the engine is surer of."""
    out = list(page)
    for line in found:
        r = regions.Region(*line.box, 0.0)
        rivals = [i for i, p in enumerate(out) if _covered(r, p.box) > 0.3 or _covered(regions.Region(*p.box, 0.0), line.box) > 0.3]
        if not rivals:
            out.append(line)
        elif all(out[i].confidence < line.confidence and line.box[2] >= 0.7 * out[i].box[2] for i in rivals):
            out = [p for i, p in enumerate(out) if i not in rivals] + [line]
    return sorted(out, key=lambda ln: (ln.box[1], ln.box[0]))


def _covered(r: regions.Region, box: tuple[int, int, int, int]) -> float:
    """The share of region ``r`` inside ``box``."""
    x, y, w, h = box
    ix = max(0, min(r.x + r.w, x + w) - max(r.x, x))
    iy = max(0, min(r.y + r.h, y + h) - max(r.y, y))
    return ix * iy / (r.w * r.h)


def _unscale(line: Line, scale: float, time_s: float | None) -> TextLine:
    x, y, w, h = (round(v / scale) for v in line.box)
    return TextLine(line.text, line.confidence, [x, y, w, h], time_s, time_s)


def read_file(path: Path, kind: str, status: _engine.EngineStatus, max_pixels: int) -> TextReading:
    """Read a still, or the keyframes of a video with lines that persist merged into spans."""
    from verify.media import iter_keyframes, open_image, probe_video

    if kind == "image":
        with open_image(path, max_pixels) as im:
            im.draft("RGB", (MAX_SIDE, MAX_SIDE))
            upright = ImageOps.exif_transpose(im)
            return read_picture(upright.convert("RGB"), status)
    info = probe_video(path, 1 << 62, 1e12)
    gap = (info.duration_s or 0) / MAX_FRAMES
    frames = [(t, frame) for t, frame in iter_keyframes(path, max_frames=MAX_FRAMES, min_gap_s=gap)]
    readings = [read_picture(frame, status, time_s=round(t, 3)) for t, frame in frames]
    lines = [line for r in readings for line in r.lines]
    if len(frames) >= 3:
        lines += _overlay_lines(frames, status)
    note = f"read on {len(frames)} keyframe(s)" + (" and on what stays on screen across them" if len(frames) >= 3 else "")
    return TextReading(_engine.NAME, list(status.languages), merge_spans(lines), note)


def _overlay_lines(frames: list[tuple[float, Image.Image]], status: _engine.EngineStatus) -> list[TextLine]:
    """Text that stays put while the footage changes (a watermark, a broadcaster's bug).

    Per pixel, the darkest value over the frames keeps only what is light in every frame, and
    the lightest only what is dark in every frame: a static overlay stands out against a ground
    that changes. What is read there is on screen over the whole span of the frames.
    """
    size = frames[0][1].size
    stack = np.stack([np.asarray(ImageOps.grayscale(f.resize(size))) for _t, f in frames])
    first, last = round(frames[0][0], 3), round(frames[-1][0], 3)
    out: list[TextLine] = []
    for composite in (stack.min(axis=0), 255 - stack.max(axis=0)):
        if float(composite.std()) < 2:  # nothing stays put
            continue
        for line in read_picture(Image.fromarray(composite.astype(np.uint8)), status).lines:
            out.append(TextLine(line.text, line.confidence, line.box, first, last))
    return out


def _same_text(a: str, b: str) -> bool:
    fa, fb = clean(a).casefold(), clean(b).casefold()
    return fa == fb or difflib.SequenceMatcher(None, fa, fb).ratio() >= 0.8


def _overlap(a: list[int], b: list[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


def merge_spans(lines: list[TextLine]) -> list[TextLine]:
    """Lines read in several frames at about the same place become one line with a time span."""
    merged: list[TextLine] = []
    for line in sorted(lines, key=lambda ln: (ln.time_s or 0.0)):
        for m in merged:
            if _same_text(m.text, line.text) and _overlap(m.box, line.box) >= 0.3:
                m.until_s = max(m.until_s or 0.0, line.until_s or line.time_s or 0.0)
                if line.confidence > m.confidence:
                    m.text, m.confidence = line.text, line.confidence
                break
        else:
            merged.append(TextLine(line.text, line.confidence, list(line.box), line.time_s, line.until_s))
    return merged


def from_dict(data: dict[str, Any] | None) -> TextReading | None:
    if not data:
        return None
    lines = [TextLine(**{k: v for k, v in ln.items() if k in TextLine.__dataclass_fields__}) for ln in data.get("lines", [])]
    return TextReading(data.get("engine", "?"), list(data.get("languages", [])), lines, data.get("note"))


__all__ = ["TextLine", "TextReading", "engine_status", "from_dict", "merge_spans", "prepare", "read_file", "read_picture"]
