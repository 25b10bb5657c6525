"""Hamming search over packed hashes, sized for ten million fingerprints.

Fingerprints of one algorithm live in flat numpy arrays: the hash words (``uint64``, one row per
fingerprint), the item id (``int64``), the frame time (``float32``, NaN for stills) and the variant
as a ``uint8`` code. Nothing per row is a Python object, so 10M fingerprints take about 210 MB.
A search is XOR plus popcount (``np.bitwise_count``) over the matrix, done in cache-sized chunks
for all query hashes at once, keeping only rows within the distance limit: about a millisecond
per million 64-bit hashes per query on one core.

An algorithm's rows come in *parts*: read-only parts (memory-mapped segment files of the persistent
index, ``matching/persist.py``, rows sorted by item id) and one growable in-memory tail (rows
added since). A search visits every part with the same fixed-size buffers, so a query allocates
nothing in proportion to the archive.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from verify.models import Fingerprint

_GROW = 4096
#: Rows scanned per step: 64k hashes (512 kB) stay in the L2 cache while every query visits them.
CHUNK = 1 << 16


def words_of(value: bytes) -> np.ndarray:
    pad = (-len(value)) % 8
    return np.frombuffer(value + b"\x00" * pad, dtype=">u8").astype(np.uint64)


class Hit(NamedTuple):
    """One stored fingerprint within range of a query hash (a NamedTuple: hundreds are built per lookup)."""

    item_id: int
    distance: int
    variant: str
    frame_time_s: float | None
    query_variant: str
    query_time_s: float | None


class _Part(NamedTuple):
    """A snapshot of rows: arrays valid for ``size`` rows; ``remap`` turns local variant codes into the index's."""

    hashes: np.ndarray
    item_ids: np.ndarray
    frame_times: np.ndarray
    variant_codes: np.ndarray
    remap: np.ndarray
    size: int
    ids_sorted: bool


