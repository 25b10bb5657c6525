"""Optional enrichment from ExifTool, used only when version 13 or newer is found.

Where: ``VERIFY_EXIFTOOL`` (the ``exiftool`` program, or the folder holding it) first, then the
PATH. Debian ships 12.57, which is not used; the npm package ``exiftool-vendored.pl`` carries 13.x
as a Perl distribution (``npm install --prefix .tools/node exiftool-vendored.pl``; ``.ci/run`` does
this and points ``VERIFY_EXIFTOOL`` at it). ``status()`` says in one line which ExifTool is in use,
or why none is.

ExifTool reads what no Python library here does (maker notes of every brand, XMP/IPTC in every
container, AVCHD and WMV dates, GoPro timed GPS). The product works fully without it; when
present it only *adds*: values it reports that the built-in readers left empty, and its full tag
list under ``raw`` with an ``ExifTool:`` prefix. Older versions are ignored (their readers
differ on the formats above and they are what distributions ship for years).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from verify.metadata.parsing import clean_text, parse_exif_datetime, raw_text
from verify.models import GPS, Metadata
from verify.steps import step

MIN_VERSION = 13.0
TIMEOUT_S = 30


def find(configured: str | None = None) -> str | None:
    """The ExifTool program to use: ``configured`` (``Settings.exiftool_path``), else the
    ``VERIFY_EXIFTOOL`` setting, else ``exiftool`` on the PATH; ``None`` when there is none."""
    wanted = configured or os.environ.get("VERIFY_EXIFTOOL") or None
    if wanted:
        candidate = Path(wanted).expanduser()
        if candidate.is_dir():
            candidate = candidate / "exiftool"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("exiftool")


@functools.lru_cache(maxsize=8)
def _version_of(exe: str) -> float | None:
    try:
        out = subprocess.run([exe, "-ver"], capture_output=True, text=True, timeout=10, check=True).stdout
        return float(out.strip().split()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def version() -> float | None:
    """The version of the ExifTool ``find`` picks, or ``None`` when there is none that runs."""
    exe = find()
    return _version_of(exe) if exe else None


def available() -> bool:
    v = version()
    return v is not None and v >= MIN_VERSION


def status() -> str:
    """One plain line: which ExifTool is used for enrichment, or why none is."""
    configured = os.environ.get("VERIFY_EXIFTOOL")
    exe = find()
    if exe is None:
        if configured:
            return f"ExifTool: not used: VERIFY_EXIFTOOL names {configured!r}, which is not an ExifTool program that can run."
        return (f"ExifTool: not used: none found (install ExifTool {MIN_VERSION:g} or newer, e.g. npm install --prefix "
                ".tools/node exiftool-vendored.pl, and set VERIFY_EXIFTOOL to it). The built-in readers work without it.")  # fmt: skip
    v = _version_of(exe)
    if v is None:
        return f"ExifTool: not used: {exe} does not run (is Perl installed?)."
    if v < MIN_VERSION:
        return f"ExifTool: not used: {exe} is version {v:g}; version {MIN_VERSION:g} or newer is needed."
    return f"ExifTool {v:g} at {exe}: used to add what the built-in readers do not read."


def run(path: Path, extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """ExifTool's tags for one file (``-j -n -G1 -a``), numbers unformatted."""
    exe = find()
    if not exe:
        raise ValueError("ExifTool is not installed")
    try:
        proc = subprocess.run(
            [exe, "-j", "-n", "-G1", "-a", "-q", "-q", *extra_args, "--", str(path)],
            capture_output=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ValueError("ExifTool took too long on this file") from None
    try:
        records = json.loads(proc.stdout.decode("utf-8", "replace") or "[]")
    except json.JSONDecodeError:
        raise ValueError("ExifTool's output could not be read") from None
    return records[0] if records else {}


def enrich(path: Path, meta: Metadata) -> None:
    """Add what only ExifTool read; never overwrite what the built-in readers found."""
    with step("Running ExifTool"):
        tags = run(path)
    for key, value in tags.items():
        if key == "SourceFile" or key.startswith(("System:", "File:")):
            continue
        text = raw_text(value if not isinstance(value, list | dict) else json.dumps(value, ensure_ascii=False), 500)
        meta.raw.setdefault(f"ExifTool:{key}", text)

    def first(*names: str) -> Any:
        for name in names:
            for key, value in tags.items():
                if key.split(":", 1)[-1] == name and value not in (None, ""):
                    return value
        return None

    for attr, names in (("make", ("Make",)), ("model", ("Model",)), ("software", ("Software", "CreatorTool")),
                        ("serial", ("SerialNumber", "InternalSerialNumber")), ("lens", ("LensModel", "LensType"))):  # fmt: skip
        if not getattr(meta, attr):
            value = clean_text(first(*names), 300)
            if value:
                setattr(meta, attr, value)
                meta.exiftool[attr] = value
    if not meta.captured_at:
        value = first("DateTimeOriginal", "CreationDate", "DateCreated")
        try:
            parsed = parse_exif_datetime(value) if value else None
        except ValueError:
            parsed = None
        if parsed:
            meta.captured_at, meta.captured_at_has_offset = parsed
            meta.captured_at_source = "ExifTool"
            meta.exiftool["captured_at"] = parsed[0]
    if meta.gps is None:
        lat, lon = first("GPSLatitude"), first("GPSLongitude")
        if isinstance(lat, int | float) and isinstance(lon, int | float) and abs(lat) <= 90 and abs(lon) <= 180:
            alt = first("GPSAltitude")
            meta.gps = GPS(float(lat), float(lon), float(alt) if isinstance(alt, int | float) else None)
            meta.gps_source = "ExifTool"
            meta.exiftool["gps"] = f"{lat}, {lon}"
    if "ExifTool" not in meta.sources:
        meta.sources.append("ExifTool")
