"""The match index on disk: built once, checked against the store, extended with what was added since.

Loading the index from the database row by row took minutes at a million pictures, in every
process (issue 15). Here the packed hashes and the keypoint postings live in ``.npy`` files under
the data folder (``<data>/index/``), opened with ``numpy.load(mmap_mode="r")``: a cold start maps
the files instead of reading eleven million rows, and processes on one machine share the pages.

Layout: immutable **segments**, each holding the fingerprint rows with ids in ``(lo, hi]``: per hash
algorithm four arrays (hash words, item ids, frame times, variant codes; rows sorted by item id),
and per keypoint word table the postings sorted by word. A ``manifest.json`` names the segments,
the store it was built from (the hash of its first event), the algorithms indexed, the format
version, and the **watermark**: the last fingerprint id taken in, with the store's row count up to
it and a digest of that row. Files are written under new names, flushed, and only then named by
a new manifest that replaces the old one with an atomic rename, so a reader sees either the old
index or the new one, never a torn one. Writers take a lock file (``fcntl.flock``).

On open the manifest is checked against the store (same store, same algorithms, same format, the
row count up to the watermark and the digest of the row at it unchanged) and every file against
the manifest (present, size, shape, dtype, checksum). Anything wrong: the index is rebuilt from
the store; it is never used half-right. Rows stored after the watermark, by this process or any
other, are read by id (``Store.fingerprint_columns``) into an in-memory tail and written out as a
small new segment; small segments are merged as they accumulate (like a binary counter), so the
number of files stays logarithmic and a merge's cost is amortised.

PostgreSQL: each data folder (each machine) keeps its own files; what is shared is the database.
Ids from a sequence can commit out of order, so a catch-up also re-reads a window of recent ids,
and a segment is only written once the store's count up to its end agrees.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
import uuid
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from verify.fingerprints import keypoints as kp_words
from verify.matching.index import HammingIndex
from verify.matching.keypoints import KeypointIndex, postings

#: Bump when the files' layout changes: older files are then rebuilt, never misread.
FORMAT = 1
MANIFEST = "manifest.json"
#: Rows fetched from the store per query while loading.
FETCH = 200_000
#: A rebuild writes a segment per this many fingerprint rows (bounds the memory a rebuild needs).
SEGMENT_ROWS = 1_000_000
#: Small segments are merged while the one before is at most this many times the newer one.
MERGE_RATIO = 2
#: Files up to this size are checksummed in full on open; bigger ones at 64 sampled blocks.
FULL_CRC_BYTES = 64 << 20
#: Ids re-read on catch-up (PostgreSQL: a transaction holding an older id may commit later).
LOOKBACK_IDS = 5_000
#: Unnamed files older than this are removed (a reader may still be opening them).
SWEEP_AFTER_S = 600


class FingerprintSource(Protocol):
    """What the index needs from the store (``verify.store.Store`` provides it)."""

    dialect: str

    def identity(self) -> str: ...
    def fingerprint_mark(self, last_id: int) -> tuple[int, str]: ...
    def fingerprint_columns(self, after_id: int, limit: int = ...) -> Any: ...


class IndexProblem(Exception):
    """A file named by the manifest is missing, short, or not what the manifest says."""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _crc(path: Path, size: int) -> int:
    with open(path, "rb") as f:
        if size <= FULL_CRC_BYTES:
            return zlib.crc32(f.read())
        crc = 0
        block = 1 << 16
        for k in range(64):
            f.seek((size - block) * k // 63)
            crc = zlib.crc32(f.read(block), crc)
        return crc


# -- building a segment's arrays from store columns ---------------------------------------------


def _hash_arrays(cols: Any, mask: np.ndarray) -> tuple[dict[str, np.ndarray], list[str]] | None:
    """One algorithm's rows (``mask``) as the four arrays, sorted by item id; rows of an odd width dropped."""
    idx = np.flatnonzero(mask)
    lengths = np.fromiter((len(cols.values[i]) for i in idx), np.int64, len(idx))
    if not len(idx):
        return None
    width = int(np.bincount(lengths).argmax())  # the algorithm's width; a malformed row never mixes in
    if width == 0:
        return None
    idx = idx[lengths == width]
    words = (width + 7) // 8
    raw = b"".join(cols.values[i].rjust(words * 8, b"\x00") for i in idx)
    hashes = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(idx), words)
    items = cols.item_ids[idx]
    order = np.argsort(items, kind="stable")
    variants = np.asarray([cols.variants[i] for i in idx], dtype=str)
    names, codes = np.unique(variants, return_inverse=True)
    if len(names) > 255:
        return None
    arrays = {
        "hashes": np.ascontiguousarray(hashes[order]),
        "items": np.ascontiguousarray(items[order]),
        "times": cols.frame_times[idx][order].astype(np.float32),
        "codes": codes.reshape(-1)[order].astype(np.uint8),
    }
    return arrays, [str(n) for n in names]


