"""Image metadata: Pillow (+ pillow-heif) first, exifread for what Pillow does not name.

Measured on real files, Pillow finds EXIF where exifread silently returns nothing (a Motorola
JPEG, a Photoshop JPEG with XMP before EXIF, an extended WebP), and exifread reads no XMP or IPTC;
exifread does decode maker notes. So Pillow is the primary reader; exifread adds maker notes and
stands in only when Pillow found no EXIF at all. Every field is read on its own: a broken field
adds a line to ``meta.errors`` and the rest is still read.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, IptcImagePlugin

from verify.config import Settings
from verify.media import open_image
from verify.metadata import exif_structure, heif
from verify.metadata import xmp as xmp_reader
from verify.metadata.parsing import (
    clean_text,
    dms_to_decimal,
    parse_exif_datetime,
    rational_to_float,
    raw_text,
)
from verify.models import GPS, Metadata
from verify.steps import step

logging.getLogger("exifread").setLevel(logging.CRITICAL)

THUMBNAIL_MISMATCH_DISTANCE = 20  # pHash bits of 64; see docs/metadata.md for the measured spread
MAX_THUMBNAIL_BYTES = 512 * 1024
MAX_SCAN_BYTES = 8 * 1024 * 1024
MAX_FULL_DECODE_PIXELS = 50_000_000  # non-JPEG pictures decode at full size; past this, skip the comparison

_IFD0 = {v.value: v.name for v in ExifTags.Base}
_GPS_NAMES = ExifTags.GPSTAGS
_IPTC = {
    (2, 5): "ObjectName",
    (2, 25): "Keywords",
    (2, 40): "SpecialInstructions",
    (2, 55): "DateCreated",
    (2, 60): "TimeCreated",
    (2, 80): "By-line",
    (2, 85): "By-lineTitle",
    (2, 90): "City",
    (2, 92): "Sub-location",
    (2, 95): "Province-State",
    (2, 100): "Country-PrimaryLocationCode",
    (2, 101): "Country-PrimaryLocationName",
    (2, 103): "OriginalTransmissionReference",
    (2, 105): "Headline",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 116): "CopyrightNotice",
    (2, 120): "Caption-Abstract",
    (2, 122): "Writer-Editor",
}


def _guard(meta: Metadata, what: str, fn: Callable[[], Any]) -> Any:
    """Run one field reader; a failure becomes a plain line in ``meta.errors``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    except RecursionError:
        meta.errors.append(f"{what}: the data loops back on itself and was not read.")
    except MemoryError:
        meta.errors.append(f"{what}: the data claims more memory than is safe to use.")
    except Exception as exc:
        meta.errors.append(f"{what}: {_reason(exc)}.")
    return None


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:160]
    for marker in ("'/", '"/', " /"):
        if marker in text:
            text = text.split(marker)[0].rstrip(":; ")
    return text or f"unreadable ({type(exc).__name__})"


def read_into(path: Path, meta: Metadata, settings: Settings) -> None:
    """Fill ``meta`` from a still picture. Each step is named, so a time limit that fires says which."""
    with step("Reading the metadata"):
        _read_into(path, meta, settings)


def _read_into(path: Path, meta: Metadata, settings: Settings) -> None:
    with warnings.catch_warnings():  # Pillow warns about corrupt EXIF; the guards below report it
        warnings.simplefilter("ignore")
        im = open_image(path, settings.max_image_pixels)
    with im:
        meta.width, meta.height = im.size
        meta.container = im.format
        props = None
        if im.format in ("HEIF", "AVIF"):
            # Their decoders rotate the picture and rewrite the EXIF Orientation to match; the
            # file's own EXIF and stored size come from its boxes (see verify.metadata.heif).
            props = _guard(meta, "The HEIF item properties could not be read", lambda: heif.read_props(path))
            if props is not None:
                _apply_heif(props, meta)
        if props is not None and props.exif:
            exif = _guard(meta, "EXIF could not be read", lambda: _exif_from_block(props.exif))
        else:
            exif = _guard(meta, "EXIF could not be read", im.getexif)
        if exif is not None and len(exif) > 0:
            _guard(meta, "EXIF could not be fully read", lambda: _read_exif(im, exif, meta))
        packet = _guard(meta, "XMP could not be found", lambda: _xmp_packet(im, path))
        if packet:
            parsed = _guard(meta, "XMP could not be read", lambda: xmp_reader.parse_xmp(packet))
            if parsed:
                meta.xmp = parsed
                meta.sources.append("XMP")
                _guard(meta, "XMP values could not be read", lambda: xmp_reader.apply(meta))
        _guard(meta, "IPTC could not be read", lambda: _read_iptc(im, meta))
        block = props.exif if props is not None and props.exif else _guard(meta, "The EXIF block could not be found", lambda: _exif_block(im))
    if meta.orientation in (5, 6, 7, 8) and props is None and meta.width and meta.height:
        meta.raw["verify:DisplayedSize"] = f"{meta.height}x{meta.width}"  # a quarter turn when shown
    if block is not None or meta.container == "TIFF":
        with step("Reading the maker notes"):
            _guard(meta, "Maker notes could not be read", lambda: _exifread(path, block, meta))
    if meta.has_thumbnail:
        with step("Comparing the embedded thumbnail"):
            _guard(meta, "The embedded thumbnail could not be compared", lambda: _compare_thumbnail(path, meta, settings))


