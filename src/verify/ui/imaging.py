"""Pictures the workbench shows: previews, blurred previews, contact sheets, comparisons.

All of it is computed server-side with Pillow, so for an item with a content warning only blurred
pixels ever reach the browser until an editor chooses Reveal. No Streamlit here: pure functions of
a stored original, easy to test.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from verify.media import decode_reduced, iter_keyframes


def load_preview(path: Path, kind: str, max_side: int, max_pixels: int) -> Image.Image:
    """An upright RGB preview at most ``max_side`` pixels on its long side (first keyframe for video)."""
    if kind == "image":
        im = decode_reduced(path, max_pixels, target=max(64, max_side // 2))
    else:
        im = next(iter(iter_keyframes(path, max_frames=1)))[1].convert("RGB")
    im = im.copy()
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return im


def blur(im: Image.Image) -> Image.Image:
    """Blurred beyond recognition: downscale, heavy Gaussian blur, then back to size.

    The downscale throws away detail that a deconvolution could otherwise try to recover.
    """
    w, h = im.size
    small = im.convert("RGB").resize((max(1, w // 16), max(1, h // 16)), Image.Resampling.BILINEAR)
    small = small.filter(ImageFilter.GaussianBlur(radius=2))
    out = small.resize((w, h), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(radius=max(4, min(w, h) // 40)))
    draw = ImageDraw.Draw(out)
    label = "Content warning - blurred"
    size = max(10, min(28, w // 22))
    font = _font(size)
    tw = draw.textlength(label, font=font)
    draw.rectangle([(w - tw) / 2 - 10, h / 2 - size, (w + tw) / 2 + 10, h / 2 + size * 0.8], fill=(0, 0, 0))
    draw.text(((w - tw) / 2, h / 2 - size * 0.6), label, fill=(255, 255, 255), font=font)
    return out


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without scalable default font
        return ImageFont.load_default()


def jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def keyframes(path: Path, max_frames: int = 12, min_gap_s: float = 1.0, max_side: int = 240) -> list[tuple[float, Image.Image]]:
    """Up to ``max_frames`` keyframes with their times, small enough for a contact sheet."""
    out: list[tuple[float, Image.Image]] = []
    for t, frame in iter_keyframes(path, max_frames=max_frames, min_gap_s=min_gap_s):
        frame = frame.convert("RGB")
        frame.thumbnail((max_side, max_side))
        out.append((t, frame))
    return out


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(float(seconds), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


def contact_sheet(frames: list[tuple[float, Image.Image]], columns: int = 4, blurred: bool = False) -> Image.Image:
    """Keyframes in a grid, each stamped with its time in the video."""
    if not frames:
        return Image.new("RGB", (320, 40), (240, 240, 240))
    cw = max(f.width for _, f in frames)
    ch = max(f.height for _, f in frames)
    rows = (len(frames) + columns - 1) // columns
    cols = min(columns, len(frames))
    sheet = Image.new("RGB", (cols * (cw + 6) + 6, rows * (ch + 30) + 6), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    font = _font(18)
    for i, (t, frame) in enumerate(frames):
        x = 6 + (i % columns) * (cw + 6)
        y = 6 + (i // columns) * (ch + 30)
        sheet.paste(blur(frame) if blurred else frame, (x, y))
        draw.text((x + 2, y + frame.height + 4), fmt_time(t), fill=(20, 20, 20), font=font)
    return sheet


def frame_near(path: Path, t: float | None) -> Image.Image | None:
    """The keyframe closest to ``t`` seconds (the matched frame of a video)."""
    best: tuple[float, Image.Image] | None = None
    for ft, frame in iter_keyframes(path, max_frames=2000):
        if t is None:
            return frame.convert("RGB")
        if best is None or abs(ft - t) < abs(best[0] - t):
            best = (ft, frame)
        if ft > t + 5:
            break
    return best[1].convert("RGB") if best else None


def _same_size(a: Image.Image, b: Image.Image) -> tuple[Image.Image, Image.Image]:
    b2 = ImageOps.pad(b.convert("RGB"), a.size, color=(0, 0, 0))
    return a.convert("RGB"), b2


def blend(a: Image.Image, b: Image.Image, alpha: float) -> Image.Image:
    """``a`` faded into ``b`` (0 = only a, 1 = only b): differences shimmer as the slider moves."""
    a2, b2 = _same_size(a, b)
    return Image.blend(a2, b2, max(0.0, min(1.0, alpha)))


def swipe(a: Image.Image, b: Image.Image, split: float) -> Image.Image:
    """Left part from ``a``, right part from ``b``, split at ``split`` of the width, with a line."""
    a2, b2 = _same_size(a, b)
    x = int(a2.width * max(0.0, min(1.0, split)))
    out = b2.copy()
    out.paste(a2.crop((0, 0, x, a2.height)), (0, 0))
    ImageDraw.Draw(out).line([(x, 0), (x, out.height)], fill=(255, 210, 0), width=3)
    return out


def difference(a: Image.Image, b: Image.Image) -> Image.Image:
    """Where the two differ (bright) once laid on the same canvas: edits and overlays stand out."""
    from PIL import ImageChops

    a2, b2 = _same_size(a, b)
    return ImageOps.autocontrast(ImageChops.difference(a2, b2).convert("L")).convert("RGB")


def align(a: Image.Image, b: Image.Image, min_inliers: int = 12) -> Image.Image | None:
    """``b`` warped onto ``a``'s frame when the two show the same scene (crop, scale, mirror).

    ORB keypoints, ratio test, RANSAC homography; the mirrored ``b`` is tried too. Returns None
    when no trustworthy alignment is found, and the compare views then fall back to fitting ``b``
    into ``a``'s frame. Runs on preview-sized pictures only, so it stays quick.
    """
    import cv2
    import numpy as np

    ga = np.asarray(a.convert("L"))
    orb = cv2.ORB_create(nfeatures=1500)
    ka, da = orb.detectAndCompute(ga, None)
    if da is None or len(ka) < min_inliers:
        return None
    best: tuple[int, np.ndarray, Image.Image] | None = None
    for candidate in (b.convert("RGB"), ImageOps.mirror(b.convert("RGB"))):
        kb, db = orb.detectAndCompute(np.asarray(candidate.convert("L")), None)
        if db is None or len(kb) < min_inliers:
            continue
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(db, da, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
        if len(good) < min_inliers:
            continue
        src = np.float32([kb[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
        dst = np.float32([ka[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        h, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
        if h is None or mask is None:
            continue
        inliers = int(mask.sum())
        if inliers >= min_inliers and (best is None or inliers > best[0]):
            best = (inliers, h, candidate)
    if best is None:
        return None
    _, h, candidate = best
    warped = cv2.warpPerspective(np.asarray(candidate), h, a.size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return Image.fromarray(warped)


def region_in_preview(preview: Image.Image, region: list[int], full_size: tuple[int, int] | None) -> tuple[int, int, int, int] | None:
    """A match's region (``[x, y, w, h]`` in the upload's own pixels) in the preview's pixels."""
    if not full_size or len(region) != 4:
        return None
    sx, sy = preview.width / full_size[0], preview.height / full_size[1]
    x, y, w, h = region
    box = (round(x * sx), round(y * sy), round((x + w) * sx), round((y + h) * sy))
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    return box


def outline(preview: Image.Image, box: tuple[int, int, int, int], quad: list[list[int]] | None = None, scale: tuple[float, float] = (1.0, 1.0)) -> Image.Image:
    """The preview with the matched part drawn on it: the region's box, or the rectified quadrilateral."""
    out = preview.copy()
    d = ImageDraw.Draw(out)
    width = max(2, min(out.size) // 120)
    if quad:
        pts = [(round(px * scale[0]), round(py * scale[1])) for px, py in quad]
        d.line([*pts, pts[0]], fill=(255, 200, 0), width=width)
    else:
        d.rectangle(box, outline=(255, 200, 0), width=width)
    return out
