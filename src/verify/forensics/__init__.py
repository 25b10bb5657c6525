"""Forensic readings of one file: how it was saved, cloned regions, error levels, the sun.

One module per reading (``jpeg``, ``double_jpeg``, ``clone``, ``lenses``, ``sun``); this module
runs them on one file and gathers the result in one plain, picklable record, so the CLI, the
workbench and the report show the same thing. ``examine`` decodes untrusted pixels: callers run
it in the sandbox (``examine_isolated``), never in the workbench process itself.

Each reading is independent: one that fails (a codec error, an odd colour mode) leaves a note in
``notes`` and ``None`` in its place; the others still report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.models import Finding

#: Pictures larger than this are analysed on a reduced copy (clone and lenses) or on a central
#: crop (double compression, which needs the file's own 8x8 grid), and the result says so.
REDUCE_ABOVE_PIXELS = 40_000_000
REDUCED_SIDE = 4000
#: Time limit for the whole set of readings on one file in the sandbox.
FORENSICS_TIMEOUT_S = 240.0
#: The lenses are shown at most this size (long side).
LENS_SIDE = 1600


@dataclass
class Forensics:
    path: str
    sha256: str | None
    kind: str | None
    error: str | None = None
    width: int | None = None
    height: int | None = None
    jpeg: dict[str, Any] | None = None  # the CLI's "jpeg" object plus details
    clone: dict[str, Any] | None = None
    sun: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    reduced: bool = False
    notes: list[str] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)  # PNGs: "ela", "noise", "clone", "double_map"
    captions: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``verify forensics --json`` line (docs/forensics.md, DESIGN.md)."""
        jpeg = None
        if self.jpeg is not None:
            jpeg = {k: self.jpeg.get(k) for k in ("quality", "standard_tables", "subsampling", "progressive",
                                                   "double_compressed", "first_quality", "confidence")}  # fmt: skip
            jpeg.update({k: self.jpeg.get(k) for k in ("deviation", "restart_interval", "app_segments", "exiftool_digest")})
        clone = None
        if self.clone is not None:
            clone = {"detected": bool(self.clone.get("detected")),
                     "pairs": [{"source": p["source"], "target": p["target"]} for p in self.clone.get("pairs", [])]}  # fmt: skip
        sun = None
        if self.sun is not None:
            sun = {k: self.sun.get(k) for k in ("elevation_deg", "azimuth_deg", "sunrise", "sunset", "basis", "local_time")}
        return {
            "path": self.path, "sha256": self.sha256, "kind": self.kind, "error": self.error,
            "jpeg": jpeg, "clone": clone, "sun": sun,
            "findings": [{"kind": f.code, "severity": f.severity, "title": f.title, "evidence": f.evidence} for f in self.findings],
            "reduced": self.reduced, "notes": self.notes,
        }  # fmt: skip


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def examine(path: Path, settings: Any, *, claim_lat: float | None = None, claim_lon: float | None = None,
            claim_date: Any = None, with_images: bool = False, use_exiftool: bool = True) -> Forensics:  # fmt: skip
    """Every reading for one file. Raises ``VerifyError`` for files that are not media at all."""
    import time

    from verify.errors import TooLarge, UnreadableMedia, UnsupportedMedia, VerifyError
    from verify.media import sniff_file

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableMedia(f"The file cannot be read: {exc.strerror or 'access denied'}.") from exc
    if size > settings.max_file_bytes:
        raise TooLarge(f"The file is larger than the limit of {settings.max_file_bytes / 1024**2:,.0f} MB.")
    sniffed = sniff_file(path)
    if sniffed.kind not in ("image", "video"):
        raise UnsupportedMedia("Not a photo or video this tool can read.")
    out = Forensics(str(path), _sha256(path), sniffed.kind)
    meta = _metadata(path, sniffed, settings, out)

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return fn()
        except VerifyError:
            raise
        except MemoryError:
            raise TooLarge("The forensic readings need more memory than is safe for this file.") from None
        except Exception as exc:  # one reading failing costs that reading only
            out.notes.append(f"The {name} reading failed on this file ({type(exc).__name__}).")
            return None
        finally:
            out.seconds[name] = round(time.perf_counter() - t0, 3)

    from verify.forensics import sun as sun_mod

    s = timed("sun", lambda: sun_mod.reading(meta, claim_lat, claim_lon, claim_date)) if meta is not None else None
    if s is not None:
        out.sun = s.to_dict()
        out.findings += sun_mod.findings(s)
    if sniffed.kind == "image":
        _image_readings(path, sniffed, settings, meta, out, timed, with_images, use_exiftool)
    order = {"red_flag": 0, "caution": 1, "info": 2}
    out.findings.sort(key=lambda f: order.get(f.severity, 3))
    return out


def _metadata(path: Path, sniffed: Any, settings: Any, out: Forensics) -> Any:
    try:
        from verify.metadata import read

        return read(path, sniffed, settings)
    except Exception as exc:
        out.notes.append(f"The metadata could not be read ({type(exc).__name__}); readings tied to it are missing.")
        return None