def _keypoint_arrays(cols: Any, mask: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], int] | None:
    """Keypoint-word rows (``mask``) as sorted postings per table, and how many pictures they cover."""
    T = kp_words.TABLES
    idx = np.flatnonzero(mask)
    lengths = np.fromiter((len(cols.values[i]) for i in idx), np.int64, len(idx))
    ok = (lengths > 0) & (lengths % (4 * T) == 0) & (cols.item_ids[idx] >= 0) & (cols.item_ids[idx] < 2**32)
    idx, lengths = idx[ok], lengths[ok]
    if not len(idx):
        return None
    # An item with two word rows (an ingest racing a refresh) keeps the first: it votes once.
    _, first = np.unique(cols.item_ids[idx], return_index=True)
    first.sort()
    idx, lengths = idx[first], lengths[first]
    flat = np.frombuffer(b"".join(cols.values[i] for i in idx), dtype="<u4").astype(np.uint32)
    n = lengths // (4 * T)  # words per table, per row
    offsets = np.cumsum(lengths // 4) - lengths // 4
    total = int(n.sum())
    within = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    items = np.repeat(cols.item_ids[idx], n)
    tables = [flat[np.repeat(offsets + t * n, n) + within] for t in range(T)]
    return postings(items, tables), len(idx)


def _merge_hash(parts: list[tuple[dict[str, np.ndarray], list[str]]]) -> tuple[dict[str, np.ndarray], list[str]]:
    names = sorted({n for _, ns in parts for n in ns})
    pos = {n: i for i, n in enumerate(names)}
    items = np.concatenate([a["items"] for a, _ in parts])
    order = np.argsort(items, kind="stable")
    codes = np.concatenate([np.array([pos[n] for n in ns], np.uint8)[a["codes"]] for a, ns in parts])
    return {
        "hashes": np.ascontiguousarray(np.concatenate([a["hashes"].reshape(len(a["items"]), -1) for a, _ in parts])[order]),
        "items": items[order],
        "times": np.concatenate([a["times"] for a, _ in parts])[order],
        "codes": codes[order],
    }, names


# -- the folder --------------------------------------------------------------------------------


class IndexFolder:
    """The files of one data folder's index: segments, the manifest, the writers' lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "lock", "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def commit(self, manifest: dict[str, Any]) -> None:
        """Name a new set of files: written to a temporary name, flushed, then renamed over the old."""
        tmp = self.folder / f".{MANIFEST}.{uuid.uuid4().hex}"
        with open(tmp, "w") as f:
            json.dump(manifest, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / MANIFEST)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        """Write arrays as new ``.npy`` files (flushed to disk); returns what the manifest records."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:12]
        out: dict[str, dict[str, Any]] = {}
        for key, arr in arrays.items():
            name = f"{tag}-{key}.npy"
            path = self.folder / name
            tmp = self.folder / f".{name}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            size = path.stat().st_size
            out[key] = {"file": name, "shape": list(arr.shape), "dtype": arr.dtype.str, "bytes": size, "crc": _crc(path, size)}
        return out

    def open(self, meta: dict[str, Any], *, verify: bool = True) -> np.ndarray:
        path = self.folder / meta["file"]
        try:
            size = path.stat().st_size
            if size != meta["bytes"] or (verify and _crc(path, size) != meta["crc"]):
                raise IndexProblem(f"{meta['file']} is not the file the manifest names")
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexProblem(f"{meta['file']}: {exc}") from exc
        if list(arr.shape) != meta["shape"] or arr.dtype.str != meta["dtype"]:
            raise IndexProblem(f"{meta['file']} has the wrong shape or type")
        return arr

    def sweep(self, manifest: dict[str, Any] | None) -> None:
        """Remove files no manifest names any more (after a grace period: a reader may be opening them)."""
        named = {MANIFEST, "lock"}
        for seg in (manifest or {}).get("segments", []):
            named.update(m["file"] for m in seg["files"].values())
        cutoff = time.time() - SWEEP_AFTER_S
        for p in self.folder.iterdir() if self.folder.exists() else []:
            try:
                if p.name not in named and p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass

    def size_bytes(self, manifest: dict[str, Any] | None) -> int:
        return sum(m["bytes"] for seg in (manifest or {}).get("segments", []) for m in seg["files"].values())


# -- the persistent index ------------------------------------------------------------------------


class PersistentIndex:
    """Opens, checks, rebuilds and extends the on-disk index for one store; fills the in-memory ones."""

    def __init__(self, folder: Path, source: FingerprintSource, hash_algorithms: Collection[str]) -> None:
        self.files = IndexFolder(folder)
        self.source = source
        self.hash_algorithms = sorted(hash_algorithms)
        self.watermark = 0  # last fingerprint id taken in (files or tail)
        self.base = 0  # watermark of the manifest this process opened
        self._seen_recent: set[int] = set()  # ids above watermark - LOOKBACK already taken in
        self._unsaved: list[tuple[Any, Any]] = []  # (columns, their segment arrays) taken in since ``base``
        self.last_open: dict[str, Any] = {}  # what happened on open (for tests and benchmarks)

    # identity and checks
    def _identity(self) -> dict[str, Any]:
        return {"format": FORMAT, "store": self.source.identity(), "algorithms": self.hash_algorithms, "keypoints": kp_words.NAME}

    def _valid(self, m: dict[str, Any] | None, identity: dict[str, Any]) -> bool:
        if not m or any(m.get(k) != v for k, v in identity.items()):
            return False
        count, digest = self.source.fingerprint_mark(int(m.get("watermark", 0)))
        return count == m.get("rows") and digest == m.get("digest")

    # open
    def open(self) -> tuple[HammingIndex, KeypointIndex]:
        """The index from the files when they agree with the store, else rebuilt; then caught up."""
        started = time.perf_counter()
        try:
            return self._open(started)
        except OSError as exc:
            # No usable folder (read-only, full, not a folder): the index in memory, from the store,
            # as before the files existed. Matching is never refused for want of a cache.
            hashes, keypoints = HammingIndex(), KeypointIndex()
            self.base = self.watermark = 0
            self._seen_recent.clear()
            self._unsaved = []
            self._no_files = True
            added = self.catch_up(hashes, keypoints)
            self.last_open = {"how": "in memory", "rows_from_files": 0, "rows_caught_up": added, "seconds": time.perf_counter() - started, "problem": str(exc)}
            return hashes, keypoints

    def _open(self, started: float) -> tuple[HammingIndex, KeypointIndex]:
        identity = self._identity()
        m = self.files.read_manifest()
        how = "opened"
        loaded = self._try_load(m, identity)
        if loaded is None:
            with self.files.lock():
                m = self.files.read_manifest()  # another process may have rebuilt meanwhile
                loaded = self._try_load(m, identity)
                if loaded is None:
                    how = "rebuilt"
                    m = self._rebuild(identity)
                    loaded = self._try_load(m, identity, check_store=False)
                    if loaded is None:  # pragma: no cover - the files were just written
                        raise IndexProblem("the index just written cannot be read")
            self.files.sweep(m)
        hashes, keypoints = loaded
        assert m is not None
        self._no_files = False
        self.base = self.watermark = int(m["watermark"])
        self._seen_recent.clear()
        self._unsaved = []
        added = self.catch_up(hashes, keypoints)
        self.last_open = {"how": how, "rows_from_files": int(m["rows"]), "rows_caught_up": added, "seconds": time.perf_counter() - started}
        return hashes, keypoints

    def _try_load(self, m: dict[str, Any] | None, identity: dict[str, Any], *, check_store: bool = True) -> tuple[HammingIndex, KeypointIndex] | None:
        if m is None or (check_store and not self._valid(m, identity)) or (not check_store and m.get("store") != identity["store"]):
            return None
        hashes, keypoints = HammingIndex(), KeypointIndex()
        try:
            for seg in m["segments"]:
                self._load_segment(seg, hashes, keypoints)
        except (IndexProblem, KeyError, TypeError) as exc:
            self.last_problem = str(exc)
            return None
        return hashes, keypoints

    def _load_segment(self, seg: dict[str, Any], hashes: HammingIndex, keypoints: KeypointIndex) -> None:
        f = seg["files"]
        for algo, info in seg.get("hash", {}).items():
            k = _safe(algo)
            arrs = [self.files.open(f[f"h.{k}.{c}"]) for c in ("hashes", "items", "times", "codes")]
            hashes.add_frozen(algo, *arrs, info["variants"])
        if seg.get("kp_items"):
            tables = [(self.files.open(f[f"k.{t}.words"]), self.files.open(f[f"k.{t}.items"])) for t in range(kp_words.TABLES)]
            keypoints.add_frozen(tables, int(seg["kp_items"]))

    # build
    def _segment_arrays(self, cols: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        algos = np.asarray(cols.algorithms, dtype=str)
        arrays: dict[str, np.ndarray] = {}
        info: dict[str, Any] = {"hash": {}, "kp_items": 0}
        for algo in self.hash_algorithms:
            built = _hash_arrays(cols, algos == algo)
            if built is None:
                continue
            arr, names = built
            for c, a in arr.items():
                arrays[f"h.{_safe(algo)}.{c}"] = a
            info["hash"][algo] = {"variants": names, "rows": len(arr["items"])}
        kp = _keypoint_arrays(cols, algos == kp_words.NAME)
        if kp is not None:
            tables, n_items = kp
            for t, (w, i) in enumerate(tables):
                arrays[f"k.{t}.words"], arrays[f"k.{t}.items"] = w, i
            info["kp_items"] = n_items
        return arrays, info

    def _write_segment(self, cols: Any, lo: int, hi: int, prepared: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None) -> dict[str, Any]:
        arrays, info = prepared or self._segment_arrays(cols)
        return {"lo": lo, "hi": hi, "rows": len(cols), **info, "files": self.files.write(arrays)}

    def _rebuild(self, identity: dict[str, Any]) -> dict[str, Any]:
        """Every fingerprint row from the store into fresh segments, then a new manifest. Locked."""
        segments: list[dict[str, Any]] = []
        last = lo = rows = 0
        batch: list[tuple[dict[str, np.ndarray], dict[str, Any]]] = []
        batch_rows = 0
        while True:
            cols = self.source.fingerprint_columns(last, FETCH)
            drained = len(cols) == 0
            if not drained:
                # Each fetched batch becomes compact arrays at once: the driver's per-row objects
                # live for one batch, not for a whole segment.
                batch.append(self._segment_arrays(cols))
                batch_rows += len(cols)
                rows += len(cols)
                last = int(cols.ids[-1])
            del cols
            if batch and (batch_rows >= SEGMENT_ROWS or drained):
                arrays, info = _combine(batch)
                batch = []
                segments.append({"lo": lo, "hi": last, "rows": batch_rows, **info, "files": self.files.write(arrays)})
                del arrays
                lo, batch_rows = last, 0
            if drained:
                break
        count, digest = self.source.fingerprint_mark(last)
        if count != rows:
            # Rows committed out of id order while reading (PostgreSQL): name none of it; the next
            # open rebuilds again rather than keep an index with a hole in it.
            count = -1
        m = {**identity, "watermark": last, "rows": count, "digest": digest, "segments": segments, "written_at": time.time()}
        self.files.commit(m)
        return m

    # extend
    def catch_up(self, hashes: HammingIndex, keypoints: KeypointIndex) -> int:
        """Take in rows stored since the watermark (by any process); save them as a segment. Returns rows added."""
        added = 0
        look = LOOKBACK_IDS if self.source.dialect != "sqlite" else 0
        after = max(self.base, self.watermark - look)
        while True:
            cols = self.source.fingerprint_columns(after, FETCH)
            if not len(cols):
                break
            after = int(cols.ids[-1])
            fresh = np.array([i > self.watermark or (look and i not in self._seen_recent) for i in cols.ids.tolist()], dtype=bool)
            if look:
                fresh &= cols.ids > self.base
            if fresh.any():
                cols = _take(cols, np.flatnonzero(fresh))
                prepared = self._take_in(cols, hashes, keypoints)
                self._unsaved.append((cols, prepared))
                added += len(cols)
                self.watermark = max(self.watermark, int(cols.ids.max()))
                if look:
                    self._seen_recent.update(cols.ids.tolist())
                    floor = self.watermark - look
                    self._seen_recent = {i for i in self._seen_recent if i > floor}
        if added:
            self._save_tail()
        return added

    def _take_in(self, cols: Any, hashes: HammingIndex, keypoints: KeypointIndex) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, info = self._segment_arrays(cols)
        for algo, meta in info["hash"].items():
            k = _safe(algo)
            a = arrays
            hashes.add_columns(algo, a[f"h.{k}.hashes"], a[f"h.{k}.items"], a[f"h.{k}.times"], np.asarray(meta["variants"])[a[f"h.{k}.codes"]])
        algos = cols.algorithms
        for i in range(len(cols)):
            if algos[i] == kp_words.NAME:
                keypoints.add(int(cols.item_ids[i]), kp_words.from_bytes(cols.values[i]))
        return arrays, info

    def _save_tail(self) -> None:
        """Write the rows taken in since the manifest this process opened as a new segment."""
        if getattr(self, "_no_files", False):
            self._unsaved = []
            return
        if not self._unsaved:
            return
        try:
            with self.files.lock():
                m = self.files.read_manifest()
                if m is None or m.get("store") != self.source.identity() or m.get("rows", -1) < 0 or m.get("format") != FORMAT:
                    return
                if m.get("algorithms") != self.hash_algorithms:
                    return
                have = int(m["watermark"])
                if have >= self.watermark and self._valid(m, self._identity()):
                    self._unsaved, self.base = [], self.watermark  # another process saved as far already
                    return
                if have >= self.watermark or have < self.base:
                    return  # rebuilt meanwhile by another process: its next open sorts it out
                # One batch wholly above the files' watermark (the usual case): its arrays are reused.
                prepared = self._unsaved[0][1] if len(self._unsaved) == 1 and int(self._unsaved[0][0].ids.min()) > have else None
                cols = _concat([c for c, _ in self._unsaved])
                cols = _take(cols, np.flatnonzero(cols.ids > have))
                count, digest = self.source.fingerprint_mark(self.watermark)
                if count != m["rows"] + len(cols):
                    return  # a row below the watermark is not committed yet: keep it in memory, save later
                seg = self._write_segment(cols, have, self.watermark, prepared)
                segments = _merge_small([*m["segments"], seg], self)
                new = {**m, "watermark": self.watermark, "rows": count, "digest": digest, "segments": segments, "written_at": time.time()}
                self.files.commit(new)
                self._unsaved, self.base = [], self.watermark
            self.files.sweep(new)
        except OSError:
            return  # a read-only or full disk: the in-memory index is complete, the files catch up later


def _concat(batches: list[Any]) -> Any:
    if len(batches) == 1:
        return batches[0]
    from verify.store.db import FingerprintColumns

    return FingerprintColumns(
        np.concatenate([b.ids for b in batches]),
        np.concatenate([b.item_ids for b in batches]),
        [a for b in batches for a in b.algorithms],
        [v for b in batches for v in b.variants],
        np.concatenate([b.frame_times for b in batches]),
        [v for b in batches for v in b.values],
    )


def _take(cols: Any, idx: np.ndarray) -> Any:
    from verify.store.db import FingerprintColumns

    if len(idx) == len(cols):
        return cols
    il = idx.tolist()
    return FingerprintColumns(
        cols.ids[idx], cols.item_ids[idx], [cols.algorithms[i] for i in il], [cols.variants[i] for i in il], cols.frame_times[idx], [cols.values[i] for i in il]
    )


def _combine(parts: list[tuple[dict[str, np.ndarray], dict[str, Any]]]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Several segments' arrays (``_segment_arrays`` output) as one: rows re-sorted, postings re-sorted."""
    if len(parts) == 1:
        return parts[0]
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {"hash": {}, "kp_items": sum(i.get("kp_items", 0) for _, i in parts)}
    for algo in sorted({a for _, i in parts for a in i["hash"]}):
        k = _safe(algo)
        group = [({c: arr[f"h.{k}.{c}"] for c in ("hashes", "items", "times", "codes")}, i["hash"][algo]["variants"]) for arr, i in parts if algo in i["hash"]]
        merged, names = _merge_hash(group)
        for c, a in merged.items():
            arrays[f"h.{k}.{c}"] = a
        info["hash"][algo] = {"variants": names, "rows": len(merged["items"])}
    if info["kp_items"]:
        for t in range(kp_words.TABLES):
            words = [arr[f"k.{t}.words"] for arr, i in parts if i.get("kp_items")]
            items = [arr[f"k.{t}.items"] for arr, i in parts if i.get("kp_items")]
            [(w, it)] = postings(np.concatenate(items), [np.concatenate(words)])
            arrays[f"k.{t}.words"], arrays[f"k.{t}.items"] = w, it
    return arrays, info


def _merge_small(segments: list[dict[str, Any]], owner: PersistentIndex) -> list[dict[str, Any]]:
    """Merge the newest segments while the one before is no more than ``MERGE_RATIO`` times bigger."""
    segs = list(segments)
    while len(segs) >= 2 and segs[-2]["rows"] <= MERGE_RATIO * segs[-1]["rows"] and segs[-2]["rows"] + segs[-1]["rows"] <= SEGMENT_ROWS:
        a, b = segs[-2], segs[-1]
        segs[-2:] = [_merge_two(a, b, owner)]
    return segs


def _merge_two(a: dict[str, Any], b: dict[str, Any], owner: PersistentIndex) -> dict[str, Any]:
    files = owner.files
    parts = []
    for seg in (a, b):
        arrays = {key: np.asarray(files.open(meta, verify=False)) for key, meta in seg["files"].items()}
        parts.append((arrays, {"hash": seg.get("hash", {}), "kp_items": seg.get("kp_items", 0)}))
    arrays, info = _combine(parts)
    return {"lo": a["lo"], "hi": b["hi"], "rows": a["rows"] + b["rows"], **info, "files": files.write(arrays)}