# -- EXIF --------------------------------------------------------------------------------------


def _read_exif(im: Image.Image, exif: Image.Exif, meta: Metadata) -> None:
    meta.sources.append("EXIF")
    for tag, value in exif.items():
        if tag in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop):
            continue
        meta.raw[f"EXIF:{_IFD0.get(tag, hex(tag))}"] = raw_text(value)
    sub = _guard(meta, "EXIF sub-directory could not be read", lambda: exif.get_ifd(ExifTags.IFD.Exif)) or {}
    for tag, value in sub.items():
        if tag == ExifTags.Base.MakerNote:
            meta.raw["EXIF:MakerNote"] = raw_text(value)
            continue
        meta.raw[f"EXIF:{_IFD0.get(tag, hex(tag))}"] = raw_text(value)
    gps = _guard(meta, "GPS could not be read", lambda: exif.get_ifd(ExifTags.IFD.GPSInfo)) or {}
    for tag, value in gps.items():
        meta.raw[f"GPS:{_GPS_NAMES.get(tag, hex(tag))}"] = raw_text(value)
    ifd1 = _guard(meta, "EXIF thumbnail directory could not be read", lambda: exif.get_ifd(ExifTags.IFD.IFD1)) or {}
    for tag, value in ifd1.items():
        meta.raw[f"IFD1:{_IFD0.get(tag, hex(tag))}"] = raw_text(value)

    def text(ifd: dict, tag: int) -> str | None:
        return clean_text(ifd.get(tag), 300)

    meta.make = text(exif, ExifTags.Base.Make)
    meta.model = text(exif, ExifTags.Base.Model)
    meta.software = text(exif, ExifTags.Base.Software)
    lens_make, lens_model = text(sub, ExifTags.Base.LensMake), text(sub, ExifTags.Base.LensModel)
    if lens_make and lens_model and lens_model.lower().startswith(lens_make.lower()):
        lens_make = None  # "Canon" + "Canon EF24-70mm" is one name, not two
    meta.lens = " ".join(filter(None, (lens_make, lens_model))) or None
    meta.serial = text(sub, ExifTags.Base.BodySerialNumber) or text(exif, 0xC62F)
    orientation = exif.get(ExifTags.Base.Orientation)
    if orientation is not None:
        if isinstance(orientation, int) and 1 <= orientation <= 8:
            meta.orientation = orientation
        else:
            meta.errors.append(f"EXIF Orientation: {raw_text(orientation)[:40]!r} is not a valid orientation (1 to 8).")

    def date(label: str, ifd: dict, tag: int, subsec: int | None, offset: int | None) -> None:
        value = ifd.get(tag)
        if value is None:
            return
        try:
            parsed = parse_exif_datetime(value, ifd.get(subsec) if subsec else None, ifd.get(offset) if offset else None)
        except ValueError as exc:
            meta.errors.append(f"EXIF {label}: {exc}.")
            return
        if parsed:
            meta.dates[f"EXIF {label}"] = parsed[0]

    date("DateTimeOriginal", sub, ExifTags.Base.DateTimeOriginal, ExifTags.Base.SubsecTimeOriginal, ExifTags.Base.OffsetTimeOriginal)
    date("CreateDate", sub, ExifTags.Base.DateTimeDigitized, ExifTags.Base.SubsecTimeDigitized, ExifTags.Base.OffsetTimeDigitized)
    # IFD0 DateTime is the file's last modification; its sub-seconds/offset live in the Exif IFD.
    merged = dict(exif)
    merged.update({k: v for k, v in sub.items() if k in (ExifTags.Base.SubsecTime, ExifTags.Base.OffsetTime)})
    date("ModifyDate", merged, ExifTags.Base.DateTime, ExifTags.Base.SubsecTime, ExifTags.Base.OffsetTime)
    for label in ("EXIF DateTimeOriginal", "EXIF CreateDate"):
        if label in meta.dates:
            xmp_reader.set_captured(meta, meta.dates[label], label)
            break
    if gps:
        _read_gps(gps, meta)
    if ifd1.get(0x0201) and ifd1.get(0x0202):
        meta.has_thumbnail = True


