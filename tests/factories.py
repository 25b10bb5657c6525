"""Media the tests make on the fly, with known content and metadata.

Pictures are drawn from a seed (shapes, gradients, noise) so different seeds give visually
different photos, and the same seed always gives the same bytes.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def photo(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A busy, photo-like picture: gradient sky, blocks, circles, text-like strokes, noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    c1, c2, c3 = (rng.uniform(0, 255, 3) for _ in range(3))
    base = c1 * (1 - y) + c2 * y * (1 - x) + c3 * x * y
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(12, 30))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))
        fill = tuple(int(v) for v in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.rectangle([x0, y0, x1, y1], fill=fill)
        else:
            draw.ellipse([x0, y0, x1, y1], fill=fill, outline=(0, 0, 0))
    for _ in range(40):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        draw.line([x0, y0, x0 + int(rng.integers(-80, 80)), y0 + int(rng.integers(-80, 80))], fill=(20, 20, 20), width=3)
    noise = rng.normal(0, 6, (h, w, 3))
    arr = np.clip(np.asarray(im, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def jpeg_bytes(im: Image.Image, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = exif
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def exif_bytes(
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
    datetime_original: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
) -> bytes:
    """EXIF written with Pillow's own writer: the same structures cameras produce."""
    from PIL import ExifTags

    exif = Image.Exif()
    if make:
        exif[ExifTags.Base.Make] = make
    if model:
        exif[ExifTags.Base.Model] = model
    if software:
        exif[ExifTags.Base.Software] = software
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if datetime_original:
        ifd[ExifTags.Base.DateTimeOriginal] = datetime_original
    if offset:
        ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        lat, lon = gps

        def dms(v: float) -> tuple[Fraction, Fraction, Fraction]:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            s = round(((v - d) * 60 - m) * 60 * 10000)
            return (Fraction(d, 1), Fraction(m, 1), Fraction(s, 10000))

        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[1] = "N" if lat >= 0 else "S"
        g[2] = dms(lat)
        g[3] = "E" if lon >= 0 else "W"
        g[4] = dms(lon)
    return exif.tobytes()


def video(path: Path, seconds: float = 3.0, fps: int = 25, size: tuple[int, int] = (320, 240), seed: int = 0,
          gop: int = 25, metadata: dict[str, str] | None = None) -> Path:  # fmt: skip
    """An H.264 MP4 of a moving scene (scene changes every second), written with PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        for k, v in (metadata or {}).items():
            out.metadata[k] = v
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        n = int(seconds * fps)
        scenes = [photo(seed * 100 + i, (size[0] + 64, size[1] + 64)) for i in range(int(seconds) + 1)]
        for i in range(n):
            scene = scenes[i // fps]
            dx = (i % fps) * 2
            frame_im = scene.crop((dx, dx // 2, dx + size[0], dx // 2 + size[1]))
            frame = av.VideoFrame.from_image(frame_im)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
