"""Video container metadata through PyAV."""

from __future__ import annotations

from pathlib import Path

from verify.config import Settings
from verify.media import probe_video
from verify.models import Metadata


def read_into(path: Path, meta: Metadata, settings: Settings) -> None:
    import av

    info = probe_video(path, settings.max_video_pixels, settings.max_video_seconds)
    meta.width, meta.height = info.width, info.height
    meta.duration_s = info.duration_s
    meta.fps = info.fps
    meta.video_codec = info.codec
    with av.open(str(path), metadata_errors="replace") as container:
        meta.container = container.format.name
        for key, value in container.metadata.items():
            meta.raw[f"QuickTime:{key}"] = str(value)[:2000]
        created = container.metadata.get("creation_time")
        if created:
            meta.captured_at = created
            meta.captured_at_has_offset = created.endswith("Z") or "+" in created[10:]
        meta.encoder = container.metadata.get("encoder")
