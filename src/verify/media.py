"""Reading media safely: what a file is (from its bytes), and decoding it within limits.

Every decode in the project goes through here, so limits (pixels, duration, truncation) are
enforced in one place and hostile files fail with an ``UnreadableMedia``/``TooLarge`` message an
editor can read instead of an exception from deep inside a codec.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageFile, ImageOps

if TYPE_CHECKING:  # numpy is imported lazily by the video helpers
    import numpy as np

from verify.errors import TooLarge, UnreadableMedia, UnsupportedMedia
from verify.models import MediaKind

try:  # HEIC/HEIF (and AVIF on older Pillow) through libheif.
    import pillow_heif

    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):
        try:
            pillow_heif.register_avif_opener()
        except Exception:  # pragma: no cover - depends on the wheel's build
            pass
except ImportError:  # pragma: no cover - declared dependency
    pillow_heif = None

try:  # JPEG XL: importing the plugin registers it with Pillow.
    import pillow_jxl  # noqa: F401
except ImportError:  # pragma: no cover - declared dependency
    pass

# Truncated images must fail, not be silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

SNIFF_BYTES = 4096

_ISO_IMAGE_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"hevx": "image/heic-sequence",
    b"mif1": "image/heif",
    b"msf1": "image/heif-sequence",
    b"avif": "image/avif",
    b"avis": "image/avif",
}

IMAGE_MIMES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/heic",
    "image/heif",
    "image/heic-sequence",
    "image/heif-sequence",
    "image/avif",
    "image/jxl",
}
VIDEO_MIMES = {
    "video/mp4",
    "video/quicktime",
    "video/x-m4v",
    "video/3gpp",
    "video/mp2t",
    "video/x-msvideo",
    "video/x-matroska",
    "video/webm",
    "video/x-ms-asf",
}

#: The ASF Header Object's GUID (Windows Media .wmv/.asf), as it appears in the file.
_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    mime: str


def sniff_bytes(head: bytes) -> Sniffed:
    """Identify the container from its magic bytes; the extension is never trusted."""
    if len(head) == 0:
        raise UnsupportedMedia("The file is empty (0 bytes).")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "video/x-msvideo")
    if head[:16] == _ASF_HEADER:
        return Sniffed("video", "video/x-ms-asf")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "image/tiff")
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return Sniffed("image", "image/jxl")  # JPEG XL: bare codestream, or the ISO box container
    if head[4:8] == b"ftyp":
        major = head[8:12]
        brands = [major] + [head[i : i + 4] for i in range(16, min(len(head), 64), 4)]
        if major in _ISO_IMAGE_BRANDS:
            return Sniffed("image", _ISO_IMAGE_BRANDS[major])
        if major == b"qt  ":
            return Sniffed("video", "video/quicktime")
        if major.startswith(b"M4V"):
            return Sniffed("video", "video/x-m4v")
        if major.startswith(b"3gp") or major.startswith(b"3g2"):
            return Sniffed("video", "video/3gpp")
        if major in (b"M4A ", b"M4B ", b"M4P "):
            raise UnsupportedMedia("This is an audio file (MPEG-4 audio), not a photo or video.")
        for brand in brands[1:]:
            if brand in _ISO_IMAGE_BRANDS and major not in (b"isom", b"mp41", b"mp42"):
                return Sniffed("image", _ISO_IMAGE_BRANDS[brand])
        return Sniffed("video", "video/mp4")
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return Sniffed("video", "video/quicktime")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return Sniffed("video", "video/webm")
        return Sniffed("video", "video/x-matroska")
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return Sniffed("video", "video/mp2t")
    if len(head) > 388 and head[4] == 0x47 and head[196] == 0x47 and head[388] == 0x47:
        return Sniffed("video", "video/mp2t")
    if head.lstrip()[:1] in (b"<", b"{") or _looks_like_text(head):
        raise UnsupportedMedia("This is a text file, not a photo or video (whatever its name says).")
    raise UnsupportedMedia("Not a photo or video format we recognise (the file's bytes match no known type).")


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    if not sample:
        return False
    printable = sum(1 for b in sample if b in (9, 10, 13) or 32 <= b < 127)
    return printable / len(sample) > 0.95


def checked_size(path: Path, max_bytes: int) -> int:
    """The file's size, refused with a readable error when it cannot be read or is over the limit."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableMedia(f"The file cannot be read: {exc.strerror or 'access denied'}.") from exc
    if size > max_bytes:
        raise TooLarge(f"The file is larger than the limit of {max_bytes / 1024**2:,.0f} MB.")
    return size


