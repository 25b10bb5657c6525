"""Small, pure parsers for the values files carry: dates, coordinates, text.

Each takes the untrusted value as the file stored it and returns a normalised value or raises
``ValueError`` with a short reason; the readers catch that and record a per-field error, so one
bad field never hides the rest. Kept free of Pillow/PyAV so they can be property-tested alone.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from verify.models import GPS

RAW_TEXT_LIMIT = 2000
BINARY_SUMMARY_LIMIT = 64

_EXIF_DT = re.compile(
    r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:[.,](\d+))?)?\s*"
    r"(Z|[+\-]\d{1,2}(?::?\d{2})?)?\s*$"
)
_OFFSET = re.compile(r"^\s*(Z|[+\-])(\d{1,2})?(?::?(\d{2}))?\s*$")


def clean_text(value: object, limit: int = RAW_TEXT_LIMIT) -> str | None:
    """A tag value as display text: decoded, NULs and control characters removed, capped.

    Strings from files are untrusted. They stay text (never markup) everywhere they are shown;
    here they only lose what cannot be shown at all.
    """
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        # EXIF ASCII ends at the first NUL; what follows is stale buffer, not part of the value.
        raw = bytes(value).split(b"\x00", 1)[0]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = str(value).split("\x00", 1)[0]
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text).strip()
    if len(text) > limit:
        text = text[:limit] + "…"
    return text or None


def raw_text(value: object, limit: int = RAW_TEXT_LIMIT) -> str:
    """A value for the raw dump: text kept as text, binary summarised, everything capped."""
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        stripped = data.rstrip(b"\x00")
        printable = sum(1 for b in stripped if 32 <= b < 127 or b in (9, 10, 13))
        if stripped and printable / len(stripped) > 0.9 and len(stripped) <= limit:
            return clean_text(stripped, limit) or ""
        if len(data) <= 16:
            return "0x" + data.hex()
        return f"<{len(data)} bytes of binary data>"
    if isinstance(value, tuple | list):
        if len(value) > BINARY_SUMMARY_LIMIT:
            return f"<{len(value)} values>"
        return ", ".join(raw_text(v, 200) for v in value)[:limit]
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "not a number"
    text = str(value)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return text[:limit] + ("…" if len(text) > limit else "")


def parse_offset(value: object) -> str | None:
    """An EXIF/ISO UTC offset (``+02:00``, ``-0700``, ``Z``) as ``+HH:MM``, else ``None``.

    Raises ``ValueError`` when a value is present but not an offset, so the reader can say so.
    """
    text = clean_text(value, 40)
    if not text:
        return None
    m = _OFFSET.match(text)
    if not m or (m.group(1) != "Z" and m.group(2) is None):
        raise ValueError(f"not a UTC offset: {text!r}")
    if m.group(1) == "Z":
        return "+00:00"
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes >= 60:
        raise ValueError(f"UTC offset out of range: {text!r}")
    return f"{m.group(1)}{hours:02d}:{minutes:02d}"


def parse_exif_datetime(value: object, subsec: object = None, offset: object = None) -> tuple[str, bool] | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (+ sub-seconds, + offset) -> (ISO 8601 text, has_offset).

    Returns ``None`` for the empty or all-zero dates cameras write when the clock was never set;
    raises ``ValueError`` for anything else that is not a real date and time. An offset written
    inside the value (XMP style) wins over the separate ``OffsetTime*`` tag only when that is absent.
    """
    text = clean_text(value, 80)
    if not text or text.strip(" :0-T") == "":
        return None
    m = _EXIF_DT.match(text)
    if not m:
        raise ValueError(f"not a date and time: {text!r}")
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hour, minute, second = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    if year == 0 and month == 0 and day == 0:
        return None
    if second == 60:  # leap second as some cameras write it; keep the wall clock honest
        second = 59
    datetime(year, month, day, hour, minute, second)  # raises ValueError when impossible
    iso = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    frac = m.group(7)
    sub = clean_text(subsec, 20)
    if sub and sub.strip().isdigit():
        frac = sub.strip()
    if frac and frac.strip("0"):
        iso += "." + frac[:6]
    tz = None
    if offset is not None:
        tz = parse_offset(offset)
    if tz is None and m.group(8):
        tz = parse_offset(m.group(8))
    if tz:
        iso += tz
    return iso, tz is not None


def iso_to_datetime(text: str) -> datetime | None:
    """Parse our normalised ISO text back; naive when no offset was recorded."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def rational_to_float(value: Any) -> float:
    """A TIFF rational (Pillow ``IFDRational``, a (num, den) pair or a number) as a finite float."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        num, den = value
        if den == 0:
            raise ValueError("division by zero in a rational value")
        result = num / den
    else:
        numerator = getattr(value, "numerator", None)
        denominator = getattr(value, "denominator", None)
        if isinstance(numerator, int) and isinstance(denominator, int):
            if denominator == 0:
                raise ValueError("division by zero in a rational value")
            result = numerator / denominator
        else:
            result = float(value)
    if not math.isfinite(result):
        raise ValueError("not a finite number")
    return result


