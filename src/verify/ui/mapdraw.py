"""Offline maps: country outlines from bundled Natural Earth data, drawn with Pillow.

No tile server is reachable on a newsroom laptop in the field or in CI, so the default map is
rendered here, server-side, from a file shipped with the package. Points are the file's GPS and
the claimed place; the view zooms to fit both, so the distance between them is visible at a glance.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from PIL import Image, ImageDraw

Ring = list[tuple[float, float]]

SEA = (214, 228, 240)
LAND = (246, 243, 236)
BORDER = (150, 150, 150)
GRID = (196, 212, 226)


@dataclass(frozen=True)
class MapPoint:
    """One marker: ``kind`` picks the colour and shape (``gps`` or ``claimed``)."""

    lat: float
    lon: float
    label: str
    kind: str = "gps"


COLOURS = {"gps": (200, 30, 30), "claimed": (20, 90, 200), "match": (120, 60, 160)}


@lru_cache(maxsize=1)
def country_rings() -> tuple[tuple[Ring, tuple[float, float, float, float]], ...]:
    """Every outer and inner ring of every country, with its bounding box, decoded once."""
    raw = resources.files("verify.ui").joinpath("data/countries-50m.topo.json.gz").read_bytes()
    topo = json.loads(gzip.decompress(raw))
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs: list[Ring] = []
    for arc in topo["arcs"]:
        x = y = 0
        pts: Ring = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)

    def ring(indices: list[int]) -> Ring:
        out: Ring = []
        for i in indices:
            pts = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
            out.extend(pts if not out else pts[1:])
        return out

    rings: list[tuple[Ring, tuple[float, float, float, float]]] = []
    for geom in topo["objects"]["countries"]["geometries"]:
        polys = geom.get("arcs") or []
        if geom.get("type") == "Polygon":
            polys = [polys]
        for poly in polys:
            for r in poly:
                pts = ring(r)
                if len(pts) >= 3:
                    xs = [p[0] for p in pts]
                    ys = [p[1] for p in pts]
                    rings.append((pts, (min(xs), min(ys), max(xs), max(ys))))
    return tuple(rings)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _view(points: list[MapPoint], aspect: float) -> tuple[float, float, float, float]:
    """A lon/lat box around the points, padded, at least a few degrees wide, with the image's aspect."""
    if not points:
        return (-180.0, -60.0, 180.0, 85.0)
    lons = [p.lon for p in points]
    lats = [p.lat for p in points]
    cx, cy = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    coslat = max(0.2, math.cos(math.radians(cy)))
    half_w = max((max(lons) - min(lons)) * 0.75, 4.0)
    half_h = max((max(lats) - min(lats)) * 0.75, 2.4 * coslat)
    # keep the picture's aspect in "ground" units (longitude shrinks by cos(lat))
    if half_w * coslat / half_h > aspect:
        half_h = half_w * coslat / aspect
    else:
        half_w = half_h * aspect / coslat
    half_w = min(half_w, 180.0)
    half_h = min(half_h, 90.0)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def render_map(points: list[MapPoint], size: tuple[int, int] = (720, 420),
               bearing: tuple[float, float, float, str] | None = None) -> Image.Image:
    """Country outlines around the points, with labelled markers; pure Pillow, no network.

    ``bearing`` = (lat, lon, degrees from north, label) draws an arrow from that point (the
    sun's direction at the capture time, for the forensic readings).
    """
    w, h = size
    x0, y0, x1, y1 = _view(points, w / h)
    im = Image.new("RGB", size, SEA)
    draw = ImageDraw.Draw(im)

    def px(lon: float, lat: float) -> tuple[float, float]:
        return ((lon - x0) / (x1 - x0) * w, (y1 - lat) / (y1 - y0) * h)

    for pts, (bx0, by0, bx1, by1) in country_rings():
        if bx1 < x0 or bx0 > x1 or by1 < y0 or by0 > y1:
            continue
        draw.polygon([px(x, y) for x, y in pts], fill=LAND, outline=BORDER)
    step = _grid_step(x1 - x0)
    lon = math.floor(x0 / step) * step
    while lon <= x1:
        draw.line([px(lon, y0), px(lon, y1)], fill=GRID, width=1)
        lon += step
    lat = math.floor(y0 / step) * step
    while lat <= y1:
        draw.line([px(x0, lat), px(x1, lat)], fill=GRID, width=1)
        lat += step
    if bearing is not None:
        _bearing(draw, bearing, px, (y1 - y0) * 0.3)
    _markers(draw, points, px, w)
    _scale_bar(draw, x0, x1, (y0 + y1) / 2, w, h)
    draw.text((4, h - 16), "Country outlines: Natural Earth (public domain)", fill=(90, 90, 90), font=_font(11))
    return im


