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
from typing import TYPE_CHECKING, BinaryIO

from verify import fingerprints as fingerprinting
from verify import metadata as metadata_reader
from verify.config import Settings
from verify.errors import NotAllowed, StoreError, TooLarge, UnreadableMedia, UnsupportedMedia, VerifyError
from verify.fingerprints import ALGORITHMS
from verify.matching import MatchOutcome, Matcher
from verify.matching.identical import identical_match
from verify.matching.persist import PersistentIndex
from verify.media import Sniffed, checked_size, open_image, probe_video, sniff_file
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
from verify.roles import Action, Role
from verify.store import BlobStore, ItemFilter, NewItem, Staged, Store, sha256_file
from verify.text.terms import describe, index_terms

if TYPE_CHECKING:
    from verify.banks import Banks, ImportResult
    from verify.linkdesk import LinkResult
    from verify.store.links import ItemLink


@dataclass
class Analysis:
    """Everything computed from a file's bytes, before anything is stored.

    ``decode_error`` is set when the picture itself could not be decoded (damaged frames, a DASH
    init segment with no samples, a codec FFmpeg lacks) although the container's metadata was
    read: such an analysis carries no fingerprints and is never stored (``Services.store_analysis``
    refuses it), but ``verify meta`` still reports everything the file says about itself.
    """

    sha256: str
    bytes: int
    kind: str
    mime: str
    width: int | None
    height: int | None
    duration_s: float | None
    metadata: Metadata
    fingerprints: list[Fingerprint]
    decode_error: str | None = None
    decode_error_type: str = "UnreadableMedia"  # TooLarge when a limit refused the decode
    #: Archive stills: the keypoints confirmation compares with (``matching/stored_features.py``).
    confirm_features: bytes | None = None

    def decode_refusal(self) -> VerifyError | None:
        """The error that keeps this file out of the archive and the matcher, or ``None``."""
        if self.decode_error is None:
            return None
        cls = TooLarge if self.decode_error_type == "TooLarge" else UnreadableMedia
        return cls(not_decoded_message(self.decode_error))


def not_decoded_message(reason: str) -> str:
    """One sentence for the ``error`` field: why the picture failed, and what that means."""
    reason = reason.rstrip(". ")
    return (
        f"The picture itself could not be decoded ({reason}). Its container metadata was read, "
        "but no fingerprint was made: it cannot be matched or stored."
    )


def analyse(
    path: Path, settings: Settings, *, sha256: str | None = None, for_archive: bool = True, keep_undecodable: bool = False
) -> Analysis:
    """Sniff, validate, read metadata and fingerprint one file. Pure apart from reading the file.

    Metadata does not depend on decoding the pixels: the header check and the fingerprints run
    first, and when either fails the container metadata is still read. With
    ``keep_undecodable`` such a file comes back as an ``Analysis`` whose ``decode_error`` says
    why (and no fingerprints); without it the decode failure is raised as before, so callers
    that need pixels (ingest, match, hash) keep their contract.

    Raises ``VerifyError`` subclasses only; any other exception from a codec is turned into an
    ``UnreadableMedia`` so callers can report it per file and carry on. A file too large to read
    or of no recognised type raises either way: there is no container to read.
    """
    size = checked_size(path, settings.max_file_bytes)
    try:
        sniffed = sniff_file(path)
    except VerifyError:
        raise
    except PermissionError as exc:
        raise UnreadableMedia("The file cannot be read: permission denied.") from exc
    except OSError as exc:
        raise UnreadableMedia(f"The file cannot be read: {exc.strerror or 'read error'}.") from exc
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: list[Fingerprint] = []
    failure: VerifyError | None = None
    try:
        if sniffed.kind == "image":
            with open_image(path, settings.max_image_pixels) as im:
                width, height = im.size
        else:
            info = probe_video(path, settings.max_video_pixels, settings.max_video_seconds)
            width, height, duration = info.width, info.height, info.duration_s
        fps = fingerprinting.compute(path, sniffed, settings, for_archive=for_archive)
    except VerifyError as exc:
        failure = exc
    except MemoryError:
        failure = TooLarge("The file needs more memory to decode than is safe.")
    except PermissionError:
        raise UnreadableMedia("The file cannot be read: permission denied.") from None
    except Exception as exc:
        failure = UnreadableMedia(f"The file is damaged and cannot be read ({type(exc).__name__}).")
    if failure is not None:
        if not keep_undecodable:
            raise failure
        fps = []
    try:
        meta = metadata_reader.read(path, sniffed, settings)  # never raises for a metadata problem
        digest = sha256 or sha256_file(path)
    except VerifyError:
        raise
    except MemoryError as exc:
        raise TooLarge("The file needs more memory to read than is safe.") from exc
    except PermissionError as exc:
        raise UnreadableMedia("The file cannot be read: permission denied.") from exc
    except Exception as exc:
        raise UnreadableMedia(f"The file is damaged and cannot be read ({type(exc).__name__}).") from exc
    if meta.width is None:
        meta.width, meta.height = width, height
    if failure is not None:
        reason = str(failure)
        if meta.raw.get("QuickTime:VideoSampleCount") == "0":
            reason = reason.rstrip(". ") + "; the header lists no frames (a DASH or HLS initialisation segment, or a movie whose media is missing)."
        meta.decode_error = reason
        # What the container says stands in for what the decoder would have measured.
        width, height = width or meta.width, height or meta.height
        duration = duration or meta.duration_s
        return Analysis(digest, size, sniffed.kind, sniffed.mime, width, height, duration, meta, [],
                        decode_error=reason, decode_error_type=type(failure).__name__)  # fmt: skip
    stored = None
    if for_archive and sniffed.kind == "image":
        from verify.matching import stored_features

        try:
            stored = stored_features.compute(path)
        except Exception:  # confirmation then decodes the original, as before
            stored = None
    return Analysis(digest, size, sniffed.kind, sniffed.mime, width, height, duration, meta, fps, confirm_features=stored)


