"""In-memory Hamming search over packed hashes, sized for ten million fingerprints.

Fingerprints of one algorithm live in flat numpy arrays: the hash words (``uint64``, one row per
fingerprint), the item id (``int64``), the frame time (``float32``, NaN for stills) and the variant
as a ``uint8`` code. Nothing per row is a Python object, so 10M fingerprints take about 210 MB.
A search is XOR plus popcount (``np.bitwise_count``) over the matrix, done in cache-sized chunks
for all query hashes at once, keeping only rows within the distance limit: about a millisecond
per million 64-bit hashes per query on one core.
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


class _Table:
    """One algorithm's fingerprints: growable parallel arrays, appended under the index lock."""

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


class HammingIndex:
    """All archive fingerprints, per algorithm, searchable by Hamming distance."""

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}
        self._variant_codes: dict[str, int] = {}
        self._variant_names: list[str] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(t.size for t in self._tables.values())

    def nbytes(self) -> int:
        return sum(t.hashes.nbytes + t.item_ids.nbytes + t.frame_times.nbytes + t.variant_codes.nbytes for t in self._tables.values())

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

    def add(self, item_id: int, fingerprints: list[Fingerprint]) -> None:
        self.add_many([(item_id, fp) for fp in fingerprints])

    def add_many(self, rows: list[tuple[int, Fingerprint]]) -> None:
        by_algo: dict[str, list[tuple[int, Fingerprint]]] = {}
        for item_id, fp in rows:
            by_algo.setdefault(fp.algorithm, []).append((item_id, fp))
        with self._lock:
            for algo, group in by_algo.items():
                words = max(1, (len(group[0][1].value) + 7) // 8)
                group = [(i, fp) for i, fp in group if (len(fp.value) + 7) // 8 == words]
                table = self._tables.get(algo)
                if table is None:
                    table = self._tables[algo] = _Table(words)
                raw = b"".join(fp.value.rjust(words * 8, b"\x00") for _, fp in group)
                hashes = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(group), words)
                ids = np.fromiter((i for i, _ in group), dtype=np.int64, count=len(group))
                times = np.fromiter((np.nan if fp.frame_time_s is None else fp.frame_time_s for _, fp in group), dtype=np.float32, count=len(group))
                codes = np.fromiter((self._code(fp.variant) for _, fp in group), dtype=np.uint8, count=len(group))
                table.append(hashes, ids, times, codes)

    def add_arrays(self, algorithm: str, hashes: np.ndarray, item_ids: np.ndarray, times: np.ndarray, variant: str = "full") -> None:
        """Bulk load (benchmarks, fast loaders): ``hashes`` is ``uint64`` of shape (n,) or (n, words)."""
        words = 1 if hashes.ndim == 1 else hashes.shape[1]
        with self._lock:
            table = self._tables.setdefault(algorithm, _Table(words))
            codes = np.full(len(item_ids), self._code(variant), dtype=np.uint8)
            table.append(hashes, item_ids.astype(np.int64), times.astype(np.float32), codes)

    def remove_item(self, item_id: int) -> None:
        """Drop an item's fingerprints (rare: compacts the arrays)."""
        with self._lock:
            for algo, t in list(self._tables.items()):
                keep = np.flatnonzero(t.item_ids[: t.size] != item_id)
                new = _Table(t.words)
                new.append(t.hashes[keep], t.item_ids[keep], t.frame_times[keep], t.variant_codes[keep])
                self._tables[algo] = new

    def search(self, query: Fingerprint, max_distance: int, exclude_item: int | None = None, limit: int = 50) -> list[Hit]:
        """Every stored fingerprint within ``max_distance``, nearest first, at most ``limit``."""
        return self.search_many([query], max_distance, exclude_item=exclude_item, limit=limit)[0]

    def search_many(
        self, queries: list[Fingerprint], max_distance: int, *, exclude_item: int | None = None, limit: int = 50
    ) -> list[list[Hit]]:
        """``search`` for many query hashes in one pass over the matrix (per algorithm)."""
        results: list[list[Hit]] = [[] for _ in queries]
        by_algo: dict[str, list[int]] = {}
        for qi, q in enumerate(queries):
            by_algo.setdefault(q.algorithm, []).append(qi)
        for algo, qidx in by_algo.items():
            table = self._tables.get(algo)
            if table is None or table.size == 0:
                continue
            # Snapshot: appends after this point are not seen; arrays swapped by growth stay valid.
            n = table.size
            hashes, ids, times, codes = table.hashes, table.item_ids, table.frame_times, table.variant_codes
            qwords = [words_of(queries[qi].value) for qi in qidx]
            if any(len(w) != table.words for w in qwords):
                continue
            rows, dists = _scan(hashes, n, qwords, max_distance)
            names = self._variant_names
            for k, qi in enumerate(qidx):
                r, d = rows[k], dists[k]
                if exclude_item is not None and r.size:
                    ok = ids[r] != exclude_item
                    r, d = r[ok], d[ok]
                if r.size > limit:
                    part = np.argpartition(d, limit)[:limit]
                    r, d = r[part], d[part]
                order = np.argsort(d, kind="stable")
                r = r[order]
                q = queries[qi]
                # Columns to Python lists in one go each: per-element numpy scalar access is the slow part.
                results[qi] = [
                    Hit(i, dd, names[c], None if t != t else t, q.variant, q.frame_time_s)  # t != t: NaN, no frame time
                    for i, dd, c, t in zip(ids[r].tolist(), d[order].tolist(), codes[r].tolist(), times[r].tolist())
                ]
        return results


    def nearest_for_items(self, queries: list[Fingerprint], item_ids: list[int]) -> dict[int, Hit]:
        """Each given item's nearest stored fingerprint to any query hash, however far.

        For items that reached the shortlist another way (keypoints): their hash distance is still
        reported with the match. One pass to find the items' rows, then only those rows.
        """
        out: dict[int, Hit] = {}
        wanted = np.asarray(item_ids, dtype=np.int64)
        for q in queries:
            table = self._tables.get(q.algorithm)
            if table is None or table.size == 0:
                continue
            qw = words_of(q.value)
            if len(qw) != table.words:
                continue
            n = table.size
            ids = table.item_ids[:n]
            rows = np.flatnonzero(np.isin(ids, wanted))
            if rows.size == 0:
                continue
            x = np.bitwise_xor(table.hashes[rows], qw[0] if table.words == 1 else qw)
            d = np.bitwise_count(x) if table.words == 1 else np.bitwise_count(x).sum(axis=1)
            for r, dist in zip(rows.tolist(), d.tolist()):
                item = int(ids[r])
                cur = out.get(item)
                if cur is None or dist < cur.distance:
                    t = float(table.frame_times[r])
                    out[item] = Hit(item, int(dist), self._variant_names[int(table.variant_codes[r])], None if t != t else t, q.variant, q.frame_time_s)
        return out


def _scan(hashes: np.ndarray, n: int, qwords: list[np.ndarray], max_distance: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Rows within ``max_distance`` of each query and their distances, chunk by chunk."""
    nq = len(qwords)
    found_rows: list[list[np.ndarray]] = [[] for _ in range(nq)]
    found_d: list[list[np.ndarray]] = [[] for _ in range(nq)]
    single = hashes.ndim == 1
    xbuf = np.empty(CHUNK if single else (CHUNK, hashes.shape[1]), dtype=np.uint64)
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