SUN = (230, 150, 0)


def _bearing(draw: ImageDraw.ImageDraw, bearing: tuple[float, float, float, str], px, length_deg: float) -> None:  # type: ignore[no-untyped-def]
    """An arrow from a point along a compass bearing (the map is plate carree: north up)."""
    lat, lon, az, label = bearing
    rad = math.radians(az)
    end_lat = lat + length_deg * math.cos(rad)
    end_lon = lon + length_deg * math.sin(rad) / max(0.1, math.cos(math.radians(lat)))
    (ax, ay), (bx, by) = px(lon, lat), px(end_lon, end_lat)
    draw.line([(ax, ay), (bx, by)], fill=SUN, width=4)
    ang = math.atan2(by - ay, bx - ax)
    for side in (-0.5, 0.5):
        draw.line([(bx, by), (bx - 14 * math.cos(ang + side), by - 14 * math.sin(ang + side))], fill=SUN, width=4)
    draw.text((bx + 6, by - 6), label[:40], fill=SUN, font=_font(13))


def _markers(draw: ImageDraw.ImageDraw, points: list[MapPoint], px, w: int) -> None:  # type: ignore[no-untyped-def]
    """Claimed place first (a filled square), the file's GPS on top as a ring: both stay visible
    when they coincide; labels go on opposite sides so they never cover each other."""
    if len(points) == 2:
        draw.line([px(points[0].lon, points[0].lat), px(points[1].lon, points[1].lat)], fill=(90, 90, 90), width=2)
    font = _font(13)
    for p in sorted(points, key=lambda q: q.kind != "claimed"):
        x, y = px(p.lon, p.lat)
        colour = COLOURS.get(p.kind, (0, 0, 0))
        if p.kind == "claimed":
            r = 7
            draw.rectangle([x - r, y - r, x + r, y + r], fill=colour, outline=(255, 255, 255), width=2)
        else:
            r = 10
            draw.ellipse([x - r - 1, y - r - 1, x + r + 1, y + r + 1], outline=(255, 255, 255), width=5)
            draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=3)
        label = p.label[:40]
        tw = draw.textlength(label, font=font)
        lx = x + 14 if p.kind == "claimed" else x - 14 - tw
        lx = min(max(lx, 2), w - tw - 4)
        draw.rectangle([lx - 3, y - 9, lx + tw + 3, y + 8], fill=(255, 255, 255), outline=colour)
        draw.text((lx, y - 8), label, fill=colour, font=font)


# -- online tiles, only when configured ---------------------------------------------------------

TILE = 256
MAX_TILES = 24


def _mercator(lon: float, lat: float, z: int) -> tuple[float, float]:
    """World pixel coordinates at zoom ``z`` (Web Mercator, as every XYZ tile server uses)."""
    lat = max(-85.05, min(85.05, lat))
    n = TILE * 2**z
    x = (lon + 180.0) / 360.0 * n
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def _zoom_for(points: list[MapPoint], size: tuple[int, int]) -> int:
    if len(points) < 2:
        return 11
    for z in range(16, 0, -1):
        xs, ys = zip(*(_mercator(p.lon, p.lat, z) for p in points), strict=True)
        if max(xs) - min(xs) < size[0] * 0.7 and max(ys) - min(ys) < size[1] * 0.7:
            return z
    return 1