def dms_to_decimal(values: Any, ref: object, *, is_lat: bool) -> float:
    """EXIF GPS degrees/minutes/seconds and N/S/E/W reference -> signed decimal degrees.

    Accepts one to three rationals (some writers put decimal degrees in the first one).
    """
    if isinstance(values, int | float) or hasattr(values, "denominator"):
        parts = [rational_to_float(values)]
    else:
        parts = [rational_to_float(v) for v in list(values)[:3]]
    if not parts:
        raise ValueError("no coordinate values")
    while len(parts) < 3:
        parts.append(0.0)
    d, m, s = parts
    if d < 0 or m < 0 or s < 0:
        raise ValueError("negative degrees, minutes or seconds")
    decimal = d + m / 60 + s / 3600
    ref_text = (clean_text(ref, 10) or "").upper()[:1]
    if ref_text in ("S", "W"):
        decimal = -decimal
    elif ref_text not in ("N", "E", ""):
        raise ValueError(f"unknown GPS reference {ref_text!r}")
    limit = 90 if is_lat else 180
    if abs(decimal) > limit:
        raise ValueError(f"{'latitude' if is_lat else 'longitude'} {decimal:.4f} is out of range")
    return decimal


_ISO6709_PART = re.compile(r"([+\-])(\d+)(?:\.(\d+))?")


def _iso6709_angle(sign: str, whole: str, frac: str | None, deg_digits: int) -> float:
    """One ISO 6709 angle; the number of integer digits says D, DM or DMS (Annex H)."""
    n = len(whole)
    fraction = float("0." + frac) if frac else 0.0
    if n == deg_digits:
        value = int(whole) + fraction
    elif n == deg_digits + 2:
        value = int(whole[:deg_digits]) + (int(whole[deg_digits:]) + fraction) / 60
        if int(whole[deg_digits:]) >= 60:
            raise ValueError("minutes out of range")
    elif n == deg_digits + 4:
        minutes, seconds = int(whole[deg_digits : deg_digits + 2]), int(whole[deg_digits + 2 :])
        if minutes >= 60 or seconds >= 60:
            raise ValueError("minutes or seconds out of range")
        value = int(whole[:deg_digits]) + minutes / 60 + (seconds + fraction) / 3600
    else:
        raise ValueError("wrong number of digits")
    return -value if sign == "-" else value


def parse_iso6709(text: object) -> GPS:
    """An ISO 6709 point (``+27.5916+086.5640+8850/``, ``+4852.5+00220.3/``, ...) -> GPS.

    Used for Apple's ``com.apple.quicktime.location.ISO6709`` and the ``©xyz`` atom. Raises
    ``ValueError`` on anything that is not a point on Earth.
    """
    value = clean_text(text, 200)
    if not value:
        raise ValueError("empty location")
    body = value.split("CRS", 1)[0].rstrip("/ ")
    parts = _ISO6709_PART.findall(body)
    if len(parts) < 2 or "".join(s + w + ("." + f if f else "") for s, w, f in parts) != body.replace(" ", ""):
        raise ValueError(f"not an ISO 6709 location: {value[:60]!r}")
    lat = _iso6709_angle(*parts[0], deg_digits=2)
    lon = _iso6709_angle(*parts[1], deg_digits=3)
    if abs(lat) > 90 or abs(lon) > 180:
        raise ValueError("coordinates out of range")
    alt = None
    if len(parts) >= 3:
        sign, whole, frac = parts[2]
        alt = float(whole + ("." + frac if frac else "")) * (-1 if sign == "-" else 1)
    return GPS(lat, lon, alt)


def xmp_gps_to_decimal(text: object, *, is_lat: bool) -> float:
    """XMP ``exif:GPSLatitude`` (``53,21.5679N`` or ``53,21,34N``) -> signed decimal degrees."""
    value = clean_text(text, 60)
    if not value:
        raise ValueError("empty coordinate")
    value = value.strip()
    ref = value[-1].upper()
    if ref not in "NSEW":
        return dms_to_decimal(float(value), "", is_lat=is_lat)
    numbers = [float(p) for p in value[:-1].split(",") if p.strip()]
    return dms_to_decimal(numbers, ref, is_lat=is_lat)


def quicktime_datetime(text: object) -> tuple[str, bool] | None:
    """A QuickTime/ISO date (``2019-07-24T11:25:40+0300``, ``...Z``) -> (ISO text, has_offset)."""
    value = clean_text(text, 80)
    if not value:
        return None
    return parse_exif_datetime(value)


def utc_from_epoch_1904(seconds: int) -> str | None:
    """QuickTime header times count seconds since 1904-01-01 UTC; 0 means unset."""
    if seconds <= 0:
        return None
    try:
        when = datetime(1904, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    except OverflowError:
        return None
    if when.year > 2200:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a spherical Earth (mean radius), in kilometres."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))
