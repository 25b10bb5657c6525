"""What a file says about itself.

``read`` never raises for a metadata problem: each reader (image or video, Content Credentials,
the optional ExifTool) runs on its own, and one that fails adds a plain line to
``Metadata.errors`` while the others still run, so an editor is never told "no metadata" when a
reader merely broke.

Modules: ``image`` (Pillow + pillow-heif, exifread for maker notes), ``video`` (PyAV plus the
bounded ``isobmff`` box reader), ``xmp`` (safe XMP parsing), ``c2pa`` (offline Content
Credentials), ``exiftool`` (optional, version 13+), ``parsing`` (pure value parsers).
"""

from __future__ import annotations

from pathlib import Path

from verify.config import Settings
from verify.media import Sniffed
from verify.models import Metadata

MAX_RAW_TAGS = 3000


def read(path: Path, sniffed: Sniffed, settings: Settings) -> Metadata:
    from verify.metadata import c2pa, exiftool, image, video

    meta = Metadata(mime=sniffed.mime, kind=sniffed.kind)
    reader = image.read_into if sniffed.kind == "image" else video.read_into
    _run(meta, f"The {sniffed.kind} metadata could not be read", lambda: reader(path, meta, settings))
    found = _run(meta, "Content Credentials could not be checked", lambda: c2pa.read(path, sniffed.mime))
    if found is not None:
        meta.c2pa = found
        meta.sources.append("C2PA")
    if exiftool.available():
        _run(meta, "ExifTool could not read the file", lambda: exiftool.enrich(path, meta))
    if settings.ocr:
        meta.text = _run(meta, "The text in the picture could not be read", lambda: read_text(path, sniffed.kind, settings))
    meta.sources = list(dict.fromkeys(meta.sources))
    # Keys come from the file too (box names, QuickTime keys): no control characters anywhere,
    # since NUL cannot be stored in PostgreSQL JSON and nothing unprintable should reach a screen.
    meta.raw = {_printable(k, 120): _printable(v, 2100) for k, v in meta.raw.items()}
    if len(meta.raw) > MAX_RAW_TAGS:  # a hostile file can declare tens of thousands of tags
        kept = dict(list(meta.raw.items())[:MAX_RAW_TAGS])
        kept["verify:truncated"] = f"{len(meta.raw) - MAX_RAW_TAGS} more tags not kept"
        meta.raw = kept
    return meta


def read_text(path: Path, kind: str, settings: Settings) -> dict | None:  # type: ignore[type-arg]
    """Text in the pixels, or None when the engine is off here (``text_status`` says why)."""
    from verify import text

    status = text.engine_status(settings.tesseract, settings.ocr_langs)
    if not status.available:
        return None
    return text.read_file(path, kind, status, settings.max_image_pixels).to_dict()


def _printable(text: object, limit: int) -> str:
    value = str(text)
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in value)
    return value[:limit]


def _run(meta: Metadata, what: str, fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except RecursionError:
        meta.errors.append(f"{what}: the data loops back on itself.")
    except MemoryError:
        meta.errors.append(f"{what}: it claims more memory than is safe to use.")
    except Exception as exc:  # a reader bug must not lose the file
        text = (str(exc).strip().splitlines() or [""])[0]
        for marker in ("'/", '"/', " /"):
            if marker in text:
                text = text.split(marker)[0].rstrip(":; ")
        meta.errors.append(f"{what}: {text[:200] or type(exc).__name__}.")
    return None


__all__ = ["read"]
