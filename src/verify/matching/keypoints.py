"""Inverted lists of keypoint words: which archive pictures share the most rare words with a query.

The second way into the shortlist (the first is the Hamming index of hashes). Per word table, the
postings are two parallel arrays sorted by word: the word and the item id (both ``uint32``). A lookup is ``searchsorted`` for every query word, then a weighted vote per item where
a word counts ``log(1 + N / df)``: a word found in many pictures (sky texture, caption text) says
little, a rare one a lot. New items land in a small sorted segment that is merged into the main
one when it grows, so an ingest does not re-sort millions of postings. Read-only segments (the
memory-mapped files of the persistent index, ``matching/persist.py``) are searched alongside.

Memory: ``KEYPOINTS x TABLES`` postings of 8 bytes per picture, about 2.4 kB (240 MB for 100,000
archive pictures); see docs/matching.md.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from verify.fingerprints.keypoints import TABLES

#: A word in more than this share of the archive's pictures is skipped (and at least this many).
MAX_DF_SHARE = 0.01
MIN_MAX_DF = 64
#: The recent segment is merged into the main one beyond this many postings (or 1/8 of the main).
MERGE_AT = 200_000


class _Segment:
    """Sorted postings of one table."""

    __slots__ = ("items", "words")

    def __init__(self, words: np.ndarray, items: np.ndarray, *, presorted: bool = False) -> None:
        if not presorted:
            order = np.argsort(words, kind="stable")
            words, items = words[order], items[order]
        self.words = words
        self.items = items

    @staticmethod
    def empty() -> _Segment:
        return _Segment(np.zeros(0, np.uint32), np.zeros(0, np.uint32), presorted=True)

    @staticmethod
    def merged(*segments: _Segment) -> _Segment:
        parts = [s for s in segments if len(s.words)]
        if len(parts) <= 1:
            return parts[0] if parts else _Segment.empty()
        return _Segment(np.concatenate([s.words for s in parts]), np.concatenate([s.items for s in parts]))

    def ranges(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.searchsorted(self.words, q, "left"), np.searchsorted(self.words, q, "right")


def postings(items: np.ndarray, words: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sorted postings per table: ``words[t]`` holds table ``t``'s word of each posting, ``items`` its item.

    One sort of (word, item) keys orders the postings by word and drops repeats: one posting per
    distinct word per item and table (a repeated texture votes once).
    """
    items = items.astype(np.uint64)
    out = []
    for w in words:
        keys = np.sort((w.astype(np.uint64) << np.uint64(32)) | items)  # (np.unique hashes first: far slower here)
        if keys.size:
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        out.append(((keys >> np.uint64(32)).astype(np.uint32), (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)))
    return out


class KeypointIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._main = [_Segment.empty() for _ in range(TABLES)]
        self._recent = [_Segment.empty() for _ in range(TABLES)]
        self._pending: list[tuple[int, np.ndarray]] = []
        self._items: set[int] = set()
        self._frozen: list[list[_Segment]] = []
        self._frozen_items = 0

    def __len__(self) -> int:
        """Pictures indexed."""
        return len(self._items) + self._frozen_items

    def nbytes(self) -> int:
        with self._lock:
            self._flush()
            segs = [*self._main, *self._recent, *(s for f in self._frozen for s in f)]
            return sum(s.words.nbytes + s.items.nbytes for s in segs)

    def add_frozen(self, tables: list[tuple[np.ndarray, np.ndarray]], n_items: int) -> None:
        """A read-only segment: per table, (words, items) sorted by word (``postings``), over ``n_items`` pictures."""
        if len(tables) != TABLES or n_items <= 0:
            return
        with self._lock:
            self._frozen = [*self._frozen, [_Segment(w, i, presorted=True) for w, i in tables]]
            self._frozen_items += n_items

    def add(self, item_id: int, words: np.ndarray) -> None:
        """``words``: ``(TABLES, n)`` from ``fingerprints.keypoints``; one set per item, the first kept."""
        if words.ndim != 2 or words.shape[0] != TABLES or words.shape[1] == 0 or not 0 <= item_id < 2**32:
            return
        with self._lock:
            if item_id in self._items:  # already loaded from the store (an ingest racing the first load)
                return
            self._pending.append((item_id, words))
            self._items.add(item_id)

    def remove_item(self, item_id: int) -> None:
        with self._lock:
            self._flush()
            self._main = [_Segment(s.words[s.items != item_id], s.items[s.items != item_id]) for s in self._main]
            self._recent = [_Segment(s.words[s.items != item_id], s.items[s.items != item_id]) for s in self._recent]
            self._pending = [(i, w) for i, w in self._pending if i != item_id]
            self._items.discard(item_id)
            if any((s.items == item_id).any() for f in self._frozen for s in f):
                self._frozen = [[_Segment(s.words[s.items != item_id], s.items[s.items != item_id], presorted=True) for s in f] for f in self._frozen]
                self._frozen_items -= 1

    def _flush(self) -> None:
        """Pending adds into the recent segment; the recent one into the main when large. Locked."""
        if not self._pending:
            return
        ids = np.fromiter((i for i, _ in self._pending), np.uint64, len(self._pending))
        counts = np.fromiter((w.shape[1] for _, w in self._pending), np.int64, len(self._pending))
        items = np.repeat(ids, counts)
        built = postings(items, [np.concatenate([w[t] for _, w in self._pending]) for t in range(TABLES)])
        for t in range(TABLES):
            new = _Segment(*built[t], presorted=True)
            rec, main = self._recent[t], self._main[t]
            if len(rec.words) + len(new.words) > max(MERGE_AT, len(main.words) // 8):
                self._main[t] = _Segment.merged(main, rec, new)
                self._recent[t] = _Segment.empty()
            else:
                self._recent[t] = _Segment.merged(rec, new)
        self._pending = []

    def search(self, query_words: np.ndarray, *, top: int, exclude: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``top`` items sharing the most (rarity-weighted) words with the query, best first."""
        if query_words.ndim != 2 or query_words.shape[1] == 0:
            return []
        with self._lock:
            self._flush()
            segments = [[*(f[t] for f in self._frozen), self._main[t], self._recent[t]] for t in range(TABLES)]
            n_items = len(self._items) + self._frozen_items
        if n_items == 0:
            return []
        max_df = max(MIN_MAX_DF, int(n_items * MAX_DF_SHARE))
        all_items: list[np.ndarray] = []
        all_weights: list[np.ndarray] = []
        for t, segs in enumerate(segments):
            q = np.unique(query_words[t])
            spans = [seg.ranges(q) for seg in segs]
            df = sum(hi - lo for lo, hi in spans)
            ok = (df > 0) & (df <= max_df)
            if not ok.any():
                continue
            idf = np.log1p(n_items / df[ok]).astype(np.float32)  # smoothed: a one-picture archive still votes
            for seg, (lo, hi) in zip(segs, spans):
                lo, cnt = lo[ok], (hi - lo)[ok]
                total = int(cnt.sum())
                if total == 0:
                    continue
                # Indices of every posting in the selected ranges, without a Python loop.
                starts = np.repeat(lo - np.cumsum(cnt) + cnt, cnt)
                idx = starts + np.arange(total)
                all_items.append(seg.items[idx])
                all_weights.append(np.repeat(idf, cnt))
        if not all_items:
            return []
        items = np.concatenate(all_items)
        weights = np.concatenate(all_weights)
        uniq, inverse = np.unique(items, return_inverse=True)
        scores = np.bincount(inverse, weights=weights)
        if exclude:
            scores[np.isin(uniq, np.fromiter(exclude, np.int64))] = -math.inf
        k = min(top, len(uniq))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(uniq[i]), float(scores[i])) for i in best if scores[i] > 0]
