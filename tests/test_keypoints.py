"""Keypoint words and their inverted index: the second way into the shortlist."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.fingerprints import keypoints as kw
from verify.matching import keypoints as kindex
from verify.matching.keypoints import KeypointIndex

descriptor_sets = st.integers(1, 40).flatmap(
    lambda n: st.binary(min_size=32 * n, max_size=32 * n).map(lambda b: np.frombuffer(b, np.uint8).reshape(n, 32))
)


@settings(max_examples=60, deadline=None)
@given(descriptor_sets)
def test_words_round_trip_through_bytes_and_are_deterministic(desc: np.ndarray) -> None:
    w = kw.words(desc)
    assert w.shape == (kw.TABLES, len(desc)) and w.dtype == np.uint32
    assert (w < (1 << kw.BITS)).all()
    assert np.array_equal(kw.from_bytes(kw.to_bytes(w)), w)
    assert np.array_equal(kw.words(desc.copy()), w)


@settings(max_examples=60, deadline=None)
@given(descriptor_sets, st.integers(0, 255))
def test_a_flipped_bit_changes_only_the_tables_that_sample_it(desc: np.ndarray, bit: int) -> None:
    flipped = desc.copy()
    flipped[:, bit // 8] ^= np.uint8(0x80 >> (bit % 8))
    a, b = kw.words(desc), kw.words(flipped)
    for t in range(kw.TABLES):
        sampled = bit in kw._BIT_POSITIONS[t]
        assert (a[t] != b[t]).all() if sampled else np.array_equal(a[t], b[t])


@pytest.mark.parametrize("value", [b"", b"\x01\x02\x03", b"\x00" * (4 * kw.TABLES + 4)])
def test_malformed_stored_words_give_no_words_not_an_error(value: bytes) -> None:
    w = kw.from_bytes(value)
    assert w.shape[0] == kw.TABLES
    if len(value) % (4 * kw.TABLES):
        assert w.shape[1] == 0


def _words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 1 << kw.BITS, size=(kw.TABLES, n), dtype=np.uint32)


def test_the_item_sharing_most_words_ranks_first_and_exclusion_works() -> None:
    rng = np.random.default_rng(1)
    index = KeypointIndex()
    items = {i: _words(rng, 100) for i in range(1, 201)}
    for i, w in items.items():
        index.add(i, w)
    # a query holding 30 of item 7's keypoints and 10 of item 8's, plus 200 unrelated ones
    query = np.concatenate([items[7][:, :30], items[8][:, :10], _words(rng, 200)], axis=1)
    found = index.search(query, top=3)
    assert [i for i, _ in found[:2]] == [7, 8]
    assert found[0][1] > 2 * found[1][1] > 0
    assert 7 not in [i for i, _ in index.search(query, top=3, exclude={7})]
    assert index.search(np.zeros((kw.TABLES, 0), np.uint32), top=3) == []
    assert KeypointIndex().search(query, top=3) == []


def test_a_word_most_pictures_share_carries_no_vote() -> None:
    rng = np.random.default_rng(2)
    index = KeypointIndex()
    common = np.full((kw.TABLES, 1), 12345, np.uint32)  # e.g. caption text on every picture
    for i in range(1, 501):
        index.add(i, np.concatenate([common, _words(rng, 50)], axis=1))
    assert len(index) == 500
    assert index.search(common, top=5) == []


def test_recent_items_are_found_before_and_after_merging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kindex, "MERGE_AT", 500)
    rng = np.random.default_rng(3)
    index = KeypointIndex()
    items = {i: _words(rng, 40) for i in range(1, 60)}
    for i, w in items.items():
        index.add(i, w)
        # every add followed by a search, as in the workbench (ingest, then match)
        assert index.search(w[:, :20], top=1)[0][0] == i
    for i, w in items.items():
        assert index.search(w, top=1)[0][0] == i
    index.remove_item(5)
    assert 5 not in [i for i, _ in index.search(items[5], top=3)]
    assert len(index) == len(items) - 1


def test_an_item_loaded_from_the_store_and_added_again_votes_once() -> None:
    rng = np.random.default_rng(4)
    words = _words(rng, 50)
    once, twice = KeypointIndex(), KeypointIndex()
    for index in (once, twice):
        index.add(1, words)
        index.add(2, _words(np.random.default_rng(5), 50))
    twice.add(1, words)  # the ingest's own add after the first load already read it
    assert twice.search(words, top=1) == once.search(words, top=1)
    assert len(twice) == 2


def test_a_word_repeated_in_one_picture_votes_once() -> None:
    rng = np.random.default_rng(6)
    index = KeypointIndex()
    texture = np.full((kw.TABLES, 50), 777, np.uint32)  # a repeated texture: one word fifty times
    index.add(1, np.concatenate([texture, _words(rng, 50)], axis=1))
    index.add(2, np.concatenate([texture[:, :1], _words(rng, 99)], axis=1))
    for i in range(3, 200):
        index.add(i, _words(rng, 100))
    (a, sa), (b, sb) = index.search(texture[:, :1], top=2)
    assert {a, b} == {1, 2} and sa == pytest.approx(sb)
