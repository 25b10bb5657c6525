"""What a file says about itself.

``read`` never raises for a metadata problem: a reader that fails adds a line to
``Metadata.errors`` and the others still run, so an editor is never told "no metadata" when a
reader merely broke.
"""

from __future__ import annotations

from pathlib import Path

from verify.config import Settings
from verify.media import Sniffed
from verify.models import Metadata


def read(path: Path, sniffed: Sniffed, settings: Settings) -> Metadata:
    from verify.metadata import image, video

    meta = Metadata(mime=sniffed.mime, kind=sniffed.kind)
    reader = image.read_into if sniffed.kind == "image" else video.read_into
    try:
        reader(path, meta, settings)
    except Exception as exc:  # a reader bug must not lose the file
        meta.errors.append(f"{sniffed.kind} metadata reader failed: {str(exc)[:200]}")
    return meta


__all__ = ["read"]
