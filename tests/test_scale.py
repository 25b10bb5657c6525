"""Behaviour that must hold as the archive grows: chance candidates, search in the database's engines."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from verify.matching import CANDIDATE_DISTANCE, Matcher, candidate_distance
from verify.models import Fingerprint, MediaItem


def _item(i: int) -> MediaItem:
    return MediaItem(id=i, sha256=f"{i:064x}", kind="image", mime="image/jpeg", bytes=1, width=None, height=None, duration_s=None,
                     filename=f"{i}.jpg", origin="archive", ingested_at=datetime.now(UTC), ingested_by="t")  # fmt: skip


def test_the_candidate_limit_tightens_with_the_archive_size() -> None:
    sizes = [10**k for k in range(2, 9)]
    limits = [candidate_distance(n) for n in sizes]
    assert limits == sorted(limits, reverse=True)
    assert candidate_distance(100_000) == CANDIDATE_DISTANCE  # about 10,000 pictures: as tuned
    assert candidate_distance(11_000_000) < CANDIDATE_DISTANCE  # a million pictures: stricter


def test_a_near_miss_is_worth_a_look_in_a_small_archive_but_not_among_millions_of_hashes() -> None:
    rng = np.random.default_rng(7)
    query = int(rng.integers(0, 2**63))
    near = query ^ int(sum(1 << b for b in rng.choice(64, 11, replace=False)))  # 11 bits away
    fps = [Fingerprint("phash-v2", "full", query.to_bytes(8, "big"))]

    def matcher(extra_rows: int) -> Matcher:
        m = Matcher(list, lambda ids: {i: _item(i) for i in ids})
        m.add(1, [Fingerprint("phash-v2", "full", near.to_bytes(8, "big"))])
        if extra_rows:
            m.index.add_arrays("phash-v2", rng.integers(0, 2**64 - 1, extra_rows, dtype=np.uint64, endpoint=True),
                               np.arange(10, 10 + extra_rows), np.full(extra_rows, np.nan))  # fmt: skip
        return m

    small = matcher(0).match(fps)
    assert [c.item.id for c in small.candidates] == [1]
    big = matcher(2_000_000).match(fps)
    assert big.candidates == [] and big.matches == []