class _Table:
    """One algorithm's in-memory rows: growable parallel arrays, appended under the index lock."""

    def __init__(self, words: int) -> None:
        self.words = words
        self.size = 0
        self.hashes = np.zeros((0,) if words == 1 else (0, words), dtype=np.uint64)
        self.item_ids = np.zeros(0, dtype=np.int64)
        self.frame_times = np.zeros(0, dtype=np.float32)
        self.variant_codes = np.zeros(0, dtype=np.uint8)

    def _reserve(self, extra: int) -> None:
        need = self.size + extra
        cap = len(self.item_ids)
        if need <= cap:
            return
        cap = max(need, cap + cap // 2, _GROW)
        n = self.size

        def grown(a: np.ndarray, fill: float = 0) -> np.ndarray:
            out = np.full((cap, *a.shape[1:]), fill, dtype=a.dtype)
            out[:n] = a[:n]
            return out

        # New arrays are built fully before being swapped in: a search running meanwhile keeps
        # reading the old ones, which stay valid.
        self.hashes = grown(self.hashes)
        self.item_ids = grown(self.item_ids)
        self.frame_times = grown(self.frame_times, np.nan)
        self.variant_codes = grown(self.variant_codes)

    def append(self, hashes: np.ndarray, item_ids: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        k = len(item_ids)
        self._reserve(k)
        s = self.size
        self.hashes[s : s + k] = hashes if self.words > 1 else hashes.reshape(-1)
        self.item_ids[s : s + k] = item_ids
        self.frame_times[s : s + k] = times
        self.variant_codes[s : s + k] = codes
        self.size = s + k

    def part(self) -> _Part:
        return _Part(self.hashes, self.item_ids, self.frame_times, self.variant_codes, _IDENTITY, self.size, False)


_IDENTITY = np.arange(256, dtype=np.uint8)


class HammingIndex:
    """All archive fingerprints, per algorithm, searchable by Hamming distance."""

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}
        self._frozen: dict[str, list[_Part]] = {}
        self._variant_codes: dict[str, int] = {}
        self._variant_names: list[str] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(t.size for t in self._tables.values()) + sum(p.size for parts in self._frozen.values() for p in parts)

    def nbytes(self) -> int:
        parts = [t.part() for t in self._tables.values()] + [p for ps in self._frozen.values() for p in ps]
        return sum(p.hashes.nbytes + p.item_ids.nbytes + p.frame_times.nbytes + p.variant_codes.nbytes for p in parts)

    def algorithms(self) -> set[str]:
        return set(self._tables) | set(self._frozen)

    def _code(self, variant: str) -> int:
        code = self._variant_codes.get(variant)
        if code is None:
            if len(self._variant_names) >= 255:
                code = self._variant_codes.setdefault("other", len(self._variant_names))
                if code == len(self._variant_names):
                    self._variant_names.append("other")
                return code
            code = self._variant_codes[variant] = len(self._variant_names)
            self._variant_names.append(variant)
        return code

    def _width(self, algorithm: str) -> int | None:
        table = self._tables.get(algorithm)
        if table is not None:
            return table.words
        parts = self._frozen.get(algorithm)
        return (1 if parts[0].hashes.ndim == 1 else parts[0].hashes.shape[1]) if parts else None

    def add(self, item_id: int, fingerprints: list[Fingerprint]) -> None:
        self.add_many([(item_id, fp) for fp in fingerprints])

    def add_many(self, rows: list[tuple[int, Fingerprint]]) -> None:
        by_algo: dict[str, list[tuple[int, Fingerprint]]] = {}
        for item_id, fp in rows:
            by_algo.setdefault(fp.algorithm, []).append((item_id, fp))
        for algo, group in by_algo.items():
            words = self._width(algo) or max(1, (len(group[0][1].value) + 7) // 8)
            group = [(i, fp) for i, fp in group if (len(fp.value) + 7) // 8 == words]
            raw = b"".join(fp.value.rjust(words * 8, b"\x00") for _, fp in group)
            hashes = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(group), words)
            ids = np.fromiter((i for i, _ in group), dtype=np.int64, count=len(group))
            times = np.fromiter((np.nan if fp.frame_time_s is None else fp.frame_time_s for _, fp in group), dtype=np.float32, count=len(group))
            variants = [fp.variant for _, fp in group]
            self.add_columns(algo, hashes, ids, times, variants)

    def add_columns(self, algorithm: str, hashes: np.ndarray, item_ids: np.ndarray, times: np.ndarray, variants: list[str] | np.ndarray) -> None:
        """Append rows given as columns (``hashes`` ``uint64`` of shape (n, words)); ``variants`` per row."""
        if len(item_ids) == 0:
            return
        names, inverse = np.unique(np.asarray(variants, dtype=str), return_inverse=True)
        with self._lock:
            lut = np.array([self._code(str(v)) for v in names], dtype=np.uint8)
            words = 1 if hashes.ndim == 1 else hashes.shape[1]
            if self._width(algorithm) not in (None, words):
                return  # a malformed batch of another width: never mixed into the table
            table = self._tables.get(algorithm)
            if table is None:
                table = self._tables[algorithm] = _Table(words)
            table.append(hashes, item_ids.astype(np.int64), times.astype(np.float32), lut[inverse.reshape(-1)])

    def add_arrays(self, algorithm: str, hashes: np.ndarray, item_ids: np.ndarray, times: np.ndarray, variant: str = "full") -> None:
        """Bulk load (benchmarks, fast loaders): ``hashes`` is ``uint64`` of shape (n,) or (n, words)."""
        words = 1 if hashes.ndim == 1 else hashes.shape[1]
        with self._lock:
            table = self._tables.setdefault(algorithm, _Table(words))
            codes = np.full(len(item_ids), self._code(variant), dtype=np.uint8)
            table.append(hashes, item_ids.astype(np.int64), times.astype(np.float32), codes)

    def add_frozen(
        self, algorithm: str, hashes: np.ndarray, item_ids: np.ndarray, times: np.ndarray, codes: np.ndarray, names: list[str]
    ) -> None:
        """A read-only part (a memory-mapped segment): rows sorted by item id, ``codes`` into ``names``."""
        if len(item_ids) == 0:
            return
        if hashes.ndim == 2 and hashes.shape[1] == 1:
            hashes = hashes.reshape(-1)
        words = 1 if hashes.ndim == 1 else hashes.shape[1]
        with self._lock:
            if self._width(algorithm) not in (None, words):
                return
            remap = np.zeros(256, dtype=np.uint8)
            remap[: len(names)] = [self._code(n) for n in names]
            part = _Part(hashes, item_ids, times, codes, remap, len(item_ids), True)
            self._frozen[algorithm] = [*self._frozen.get(algorithm, []), part]

    def _parts(self, algorithm: str) -> list[_Part]:
        parts = list(self._frozen.get(algorithm, []))
        table = self._tables.get(algorithm)
        if table is not None and table.size:
            parts.append(table.part())
        return parts

    def remove_item(self, item_id: int) -> None:
        """Drop an item's fingerprints (rare: compacts into in-memory arrays)."""
        with self._lock:
            for algo in self.algorithms():
                parts = list(self._frozen.get(algo, []))
                table = self._tables.get(algo)
                if table is not None:
                    parts.append(table.part())
                new = _Table(self._width(algo) or 1)
                for p in parts:
                    keep = np.flatnonzero(p.item_ids[: p.size] != item_id)
                    new.append(p.hashes[keep], p.item_ids[keep], p.frame_times[keep], p.remap[p.variant_codes[keep]])
                self._tables[algo] = new
                self._frozen.pop(algo, None)

    def search(self, query: Fingerprint, max_distance: int, exclude_item: int | None = None, limit: int = 50) -> list[Hit]:
        """Every stored fingerprint within ``max_distance``, nearest first, at most ``limit``."""
        return self.search_many([query], max_distance, exclude_item=exclude_item, limit=limit)[0]

    def search_many(
        self, queries: list[Fingerprint], max_distance: int, *, exclude_item: int | None = None, limit: int = 50
    ) -> list[list[Hit]]:
        """``search`` for many query hashes in one pass over each part (per algorithm)."""
        results: list[list[Hit]] = [[] for _ in queries]
        by_algo: dict[str, list[int]] = {}
        for qi, q in enumerate(queries):
            by_algo.setdefault(q.algorithm, []).append(qi)
        names = self._variant_names
        for algo, qidx in by_algo.items():
            # Snapshot: appends after this point are not seen; arrays swapped by growth stay valid.
            parts = self._parts(algo)
            width = self._width(algo)
            if not parts or width is None:
                continue
            qwords = [words_of(queries[qi].value) for qi in qidx]
            if any(len(w) != width for w in qwords):
                continue
            per_q: list[list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in qidx]
            for p in parts:
                rows, dists = _scan(p.hashes, p.size, qwords, max_distance)
                for k in range(len(qidx)):
                    r, d = rows[k], dists[k]
                    if not r.size:
                        continue
                    ids = p.item_ids[r]
                    if exclude_item is not None:
                        ok = ids != exclude_item
                        r, d, ids = r[ok], d[ok], ids[ok]
                    if r.size > limit:
                        keep = np.argpartition(d, limit)[:limit]
                        r, d, ids = r[keep], d[keep], ids[keep]
                    per_q[k].append((ids, d, p.remap[p.variant_codes[r]], p.frame_times[r]))
            for k, qi in enumerate(qidx):
                if not per_q[k]:
                    continue
                ids = np.concatenate([x[0] for x in per_q[k]])
                d = np.concatenate([x[1] for x in per_q[k]])
                codes = np.concatenate([x[2] for x in per_q[k]])
                times = np.concatenate([x[3] for x in per_q[k]])
                if d.size > limit:
                    keep = np.argpartition(d, limit)[:limit]
                    ids, d, codes, times = ids[keep], d[keep], codes[keep], times[keep]
                order = np.argsort(d, kind="stable")
                q = queries[qi]
                # Columns to Python lists in one go each: per-element numpy scalar access is the slow part.
                results[qi] = [
                    Hit(i, dd, names[c], None if t != t else t, q.variant, q.frame_time_s)  # t != t: NaN, no frame time
                    for i, dd, c, t in zip(ids[order].tolist(), d[order].tolist(), codes[order].tolist(), times[order].tolist())
                ]
        return results

    def nearest_for_items(self, queries: list[Fingerprint], item_ids: list[int]) -> dict[int, Hit]:
        """Each given item's nearest stored fingerprint to any query hash, however far.

        For items that reached the shortlist another way (keypoints): their hash distance is still
        reported with the match. Read-only parts are sorted by item id, so the items' rows are found
        by binary search (no pass over all ids); only the small in-memory tail is scanned.
        """
        out: dict[int, Hit] = {}
        wanted = np.unique(np.asarray(item_ids, dtype=np.int64))
        if not wanted.size:
            return out
        for q in queries:
            width = self._width(q.algorithm)
            qw = words_of(q.value)
            if width is None or len(qw) != width:
                continue
            for p in self._parts(q.algorithm):
                ids = p.item_ids[: p.size]
                if p.ids_sorted:
                    lo, hi = np.searchsorted(ids, wanted, "left"), np.searchsorted(ids, wanted, "right")
                    cnt = hi - lo
                    total = int(cnt.sum())
                    if total == 0:
                        continue
                    rows = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
                else:
                    rows = np.flatnonzero(np.isin(ids, wanted))
                    if rows.size == 0:
                        continue
                x = np.bitwise_xor(p.hashes[rows], qw[0] if width == 1 else qw)
                d = np.bitwise_count(x) if width == 1 else np.bitwise_count(x).sum(axis=1)
                for r, dist in zip(rows.tolist(), d.tolist()):
                    item = int(ids[r])
                    cur = out.get(item)
                    if cur is None or dist < cur.distance:
                        t = float(p.frame_times[r])
                        name = self._variant_names[int(p.remap[int(p.variant_codes[r])])]
                        out[item] = Hit(item, int(dist), name, None if t != t else t, q.variant, q.frame_time_s)
        return out


def _scan(hashes: np.ndarray, n: int, qwords: list[np.ndarray], max_distance: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Rows within ``max_distance`` of each query and their distances, chunk by chunk."""
    nq = len(qwords)
    found_rows: list[list[np.ndarray]] = [[] for _ in range(nq)]
    found_d: list[list[np.ndarray]] = [[] for _ in range(nq)]
    single = hashes.ndim == 1
    step = min(CHUNK, max(n, 1))
    xbuf = np.empty(step if single else (step, hashes.shape[1]), dtype=np.uint64)
    cbuf = np.empty(xbuf.shape, dtype=np.uint8)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        block = hashes[start:stop]
        m = stop - start
        x, c = xbuf[:m], cbuf[:m]
        for k, q in enumerate(qwords):
            np.bitwise_xor(block, q[0] if single else q, out=x)
            np.bitwise_count(x, out=c)
            d = c if single else c.sum(axis=1, dtype=np.int32)
            hit = np.flatnonzero(d <= max_distance)
            if hit.size:
                found_rows[k].append(hit + start)
                found_d[k].append(d[hit].astype(np.int32))
    empty_r, empty_d = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    rows = [np.concatenate(r) if r else empty_r for r in found_rows]
    dists = [np.concatenate(d) if d else empty_d for d in found_d]
    return rows, dists
