"""Matching a query against the archive: shortlist by hash, confirm by geometry, score.

``Matcher`` owns the in-memory index (loaded from the store once, updated on ingest). A match runs:

1. every query hash (all views, all sampled frames) against the index in one pass, keeping hits up
   to ``SHORTLIST_DISTANCE`` bits: a wide net, because the right original is usually the nearest
   hash even when it is far (crops, rotations, overlays);
2. the nearest ``SHORTLIST`` items go on to keypoint confirmation (``confirm.py``) between the query
   file and the archive original (or the right frame of a video);
3. video against video adds the temporal view: the share of query frames matching the archived
   clip at one consistent time offset;
4. a still with nothing confirmed so far gets a second way in: the archive pictures sharing the
   most keypoint words with it (``keypoints.py``) go to the same keypoint confirmation. This finds
   what hashes cannot rank (a screenshot of a rotated crop) without loosening any hash threshold.

``matches`` are confirmed (the same picture or footage); ``candidates`` are near misses worth a look.
Every ``Match`` carries the method and, in ``detail``, the figures behind the decision.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from verify.fingerprints import ALGORITHMS, PHASH, compute_image, hash_view
from verify.fingerprints import keypoints as kp_words
from verify.fingerprints.phash import MIRRORED
from verify.matching.confirm import (
    NO_GEOMETRY,
    FeatureCache,
    Geometry,
    QueryFeatures,
    confirm,
    load_gray,
)
from verify.matching.derived import MAX_DERIVED, Derived, derive, upright_size
from verify.matching.index import HammingIndex, Hit
from verify.matching.keypoints import KeypointIndex
from verify.matching.persist import PersistentIndex
from verify.media import sniff_file
from verify.models import Fingerprint, Match, MediaItem

#: Index hits up to this many bits (of 64) may enter the shortlist.
SHORTLIST_DISTANCE = 22
#: Hits kept per query hash.
HITS_PER_HASH = 200
#: Items per query sent to keypoint confirmation, nearest first.
SHORTLIST = 10
#: Further items given a quick keypoint check (strongest 300 keypoints); promising ones get the full one.
EXTENDED_SHORTLIST = 40
#: Items per still query sent to keypoint confirmation from the keypoint-word shortlist.
KEYPOINT_SHORTLIST = 5
#: Further keypoint-word items given the quick keypoint check first (a tight crop or a small
#: collage tile shares few words with its original: it often ranks 5th to 30th, behind pictures
#: that share sky or text texture). Only the promising ones get the full check.
KEYPOINT_EXTENDED = 30
#: Query keypoints (per region and orientation) whose words are looked up.
KEYPOINT_QUERY = 300
#: Scales of the copies whose keypoint words a still query looks up: the work copy and smaller ones
#: (a tight crop shown large holds its keypoints at 1.5-3x the scale of the archive's word copy).
KEYPOINT_SCALES = (1.0, 0.6, 0.4)
#: Kept for callers of the old name: the smallest of them.
KEYPOINT_SMALL_SCALE = 0.4
#: Once an item is confirmed, further shortlisted items are checked only up to this distance.
AFTER_MATCH_DISTANCE = 12
#: Without a geometric check (no file to compare), a hash this close counts as the same picture.
HASH_CONFIDENT = 4
#: Whole-picture hashes this close are the same picture even when keypoints cannot tell.
HASH_DECIDES = 3
#: A whole-picture hash this close plus this many RANSAC inliers also makes a confident match.
CORROBORATE_DISTANCE = 6
CORROBORATE_INLIERS = 15
#: A hash this close makes an unconfirmed item worth a look (in an archive of up to
#: ``CANDIDATE_REFERENCE_ROWS`` hashes; bigger archives get a stricter limit, see ``candidate_distance``).
CANDIDATE_DISTANCE = 12
CANDIDATE_REFERENCE_ROWS = 110_000
#: The size-adjusted limit never goes below this (beyond it, only keypoints make a candidate).
CANDIDATE_MIN_DISTANCE = 6


def _chance(distance: int, bits: int = 64) -> float:
    """Probability that an unrelated hash lands within ``distance`` bits (independent fair bits)."""
    from math import comb

    return sum(comb(bits, k) for k in range(distance + 1)) / 2**bits


def candidate_distance(archive_rows: int) -> int:
    """The hash distance that makes an unconfirmed item worth a look, for an archive this size.

    Chance hits within ``d`` bits grow with the number of stored hashes: 11 million hashes (a
    million pictures) put about ten unrelated pictures within 12 bits of any query, against 0-1 at
    10,000 pictures. The limit tightens so the expected number of chance hits stays what it is at
    ``CANDIDATE_REFERENCE_ROWS`` (about 10,000 pictures); items further away are still shown when
    keypoints make them promising (a second signal).
    """
    if archive_rows <= CANDIDATE_REFERENCE_ROWS:
        return CANDIDATE_DISTANCE
    budget = _chance(CANDIDATE_DISTANCE) * CANDIDATE_REFERENCE_ROWS
    d = CANDIDATE_DISTANCE
    while d > CANDIDATE_MIN_DISTANCE and _chance(d) * archive_rows > budget:
        d -= 1
    return d
#: Video: a frame pair counts when its hashes are this close...
FRAME_DISTANCE = 12
#: ...and agrees with the clip's time offset within this many seconds.
OFFSET_TOLERANCE_S = 1.5
#: Video vs video: share of query frames matched at one offset for a confident match by hashes alone.
VIDEO_SHARE_CONFIDENT = 0.5
#: Video vs video with a geometric confirmation of the best frame pair.
VIDEO_SHARE_CONFIRMED = 0.2


@dataclass
class MatchOutcome:
    matches: list[Match] = field(default_factory=list)
    candidates: list[Match] = field(default_factory=list)
    #: Hits in partners' hash banks (``verify.banks.BankHit``): no archive item behind them.
    bank_hits: list[Any] = field(default_factory=list)
    #: Seconds spent per stage of this match (for the benchmarks; not part of any contract).
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Limits:
    """How many items one query picture may send to confirmation (a derived picture: fewer)."""

    shortlist: int
    extended: int
    keypoint: int
    keypoint_extended: int = 0


_WHOLE = _Limits(SHORTLIST, EXTENDED_SHORTLIST, KEYPOINT_SHORTLIST, KEYPOINT_EXTENDED)
_DERIVED = _Limits(5, 15, 3, 12)


def _add_time(outcome: MatchOutcome, stage: str, since: float) -> None:
    outcome.timings[stage] = outcome.timings.get(stage, 0.0) + time.perf_counter() - since


def _from_derived(m: Match, d: Any) -> Match:
    """A match found through a derived query, saying which part of the query (or which view) it was."""
    detail = {**m.detail, "view": d.view}
    where = d.view
    if d.region is not None:
        detail["region"] = list(d.region)
        x, y, w, h = d.region
        where += f" {w}x{h} at ({x},{y})"
    if d.quad is not None:
        detail["quad"] = [list(p) for p in d.quad]
    return replace(m, method=f"{where}: {m.method}", detail=detail)


@dataclass
class _ItemHits:
    hits: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit:
        return min(self.hits, key=lambda h: h.distance)


class Matcher:
    #: Derived query videos (picture-in-picture, a re-filmed screen) when a video matched nothing.
    video_derived: bool = True
    #: Video vs video may also be confident on one matched stretch (a clip inside a compilation).
    video_segments: bool = True

    def __init__(
        self,
        load_fingerprints: Callable[[], object],
        load_items: Callable[[list[int]], dict[int, MediaItem]],
        blob_path: Callable[[str], Path] | None = None,
        *,
        cache_size: int = 512,
        persistent: PersistentIndex | None = None,
        stored_features: Callable[[int], object | None] | None = None,
    ) -> None:
        """``persistent``: the on-disk index of a store (``persist.py``); without it the index is
        built in memory from ``load_fingerprints`` and fed by ``add`` (tests, benchmarks)."""
        self._load_fingerprints = load_fingerprints
        self._load_items = load_items
        self._blob_path = blob_path
        self._index: HammingIndex | None = None
        self._keypoints = KeypointIndex()
        self._lock = threading.Lock()
        self._persistent = persistent
        self._stored_features = stored_features
        #: Archive features read from the store vs decoded from originals (benchmarks, tests).
        self.feature_sources: Counter[str] = Counter()
        self.features = FeatureCache(cache_size)

    @property
    def index(self) -> HammingIndex:
        with self._lock:
            if self._index is None and self._persistent is not None:
                self._index, self._keypoints = self._persistent.open()
            if self._index is None:
                index = HammingIndex()
                keypoints = KeypointIndex()
                batch: list[tuple[int, Fingerprint]] = []
                for row in self._load_fingerprints():  # type: ignore[attr-defined]
                    if row[1].algorithm == kp_words.NAME:
                        keypoints.add(row[0], kp_words.from_bytes(row[1].value))
                        continue
                    if row[1].algorithm not in ALGORITHMS:
                        continue
                    batch.append(row)
                    if len(batch) >= 50_000:
                        index.add_many(batch)
                        batch = []
                if batch:
                    index.add_many(batch)
                self._index, self._keypoints = index, keypoints
            return self._index

    @property
    def keypoints(self) -> KeypointIndex:
        _ = self.index  # loading the index loads the keypoint words with it
        return self._keypoints

    def sync(self) -> None:
        """Take in what any process stored since the index was loaded (by fingerprint id: never a reload)."""
        if self._persistent is None:
            return
        with self._lock:
            if self._index is not None:  # not loaded yet: loading brings everything
                self._persistent.catch_up(self._index, self._keypoints)

    def add(self, item_id: int, fingerprints: list[Fingerprint]) -> None:
        if self._persistent is not None:
            # The rows are in the store already: read back by id, so nothing is taken in twice
            # and ``verify index`` (which never matches) never loads the index at all.
            self.sync()
            return
        self.index.add(item_id, [fp for fp in fingerprints if fp.algorithm in ALGORITHMS])
        for fp in fingerprints:
            if fp.algorithm == kp_words.NAME:
                self._keypoints.add(item_id, kp_words.from_bytes(fp.value))

    def reset(self) -> None:
        with self._lock:
            self._index = None
            self._keypoints = KeypointIndex()

    # -- matching ------------------------------------------------------------------------------

    def match(
        self,
        fingerprints: list[Fingerprint],
        *,
        query_path: Path | None = None,
        exclude_item_id: int | None = None,
    ) -> MatchOutcome:
        t0 = time.perf_counter()
        queries = [fp for fp in fingerprints if fp.algorithm in ALGORITHMS]
        queries = self._with_query_views(queries, query_path)
        if not queries:
            return MatchOutcome()
        outcome, qfeats = self._match_picture(queries, query_path, exclude_item_id, None, _WHOLE)
        outcome.timings["whole query"] = time.perf_counter() - t0
        still = not any(fp.frame_time_s is not None for fp in queries)
        if still and not outcome.matches and query_path is not None and self._blob_path is not None:
            # Nothing confirmed: the query may hold the picture (a collage tile, a tilted screen,
            # under meme text, turned by a quarter). Its derived pictures go through the same pipeline.
            self._derived_stage(qfeats, query_path, exclude_item_id, outcome)
        elif not still and not outcome.matches and query_path is not None and self._blob_path is not None and self.video_derived:
            # A video with nothing confirmed: the clip may be an inset, or on a filmed screen.
            self._video_derived_stage(query_path, exclude_item_id, outcome)
        outcome.matches.sort(key=lambda m: (-m.score, m.distance))
        outcome.candidates.sort(key=lambda m: (-m.score, m.distance))
        return outcome

    def _derived_stage(self, qfeats: QueryFeatures, query_path: Path, exclude_item_id: int | None, outcome: MatchOutcome) -> None:
        """Each derived query (``derived.py``) as its own query, nearest hashes first, at most ``MAX_DERIVED``.

        The cheap stage (hashing and one index lookup per derived picture) ranks them; only the
        best few get keypoints and confirmation, and the first confident match ends the search.
        """
        t = time.perf_counter()
        gray = qfeats.gray()
        if gray is None:
            return
        ranked: list[tuple[int, int, Derived, list[Fingerprint]]] = []
        for k, d in enumerate(derive(gray, upright_size(query_path))):
            fps = PHASH.fingerprint_gray(hash_view(d.gray), for_archive=False)
            if not fps:
                continue
            hits = self.index.search_many(fps, SHORTLIST_DISTANCE, exclude_item=exclude_item_id, limit=4)
            ranked.append((min((h.distance for row in hits for h in row), default=SHORTLIST_DISTANCE + 1), k, d, fps))
        ranked.sort(key=lambda r: r[:2])
        outcome.timings["derived: find and hash"] = time.perf_counter() - t
        t = time.perf_counter()
        for _, _, d, fps in ranked[:MAX_DERIVED]:
            sub, _ = self._match_picture(fps, query_path, exclude_item_id, d.gray, _DERIVED)
            found = [_from_derived(m, d) for m in sub.matches]
            if _take_derived(outcome, found, (_from_derived(m, d) for m in sub.candidates)):
                break
        outcome.timings["derived: pipelines"] = time.perf_counter() - t

    def _video_derived_stage(self, query_path: Path, exclude_item_id: int | None, outcome: MatchOutcome) -> None:
        """Each derived video (``video_derived.py``: an inset, a side of a side-by-side, a rectified
        screen) as a query video of its own, best hashes first, at most ``MAX_DERIVED_VIDEOS``.

        A derived video's match must be confirmed by keypoints on its sub-picture: the sub-pictures
        are guesses, and hashes alone of a guessed region are a weaker signal than of a whole frame.
        """
        from verify.matching import video_derived as vd

        t = time.perf_counter()
        try:
            frames, size = vd.sample_frames(query_path)
        except Exception:
            return
        outcome.timings["video derived: sample"] = time.perf_counter() - t
        t = time.perf_counter()
        ranked: list[tuple[int, int, int, vd.DerivedVideo, list[Fingerprint]]] = []
        for k, dv in enumerate(vd.derive_videos(frames, size)):
            fps: list[Fingerprint] = []
            for ts, g in dv.frames.items():
                fps.extend(PHASH.fingerprint_gray(hash_view(g), for_archive=False, frame_time_s=ts, video=True))
            if not fps:
                continue
            hits = self.index.search_many(fps, SHORTLIST_DISTANCE, exclude_item=exclude_item_id, limit=4)
            close = {fp.frame_time_s for fp, row in zip(fps, hits) if any(h.distance <= FRAME_DISTANCE for h in row)}
            best = min((h.distance for row in hits for h in row), default=SHORTLIST_DISTANCE + 1)
            ranked.append((-len(close), best, k, dv, fps))
        ranked.sort(key=lambda r: r[:3])
        outcome.timings["video derived: find and hash"] = time.perf_counter() - t
        t = time.perf_counter()
        for _, _, _, dv, fps in ranked[: vd.MAX_DERIVED_VIDEOS]:
            sub, _ = self._match_picture(fps, query_path, exclude_item_id, None, _DERIVED, features=vd.FrameRegions(query_path, dv))
            found = [_from_derived_video(m, dv) for m in sub.matches if _confirmed(m)]
            unconfirmed = (_from_derived_video(replace(m, confident=False, score=min(m.score, 0.49)), dv) for m in sub.matches + sub.candidates)
            if _take_derived(outcome, found, unconfirmed):
                break
        outcome.timings["video derived: pipelines"] = time.perf_counter() - t

    def _match_picture(
        self,
        queries: list[Fingerprint],
        query_path: Path | None,
        exclude_item_id: int | None,
        gray: np.ndarray | None,
        limits: _Limits,
        features: QueryFeatures | None = None,
    ) -> tuple[MatchOutcome, QueryFeatures]:
        """The pipeline for one query picture: the file itself, or (``gray``) a picture derived from it;
        ``features``: the query's keypoints from elsewhere (a derived video's sub-pictures)."""
        query_is_video = any(fp.frame_time_s is not None for fp in queries)
        # Regions of the query picture that got hashed (videos: the whole frame only).
        regions = ("full",) if query_is_video else tuple(dict.fromkeys(_region_of(fp.variant) for fp in queries))
        qfeats = features if features is not None else QueryFeatures(query_path, regions, gray=gray)
        outcome = MatchOutcome()
        t = time.perf_counter()
        hits = self.index.search_many(queries, SHORTLIST_DISTANCE, exclude_item=exclude_item_id, limit=HITS_PER_HASH)
        per_item: dict[int, _ItemHits] = {}
        for row in hits:
            for h in row:
                per_item.setdefault(h.item_id, _ItemHits()).hits.append(h)
        if not per_item and (query_is_video or query_path is None):
            return outcome, qfeats  # only a still with a file can still come in by its keypoints
        query_times = sorted({fp.frame_time_s for fp in queries if fp.frame_time_s is not None})
        ranked = sorted(per_item, key=lambda i: self._rank_key(per_item[i], query_is_video))[: limits.extended]
        ranked_best = {i: per_item[i].best.distance for i in ranked}
        items = self._load_items(ranked) if ranked else {}
        _add_time(outcome, "hash shortlist", t)
        t = time.perf_counter()
        checked: set[int] = set()
        for rank, item_id in enumerate(ranked):
            item = items.get(item_id)
            if item is None:
                continue
            if outcome.matches and not query_is_video and ranked_best[item_id] > AFTER_MATCH_DISTANCE:
                # Found it: further items are only checked when their hashes are close (other copies).
                continue
            if rank >= limits.shortlist and (query_is_video or item.kind == "video" or not self._worth_full_check(item, per_item[item_id], qfeats)):
                # Beyond the shortlist only stills against stills: videos carry their own evidence
                # (many frames at one offset), and seeking into archived clips is costly.
                continue
            checked.add(item_id)
            if query_is_video and item.kind == "video":
                m = self._video_vs_video(item, per_item[item_id], query_times, qfeats)
            else:
                m = self._single(item, per_item[item_id], qfeats)
            if m is not None:
                (outcome.matches if m.confident else outcome.candidates).append(m)
        _add_time(outcome, "confirmation", t)
        if not query_is_video and not outcome.matches:
            t = time.perf_counter()
            self._keypoint_stage(queries, per_item, checked, exclude_item_id, qfeats, outcome, limits.keypoint, limits.keypoint_extended)
            _add_time(outcome, "keypoint words", t)
        return outcome, qfeats

    def _keypoint_stage(
        self,
        queries: list[Fingerprint],
        per_item: dict[int, _ItemHits],
        checked: set[int],
        exclude_item_id: int | None,
        qfeats: QueryFeatures,
        outcome: MatchOutcome,
        top: int = KEYPOINT_SHORTLIST,
        extended: int = 0,
    ) -> None:
        """Nothing confirmed by the hash shortlist: try the pictures sharing the most keypoint words.

        The query's words come from its content regions (the photo inside a screenshot or caption
        frame when one was found, else the picture with borders trimmed, else the whole), both
        orientations, so screenshot chrome and caption text do not drown the photo's keypoints.
        """
        if qfeats.path is None or self._blob_path is None or len(self.keypoints) == 0:
            return
        content = [r for r in qfeats.regions if r in ("inner", "strip")] or [r for r in qfeats.regions if r == "trim"] or ["full"]
        parts = []
        for mirrored in (False, True):
            for region in content:
                # The work copy and smaller copies: a tight crop (40% of the picture, shown 640 px
                # wide) holds its keypoints at 1.5-3x the scale of the archive's small
                # keypoint-word copy, at the edge of what ORB's pyramid bridges.
                for scale in KEYPOINT_SCALES:
                    f = qfeats.get(None, mirrored, region, scale)
                    if f is not None and f.descriptors is not None:
                        parts.append(kp_words.words(f.descriptors[:KEYPOINT_QUERY]))
        if not parts:
            return
        exclude = set(checked) | ({exclude_item_id} if exclude_item_id is not None else set())
        found = self.keypoints.search(np.concatenate(parts, axis=1), top=top + extended, exclude=exclude)
        if not found:
            return
        ids = [i for i, _ in found]
        items = self._load_items(ids)
        nearest = self.index.nearest_for_items(queries, [i for i in ids if i not in per_item])
        candidate_ids = {m.item.id for m in outcome.candidates}
        for rank, (item_id, votes) in enumerate(found):
            item = items.get(item_id)
            if item is None or item.kind != "image":
                continue
            if rank >= top and outcome.matches:
                break  # confirmed already: the extended list was only there to find the original
            ih = per_item.get(item_id)
            if ih is None:
                hit = nearest.get(item_id)
                if hit is None:
                    continue
                ih = _ItemHits([hit])
            if rank >= top and not self._worth_full_check(item, ih, qfeats):
                continue
            m = self._single(item, ih, qfeats)
            if m is None or (not m.confident and item_id in candidate_ids):
                continue
            m = replace(m, method=f"keypoint words ({votes:.0f}) + {m.method}", detail={**m.detail, "shortlist": "keypoints", "keypoint_votes": round(votes, 1)})
            if m.confident:
                outcome.candidates = [c for c in outcome.candidates if c.item.id != item_id]
                outcome.matches.append(m)
            else:
                outcome.candidates.append(m)

    def _with_query_views(self, queries: list[Fingerprint], query_path: Path | None) -> list[Fingerprint]:
        """A stored item is matched with its archive-side hashes; add the query-side views (mirror)."""
        if query_path is None or not queries or any(fp.variant in MIRRORED for fp in queries):
            return queries
        if any(fp.frame_time_s is not None for fp in queries):
            return queries
        try:
            if sniff_file(query_path).kind != "image":
                return queries
            extra = compute_image(query_path, 400_000_000, for_archive=False)
        except Exception:
            return queries
        seen = {(fp.variant, fp.value) for fp in queries}
        return queries + [fp for fp in extra if (fp.variant, fp.value) not in seen]

    @staticmethod
    def _rank_key(h: _ItemHits, query_is_video: bool) -> tuple[float, ...]:
        best = h.best.distance
        if not query_is_video:
            return (best,)
        frames = len({x.query_time_s for x in h.hits if x.distance <= FRAME_DISTANCE})
        return (-frames, best)

    def _archive_features(self, item: MediaItem, time_s: float | None):  # type: ignore[no-untyped-def]
        if self._blob_path is None:
            return None
        key = (item.sha256, None if time_s is None else round(time_s, 3))
        if self._stored_features is not None and item.kind == "image":
            # Keypoints stored at ingest: no archive file is opened, let alone decoded.
            feats = self.features.peek(key)
            if feats is not None:
                return feats
            stored = self._stored_features(item.id)
            if stored is not None:
                self.feature_sources["stored"] += 1
                return self.features.put(key, stored)  # type: ignore[arg-type]
        path = self._blob_path(item.sha256)
        if not Path(path).exists():
            return None
        self.feature_sources["decoded"] += 1
        return self.features.get(key, lambda: load_gray(Path(path), time_s))

    def _worth_full_check(self, item: MediaItem, ih: _ItemHits, qfeats: QueryFeatures) -> bool:
        """Beyond the shortlist: a quick keypoint look at the item's best hit decides."""
        if qfeats.path is None or self._blob_path is None:
            return False
        hit = ih.best
        archive = self._archive_features(item, hit.frame_time_s if item.kind == "video" else None)
        g = confirm(qfeats, archive, time_s=hit.query_time_s, mirror_first=hit.query_variant in MIRRORED, regions=_regions(hit, qfeats), screen_only=True)
        return g.plausible

    def _geometry(self, item: MediaItem, hit: Hit, qfeats: QueryFeatures) -> Geometry:
        if qfeats.path is None:
            return NO_GEOMETRY
        archive = self._archive_features(item, hit.frame_time_s if item.kind == "video" else None)
        return confirm(qfeats, archive, time_s=hit.query_time_s, mirror_first=hit.query_variant in MIRRORED, regions=_regions(hit, qfeats))

    def _single(self, item: MediaItem, ih: _ItemHits, qfeats: QueryFeatures) -> Match | None:
        """A still against a still or a video, or a video frame against a still: the best pairs."""
        ordered = sorted(ih.hits, key=lambda h: h.distance)
        tried: set[tuple[float | None, float | None]] = set()
        geometry, used = NO_GEOMETRY, ordered[0]
        can_check = qfeats.path is not None and self._blob_path is not None
        if can_check:
            # Up to two distinct frame pairs (videos have many near-identical ones).
            for h in ordered:
                key = (None if h.query_time_s is None else round(h.query_time_s, 1), None if h.frame_time_s is None else round(h.frame_time_s, 1))
                if key in tried:
                    continue
                tried.add(key)
                g = self._geometry(item, h, qfeats)
                if (g.confirmed, g.plausible, g.inliers) > (geometry.confirmed, geometry.plausible, geometry.inliers):
                    geometry, used = g, h
                if g.confirmed or len(tried) >= 2:
                    break
        best = ordered[0]
        hash_sim = max(0.0, 1 - best.distance / 32)
        detail: dict[str, object] = {"hash_distance": best.distance, "query_variant": best.query_variant, "archive_variant": best.variant}
        if geometry is not NO_GEOMETRY:
            detail.update(inliers=geometry.inliers, good_matches=geometry.good_matches, mirrored=geometry.mirrored,
                          spread_query=geometry.spread_query, spread_archive=geometry.spread_archive)  # fmt: skip
        corroborated = (
            best.distance <= CORROBORATE_DISTANCE and _region_of(best.variant) == best.variant and geometry.inliers >= CORROBORATE_INLIERS
        )
        if geometry.confirmed or corroborated:
            # Keypoints alone, or a near-identical whole-picture hash with keypoints agreeing (a
            # small subject on a plain background spreads its inliers too little to confirm alone).
            confident = True
            score = 0.5 + 0.5 * max(min(1.0, geometry.inliers / CONFIRM_SCALE), hash_sim)
        elif not can_check or geometry is NO_GEOMETRY or (best.distance <= HASH_DECIDES and _region_of(best.variant) == best.variant):
            # No file to compare, or hashes of the whole picture all but identical (tiny or blurred
            # pictures give keypoints too few to judge): the hash alone decides, strictly.
            confident = best.distance <= HASH_CONFIDENT and best.variant in ("full", "trim", "inner") and not best.query_variant.startswith("crop")
            score = (0.5 + 0.5 * hash_sim) if confident else 0.5 * hash_sim
        else:
            confident = False
            score = 0.5 * max(hash_sim, min(1.0, geometry.inliers / CONFIRM_SCALE))
        if not confident and best.distance > candidate_distance(len(self.index)) and not geometry.promising:
            return None
        method = _method(used, geometry)
        return Match(
            item=item,
            score=round(score, 4),
            distance=best.distance,
            method=method,
            query_time_s=used.query_time_s,
            match_time_s=used.frame_time_s,
            confident=confident,
            detail=detail,
        )

    def _video_vs_video(self, item: MediaItem, ih: _ItemHits, query_times: list[float], qfeats: QueryFeatures) -> Match | None:
        """Share of the query's frames found in the archived clip at one consistent time offset."""
        best_per_time: dict[float, Hit] = {}
        for h in ih.hits:
            if h.query_time_s is None or h.frame_time_s is None or h.distance > FRAME_DISTANCE:
                continue
            cur = best_per_time.get(h.query_time_s)
            if cur is None or h.distance < cur.distance:
                best_per_time[h.query_time_s] = h
        total = max(1, len(query_times))
        if not best_per_time:
            return self._single(item, ih, qfeats)
        votes = Counter(round((h.frame_time_s - h.query_time_s) * 2) / 2 for h in best_per_time.values())  # type: ignore[operator]
        # The offset with the most frames within the tolerance.
        offset = max(votes, key=lambda o: sum(c for v, c in votes.items() if abs(v - o) <= OFFSET_TOLERANCE_S))
        consistent: list[Hit] = []
        for h in ih.hits:
            if h.query_time_s is None or h.frame_time_s is None or h.distance > FRAME_DISTANCE:
                continue
            if abs((h.frame_time_s - h.query_time_s) - offset) <= OFFSET_TOLERANCE_S:
                consistent.append(h)
        matched_times = {h.query_time_s for h in consistent}
        share = len(matched_times) / total
        # The precise offset: median over the consistent frame pairs (nearest per query frame).
        nearest: dict[float, Hit] = {}
        for h in consistent:
            cur = nearest.get(h.query_time_s)  # type: ignore[arg-type]
            if cur is None or h.distance < cur.distance:
                nearest[h.query_time_s] = h  # type: ignore[index]
        offsets = sorted(h.frame_time_s - h.query_time_s for h in nearest.values())  # type: ignore[operator]
        precise = offsets[len(offsets) // 2] if offsets else offset
        best = min(consistent, key=lambda h: h.distance) if consistent else ih.best
        geometry = NO_GEOMETRY
        if qfeats.path is not None and self._blob_path is not None:
            geometry = self._geometry(item, best, qfeats)
        confident = (share >= VIDEO_SHARE_CONFIDENT and len(matched_times) >= min(2, total)) or (
            geometry.confirmed and share >= VIDEO_SHARE_CONFIRMED
        )
        segment = _segment(consistent, query_times, precise)
        if self.video_segments and not confident and segment is not None:
            # A clip inside a longer video (a compilation): most query frames of one stretch at
            # least SEGMENT_MIN_S long match the archived clip at one offset, and keypoints confirm it.
            confident = geometry.confirmed and segment["segment_share"] >= SEGMENT_SHARE and segment["segment_frames"] >= SEGMENT_FRAMES and (
                segment["query_end_s"] - segment["query_start_s"] >= SEGMENT_MIN_S
            )
        if not confident and best.distance > candidate_distance(len(self.index)) and not geometry.promising:
            return None
        score = (0.5 + 0.5 * share) if confident else 0.5 * share
        detail: dict[str, object] = {
            "frames_matched": len(matched_times),
            "frames_total": total,
            "share": round(share, 3),
            "offset_s": round(precise, 2),
            "hash_distance": best.distance,
        }
        if geometry is not NO_GEOMETRY:
            detail.update(inliers=geometry.inliers, mirrored=geometry.mirrored, confirmed=geometry.confirmed)
        if segment is not None and self.video_segments:
            # Where the matched stretch is in the query and in the archived clip.
            detail.update(segment)
        method = f"phash-v2 frames {len(matched_times)}/{total} at {precise:+.1f}s" + (f", orb {geometry.inliers} inliers" if geometry.inliers else "")
        return Match(
            item=item,
            score=round(score, 4),
            distance=best.distance,
            method=method,
            query_time_s=best.query_time_s,
            match_time_s=best.frame_time_s,
            confident=confident,
            detail=detail,
        )


#: Inliers at which an unconfirmed candidate's geometric score saturates.
CONFIRM_SCALE = 60
#: A clip inside a compilation: share of the query frames within the matched stretch, frames, seconds.
SEGMENT_SHARE = 0.5
SEGMENT_FRAMES = 3
SEGMENT_MIN_S = 1.5


def _segment(consistent: list[Hit], query_times: list[float], offset: float) -> dict[str, float] | None:
    """The stretch of the query matched at one offset: its start and end in the query and in the
    archived clip (query time + ``offset``, the median offset), and the share of the query's sampled
    frames within it that matched."""
    pairs = [(h.query_time_s, h.frame_time_s) for h in consistent if h.query_time_s is not None and h.frame_time_s is not None]
    if not pairs:
        return None
    q0 = min(q for q, _ in pairs)
    q1 = max(q for q, _ in pairs)
    matched = {q for q, _ in pairs}
    inside = [t for t in query_times if q0 - 1e-6 <= t <= q1 + 1e-6]
    return {
        "query_start_s": round(q0, 2),
        "query_end_s": round(q1, 2),
        "archive_start_s": round(max(0.0, q0 + offset), 2),
        "archive_end_s": round(max(0.0, q1 + offset), 2),
        "segment_frames": len(matched),
        "segment_share": round(len(matched) / max(1, len(inside)), 3),
    }


def _confirmed(m: Match) -> bool:
    """Did keypoints confirm this match (not hashes alone)?"""
    return m.confident and (bool(m.detail.get("confirmed")) or "(confirmed)" in m.method)


def _take_derived(outcome: MatchOutcome, found: list[Match], candidates: Iterable[Match]) -> bool:
    """Fold one derived query's result into the outcome: its matches replace those items'
    candidates (True: stop trying further derived queries), else its candidates join the list."""
    if found:
        ids = {m.item.id for m in found}
        outcome.candidates = [c for c in outcome.candidates if c.item.id not in ids]
        outcome.matches.extend(found)
        return True
    have = {c.item.id for c in outcome.candidates}
    outcome.candidates.extend(m for m in candidates if m.item.id not in have)
    return False


def _from_derived_video(m: Match, d: Any) -> Match:
    """A match found through a derived video: as for a derived still, plus the cue that found the region."""
    found = _from_derived(m, d)
    return replace(found, detail={**found.detail, "cue": d.cue})


def _region_of(variant: str) -> str:
    """The part of the query a hash was taken from (``full``, ``trim``, ``inner``, ``strip``)."""
    return variant.split("-")[0] if variant.startswith(("trim", "inner", "strip")) else "full"


def _region(hit: Hit) -> str:
    return _region_of(hit.query_variant)


def _regions(hit: Hit, qfeats: QueryFeatures) -> tuple[str, ...]:
    """The hit's own query region first, then every other region the query has."""
    first = _region(hit)
    return (first, *(r for r in qfeats.regions if r != first))


def _method(hit: Hit, geometry: Geometry) -> str:
    text = f"phash-v2 {hit.query_variant}~{hit.variant} d={hit.distance}"
    if geometry is not NO_GEOMETRY:
        text += f", orb {geometry.inliers} inliers" + (" mirrored" if geometry.mirrored else "")
        if geometry.confirmed:
            text += " (confirmed)"
    return text


__all__ = ["HammingIndex", "MatchOutcome", "Matcher"]