def _read_gps(gps: dict, meta: Metadata) -> None:
    if 2 in gps and 4 in gps:
        try:
            lat = dms_to_decimal(gps[2], gps.get(1), is_lat=True)
            lon = dms_to_decimal(gps[4], gps.get(3), is_lat=False)
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            meta.errors.append(f"GPS position: {exc}.")
        else:
            alt = None
            if 6 in gps:
                try:
                    alt = rational_to_float(gps[6])
                    ref = gps.get(5)
                    if ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01"):
                        alt = -alt
                except (ValueError, TypeError, ZeroDivisionError) as exc:
                    meta.errors.append(f"GPS altitude: {exc}.")
            meta.gps = GPS(lat, lon, alt)
            meta.gps_source = "EXIF"
    if 7 in gps:
        try:
            h, m, s = (rational_to_float(v) for v in gps[7])
            stamp = clean_text(gps.get(29), 20)
            if stamp and 0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61:
                whole = int(s)
                frac = round((s - whole) * 1000)
                iso = parse_exif_datetime(f"{stamp} {int(h):02d}:{int(m):02d}:{whole:02d}", str(frac).zfill(3) if frac else None, "+00:00")
                if iso:
                    meta.gps_time = iso[0]
                    meta.dates["GPS time (UTC)"] = iso[0]
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            meta.errors.append(f"GPS time: {exc}.")
    if 17 in gps:
        try:
            meta.gps_direction = rational_to_float(gps[17]) % 360
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            meta.errors.append(f"GPS direction: {exc}.")


# -- XMP ---------------------------------------------------------------------------------------


def _xmp_packet(im: Image.Image, path: Path) -> bytes | None:
    data = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if not data and hasattr(im, "tag_v2"):
        data = im.tag_v2.get(700)  # TIFF XMLPacket
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if isinstance(data, tuple):
        data = bytes(data)
    if data:
        return bytes(data)
    with open(path, "rb") as fh:  # formats whose XMP Pillow does not surface
        return xmp_reader.find_packet(fh.read(MAX_SCAN_BYTES))


# -- IPTC --------------------------------------------------------------------------------------


def _read_iptc(im: Image.Image, meta: Metadata) -> None:
    info = IptcImagePlugin.getiptcinfo(im)
    if not info:
        return
    meta.sources.append("IPTC")
    charset = info.get((1, 90))
    utf8 = isinstance(charset, bytes) and b"%G" in charset

    def decode(value: bytes) -> str | None:
        if not utf8:
            try:
                return clean_text(value.decode("utf-8"))
            except UnicodeDecodeError:
                return clean_text(value.decode("latin-1"))
        return clean_text(value.decode("utf-8", "replace"))

    for key, value in list(info.items())[:500]:
        if not isinstance(key, tuple) or key[0] != 2:
            continue
        name = _IPTC.get(key, f"{key[0]}:{key[1]}")
        values = value if isinstance(value, list) else [value]
        texts = [t for t in (decode(v) for v in values if isinstance(v, bytes)) if t]
        if not texts:
            continue
        meta.iptc[name] = texts if name == "Keywords" or len(texts) > 1 else texts[0]
        meta.raw[f"IPTC:{name}"] = raw_text("; ".join(texts))
    created = meta.iptc.get("DateCreated")
    if isinstance(created, str) and len(created) >= 8 and created[:8].isdigit():
        time_text = meta.iptc.get("TimeCreated")
        stamp = f"{created[:4]}:{created[4:6]}:{created[6:8]}"
        offset = None
        if isinstance(time_text, str) and len(time_text) >= 6 and time_text[:6].isdigit():
            stamp += f" {time_text[:2]}:{time_text[2:4]}:{time_text[4:6]}"
            offset = time_text[6:11] or None
        try:
            parsed = parse_exif_datetime(stamp, None, offset)
        except ValueError as exc:
            meta.errors.append(f"IPTC DateCreated: {exc}.")
        else:
            if parsed:
                meta.dates["IPTC DateCreated"] = parsed[0]


