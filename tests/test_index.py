"""The in-memory Hamming index: exact against brute force, whatever the hashes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.matching.index import HammingIndex
from verify.models import Fingerprint

VARIANTS = ["full", "trim", "crop-c60", "mirror"]


def brute(rows: list[tuple[int, Fingerprint]], q: Fingerprint, radius: int, exclude: int | None) -> set[tuple[int, int, str, float | None]]:
    out = set()
    for item_id, fp in rows:
        if fp.algorithm != q.algorithm or item_id == exclude:
            continue
        d = (int.from_bytes(fp.value, "big") ^ int.from_bytes(q.value, "big")).bit_count()
        if d <= radius:
            out.add((item_id, d, fp.variant, fp.frame_time_s))
    return out


hash64 = st.integers(min_value=0, max_value=2**64 - 1)


@st.composite
def archives(draw: st.DrawFn, nbytes: int = 8) -> tuple[list[tuple[int, Fingerprint]], list[Fingerprint]]:
    bits = nbytes * 8
    seeds = draw(st.lists(st.integers(0, 2**bits - 1), min_size=1, max_size=40))
    rows = []
    for i, base in enumerate(seeds):
        # near-duplicates of each seed, so that small radii find several rows
        for j in range(draw(st.integers(1, 4))):
            flips = draw(st.lists(st.integers(0, bits - 1), max_size=6))
            v = base
            for f in flips:
                v ^= 1 << f
            t = draw(st.none() | st.floats(0, 100, allow_nan=False, width=32))
            rows.append((i % 7 + 1, Fingerprint("phash-v2", VARIANTS[j % len(VARIANTS)], v.to_bytes(nbytes, "big"), t)))
    queries = [Fingerprint("phash-v2", "full", draw(st.sampled_from(seeds)).to_bytes(nbytes, "big")) for _ in range(3)]
    queries.append(Fingerprint("phash-v2", "mirror", draw(st.integers(0, 2**bits - 1)).to_bytes(nbytes, "big")))
    return rows, queries


def _as_set(hits):  # type: ignore[no-untyped-def]
    return {(h.item_id, h.distance, h.variant, h.frame_time_s) for h in hits}


@settings(max_examples=60, deadline=None)
@given(archives(), st.integers(0, 40), st.none() | st.integers(1, 7))
def test_search_equals_brute_force_64_bit(data, radius: int, exclude: int | None) -> None:  # type: ignore[no-untyped-def]
    rows, queries = data
    index = HammingIndex()
    # added in two batches: growth must not lose or reorder rows
    index.add_many(rows[: len(rows) // 2])
    index.add_many(rows[len(rows) // 2 :])
    assert len(index) == len(rows)
    many = index.search_many(queries, radius, exclude_item=exclude, limit=10_000)
    for q, hits in zip(queries, many):
        expected = brute(rows, q, radius, exclude)
        assert _as_set(hits) == {(i, d, v, None if t is None else float(np.float32(t))) for i, d, v, t in expected}
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
        assert all(h.query_variant == q.variant for h in hits)
        assert _as_set(index.search(q, radius, exclude_item=exclude, limit=10_000)) == _as_set(hits)


@settings(max_examples=30, deadline=None)
@given(archives(nbytes=16), st.integers(0, 70))
def test_search_equals_brute_force_128_bit(data, radius: int) -> None:  # type: ignore[no-untyped-def]
    rows, queries = data
    index = HammingIndex()
    index.add_many(rows)
    for q in queries:
        expected = brute(rows, q, radius, None)
        assert {(h.item_id, h.distance) for h in index.search(q, radius, limit=10_000)} == {(i, d) for i, d, _, _ in expected}


@settings(max_examples=30, deadline=None)
@given(archives(), st.integers(1, 5))
def test_limit_keeps_the_nearest(data, limit: int) -> None:  # type: ignore[no-untyped-def]
    rows, queries = data
    index = HammingIndex()
    index.add_many(rows)
    for q in queries:
        all_d = sorted(d for _, d, _, _ in brute(rows, q, 64, None))
        got = [h.distance for h in index.search(q, 64, limit=limit)]
        assert got == all_d[:limit]


def test_large_index_across_chunks_and_growth() -> None:
    """More rows than one scan chunk, added in many small batches (ingest) and one bulk load."""
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**64 - 1, 150_000, dtype=np.uint64, endpoint=True)
    index = HammingIndex()
    index.add_arrays("phash-v2", values[:100_000], np.arange(100_000), np.full(100_000, np.nan))
    for k in range(100_000, 150_000, 5_000):
        index.add_many([(k + i, Fingerprint("phash-v2", "full", int(v).to_bytes(8, "big"))) for i, v in enumerate(values[k : k + 5_000])])
    assert len(index) == 150_000
    target = int(values[123_456])
    q = Fingerprint("phash-v2", "full", (target ^ 0b101).to_bytes(8, "big"))
    hits = index.search(q, 3)
    assert hits and hits[0].item_id == 123_456 and hits[0].distance == 2
    d = np.bitwise_count(values ^ np.uint64(target ^ 0b101))
    assert len(index.search(q, 20, limit=10**6)) == int((d <= 20).sum())


def test_remove_item() -> None:
    index = HammingIndex()
    index.add(1, [Fingerprint("phash-v2", "full", b"\x00" * 8)])
    index.add(2, [Fingerprint("phash-v2", "full", b"\x00" * 7 + b"\x01")])
    index.remove_item(1)
    assert [h.item_id for h in index.search(Fingerprint("phash-v2", "full", b"\x00" * 8), 5)] == [2]