#: The metadata readers' own time limit when the decoder had to be stopped: they are bounded
#: walks and header reads, seconds at most, so a decoder that hung does not cost the metadata.
METADATA_ONLY_TIMEOUT_S = 30.0


def read_without_decoding(path: Path, settings: Settings, reason: str) -> Analysis:
    """The container metadata alone, nothing decoded: for a file whose decoder hung or crashed.

    ``reason`` is why the full analysis stopped; it becomes the ``decode_error``.
    """
    size = checked_size(path, settings.max_file_bytes)
    sniffed = sniff_file(path)
    meta = metadata_reader.read(path, sniffed, settings)
    meta.decode_error = reason
    return Analysis(sha256_file(path), size, sniffed.kind, sniffed.mime, meta.width, meta.height, meta.duration_s,
                    meta, [], decode_error=reason)  # fmt: skip


def analyse_for_metadata(path: Path, settings: Settings) -> Analysis:
    """``analyse`` in the decoding sandbox, keeping the metadata of a picture that fails to decode.

    What ``verify meta`` runs: the query side (no archive crops), bounded like every decode. When
    the sandbox had to stop the decoder (time limit, crash, memory ceiling), the metadata is read
    again without decoding anything, in a fresh worker with a limit of its own; if that fails too,
    the first error stands.
    """
    from verify.sandbox import default_sandbox

    box = default_sandbox(settings)
    try:
        return box.call(analyse, Path(path), settings, for_archive=False, keep_undecodable=True)  # type: ignore[no-any-return]
    except UnsupportedMedia:
        raise
    except (UnreadableMedia, TooLarge) as first:
        limit = min(METADATA_ONLY_TIMEOUT_S, max(5.0, settings.decode_timeout_s or METADATA_ONLY_TIMEOUT_S))
        try:
            return box.call(read_without_decoding, Path(path), settings, str(first), timeout_s=limit)  # type: ignore[no-any-return]
        except VerifyError:
            raise first from None


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
        # The match index lives in files under the data folder (one set per database), checked
        # against the store on open and extended by fingerprint id: see matching/persist.py.
        persistent = PersistentIndex(settings.data_dir / "index" / _index_key(settings.database_url), self.store, ALGORITHMS)
        self.matcher = Matcher(self.store.iter_fingerprints, self.store.items_by_ids, self.blobs.path_for, persistent=persistent,
                               stored_features=self._stored_features)  # fmt: skip

    def _stored_features(self, item_id: int) -> object | None:
        from verify.matching import stored_features

        try:
            data = self.store.features(item_id, stored_features.VERSION)
        except Exception:  # the store cannot say: confirmation decodes the original instead
            return None
        return stored_features.unpack(data) if data else None

    @property
    def statuses(self) -> tuple[str, ...]:
        return self.settings.verdict_statuses or VERDICT_STATUSES

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        self.store.close()

    def analyse(self, path: Path, *, sha256: str | None = None, for_archive: bool = True) -> Analysis:
        """``analyse`` in the sandbox when this desk isolates decoding, else in this process.

        A picture that cannot be decoded raises here, as before (ingest and match need pixels);
        ``verify meta`` calls ``analyse(..., keep_undecodable=True)`` for the metadata alone.
        """
        if self.sandbox is not None:
            return self.sandbox.analyse(path, self.settings, sha256=sha256, for_archive=for_archive)
        return analyse(path, self.settings, sha256=sha256, for_archive=for_archive)

    # -- ingest ------------------------------------------------------------------------------

    def ingest_path(
        self, path: Path, *, claim: Claim = Claim(), origin: Origin = "archive", actor: str, filename: str | None = None
    ) -> IngestResult:
        self.require(actor, Action.UPLOAD)
        staged = self.blobs.stage_file(Path(path), self.settings.max_file_bytes)
        return self._ingest_staged(staged, claim=claim, origin=origin, actor=actor, filename=filename or Path(path).name)

    def ingest_stream(
        self, stream: BinaryIO, *, filename: str | None, claim: Claim = Claim(), origin: Origin = "submission", actor: str
    ) -> IngestResult:
        self.require(actor, Action.UPLOAD)
        staged = self.blobs.stage_stream(stream, self.settings.max_file_bytes)
        return self._ingest_staged(staged, claim=claim, origin=origin, actor=actor, filename=filename)

    def ingest_bytes(
        self, data: bytes, *, filename: str | None, claim: Claim = Claim(), origin: Origin = "submission", actor: str
    ) -> IngestResult:
        self.require(actor, Action.UPLOAD)
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
        """Record an analysed file and put its original in place, atomically.

        The rules for what is storable are unchanged: a file whose picture could not be decoded
        is refused here (nothing is written), whatever its metadata says.
        """
        self.require(actor, Action.UPLOAD)
        refusal = analysis.decode_refusal()
        if refusal is not None:
            raise refusal
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
            if analysis.confirm_features:
                from verify.matching import stored_features

                try:
                    self.store.add_features(item.id, stored_features.VERSION, analysis.confirm_features)
                except Exception:  # derived data: without it, confirmation decodes the original
                    pass
            self.matcher.add(item.id, analysis.fingerprints)
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
            self.matcher.sync()  # the new words have new fingerprint ids: taken in like any addition
        if lacking is None:
            # Pictures stored before PDQ existed get it too (exports and bank checks need it).
            more, more_failed = self.refresh_exchange_hashes()
            updated, failed = updated + more, failed + more_failed
        return updated, failed

    # -- match -------------------------------------------------------------------------------

    def match_path(self, path: Path, *, exclude_item_id: int | None = None) -> MatchReport:
        """Match a file against the archive without storing it.

        When the very bytes are already stored, that item is the strongest possible match and
        comes first (``identical_match``): an editor who checks a file the desk already holds must
        be told so before anything else. The other copies are found by matching with the
        identical item left out, so it is never listed twice.
        """
        analysis = self.analyse(Path(path), for_archive=False)
        existing = self.store.item_by_sha(analysis.sha256)
        exclude = exclude_item_id if exclude_item_id is not None else (existing.id if existing else None)
        self._sync_index()
        outcome = self.matcher.match(analysis.fingerprints, query_path=Path(path), exclude_item_id=exclude)
        if existing is not None and existing.id != exclude_item_id:
            outcome = MatchOutcome(
                [identical_match(existing), *(m for m in outcome.matches if m.item.id != existing.id)],
                [m for m in outcome.candidates if m.item.id != existing.id],
            )
        outcome.bank_hits = self.banks.match(analysis.fingerprints)
        self._add_text_candidates(outcome, [t for _k, t in index_terms(analysis.metadata.text)], exclude)
        return MatchReport(analysis.sha256, analysis.kind, analysis, outcome)

    def match_item(self, item_id: int) -> MatchOutcome:
        """Matches of a stored item against the rest of the archive."""
        item = self.store.item(item_id)
        fps = self.store.fingerprints(item_id)
        self._sync_index()
        outcome = self.matcher.match(fps, query_path=self.blobs.path_for(item.sha256), exclude_item_id=item_id)
        outcome.bank_hits = self.banks.match(fps if any(f.algorithm == "pdq" for f in fps) else self._exchange_hashes_now(item))
        self._add_text_candidates(outcome, self.store.text_terms(item_id), item_id)
        return outcome

    def _exchange_hashes_now(self, item: MediaItem) -> list[Fingerprint]:
        """PDQ of a picture stored before PDQ existed, computed for this check only (``export-hashes``
        and ``index`` store it); a video stored before keeps none until it is indexed again."""
        from verify.fingerprints import exchange_fingerprints

        if item.kind != "image":
            return []
        try:
            path = self.blobs.path_for(item.sha256)
            if self.sandbox is not None:
                return self.sandbox.call(exchange_fingerprints, path, self.settings.max_image_pixels)
            return exchange_fingerprints(path, self.settings.max_image_pixels)
        except Exception:
            return []  # an unreadable original: no bank check, as for any item without PDQ

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
        """Take in what other processes (a colleague's workbench, ``verify index``) stored meanwhile.

        Rows are read by fingerprint id past what the index holds: one indexed query, and no
        reload however many items the archive has.
        """
        self.matcher.sync()

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
        self.require(actor, Action.WARN)
        if category not in WARNING_CATEGORIES:
            raise VerifyError(f"Unknown warning category {category!r}; use one of: {', '.join(WARNING_CATEGORIES)}.")
        if category == "other" and not (note and note.strip()):
            raise VerifyError("A warning of category 'other' needs a note saying what it is.")
        return self.store.apply_editorial(
            item_id, require_actor(actor), "warning_added", {"category": category, "note": (note or "").strip() or None}, expected_version, self.statuses[0]
        )

    def remove_warning(self, item_id: int, category: str, *, actor: str, reason: str | None = None, expected_version: int | None = None) -> ItemState:
        self.require(actor, Action.WARN)
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
        self.require_verdict(actor, item_id, status)
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
        self.require(actor, Action.NOTE)
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

        self.require(actor, Action.CLAIM)
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

    # -- hash exchange (issue 12): PDQ banks and exports ----------------------------------------

    @property
    def banks(self) -> Banks:
        """Partners' PDQ lists; created on first use (a desk that never imports pays nothing)."""
        if getattr(self, "_banks", None) is None:
            from verify.banks import Banks as _Banks

            self._banks = _Banks(self.store)
        return self._banks

    def import_hashes(self, path: Path, *, bank: str, actor: str) -> ImportResult:
        """Load a partner's hash list into a bank: all of it in one attributed event, or nothing."""
        actor = require_actor(actor)
        self.require(actor, Action.UPLOAD)
        path = Path(path)
        try:
            size = path.stat().st_size
            limit = min(self.settings.max_file_bytes, 512 * 1024**2)  # ~7M 'pdq <hex>' lines; read into memory
            if size > limit:
                raise TooLarge(f"The hash list is larger than the limit of {limit / 1024**2:,.0f} MB; split it.")
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableMedia(f"The hash list cannot be read: {exc.strerror or 'access denied'}.") from exc
        return self.banks.import_list(data, bank=bank, actor=actor, file_name=safe_filename(path.name))

    def backfill_text(
        self, on_item: Callable[[int, str | None], None] | None = None, *, limit: int | None = None
    ) -> tuple[int, int, int]:
        """Read the text in stored pictures and videos that were stored unread (before text reading
        existed, or while it was off). Returns (read, with_text, failed).

        Bounded and resumable: at most ``limit`` items per run, each committed on its own with the
        ``item_text`` row that marks it read (an empty body for a picture without text), so an
        interrupted run goes on where it stopped and a text-free picture is not read twice. Items
        that fail (original missing, engine crash) are reported and tried again on the next run.
        Raises ``VerifyError`` when the engine is off here, saying why.
        """
        from verify import text
        from verify.metadata import read_text

        status = text.engine_status(self.settings.tesseract, self.settings.ocr_langs)
        if not self.settings.ocr or not status.available:
            raise VerifyError(status.reason if self.settings.ocr else "Text reading is off (VERIFY_OCR=0).")
        done = with_text = failed = 0
        for item_id, sha256, kind in self.store.items_lacking_text(limit):
            try:
                path = self.blobs.path_for(sha256)
                if self.sandbox is not None:
                    found = self.sandbox.call(read_text, path, kind, self.settings, kind=kind)
                else:
                    found = read_text(path, kind, self.settings)
                if found is None:
                    raise RuntimeError("the engine read nothing")
                self.store.set_item_text(item_id, found)
            except Exception as exc:  # one unreadable original must not stop the rest
                failed += 1
                if on_item:
                    on_item(item_id, str(exc) or type(exc).__name__)
                continue
            done += 1
            with_text += bool(found.get("lines"))
            if on_item:
                on_item(item_id, None)
        return done, with_text, failed

    def refresh_exchange_hashes(self, on_item: Callable[[int, str | None], None] | None = None) -> tuple[int, int]:
        """Give stored pictures ingested before PDQ existed their exchange hashes (originals only read).

        Returns (updated, failed). Videos stored before keep no frame PDQ: re-index them to add it.
        """
        from verify.fingerprints import EXCHANGE, exchange_fingerprints

        updated = failed = 0
        for name in EXCHANGE:
            for item_id, sha256 in self.store.items_lacking(name):
                try:
                    path = self.blobs.path_for(sha256)
                    if self.sandbox is not None:
                        fps = self.sandbox.call(exchange_fingerprints, path, self.settings.max_image_pixels, (name,))
                    else:
                        fps = exchange_fingerprints(path, self.settings.max_image_pixels, (name,))
                    self.store.add_fingerprints(item_id, fps)
                except Exception as exc:  # a missing or unreadable original: reported, the rest go on
                    failed += 1
                    if on_item:
                        on_item(item_id, str(exc) or type(exc).__name__)
                    continue
                updated += 1
                if on_item:
                    on_item(item_id, None)
        return updated, failed

    def record_export(self, item_id: int | None, what: str, *, actor: str) -> Event:
        """Exports leave the desk: the log says who took what out, and when."""
        self.require(actor, Action.READ)
        return self.store.append_event(item_id, require_actor(actor), "exported", {"what": what})

    # -- roles (issue 17): who may do what; every change above asks ``require`` first ----------

    @property
    def open_statuses(self) -> tuple[str, ...]:
        """Statuses a reporter may set: the built-in open ones that this desk's list has."""
        from verify import roles

        return tuple(s for s in self.statuses if s in roles.OPEN_STATUSES)

    @property
    def default_role(self) -> Role:
        from verify import roles

        return roles.parse_role(self.settings.default_role or "viewer")

    def roles_in_use(self) -> bool:
        """False on a desk where no role was ever granted: the single-user default, everyone admin."""
        from verify.store import roles as role_store

        return role_store.any_grants(self.store)

    def role_of(self, name: str | None) -> Role:
        """A person's role: their latest grant, else the desk's default (admin while no roles exist)."""
        from verify.store import roles as role_store

        who = (name or "").strip()
        if not role_store.any_grants(self.store):
            return Role.ADMIN
        grant = role_store.latest_grant(self.store, _CONTROL.sub(" ", who)[:200]) if who else None
        return Role(grant.role) if grant else self.default_role

    def can(self, actor: str | None, action: Action) -> bool:
        """Whether ``actor`` may do ``action`` now (the workbench greys out what this says no to)."""
        from verify import roles

        if not (actor or "").strip():
            return False
        return roles.allows(self.role_of(actor), action, viewer_reveal=self.settings.viewer_reveal)

    def require(self, actor: str | None, action: Action, *, detail: str | None = None) -> None:
        """Refuse, before anything is read or written, what ``actor``'s role does not allow.

        Raises ``NotAllowed`` with a sentence naming the person, their role and the role needed.
        """
        from verify import roles

        name = require_actor(actor)
        role = self.role_of(name)
        if not roles.allows(role, action, viewer_reveal=self.settings.viewer_reveal):
            raise NotAllowed(roles.refusal(name, role, action, viewer_reveal=self.settings.viewer_reveal, detail=detail))

    def verdict_action(self, item_id: int | None, status: str) -> Action:
        """What setting ``status`` on an item needs: DECIDE for a decisive status or a decided item."""
        from verify import roles

        current = self.store.state(item_id, self.statuses[0]).status if item_id is not None else None
        return roles.verdict_action(status, current, self.open_statuses)

    def require_verdict(self, actor: str | None, item_id: int | None, status: str) -> None:
        from verify import roles

        action = self.verdict_action(item_id, status)
        detail = None
        if action is Action.DECIDE:
            detail = f"setting {status!r}" if roles.is_decisive(status, self.open_statuses) else "reopening a decided item"
        self.require(actor, action, detail=detail)

    def grant_role(self, name: str, role: Role | str, *, actor: str, reason: str | None = None) -> Role:
        """Give ``name`` a role, recorded as an attributed ``role_granted`` event.

        Only an admin may grant, except on a desk with no grants yet: that first grant is made by
        its operator, who becomes admin with it (recorded first, so the desk is never left without
        one). The last admin cannot take admin away from themselves or anyone else.
        """
        from verify import roles
        from verify.store import roles as role_store

        who = require_actor(actor)
        target = require_actor(name)
        new = roles.parse_role(role) if isinstance(role, str) else Role(role)
        note = (_CONTROL.sub(" ", reason).strip()[:1000] or None) if reason else None
        if self.roles_in_use():
            self.require(who, Action.ADMIN, detail="assigning roles")

        def decide(conn, existing: bool) -> list[tuple[str, str, str, str | None]]:  # type: ignore[no-untyped-def]
            rows: list[tuple[str, str, str, str | None]] = []
            if not existing:
                if who == target and new is not Role.ADMIN:
                    raise NotAllowed(
                        f"The first role grant on this desk makes its operator ({who}) admin; "
                        "grant yourself admin first, or grant someone else a role."
                    )
                if who != target:
                    rows.append((who, Role.ADMIN.value, who, "the first role grant on this desk: its operator is admin"))
            else:
                if (role_store.latest_in(conn, who) or self.default_role.value) != Role.ADMIN.value:  # changed meanwhile
                    raise NotAllowed(roles.refusal(who, self.role_of(who), Action.ADMIN, detail="assigning roles"))
                admins = role_store.admins_in(conn)
                if new is not Role.ADMIN and admins == {target}:
                    raise NotAllowed(f"{target} is the last admin of this desk; make someone else admin first.")
            rows.append((target, new.value, who, note))
            return rows

        role_store.append_grants(self.store, decide)
        return new

    def apply_signed_in_role(self, name: str, role: Role, *, source: str = "oidc") -> bool:
        """The role the organisation's sign-in says a person has; recorded when it changes.

        The identity provider is the authority here (the desk was configured to trust it), so no
        admin grants this: the grant is attributed to ``source``. Returns whether a grant was written.
        """
        from verify.store import roles as role_store

        target = require_actor(name)
        new = Role(role)

        def decide(conn, existing: bool) -> list[tuple[str, str, str, str | None]]:  # type: ignore[no-untyped-def]
            if existing and role_store.latest_in(conn, target) == new.value:
                return []
            return [(target, new.value, source, f"role from the sign-in claim ({source})")]

        return bool(role_store.append_grants(self.store, decide))

    def list_roles(self) -> list[dict[str, object]]:
        """Everyone's current role with who gave it and when (the admin page, ``verify role list``)."""
        from verify.store import roles as role_store

        return [
            {"name": g.name, "role": g.role, "granted_by": g.granted_by, "at": g.at, "reason": g.reason}
            for g in role_store.current_roles(self.store)
        ]


    # -- links (issue 14): fetch a post's media with its provenance, import captures ------------

    def fetch_link(self, url: str, *, origin: Origin = "submission", source: str | None = None, actor: str,
                   with_matches: bool = True) -> LinkResult:  # fmt: skip
        """Fetch one link and ingest every photo and video behind it (see ``verify.linkdesk``).

        Never raises for a bad link: the result carries one readable ``error`` and nothing was stored.
        """
        from verify import linkdesk

        self.require(actor, Action.UPLOAD, detail="fetching links")
        return linkdesk.fetch_link(self, url, origin=origin, source=source, actor=require_actor(actor), with_matches=with_matches)

    def import_capture(self, path: Path, *, origin: Origin = "archive", source: str | None = None, actor: str,
                       with_matches: bool = True) -> list[LinkResult]:  # fmt: skip
        """Import captures made elsewhere (yt-dlp folders, WACZ, WARC): one result per capture."""
        from verify import linkdesk

        self.require(actor, Action.UPLOAD, detail="importing captures")
        return linkdesk.import_capture(self, Path(path), origin=origin, source=source, actor=require_actor(actor),
                                       with_matches=with_matches)  # fmt: skip

    def links(self, item_id: int) -> list[ItemLink]:
        """The links an item was fetched from or imported with, oldest first."""
        from verify import linkdesk

        return linkdesk.links_of(self, item_id)

def _index_key(database_url: str) -> str:
    """A folder name per database, so one data folder pointed at two databases keeps two indexes."""
    import hashlib

    return hashlib.sha256(database_url.encode()).hexdigest()[:16]


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
    "analyse_for_metadata",
    "read_without_decoding",
    "require_actor",
    "safe_filename",
]