def sniff_file(path: Path) -> Sniffed:
    with open(path, "rb") as fh:
        return sniff_bytes(fh.read(SNIFF_BYTES))


def open_image(path: Path, max_pixels: int) -> Image.Image:
    """Open an image header and check its pixel count before anything is decoded."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(f"The image claims too many pixels to decode safely (limit {max_pixels:,}).") from exc
    except Exception as exc:  # Pillow raises many types for hostile headers
        raise UnreadableMedia(f"The image cannot be read: {_reason(exc)}.") from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise UnreadableMedia("The image has no pixels.")
    if width * height > max_pixels:
        raise TooLarge(
            f"The image claims {width:,} x {height:,} pixels, beyond the limit of {max_pixels:,} "
            "(a decompression bomb or a file too large to check safely)."
        )
    return im


def decode_reduced(path: Path, max_pixels: int, target: int = 512, mode: str = "RGB") -> Image.Image:
    """Decode an image to ``mode`` ("RGB" or "L") at roughly ``target`` pixels on its short side, upright.

    JPEGs use ``draft()`` so the codec itself scales by 1/2, 1/4 or 1/8: most of the cost of a full
    12 MP decode is avoided, and perceptual hashes are computed on far fewer pixels anyway. With
    ``mode="L"`` a JPEG decodes its luminance only (no chroma upsampling or colour conversion),
    which is all a grey perceptual hash needs. Decoding doubles as validation: a truncated or
    corrupt file raises here.
    """
    im = open_image(path, max_pixels)
    try:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        if im.format == "JPEG":
            im.draft("L" if mode == "L" else "RGB", (target, target))
        im.load()
        im = ImageOps.exif_transpose(im) or im
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            background = Image.new("RGB", im.size, (255, 255, 255))
            background.paste(im.convert("RGBA"), mask=im.convert("RGBA").getchannel("A"))
            im = background
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            im = _to_8bit(im)  # Pillow's own conversion clips 16-bit values to white
        if mode == "L":
            if im.mode != "L":
                im = im.convert("L")
        elif im.mode != "RGB":
            im = im.convert("RGB")
        short = min(im.size)
        if short > target * 2:
            scale = target / short
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)
        return im
    except (TooLarge, UnreadableMedia):
        raise
    except MemoryError as exc:  # the decoding sandbox's memory ceiling: not damage, too big to check here
        raise TooLarge("Decoding the image needs more memory than is safe here; it was stopped.") from exc
    except Exception as exc:
        raise UnreadableMedia(f"The image is damaged and cannot be decoded: {_reason(exc)}.") from exc


def _to_8bit(im: Image.Image) -> Image.Image:
    """A 16-bit or float grey image scaled to 8 bits by its own range."""
    import numpy as np

    arr = np.asarray(im, dtype=np.float32)
    top = float(arr.max()) if arr.size else 0.0
    if top > 255:
        arr = arr * (255.0 / top)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration_s: float | None
    fps: float | None
    codec: str | None


def _open_container(path: Path):  # type: ignore[no-untyped-def]
    import av

    try:
        return av.open(str(path), mode="r", metadata_errors="replace")
    except Exception as exc:
        raise UnreadableMedia(f"The video cannot be opened: {_reason(exc)}.") from exc


def probe_video(path: Path, max_pixels: int, max_seconds: float) -> VideoInfo:
    """Container facts needed to validate a video, without decoding more than needed."""
    container = _open_container(path)
    try:
        if not container.streams.video:
            raise UnreadableMedia("The file has no video stream.")
        stream = container.streams.video[0]
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise UnreadableMedia("The video stream has no picture size (damaged or missing headers).")
        if width * height > max_pixels:
            raise TooLarge(f"The video frame size {width:,} x {height:,} is beyond the limit.")
        duration = _stream_duration(container, stream)
        if duration is not None and duration > max_seconds:
            raise TooLarge(f"The video is {duration / 3600:.1f} hours long, beyond the limit.")
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        codec = stream.codec_context.name if stream.codec_context else None
        return VideoInfo(width, height, duration, fps, codec)
    finally:
        container.close()


def _stream_duration(container, stream) -> float | None:  # type: ignore[no-untyped-def]
    """Prefer the video stream's own duration: container durations overstate some camera files."""
    if stream.duration is not None and stream.time_base is not None:
        value = float(stream.duration * stream.time_base)
        if value > 0:
            return value
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    return None