@lru_cache(maxsize=512)
def _tile(url: str, timeout: float) -> bytes:
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "verify-workbench (newsroom verification)"})
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - an administrator's tile server
        return r.read(4 * 1024 * 1024)


def render_tile_map(points: list[MapPoint], template: str, size: tuple[int, int] = (720, 420), timeout: float = 5.0) -> Image.Image:
    """The same markers on tiles from the configured server (``{z}/{x}/{y}`` template).

    Tiles are fetched by the server, never by the editor's browser, so the tile provider does not
    see who looks at which place. Raises ``OSError`` when tiles cannot be had; callers fall back to
    the offline map.
    """
    import io
    from urllib.parse import urlparse

    if not points:
        raise OSError("nothing to show")
    w, h = size
    z = _zoom_for(points, size)
    cx = sum(_mercator(p.lon, p.lat, z)[0] for p in points) / len(points)
    cy = sum(_mercator(p.lon, p.lat, z)[1] for p in points) / len(points)
    left, top = cx - w / 2, cy - h / 2
    n = 2**z
    im = Image.new("RGB", size, SEA)
    tx0, tx1 = math.floor(left / TILE), math.floor((left + w) / TILE)
    ty0, ty1 = math.floor(top / TILE), math.floor((top + h) / TILE)
    if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) > MAX_TILES:
        raise OSError("too many tiles")
    for tx in range(tx0, tx1 + 1):
        for ty in range(ty0, ty1 + 1):
            if not 0 <= ty < n:
                continue
            url = template.replace("{z}", str(z)).replace("{x}", str(tx % n)).replace("{y}", str(ty)).replace("{s}", "a")
            tile = Image.open(io.BytesIO(_tile(url, timeout))).convert("RGB")
            im.paste(tile.resize((TILE, TILE)), (int(tx * TILE - left), int(ty * TILE - top)))
    draw = ImageDraw.Draw(im)

    def px(lon: float, lat: float) -> tuple[float, float]:
        x, y = _mercator(lon, lat, z)
        return x - left, y - top

    _markers(draw, points, px, w)
    west = (left / (TILE * n)) * 360 - 180
    east = ((left + w) / (TILE * n)) * 360 - 180
    lat_c = sum(p.lat for p in points) / len(points)
    _scale_bar(draw, west, east, lat_c, w, h)
    host = urlparse(template).hostname or "tile server"
    draw.rectangle([0, h - 18, draw.textlength(f"Map tiles: {host}", font=_font(11)) + 8, h], fill=(255, 255, 255))
    draw.text((4, h - 16), f"Map tiles: {host}", fill=(60, 60, 60), font=_font(11))
    return im


def _scale_bar(draw: ImageDraw.ImageDraw, x0: float, x1: float, lat: float, w: int, h: int) -> None:
    """A round-numbered kilometre bar, bottom right, so distances can be read off the map."""
    km_per_px = (x1 - x0) * 111.32 * max(0.01, math.cos(math.radians(lat))) / w
    target = km_per_px * w / 5
    nice = 1.0
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if step <= target:
            nice = float(step)
    length = nice / km_per_px
    xr, yb = w - 12, h - 14
    draw.rectangle([xr - length - 6, yb - 20, xr + 6, yb + 6], fill=(255, 255, 255))
    draw.line([(xr - length, yb), (xr, yb)], fill=(40, 40, 40), width=3)
    draw.line([(xr - length, yb - 5), (xr - length, yb + 3)], fill=(40, 40, 40), width=2)
    draw.line([(xr, yb - 5), (xr, yb + 3)], fill=(40, 40, 40), width=2)
    label = f"{nice:,.0f} km"
    font = _font(12)
    draw.text((xr - length / 2 - draw.textlength(label, font=font) / 2, yb - 18), label, fill=(40, 40, 40), font=font)


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without a scalable default font
        return ImageFont.load_default()


def _grid_step(span_deg: float) -> float:
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30):
        if span_deg / step <= 12:
            return float(step)
    return 30.0
