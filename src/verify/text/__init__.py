"""Text in pictures: captions, handles, watermarks and dates, read offline (Arabic and English).

``read_picture`` reads one picture, ``read_file`` a still or a video (its keyframes, with text
that stays on screen reported once with its time span). The result is plain data kept in the
item's metadata (``Metadata.text``); ``facts`` turns it into handles, addresses, dates and
places for the findings and for search. The engine is one module (``engine``); preprocessing,
line order and fact extraction are pure and tested without it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from verify.text import engine as _engine
from verify.text import overlays, regions
from verify.text.layout import Line, Word, assemble, clean, direction

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
    kind: str | None = None  # "watermark": laid over the picture in a corner or tiled across it


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
    flat = flat_ground(gray)
    # A screenshot or document (much flat ground) is read as sparse text, which keeps every line
    # (the page layout mode drops some); a photo by page layout, which ignores texture.
    words = _engine.recognise(prepared, status, CALL_TIMEOUT_S, psm=11 if flat else 3)
    page = assemble(reread_numbers(gray, words, status))
    sure = [ln.box for ln in page if ln.confidence >= RELIABLE]
    todo = [r for r in regions.find_regions(gray) if not any(_covered(r, b) > 0.3 for b in sure)]
    # Lines the page pass read unsurely are read again, cut out and cleaned (outlined captions).
    todo += [regions.Region(*ln.box, 0.0) for ln in page if ln.confidence < RELIABLE]
    placed = read_cut_out(gray, todo, status, retry=flat)
    found = [ln for ln in assemble(placed, min_confidence=0.7) if sum(ch.isalnum() for ch in ln.text) >= 3]
    marks: list[Line] = []
    if not flat:  # a photo: what was laid over it (a screenshot's text is read above)
        rgb = picture.convert("RGB")
        if scale != 1.0:
            rgb = rgb.resize(prepared.size, Image.Resampling.LANCZOS)
        rgb_arr = np.asarray(rgb)
        found += read_outlined(rgb_arr, status)
        plain = np.asarray(ImageOps.grayscale(rgb))  # not inverted: overlays are light on the photo
        marks = read_corners(plain, status) + read_diagonal(plain, status)
    lines = _with_marks(_better_of(page, found), marks)
    out = [_unscale(line, scale, time_s) for line in lines]
    for line, text_line in zip(lines, out):
        if any(line is m or (_same_text(line.text, m.text) and _overlap(list(line.box), list(m.box)) > 0.2) for m in marks):
            text_line.kind = "watermark"
    return TextReading(_engine.NAME, list(status.languages), out, note)


def _lines_of(words: list[Word], min_confidence: float = 0.7, min_chars: int = 3) -> list[Line]:
    return [ln for ln in assemble(words, min_confidence=min_confidence) if sum(ch.isalnum() for ch in ln.text) >= min_chars]


def read_outlined(rgb: np.ndarray, status: _engine.EngineStatus) -> list[Line]:
    """Captions in white letters with a dark rim (see ``overlays``): one call when there are any."""
    mask = overlays.outlined_light_text(rgb)
    if mask is None:
        return []
    bands = [regions.Region(x, y, w, h, 0.0) for x, y, w, h in overlays.ink_lines(mask)][: regions.MAX_REGIONS]
    return _lines_of(read_cut_out(mask, bands, status))


def read_corners(gray: np.ndarray, status: _engine.EngineStatus) -> list[Line]:
    """Marks in the four corners, blended in or solid, read on one sheet (one engine call)."""
    sheet = overlays.mosaic(overlays.corner_tiles(gray))
    if sheet is None:
        return []
    placed = []
    for w in _engine.recognise(Image.fromarray(sheet.image), status, CALL_TIMEOUT_S, psm=3):
        box = sheet.to_picture(w.x, w.y, w.w, w.h)
        if box is not None:
            tile = next(i for i, t in enumerate(sheet.tiles) if t.y0 <= w.y + w.h / 2 < t.y0 + t.height)
            placed.append(Word(w.text, w.confidence, *box, (tile, *w.line_key)))
    return _dedupe(_lines_of(placed, 0.75, 4))


def read_diagonal(gray: np.ndarray, status: _engine.EngineStatus) -> list[Line]:
    """A mark tiled on a slant across the picture: turned level and read (one call, only when
    many word-shaped light blobs share one slant). Each distinct text is reported once."""
    for strokes in overlays.light_strokes(gray):
        angle = overlays.diagonal_angle(strokes)
        if angle is None:
            continue
        turned, back = overlays.level(strokes, angle)
        placed = [
            Word(w.text, w.confidence, *overlays.box_back(back, w.x, w.y, w.w, w.h, gray.shape), w.line_key)
            for w in _engine.recognise(Image.fromarray(turned), status, CALL_TIMEOUT_S, psm=11)
        ]
        return _dedupe(_lines_of(placed, 0.8, 4))
    return []


def _dedupe(lines: list[Line]) -> list[Line]:
    """One line per distinct text (the surest reading), for marks repeated over a picture."""
    best: list[Line] = []
    # Longest first, so a fragment of a repeat ("@frees" of "@freesyria") folds into it.
    for line in sorted(lines, key=lambda ln: (-len(clean(ln.text)), -ln.confidence)):
        folded = clean(line.text).casefold()
        if not any(_same_text(line.text, b.text) or folded in clean(b.text).casefold() for b in best):
            best.append(line)
    return best


#: Sizes (px) a cut-out line is read at: Tesseract's line finder drops some lines at one text
#: height and reads them at another, so a line that gave no words is read again, smaller then bigger.
SHEET_HEIGHTS = (regions.LINE_HEIGHT, 34, 72)


def read_cut_out(
    gray: np.ndarray, todo: list[regions.Region], status: _engine.EngineStatus, *, psm: int = 6, retry: bool = True
) -> list[Word]:
    """The words of cut-out lines, read on one clean sheet (boxes in ``gray``'s pixels).

    With ``retry``, lines that gave no words are read again at the next of ``SHEET_HEIGHTS``
    (two more engine calls at most, each only when some line came back empty). Off for the
    text-like lines found in a photo's texture, most of which are rightly empty.
    """
    placed: list[Word] = []
    remaining = list(todo)
    for attempt, height in enumerate(SHEET_HEIGHTS if retry else SHEET_HEIGHTS[:1]):
        cut = regions.sheet(gray, remaining, line_height=height, sort=False)
        if cut is None:
            break
        hit: set[int] = set()
        for w in _engine.recognise(Image.fromarray(cut.image), status, CALL_TIMEOUT_S, psm=psm):
            box = cut.to_picture(w.x, w.y, w.w, w.h)
            if box is None:
                continue
            band = next(i for i, (y0, y1, _r, _s) in enumerate(cut.bands) if y0 <= w.y + w.h / 2 < y1)
            hit.add(band)
            placed.append(Word(w.text, w.confidence, *box, (attempt, band, *w.line_key)))
        remaining = [r for i, r in enumerate(remaining) if i not in hit]
    return placed


_WESTERN_NUMBER = re.compile(r"[0-9][0-9/:.,\-]*")
#: Numbers re-read per picture at most (a table of figures is not a caption).
MAX_NUMBERS = 40


def reread_numbers(gray: np.ndarray, words: list[Word], status: _engine.EngineStatus) -> list[Word]:
    """Numbers in Arabic lines read again by the English model, which reads them whole.

    Tesseract's Arabic model drops the first digit of a number at the start of a right-to-left
    run ("11 كانون الثاني" comes back as "1 كانون الثاني", "19" as "9"): the day of a date is
    lost. Each such number (Western digits; Arabic-Indic ones are left as read) is cut out
    between its neighbours and read with ``eng`` alone on one sheet; the new reading replaces
    the old only when it is a number with as many digits or one more. One engine call, only when
    an Arabic line holds a number.
    """
    if "eng" not in status.languages or len(status.languages) < 2:
        return words
    targets: list[tuple[Word, regions.Region]] = []
    _h_img, w_img = gray.shape
    numbers = [w for w in words if w.h >= 4 and _WESTERN_NUMBER.fullmatch(w.text.strip())]
    for w in numbers[:MAX_NUMBERS]:
        # The words of its row (the sparse mode gives each word a block of its own, so rows
        # are found from the boxes): the number is in an Arabic line when an Arabic word is near.
        row = [o for o in words if o is not w and min(o.y + o.h, w.y + w.h) - max(o.y, w.y) > 0.5 * min(o.h, w.h)]
        near = [o for o in row if max(o.x - (w.x + w.w), w.x - (o.x + o.w)) < 4 * max(w.h, o.h)]
        if not any(direction(o.text) == "rtl" for o in near):
            continue
        # Widen the box a little (the engine's box can miss a dropped digit), not into a neighbour.
        left = max([o.x + o.w for o in row if o.x + o.w <= w.x] + [0])
        right = min([o.x for o in row if o.x >= w.x + w.w] + [w_img])
        x0 = max(left + 1, w.x - w.h // 4)
        x1 = min(right - 1, w.x + w.w + w.h // 4)
        if x1 - x0 >= 4:
            targets.append((w, regions.Region(x0, w.y, x1 - x0, w.h, 0.0)))
    if not targets:
        return words
    cut = regions.sheet(gray, [r for _w, r in targets], sort=False, pad_x=False)
    english = replace(status, languages=("eng",))
    read: dict[int, list[str]] = {}
    for found in _engine.recognise(Image.fromarray(cut.image), english, CALL_TIMEOUT_S, psm=6):
        band = next((i for i, (y0, y1, _r, _s) in enumerate(cut.bands) if y0 <= found.y + found.h / 2 < y1), None)
        if band is not None:
            read.setdefault(band, []).append(found.text.strip())
    better = {}
    for i, (w, _r) in enumerate(targets):
        # Edge marks are the neighbours' glyphs or the box edge read as "(" or "[": dropped.
        new = re.sub(r"^[^0-9]+|[^0-9]+$", "", "".join(read.get(i, [])))
        if _WESTERN_NUMBER.fullmatch(new) and 0 <= sum(c.isdigit() for c in new) - sum(c.isdigit() for c in w.text) <= 1:
            better[id(w)] = new
    return [Word(better.get(id(w), w.text), w.confidence, w.x, w.y, w.w, w.h, w.line_key) for w in words]


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


def _with_marks(lines: list[Line], marks: list[Line]) -> list[Line]:
    """Lines with the watermark passes' readings added: a mark that reads a whole handle or
    address replaces overlapping readings that do not (the page pass often splits "@aleppo24"
    into "@al" and "leppo24" over a busy corner); otherwise the surer reading stays."""
    from verify.text.facts import handles, urls

    out = list(lines)
    for mark in marks:
        r = regions.Region(*mark.box, 0.0)
        rivals = [i for i, p in enumerate(out) if _covered(r, p.box) > 0.3 or _covered(regions.Region(*p.box, 0.0), mark.box) > 0.3]
        names = set(handles(mark.text)) | set(urls(mark.text))
        whole = bool(names) and not any(names <= set(handles(out[i].text)) | set(urls(out[i].text)) for i in rivals)
        surer = all(out[i].confidence < mark.confidence and mark.box[2] >= 0.7 * out[i].box[2] for i in rivals)
        if not rivals or whole or surer:
            out = [p for i, p in enumerate(out) if i not in rivals] + [mark]
    return sorted(out, key=lambda ln: (ln.box[1], ln.box[0]))


def _covered(r: regions.Region, box: tuple[int, int, int, int]) -> float:
    """The share of region ``r`` inside ``box``."""
    x, y, w, h = box
    ix = max(0, min(r.x + r.w, x + w) - max(r.x, x))
    iy = max(0, min(r.y + r.h, y + h) - max(r.y, y))
    return ix * iy / (r.w * r.h)


def _unscale(line: Line, scale: float, time_s: float | None) -> TextLine:
    """A line in the picture's own pixels (and time)."""
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
            out.append(TextLine(line.text, line.confidence, line.box, first, last, "watermark"))
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
                m.kind = m.kind or line.kind
                break
        else:
            merged.append(TextLine(line.text, line.confidence, list(line.box), line.time_s, line.until_s, line.kind))
    return merged


def from_dict(data: dict[str, Any] | None) -> TextReading | None:
    if not data:
        return None
    lines = [TextLine(**{k: v for k, v in ln.items() if k in TextLine.__dataclass_fields__}) for ln in data.get("lines", [])]
    return TextReading(data.get("engine", "?"), list(data.get("languages", [])), lines, data.get("note"))


__all__ = ["TextLine", "TextReading", "engine_status", "from_dict", "merge_spans", "prepare", "read_file", "read_picture"]
