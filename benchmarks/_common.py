"""Shared helpers for the benchmarks: an in-memory archive without a database, corpus paths."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VERIFY_CORPUS", ROOT.parent / "shared" / "corpus"))
sys.path.insert(0, str(ROOT / "tests"))  # factories: seeded, photo-like generated pictures

from verify.config import Settings
from verify.fingerprints import compute
from verify.matching import Matcher
from verify.media import sniff_file
from verify.models import Fingerprint, MediaItem

SETTINGS = Settings(data_dir=Path("/nonexistent"))


class MemoryArchive:
    """Items, originals and a Matcher, all in memory: what Services builds, minus the store."""

    def __init__(self) -> None:
        self.items: dict[int, MediaItem] = {}
        self.paths: dict[str, Path] = {}
        #: Each item's fingerprints as ingested (synthetic distractors are copied from them).
        self.fingerprints: dict[int, list[Fingerprint]] = {}
        self.matcher = Matcher(list, self._load_items, self.paths.__getitem__)

    def _load_items(self, ids: list[int]) -> dict[int, MediaItem]:
        return {i: self.items[i] for i in ids if i in self.items}

    def add(self, path: Path) -> tuple[int, list[Fingerprint]]:
        sniffed = sniff_file(path)
        fps = compute(path, sniffed, SETTINGS, for_archive=True)
        item_id = len(self.items) + 1
        key = f"{item_id:064d}"
        self.items[item_id] = MediaItem(
            id=item_id, sha256=key, kind=sniffed.kind, mime=sniffed.mime, bytes=path.stat().st_size, width=None, height=None,
            duration_s=None, filename=path.name, origin="archive", ingested_at=datetime.now(UTC), ingested_by="bench",
        )  # fmt: skip
        self.paths[key] = path
        self.fingerprints[item_id] = fps
        self.matcher.add(item_id, fps)
        return item_id, fps

    def match(self, path: Path):  # type: ignore[no-untyped-def]
        fps = compute(path, sniff_file(path), SETTINGS, for_archive=False)
        return self.matcher.match(fps, query_path=path)


def require_corpus() -> Path:
    if not (CORPUS / "manifest.csv").exists():
        raise SystemExit(f"The shared corpus is not at {CORPUS}; set VERIFY_CORPUS.")
    return CORPUS


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table (pasted as is into docs/benchmarks.md)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in cells)])
