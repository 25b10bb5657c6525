"""The use cases both front ends call: ingest, match, inspect, warn, decide.

Nothing here prints or renders. Each function takes plain values and returns dataclasses, raising
``VerifyError`` with an editor-readable message when something cannot be done.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from verify import fingerprints as fingerprinting
from verify import metadata as metadata_reader
from verify.config import Settings
from verify.errors import NotAllowed, StoreError, TooLarge, UnreadableMedia, VerifyError
from verify.matching import MatchOutcome, Matcher
from verify.media import Sniffed, open_image, probe_video, sniff_file
from verify.models import (
    VERDICT_STATUSES,
    WARNING_CATEGORIES,
    Claim,
    Event,
    Fingerprint,
    ItemState,
    Match,
    MediaItem,
    Metadata,
    Origin,
)
from verify.store import BlobStore, ItemFilter, NewItem, Staged, Store, sha256_file
from verify.text.terms import describe, index_terms


@dataclass
class Analysis:
    """Everything computed from a file's bytes, before anything is stored."""

    sha256: str
    bytes: int
    kind: str
    mime: str
    width: int | None
    height: int | None
    duration_s: float | None
    metadata: Metadata
    fingerprints: list[Fingerprint]


def analyse(path: Path, settings: Settings, *, sha256: str | None = None, for_archive: bool = True) -> Analysis:
    """Sniff, validate, read metadata and fingerprint one file. Pure apart from reading the file.

    Raises ``VerifyError`` subclasses only; any other exception from a codec is turned into an
    ``UnreadableMedia`` so callers can report it per file and carry on.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableMedia(f"The file cannot be read: {exc.strerror or 'access denied'}.") from exc
    if size > settings.max_file_bytes:
        raise TooLarge(f"The file is larger than the limit of {settings.max_file_bytes / 1024**2:,.0f} MB.")
    try:
        sniffed = sniff_file(path)
        width: int | None
        height: int | None
        duration: float | None = None
        if sniffed.kind == "image":
            with open_image(path, settings.max_image_pixels) as im:
                width, height = im.size
        else:
            info = probe_video(path, settings.max_video_pixels, settings.max_video_seconds)
            width, height, duration = info.width, info.height, info.duration_s
        fps = fingerprinting.compute(path, sniffed, settings, for_archive=for_archive)
        meta = metadata_reader.read(path, sniffed, settings)
        digest = sha256 or sha256_file(path)
    except VerifyError:
        raise
    except MemoryError as exc:
        raise TooLarge("The file needs more memory to decode than is safe.") from exc
    except PermissionError as exc:
        raise UnreadableMedia("The file cannot be read: permission denied.") from exc
    except Exception as exc:
        raise UnreadableMedia(f"The file is damaged and cannot be read ({type(exc).__name__}).") from exc
    if meta.width is None:
        meta.width, meta.height = width, height
    return Analysis(digest, size, sniffed.kind, sniffed.mime, width, height, duration, meta, fps)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _without_surrogates(text: str) -> str:
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def safe_filename(name: str | None) -> str | None:
    """The last path component, without control characters: names come from strangers."""
    if not name:
        return None
    # Names read from a disk may not be UTF-8 (Python carries the bytes as lone surrogates, which
    # no database accepts): turn undecodable bytes into U+FFFD.
    name = _without_surrogates(name) if _has_surrogates(name) else name
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = _CONTROL.sub("_", name).strip()
    if name in ("", ".", ".."):
        return None
    return name[:255]


@dataclass
class IngestResult:
    item: MediaItem
    created: bool
    analysis: Analysis | None = None


@dataclass
class MatchReport:
    """The outcome of matching one file, stored or not."""

    sha256: str
    kind: str
    analysis: Analysis
    outcome: MatchOutcome


@dataclass
class ItemView:
    """What the item page and the report need about one item."""

    item: MediaItem
    metadata: Metadata
    state: ItemState
    events: list[Event]
    fingerprints: list[Fingerprint]
    outcome: MatchOutcome = field(default_factory=MatchOutcome)


class Services:
    """The verification desk: one store, one media folder, one archive index."""

    def __init__(self, settings: Settings, *, isolate: bool = False) -> None:
        self.settings = settings
        # isolate=True: decode uploads in a sandboxed child process (time limit, memory ceiling),
        # so a hostile file that hangs or crashes a codec cannot take the workbench down.
        self.sandbox = None
        if isolate:
            from verify.sandbox import Sandbox

            self.sandbox = Sandbox.for_settings(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.database_url)
        self.blobs = BlobStore(settings.media_dir)
        self.matcher = Matcher(self.store.iter_fingerprints, self.store.items_by_ids, self.blobs.path_for)
        # Items this process knows the match index holds; another desk (a second workbench, a CLI
        # run) sharing the database changes the count, and the index is reloaded before matching.
        self._known_items = self.store.count_items()

    @property
    def statuses(self) -> tuple[str, ...]:
        return self.settings.verdict_statuses or VERDICT_STATUSES

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        self.store.close()

    def analyse(self, path: Path, *, sha256: str | None = None, for_archive: bool = True) -> Analysis:
        """``analyse`` in the sandbox when this desk isolates decoding, else in this process."""
        if self.sandbox is not None:
            return self.sandbox.analyse(path, self.settings, sha256=sha256, for_archive=for_archive)
        return analyse(path, self.settings, sha256=sha256, for_archive=for_archive)

    # -- ingest ------------------------------------------------------------------------------

    def ingest_path(
        self, path: Path, *, claim: Claim = Claim(), origin: Origin = "archive", actor: str, filename: str | None = None
    ) -> IngestResult:
        staged = self.blobs.stage_file(Path(path), self.settings.max_file_bytes)
        return self._ingest_staged(staged, claim=claim, origin=origin, actor=actor, filename=filename or Path(path).name)

    def ingest_stream(
        self, stream: BinaryIO, *, filename: str | None, claim: Claim = Claim(), origin: Origin = "submission", actor: str
    ) -> IngestResult:
        staged = self.blobs.stage_stream(stream, self.settings.max_file_bytes)
        return self._ingest_staged(staged, claim=claim, origin=origin, actor=actor, filename=filename)

    def ingest_bytes(
        self, data: bytes, *, filename: str | None, claim: Claim = Claim(), origin: Origin = "submission", actor: str
    ) -> IngestResult:
        staged = self.blobs.stage_bytes(data, self.settings.max_file_bytes)
        return self._ingest_staged(staged, claim=claim, origin=origin, actor=actor, filename=filename)

    def _ingest_staged(self, staged: Staged, *, claim: Claim, origin: Origin, actor: str, filename: str | None) -> IngestResult:
        actor = require_actor(actor)
        try:
            existing = self.store.item_by_sha(staged.sha256)
            if existing is not None:
                return IngestResult(existing, False)
            analysis = self.analyse(staged.path, sha256=staged.sha256)
            return self.store_analysis(analysis, staged, claim=claim, origin=origin, actor=actor, filename=filename)
        finally:
            self.blobs.discard(staged)

    def store_analysis(
        self, analysis: Analysis, staged: Staged, *, claim: Claim, origin: Origin, actor: str, filename: str | None
    ) -> IngestResult:
        """Record an analysed file and put its original in place, atomically."""
        if analysis.sha256 != staged.sha256:
            raise StoreError("The file changed while it was being read; nothing was stored. Try again.")
        created_blob = False

        def place_original() -> None:
            nonlocal created_blob
            # Decide ownership before linking: if linking half-fails, the file is still ours to undo.
            created_blob = not self.blobs.exists(staged.sha256)
            self.blobs.commit(staged)

        new = NewItem(
            sha256=analysis.sha256,
            kind=analysis.kind,
            mime=analysis.mime,
            bytes=analysis.bytes,
            width=analysis.width,
            height=analysis.height,
            duration_s=analysis.duration_s,
            filename=safe_filename(filename),
            origin=origin,
            claim=claim,
            metadata=analysis.metadata,
            fingerprints=analysis.fingerprints,
        )
        try:
            item, created = self.store.add_item(new, actor, before_commit=place_original)
        except BaseException:
            if created_blob:
                self.blobs.remove_uncommitted(analysis.sha256)
            raise
        if created:
            self.matcher.add(item.id, analysis.fingerprints)
            self._known_items += 1
        return IngestResult(item, created, analysis)

    def refresh_fingerprints(
        self, on_item: Callable[[int, str | None], None] | None = None, lacking: list[tuple[int, str]] | None = None
    ) -> tuple[int, int]:
        """Give stored pictures the fingerprints a newer version added (keypoint words).

        Originals are only read. Each item's rows are committed on their own, so an interrupted
        run resumes where it stopped; a picture with no keypoints gets an empty record so it is
        not decoded again. Returns (updated, failed); ``on_item(item_id, error)`` follows along.
        ``lacking``: the items to update, when the caller already asked ``Store.items_lacking``.
        """
        from verify.fingerprints import keypoint_words
        from verify.fingerprints.keypoints import NAME

        updated = failed = 0
        for item_id, sha256 in self.store.items_lacking(NAME) if lacking is None else lacking:
            path = self.blobs.path_for(sha256)
            try:
                if self.sandbox is not None:
                    fps = self.sandbox.call(keypoint_words, path, self.settings.max_image_pixels)
                else:
                    fps = keypoint_words(path, self.settings.max_image_pixels)
                self.store.add_fingerprints(item_id, fps or [Fingerprint(NAME, "words", b"")])
            except Exception as exc:  # a missing or unreadable original: reported, the rest go on
                failed += 1
                if on_item:
                    on_item(item_id, str(exc) or type(exc).__name__)
                continue
            updated += 1
            if on_item:
                on_item(item_id, None)
        if updated:
            self.matcher.reset()  # reloaded with the new words on next use
        return updated, failed

    # -- match -------------------------------------------------------------------------------

    def match_path(self, path: Path, *, exclude_item_id: int | None = None) -> MatchReport:
        """Match a file against the archive without storing it."""
        analysis = self.analyse(Path(path), for_archive=False)
        existing = self.store.item_by_sha(analysis.sha256)
        exclude = exclude_item_id if exclude_item_id is not None else (existing.id if existing else None)
        self._sync_index()
        outcome = self.matcher.match(analysis.fingerprints, query_path=Path(path), exclude_item_id=exclude)
        self._add_text_candidates(outcome, [t for _k, t in index_terms(analysis.metadata.text)], exclude)
        return MatchReport(analysis.sha256, analysis.kind, analysis, outcome)

    def match_item(self, item_id: int) -> MatchOutcome:
        """Matches of a stored item against the rest of the archive."""
        item = self.store.item(item_id)
        fps = self.store.fingerprints(item_id)
        self._sync_index()
        outcome = self.matcher.match(fps, query_path=self.blobs.path_for(item.sha256), exclude_item_id=item_id)
        self._add_text_candidates(outcome, self.store.text_terms(item_id), item_id)
        return outcome

    def _add_text_candidates(self, outcome: MatchOutcome, terms: list[str], exclude_item_id: int | None) -> None:
        """Archive items whose pictures carry the same handle, address or sentence: worth a look.

        Never confident matches: two different pictures can carry one watermark. Items already
        matched or suggested by their pixels are not repeated.
        """
        if not terms:
            return
        seen = {m.item.id for m in (*outcome.matches, *outcome.candidates)}
        shared = [(i, t) for i, t in self.store.items_sharing_text(terms, exclude_item_id=exclude_item_id) if i not in seen]
        if not shared:
            return
        items = self.store.items_by_ids([i for i, _ in shared])
        for item_id, found in shared:
            if item_id not in items:
                continue
            what = ", ".join(describe(t) for t in sorted(found, key=lambda t: not t.startswith("handle:"))[:3])
            outcome.candidates.append(
                Match(
                    item=items[item_id],
                    score=round(min(0.5, 0.2 + 0.1 * len(found)), 2),
                    distance=64,
                    method=f"shared text: {what}",
                    confident=False,
                    detail={"shortlist": "text", "text_terms": found},
                )
            )

    def _sync_index(self) -> None:
        """Reload the in-memory match index when other processes added items to the shared store."""
        count = self.store.count_items()
        if count != self._known_items:
            self.matcher.reset()
            self._known_items = count

    # -- inspect -----------------------------------------------------------------------------

    def inspect(self, item_id: int, *, with_matches: bool = True) -> ItemView:
        item = self.store.item(item_id)
        view = ItemView(
            item=item,
            metadata=self.store.metadata(item_id),
            state=self.store.state(item_id, self.statuses[0]),
            events=self.store.events(item_id),
            fingerprints=self.store.fingerprints(item_id),
        )
        if with_matches:
            view.outcome = self.match_item(item_id)
        return view

    def list_items(self, f: ItemFilter = ItemFilter()) -> list[tuple[MediaItem, str, list[str]]]:
        return self.store.list_items(f)

    def original_path(self, item: MediaItem) -> Path:
        return self.blobs.path_for(item.sha256)

    # -- editorial actions -------------------------------------------------------------------

    def add_warning(self, item_id: int, category: str, *, actor: str, note: str | None = None, expected_version: int | None = None) -> ItemState:
        if category not in WARNING_CATEGORIES:
            raise VerifyError(f"Unknown warning category {category!r}; use one of: {', '.join(WARNING_CATEGORIES)}.")
        if category == "other" and not (note and note.strip()):
            raise VerifyError("A warning of category 'other' needs a note saying what it is.")
        return self.store.apply_editorial(
            item_id, require_actor(actor), "warning_added", {"category": category, "note": (note or "").strip() or None}, expected_version, self.statuses[0]
        )

    def remove_warning(self, item_id: int, category: str, *, actor: str, reason: str | None = None, expected_version: int | None = None) -> ItemState:
        return self.store.apply_editorial(
            item_id, require_actor(actor), "warning_removed", {"category": category, "reason": reason}, expected_version, self.statuses[0]
        )

    def record_verdict(
        self,
        item_id: int,
        status: str,
        rationale: str,
        *,
        actor: str,
        evidence_links: list[str] | tuple[str, ...] = (),
        expected_version: int | None = None,
    ) -> ItemState:
        if status not in self.statuses:
            raise VerifyError(f"Unknown status {status!r}; use one of: {', '.join(self.statuses)}.")
        if not rationale or not rationale.strip():
            raise VerifyError("A verdict needs a rationale: say why, for the record.")
        links = [link.strip() for link in evidence_links if link and link.strip()]
        return self.store.apply_editorial(
            item_id,
            require_actor(actor),
            "verdict_set",
            {"status": status, "rationale": rationale.strip(), "evidence_links": links},
            expected_version,
            self.statuses[0],
        )

    # -- workbench helpers (notes, exports) ----------------------------------------------------

    def add_note(self, item_id: int, text: str, *, actor: str, expected_version: int | None = None) -> ItemState:
        """A free note on the record, e.g. the claim that came with a second copy of the same file."""
        if not text or not text.strip():
            raise VerifyError("A note cannot be empty.")
        return self.store.apply_editorial(
            item_id, require_actor(actor), "note", {"text": text.strip()[:5000]}, expected_version, self.statuses[0]
        )

    CLAIM_FIELDS = (
        "source", "source_url", "source_contact", "claimed_place", "claimed_lat", "claimed_lon", "claimed_date", "note",
        "first_seen_at",
    )

    def update_claim(self, item_id: int, changes: dict[str, object], *, actor: str, expected_version: int | None = None) -> ItemState:
        """Correct what came with a file (a typo in the place, a point found by geolocation).

        The item's row changes and a ``claim_updated`` event records old and new values with who
        and when, in one transaction; a change against an older version is a ``Conflict``.
        """
        from datetime import date as _date

        from sqlalchemy import update as sa_update

        from verify.store import schema as _schema

        item = self.store.item(item_id)
        unknown = set(changes) - set(self.CLAIM_FIELDS)
        if unknown:
            raise VerifyError(f"These are not claim fields: {', '.join(sorted(unknown))}.")
        clean: dict[str, object] = {}
        for name, value in changes.items():
            if isinstance(value, str):
                value = _CONTROL.sub(" ", value).strip()[:5000] or None
            if name in ("claimed_lat", "claimed_lon") and value is not None:
                try:
                    value = float(value)  # type: ignore[arg-type]
                except (TypeError, ValueError) as exc:
                    raise VerifyError("Latitude and longitude must be numbers.") from exc
                limit = 90 if name == "claimed_lat" else 180
                if not -limit <= value <= limit:
                    raise VerifyError(f"{'Latitude' if name == 'claimed_lat' else 'Longitude'} must be between -{limit} and {limit}.")
            if name == "claimed_date" and value is not None and not isinstance(value, _date):
                raise VerifyError("The claimed date must be a date.")
            if name == "first_seen_at" and value is not None:
                from datetime import UTC as _UTC
                from datetime import datetime as _datetime
                from datetime import time as _time

                if not isinstance(value, _date):
                    raise VerifyError("The first-seen date must be a date.")
                if not isinstance(value, _datetime):
                    value = _datetime.combine(value, _time(12, 0), _UTC)
                elif value.tzinfo is None:
                    value = value.replace(tzinfo=_UTC)
                current = item.first_seen_at
                if current is not None and current.date() == value.date():
                    continue  # same day: keep the recorded time
            if getattr(item, name) != value:
                clean[name] = value
        lat = clean.get("claimed_lat", item.claimed_lat)
        lon = clean.get("claimed_lon", item.claimed_lon)
        if (lat is None) != (lon is None):
            raise VerifyError("Give both latitude and longitude for the claimed place, or neither.")
        if not clean:
            raise VerifyError("Nothing changed in the claim.")

        def as_json(v: object) -> object:
            return v.isoformat() if isinstance(v, _date) else v

        payload = {
            "changes": {k: as_json(v) for k, v in clean.items()},
            "previous": {k: as_json(getattr(item, k)) for k in clean},
        }

        def write_row(conn) -> None:  # type: ignore[no-untyped-def]
            conn.execute(sa_update(_schema.media_item).where(_schema.media_item.c.id == item_id).values(**clean))

        return self.store.apply_editorial(
            item_id, require_actor(actor), "claim_updated", payload, expected_version, self.statuses[0], also=write_row
        )

    def record_export(self, item_id: int | None, what: str, *, actor: str) -> Event:
        """Exports leave the desk: the log says who took what out, and when."""
        return self.store.append_event(item_id, require_actor(actor), "exported", {"what": what})


def require_actor(actor: str | None) -> str:
    """Every event is attributed: refuse anonymous changes."""
    name = (actor or "").strip()
    if not name:
        raise NotAllowed("Say who you are first: every change is recorded with the editor's name.")
    return _CONTROL.sub(" ", name)[:200]


__all__ = [
    "Analysis",
    "IngestResult",
    "ItemFilter",
    "ItemView",
    "MatchReport",
    "Services",
    "Sniffed",
    "analyse",
    "require_actor",
    "safe_filename",
]
