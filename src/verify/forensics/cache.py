"""Forensic readings kept with the item: one JSON file per original, under the data folder.

The readings are derived data (recomputable from the original at any time), not evidence, so
they live beside the media folder rather than in the event log: ``<data_dir>/forensics/<sha256>.json``,
written atomically. Reports read them when they exist; nothing breaks when they do not.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

_SHA = re.compile(r"^[0-9a-f]{64}$")

#: What every report says about the forensic readings, whatever they found.
CAUTION = (
    "Forensic readings are lenses, not verdicts: a re-save, a custom table or an error-level pattern has "
    "innocent explanations, and their absence does not prove a picture is original. Clone pairs need an "
    "editor's eye; the sun position is only as good as the file's clock and place."
)


def _path(data_dir: Path, sha256: str) -> Path:
    if not _SHA.match(sha256):
        raise ValueError("not a SHA-256")
    return Path(data_dir) / "forensics" / f"{sha256}.json"


def save(data_dir: Path, sha256: str, record: dict[str, Any]) -> None:
    """Store the JSON reading for one original (atomically: a crash leaves the old file or none)."""
    target = _path(data_dir, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False, default=str)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(data_dir: Path, sha256: str) -> dict[str, Any] | None:
    """The stored reading, or ``None`` when it was never computed (or the file is unreadable)."""
    try:
        with open(_path(data_dir, sha256), encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
