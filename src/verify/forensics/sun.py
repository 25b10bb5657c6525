"""Where the sun was when and where the picture is said to have been taken (chronolocation).

Given a time and a point, the sun's elevation and bearing are a matter of astronomy (the
``astral`` package, accurate to well under a degree, far finer than anyone can read shadows).
The uncertain part is the input, so every reading carries its ``basis``: which clock and which
point it used, and how the time zone was found (the offset recorded in the file, or the zone of
the point from ``timezonefinder``'s offline boundaries). The editor compares the result with the
light in the picture: daylight at a "night" capture, shadows pointing the wrong way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from verify.models import Finding

#: Sun elevations (degrees) that mark the phases an editor can see in a picture.
CIVIL_TWILIGHT_DEG = -6.0
NIGHT_DEG = -12.0  # below nautical twilight: dark sky, no shadows from the sun


@dataclass
class SunReading:
    elevation_deg: float | None
    azimuth_deg: float | None  # degrees clockwise from true north
    sunrise: str | None  # ISO 8601 local time, or None (polar day/night)
    sunset: str | None
    basis: str  # what time and point this used, in words
    local_time: str | None = None
    lat: float | None = None
    lon: float | None = None
    time_zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "elevation_deg": self.elevation_deg, "azimuth_deg": self.azimuth_deg, "sunrise": self.sunrise,
            "sunset": self.sunset, "basis": self.basis, "local_time": self.local_time, "lat": self.lat,
            "lon": self.lon, "time_zone": self.time_zone,
        }  # fmt: skip


@functools.lru_cache(maxsize=1)
def _finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def zone_at(lat: float, lon: float) -> tzinfo | None:
    """The IANA time zone of a point (offline boundaries), or ``None`` at sea or when unknown."""
    try:
        name = _finder().timezone_at(lat=lat, lng=lon)
        return ZoneInfo(name) if name else None
    except Exception:
        return None


def position(lat: float, lon: float, when: datetime) -> tuple[float, float]:
    """Elevation (refraction-corrected) and azimuth of the sun in degrees at an aware ``when``."""
    from astral import Observer
    from astral.sun import azimuth, elevation

    obs = Observer(latitude=lat, longitude=lon)
    return float(elevation(obs, when)), float(azimuth(obs, when))


def rise_and_set(lat: float, lon: float, day: date, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """Sunrise and sunset on ``day`` in ``tz``; ``None`` where the sun does not rise or set."""
    from astral import Observer
    from astral.sun import sunrise, sunset

    obs = Observer(latitude=lat, longitude=lon)
    out: list[datetime | None] = []
    for fn in (sunrise, sunset):
        try:
            out.append(fn(obs, day, tzinfo=tz))
        except ValueError:  # polar day or night
            out.append(None)
    return out[0], out[1]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def reading(meta: Any, claim_lat: float | None = None, claim_lon: float | None = None, claim_date: date | None = None) -> SunReading | None:
    """The sun for this file, or ``None`` when there is neither a point nor a time to work with.

    Order of preference: the file's GPS over the claimed point; the capture time with its
    recorded offset, else the capture time taken as local time at the point, else the GPS
    clock (UTC), else only the claimed date (sunrise and sunset, no elevation).
    """
    from verify.metadata.parsing import iso_to_datetime

    gps = getattr(meta, "gps", None)
    if gps is not None:
        lat, lon, where = gps.lat, gps.lon, "the GPS in the file"
    elif claim_lat is not None and claim_lon is not None:
        lat, lon, where = claim_lat, claim_lon, "the claimed point"
    else:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    zone = zone_at(lat, lon)
    captured = iso_to_datetime(meta.captured_at) if getattr(meta, "captured_at", None) else None
    gps_time = iso_to_datetime(meta.gps_time) if getattr(meta, "gps_time", None) else None
    when: datetime | None = None
    clock = ""
    if captured is not None and captured.tzinfo is not None:
        when, clock = captured, "the capture time with the UTC offset recorded in the file"
    elif captured is not None and zone is not None:
        when, clock = captured.replace(tzinfo=zone), "the capture time, taken as local time at the point (the file records no offset; camera clocks are often wrong)"
    elif gps_time is not None:
        when = gps_time if gps_time.tzinfo else gps_time.replace(tzinfo=UTC)
        clock = "the GPS clock (UTC) in the file"
    tz: tzinfo = zone or (when.tzinfo if when is not None and when.tzinfo else UTC)
    zone_name = str(getattr(tz, "key", None) or tz)
    if when is not None:
        local = when.astimezone(tz)
        elev, az = position(lat, lon, when)
        rise, set_ = rise_and_set(lat, lon, local.date(), tz)
        return SunReading(round(elev, 1), round(az, 1), _iso(rise), _iso(set_),
                          f"{clock}; {where}; time zone {zone_name}", local.isoformat(timespec="minutes"),
                          lat, lon, zone_name)  # fmt: skip
    if claim_date is not None:
        rise, set_ = rise_and_set(lat, lon, claim_date, tz)
        return SunReading(None, None, _iso(rise), _iso(set_),
                          f"the claimed date (no time of day, so no sun position); {where}; time zone {zone_name}",
                          None, lat, lon, zone_name)  # fmt: skip
    return None


def _compass(az: float) -> str:
    names = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
    return names[int(((az % 360) + 22.5) // 45) % 8]


def findings(sun: SunReading | None) -> list[Finding]:
    """One plain-language finding that puts the sun next to the picture."""
    if sun is None:
        return []
    if sun.elevation_deg is None:
        return [Finding("sun_day", "info", "Daylight on the claimed date",
                        f"At the claimed place on the claimed date the sun rose at {_hm(sun.sunrise)} and set at "
                        f"{_hm(sun.sunset)} local time ({sun.basis}). No time of day is known, so no sun position.")]  # fmt: skip
    hm = _hm(sun.local_time)
    e, az = sun.elevation_deg, sun.azimuth_deg or 0.0
    where = f"in the {_compass(az)} ({az:.0f} degrees from north)"
    if e < NIGHT_DEG:
        title, sev = f"Captured at night: the sun was {abs(e):.0f} degrees below the horizon", "caution"
        body = "It was dark. A picture in daylight cannot have been taken at this time and place."
    elif e < 0:
        title, sev = f"Captured at twilight: the sun was {abs(e):.0f} degrees below the horizon", "info"
        body = "Dusk or dawn light, no direct sunlight and no sun shadows."
    elif e < 10:
        title, sev = f"Sun low: {e:.0f} degrees above the horizon", "info"
        body = "Long shadows, pointing away from the sun."
    else:
        title, sev = f"Sun {e:.0f} degrees above the horizon", "info"
        body = "Shadows point away from the sun; the higher the sun, the shorter they are."
    evidence = (f"Captured at {hm} local time; the sun was {'below' if e < 0 else 'above'} the horizon by "
                f"{abs(e):.0f} degrees, {where}. Sunrise {_hm(sun.sunrise)}, sunset {_hm(sun.sunset)}. {body} "
                f"Based on {sun.basis}. Compare with the light and the shadows in the picture.")  # fmt: skip
    return [Finding("sun_position", sev, title, evidence)]  # type: ignore[arg-type]


def _hm(iso: str | None) -> str:
    if not iso:
        return "none (polar day or night)"
    try:
        return datetime.fromisoformat(iso).strftime("%H:%M")
    except ValueError:
        return iso


__all__ = ["SunReading", "findings", "position", "reading", "rise_and_set", "zone_at"]