def _image_readings(path: Path, sniffed: Any, settings: Any, meta: Any, out: Forensics, timed, with_images: bool,  # type: ignore[no-untyped-def]
                    use_exiftool: bool) -> None:  # fmt: skip
    import numpy as np
    from PIL import Image, ImageOps

    from verify.forensics import clone as clone_mod
    from verify.forensics import double_jpeg, jpeg, lenses
    from verify.media import open_image

    with open_image(path, settings.max_image_pixels) as im:
        out.width, out.height = im.size
        is_jpeg = im.format == "JPEG"
    big = (out.width or 0) * (out.height or 0) > REDUCE_ABOVE_PIXELS
    if big:
        out.reduced = True
        out.notes.append(f"The picture has {out.width * out.height / 1e6:.0f} megapixels: clone detection and the lenses "
                         f"ran on a copy reduced to {REDUCED_SIDE} pixels on its long side, double compression on a "
                         "central crop of the original grid.")  # fmt: skip
    if is_jpeg:
        reading = timed("jpeg", lambda: jpeg.read(path, use_exiftool=use_exiftool))
        if reading is not None:
            out.jpeg = reading.to_dict()
            for key in ("double_compressed", "first_quality", "confidence"):
                out.jpeg[key] = None
            out.findings += jpeg.findings(reading, meta) if meta is not None else []

            def dj() -> Any:
                if 0 not in reading.tables:
                    return None
                y = double_jpeg.luminance(path, settings.max_image_pixels)
                coef_q = None if big else double_jpeg.coefficients(path)
                if big:
                    h, w = y.shape
                    ch, cw = min(h, 3000), min(w, 4000)
                    top, left = ((h - ch) // 2) // 8 * 8, ((w - cw) // 2) // 8 * 8
                    y = y[top : top + ch, left : left + cw]
                return double_jpeg.analyse(y, np.array(reading.tables[0]), coef_q=coef_q)

            d = timed("double_compression", dj)
            if d is not None:
                out.jpeg.update({"double_compressed": d.double_compressed, "first_quality": d.first_quality,
                                 "confidence": d.confidence, "double_score": d.score, "double_note": d.note,
                                 "local_fraction": d.local_fraction})  # fmt: skip
                out.findings += double_jpeg.findings(d)
                if with_images and d.local_map is not None and not big:
                    overlay = double_jpeg.map_image(d, (out.width or 1, out.height or 1))
                    if overlay is not None:
                        with open_image(path, settings.max_image_pixels) as im:
                            base = im.convert("RGBA")
                        base.alpha_composite(overlay)
                        base.thumbnail((LENS_SIDE, LENS_SIDE))
                        out.images["double_map"] = lenses._png(base.convert("RGB"))
                        out.captions["double_map"] = (
                            "Red: areas whose DCT coefficients fit a single save while the rest of the picture fits "
                            "two. Candidates for a pasted or retouched region, or simply flat, dark or saturated "
                            "areas where the histograms say little. Drawn on the file's stored pixel grid (before "
                            "any EXIF rotation).")  # fmt: skip
    if meta is not None:
        from verify.findings import evaluate

        out.findings += [f for f in evaluate(None, meta) if f.code.startswith("thumbnail_")]

    def upright() -> Image.Image:
        with open_image(path, settings.max_image_pixels) as im:
            if big:
                im.draft("RGB", (REDUCED_SIDE, REDUCED_SIDE))
            pic = ImageOps.exif_transpose(im) or im
            pic = pic.convert("RGB")
        if big:
            pic.thumbnail((REDUCED_SIDE, REDUCED_SIDE))
        return pic

    pic = timed("decode", upright)
    if pic is None:
        return
    c = timed("clone", lambda: clone_mod.analyse(np.asarray(pic)))
    if c is not None:
        if with_images:  # drawn in the analysed picture's own coordinates, before any rescaling
            drawn = clone_mod.draw(pic, c)
            drawn.thumbnail((LENS_SIDE, LENS_SIDE))
            out.images["clone"] = lenses._png(drawn)
            out.captions["clone"] = (
                "Matching regions drawn on the picture: each pair in one colour, lines join matching points. "
                + ("No copied region was found. Flat areas (sky, walls) have no detail to match, so a clone of "
                   "flat texture is missed." if not c.detected else
                   "Check each pair with your own eyes: two genuinely alike things also match."))  # fmt: skip
        if big and pic.width:
            f = max(out.width or 0, out.height or 0) / max(pic.width, pic.height)
            for p in c.pairs:
                p.source = [int(v * f) for v in p.source]
                p.target = [int(v * f) for v in p.target]
        out.clone = c.to_dict()
        out.findings += clone_mod.findings(c, out.reduced)
    if with_images:
        def make_lenses() -> None:
            for lens in lenses.all_lenses(pic, max_side=LENS_SIDE):
                out.images[lens.name] = lens.png
                out.captions[lens.name] = lens.caption + (" (Computed on a reduced copy of a very large picture.)" if big else "")

        timed("lenses", make_lenses)


def examine_isolated(path: Path, settings: Any, *, sandbox: Any = None, **kwargs: Any) -> Forensics:
    """``examine`` in the sandbox (the desk's own, else the process's shared one): bounded time
    and memory, a hostile file costs one error."""
    from verify.sandbox import default_sandbox

    timeout = max(float(settings.decode_timeout_s or 0), FORENSICS_TIMEOUT_S)
    box = sandbox or default_sandbox(settings)
    return box.call(examine, Path(path), settings, timeout_s=timeout, **kwargs)


def failed(path: str, error: str) -> Forensics:
    """The record for a file that could not be examined: one clear error, nothing else."""
    return Forensics(path, None, None, error=error)


__all__ = ["Forensics", "examine", "examine_isolated", "failed"]
