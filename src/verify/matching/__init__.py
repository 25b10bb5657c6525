"""Matching a query against the archive: shortlist by hash, then decide.

``Matcher`` owns the in-memory index (loaded from the store once, updated on ingest) and turns
index hits into ``Match`` records: confident ``matches`` and weaker ``candidates``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from verify.fingerprints import ALGORITHMS
from verify.matching.index import HammingIndex, Hit
from verify.models import Fingerprint, Match, MediaItem

#: Hits up to this many bits (of 64) are worth showing an editor as candidates.
CANDIDATE_DISTANCE = 14


@dataclass
class MatchOutcome:
    matches: list[Match] = field(default_factory=list)
    candidates: list[Match] = field(default_factory=list)


class Matcher:
    def __init__(
        self,
        load_fingerprints: Callable[[], object],
        load_items: Callable[[list[int]], dict[int, MediaItem]],
        blob_path: Callable[[str], Path] | None = None,
    ) -> None:
        self._load_fingerprints = load_fingerprints
        self._load_items = load_items
        self._blob_path = blob_path
        self._index: HammingIndex | None = None
        self._lock = threading.Lock()

    @property
    def index(self) -> HammingIndex:
        with self._lock:
            if self._index is None:
                index = HammingIndex()
                batch: list[tuple[int, Fingerprint]] = []
                for row in self._load_fingerprints():  # type: ignore[attr-defined]
                    batch.append(row)
                    if len(batch) >= 50_000:
                        index.add_many(batch)
                        batch = []
                if batch:
                    index.add_many(batch)
                self._index = index
            return self._index

    def add(self, item_id: int, fingerprints: list[Fingerprint]) -> None:
        index = self.index
        with self._lock:
            index.add(item_id, fingerprints)

    def reset(self) -> None:
        with self._lock:
            self._index = None

    def match(
        self,
        fingerprints: list[Fingerprint],
        *,
        query_path: Path | None = None,
        exclude_item_id: int | None = None,
    ) -> MatchOutcome:
        best: dict[int, Hit] = {}
        for fp in fingerprints:
            algo = ALGORITHMS.get(fp.algorithm)
            if algo is None:
                continue
            for hit in self.index.search(fp, CANDIDATE_DISTANCE, exclude_item=exclude_item_id):
                if hit.item_id not in best or hit.distance < best[hit.item_id].distance:
                    best[hit.item_id] = hit
        items = self._load_items(list(best))
        outcome = MatchOutcome()
        for item_id, hit in sorted(best.items(), key=lambda kv: kv[1].distance):
            item = items.get(item_id)
            if item is None:
                continue
            algo = ALGORITHMS[fingerprints[0].algorithm] if fingerprints else None
            bits = algo.bits if algo else 64
            threshold = algo.threshold if algo else 8
            confident = hit.distance <= threshold
            m = Match(
                item=item,
                score=round(1 - hit.distance / bits, 4),
                distance=hit.distance,
                method=f"{fingerprints[0].algorithm}:{hit.query_variant}~{hit.variant}",
                query_time_s=hit.query_time_s,
                match_time_s=hit.frame_time_s,
                confident=confident,
            )
            (outcome.matches if confident else outcome.candidates).append(m)
        return outcome
