"""Image metadata through Pillow (and pillow-heif): EXIF, GPS, capture time."""

from __future__ import annotations

from pathlib import Path

from PIL import ExifTags

from verify.config import Settings
from verify.media import open_image
from verify.models import GPS, Metadata


def read_into(path: Path, meta: Metadata, settings: Settings) -> None:
    im = open_image(path, settings.max_image_pixels)
    meta.width, meta.height = im.size
    try:
        exif = im.getexif()
    except Exception as exc:
        meta.errors.append(f"EXIF could not be read: {str(exc)[:200]}")
        return
    for tag, value in exif.items():
        meta.raw[f"EXIF:{ExifTags.TAGS.get(tag, hex(tag))}"] = _text(value)
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    for tag, value in exif_ifd.items():
        meta.raw[f"EXIF:{ExifTags.TAGS.get(tag, hex(tag))}"] = _text(value)
    meta.make = _clean(exif.get(ExifTags.Base.Make))
    meta.model = _clean(exif.get(ExifTags.Base.Model))
    meta.software = _clean(exif.get(ExifTags.Base.Software))
    orientation = exif.get(ExifTags.Base.Orientation)
    meta.orientation = int(orientation) if isinstance(orientation, int) else None
    original = _clean(exif_ifd.get(ExifTags.Base.DateTimeOriginal))
    offset = _clean(exif_ifd.get(ExifTags.Base.OffsetTimeOriginal))
    if original and len(original) >= 19 and original[4] == ":":
        meta.captured_at = original[:10].replace(":", "-") + "T" + original[11:19] + (offset or "")
        meta.captured_at_has_offset = bool(offset)
    gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if gps_ifd:
        meta.gps = _gps(gps_ifd)


def _gps(ifd: dict) -> GPS | None:
    try:
        lat = _dms(ifd[2]) * (-1 if str(ifd.get(1, "N")).upper().startswith("S") else 1)
        lon = _dms(ifd[4]) * (-1 if str(ifd.get(3, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    alt = ifd.get(6)
    try:
        alt_value = float(alt) * (-1 if ifd.get(5) in (1, b"\x01") else 1) if alt is not None else None
    except (TypeError, ValueError, ZeroDivisionError):
        alt_value = None
    return GPS(round(lat, 7), round(lon, 7), alt_value)


def _dms(values) -> float:  # type: ignore[no-untyped-def]
    d, m, s = (float(v) for v in values)
    return d + m / 60 + s / 3600


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = text.replace("\x00", "").strip()
    return text or None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        if len(value) > 256:
            return f"<{len(value)} bytes of binary data>"
        return value.decode("utf-8", "replace")
    return str(value)[:2000]