def iter_keyframes(path: Path, max_frames: int = 2000, min_gap_s: float = 0.0) -> Iterator[tuple[float, Image.Image]]:
    """Yield ``(time_s, RGB image)`` for keyframes, decoding only keyframes where the codec allows.

    Falls back to decoding every frame if the codec yields no keyframe marks, keeping at most one
    frame per ``min_gap_s`` seconds.
    """
    container = _open_container(path)
    try:
        if not container.streams.video:
            raise UnreadableMedia("The file has no video stream.")
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        count = 0
        last: float | None = None
        try:
            for frame in container.decode(stream):
                t = _frame_time(frame, stream)
                if last is not None and t - last < min_gap_s:
                    continue
                last = t
                yield t, frame.to_image()
                count += 1
                if count >= max_frames:
                    break
        except UnreadableMedia:
            raise
        except Exception as exc:
            if count == 0:
                raise UnreadableMedia(f"The video is damaged and cannot be decoded: {_reason(exc)}.") from exc
        if count == 0:
            raise UnreadableMedia("No picture could be decoded from the video.")
    finally:
        container.close()


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame as a grey (luminance) array, upright, with its time."""

    time_s: float
    gray: np.ndarray
    key: bool


_PLANAR_8BIT = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "yuv411p", "yuv410p", "gray"}


def _luma(frame) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The frame's luminance without a colour conversion where the pixel format allows."""
    import numpy as np

    if frame.format.name in _PLANAR_8BIT:
        plane = frame.planes[0]
        arr = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
    else:
        arr = frame.to_ndarray(format="gray")
    rotation = int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4
    return np.rot90(arr, k=rotation) if rotation else arr


def iter_video_frames(path: Path, *, fast: bool = True, max_seconds: float | None = None) -> Iterator[VideoFrame]:
    """Yield every decodable frame as grey luminance, for dense sampling.

    With ``fast`` the decoder skips non-reference frames and the deblocking filter: about twice
    the speed of a full decode, and the frames that remain are at most a frame or two apart, which
    is all a perceptual hash needs. Frames are upright (the container's rotation applied).
    """
    container = _open_container(path)
    try:
        if not container.streams.video:
            raise UnreadableMedia("The file has no video stream.")
        stream = container.streams.video[0]
        if fast:
            stream.codec_context.skip_frame = "NONREF"
            try:
                stream.codec_context.options = {"skip_loop_filter": "all"}
            except Exception:  # pragma: no cover - options are best effort
                pass
        stream.thread_type = "AUTO"
        count = 0
        try:
            for frame in container.decode(stream):
                t = _frame_time(frame, stream)
                if max_seconds is not None and t > max_seconds:
                    break
                yield VideoFrame(t, _luma(frame), bool(frame.key_frame))
                count += 1
        except UnreadableMedia:
            raise
        except Exception as exc:
            if count == 0:
                raise UnreadableMedia(f"The video is damaged and cannot be decoded: {_reason(exc)}.") from exc
        if count == 0:
            raise UnreadableMedia("No picture could be decoded from the video.")
    finally:
        container.close()


def video_frame_at(path: Path, time_s: float) -> Image.Image:
    """The frame shown at ``time_s`` (full quality, upright RGB), for a closer comparison."""
    container = _open_container(path)
    try:
        if not container.streams.video:
            raise UnreadableMedia("The file has no video stream.")
        stream = container.streams.video[0]
        if stream.time_base is not None:
            start = stream.start_time or 0
            try:
                container.seek(int(max(0.0, time_s) / stream.time_base) + start, stream=stream, backward=True, any_frame=False)
            except Exception:
                container.seek(0)
        best = None
        try:
            for frame in container.decode(stream):
                t = _frame_time(frame, stream)
                best = frame
                if t >= time_s - 1e-3:
                    break
        except Exception as exc:
            if best is None:
                raise UnreadableMedia(f"The video is damaged and cannot be decoded: {_reason(exc)}.") from exc
        if best is None:
            raise UnreadableMedia("No picture could be decoded from the video.")
        im = best.to_image()
        rotation = int(round((getattr(best, "rotation", 0) or 0) / 90)) % 4
        return im.rotate(90 * rotation, expand=True) if rotation else im
    finally:
        container.close()


def _frame_time(frame, stream) -> float:  # type: ignore[no-untyped-def]
    if frame.pts is not None and stream.time_base is not None:
        start = stream.start_time or 0
        return float(Fraction(frame.pts - start) * stream.time_base)
    return float(frame.time or 0.0)


def _reason(exc: BaseException) -> str:
    """A short, path-free reason from a codec exception."""
    text = str(exc).strip() or type(exc).__name__
    text = text.splitlines()[0]
    # Codecs like to echo the file path; an editor does not need server paths.
    for marker in ("'/", '"/', " /"):
        if marker in text:
            text = text.split(marker)[0].rstrip(":; ")
    return text[:200] or type(exc).__name__