# -- exifread: maker notes, and a second opinion when Pillow found no EXIF -------------------


def _exif_from_block(block: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(block)
    return exif


def _apply_heif(props: heif.HeifProps, meta: Metadata) -> None:
    """Stored size as ``width``/``height`` (what ExifTool reports), the shown size and turn in ``raw``."""
    meta.errors.extend(f"HEIF: {n}" for n in props.notes)
    if props.stored_size:
        meta.width, meta.height = props.stored_size
        meta.raw["HEIF:ImageSpatialExtent"] = f"{props.stored_size[0]}x{props.stored_size[1]}"
    if props.clean_size:
        meta.raw["HEIF:CleanAperture"] = f"{props.clean_size[0]}x{props.clean_size[1]}"
    if props.rotation:
        meta.raw["HEIF:Rotation"] = f"{props.rotation} degrees anti-clockwise when shown"
    if props.mirror:
        meta.raw["HEIF:Mirror"] = f"mirrored about the {props.mirror} when shown"
    shown = props.displayed_size
    if shown:
        meta.raw["verify:DisplayedSize"] = f"{shown[0]}x{shown[1]}"


def _exif_block(im: Image.Image) -> bytes | None:
    """The EXIF block (a TIFF structure) as the container holds it: JPEG APP1, PNG eXIf, WebP,
    HEIF/AVIF and JPEG XL Exif items all reach Pillow's ``info["exif"]``; a TIFF file is its own block."""
    raw = im.info.get("exif")
    if not isinstance(raw, bytes | bytearray) or not raw:
        return None
    raw = bytes(raw)
    if raw.startswith(b"Exif\x00\x00"):
        raw = raw[6:]
    return raw if raw[:2] in (b"II", b"MM") else None


def _exifread(path: Path, block: bytes | None, meta: Metadata) -> None:
    """exifread on the EXIF block only, after ``exif_structure`` bounded every count and offset in
    it (a hostile count cannot make it walk more than the block holds); it never parses the container."""
    if block is not None:
        tags, notes, quiet = exif_structure.exifread_tags(io.BytesIO(block), 0, len(block))
    else:  # a TIFF file: the file is the block (read through, never loaded whole)
        with open(path, "rb") as fh:
            tags, notes, quiet = exif_structure.exifread_tags(fh, 0, path.stat().st_size)
    for text in notes[:20]:
        meta.errors.append(f"EXIF: {text}")
    if notes or quiet:
        meta.raw["verify:exif_structure"] = " ".join(notes + quiet)[:2000]
    if not tags:
        return
    for key, value in list(tags.items())[:3000]:
        if key.startswith("MakerNote "):
            name = key.split(" ", 1)[1]
            meta.raw[f"MakerNotes:{name}"] = raw_text(getattr(value, "printable", value), 500)
    if "MakerNote SerialNumber" in tags and not meta.serial:
        meta.serial = clean_text(str(tags["MakerNote SerialNumber"]), 100)
    if "EXIF" not in meta.sources and any(k.startswith(("Image ", "EXIF ")) for k in tags):
        meta.sources.append("EXIF (exifread)")
        for key, value in tags.items():
            group, _, name = key.partition(" ")
            if group in ("Image", "EXIF", "GPS"):
                meta.raw.setdefault(f"{'GPS' if group == 'GPS' else 'EXIF'}:{name}", raw_text(str(value)))

        def text(key: str) -> str | None:
            if key not in tags:
                return None
            values = getattr(tags[key], "values", None)
            return clean_text(values if isinstance(values, bytes | str) else str(tags[key]), 300)

        meta.make = meta.make or text("Image Make")
        meta.model = meta.model or text("Image Model")
        meta.software = meta.software or text("Image Software")
        from_xmp = (meta.captured_at_source or "").startswith("XMP")
        if (not meta.captured_at or from_xmp) and "EXIF DateTimeOriginal" in tags:
            try:
                parsed = parse_exif_datetime(text("EXIF DateTimeOriginal"), text("EXIF SubSecTimeOriginal"), text("EXIF OffsetTimeOriginal"))
            except ValueError as exc:
                meta.errors.append(f"EXIF DateTimeOriginal: {exc}.")
            else:
                if parsed:
                    meta.dates["EXIF DateTimeOriginal"] = parsed[0]
                    xmp_reader.set_captured(meta, parsed[0], "EXIF DateTimeOriginal")


# -- embedded thumbnail ------------------------------------------------------------------------


def embedded_thumbnail(path: Path) -> bytes | None:
    """The EXIF thumbnail's JPEG bytes, for showing it next to the picture; ``None`` if absent or broken.

    Untrusted bytes: decode them with the same limits as any upload before display.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _thumbnail_bytes(path, Metadata())
    except Exception:
        return None


def _thumbnail_bytes(path: Path, meta: Metadata) -> bytes | None:
    """The IFD1 JPEG thumbnail, sliced from the TIFF structure by its recorded offset/length."""
    with Image.open(path) as im:
        raw = im.info.get("exif")
        exif = im.getexif()
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    if not raw or not ifd1:
        return None
    if raw.startswith(b"Exif\x00\x00"):
        raw = raw[6:]
    offset, length = int(ifd1.get(0x0201, 0)), int(ifd1.get(0x0202, 0))
    if offset <= 0 or length <= 0 or length > MAX_THUMBNAIL_BYTES or offset + length > len(raw):
        meta.errors.append("The embedded thumbnail's recorded position lies outside the EXIF block.")
        return None
    data = raw[offset : offset + length]
    if not data.startswith(b"\xff\xd8"):
        meta.errors.append("The embedded thumbnail is not a JPEG picture.")
        return None
    return data


def _compare_thumbnail(path: Path, meta: Metadata, settings: Settings) -> None:
    """pHash distance between the EXIF thumbnail and the picture itself (both as stored)."""
    import imagehash

    data = _thumbnail_bytes(path, meta)
    if data is None:
        return
    with Image.open(io.BytesIO(data)) as thumb:
        if thumb.width * thumb.height > 4_000_000:
            raise ValueError("the thumbnail claims an implausible size")
        thumb.load()
        thumb = thumb.convert("RGB")
    meta.thumbnail_size = [thumb.width, thumb.height]
    with open_image(path, settings.max_image_pixels) as im:
        if im.format != "JPEG" and im.width * im.height > MAX_FULL_DECODE_PIXELS:
            meta.errors.append("The embedded thumbnail was not compared: the picture is too large to decode quickly.")
            return
        if im.format == "JPEG":
            im.draft("RGB", (256, 256))
        im.load()
        main = im.convert("RGB")
    target = imagehash.phash(main)
    distances = {angle: int(imagehash.phash(_fit(thumb.rotate(angle, expand=True), main.size)) - target) for angle in (0, 90, 180, 270)}
    best = min(distances, key=lambda a: (distances[a], a != 0))
    meta.thumbnail_distance = distances[0]
    meta.thumbnail_mismatch = distances[best] > THUMBNAIL_MISMATCH_DISTANCE
    # A thumbnail that matches only once turned means the picture was rotated after capture
    # by software that did not refresh the thumbnail: an edit, but not a different picture.
    meta.thumbnail_rotated = best if best and not meta.thumbnail_mismatch and distances[0] > THUMBNAIL_MISMATCH_DISTANCE else None


def _fit(thumb: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Crop a letterboxed thumbnail (cameras pad to 160x120) to the picture's aspect ratio."""
    ratio = size[0] / size[1]
    tw, th = thumb.size
    if abs(tw / th - ratio) <= 0.03:
        return thumb
    if tw / th > ratio:
        new_w = max(1, round(th * ratio))
        left = (tw - new_w) // 2
        return thumb.crop((left, 0, left + new_w, th))
    new_h = max(1, round(tw / ratio))
    top = (th - new_h) // 2
    return thumb.crop((0, top, tw, top + new_h))
