"""Fill an empty data folder with the samples, so a newcomer's first screen shows the job.

``samples/archive`` goes in as earlier material (origin ``archive``, with the sources and first-seen
dates of its manifest and the content warning an editor gave the graphic item) and
``samples/incoming`` as new submissions with the claims that came with them. Seeding runs once:
it adds only what is missing while the store holds nothing but samples, and does nothing at all
once an editor's own material is in the store, so it can run on every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

from verify.config import Settings
from verify.errors import VerifyError
from verify.manifest import ManifestRow, read_manifest_rows
from verify.models import Claim, Origin
from verify.services import Services
from verify.store import sha256_file

#: The samples folder of a source checkout (src/verify/seed.py -> the repository root).
DEFAULT_SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_ACTOR = "verify (samples)"
MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".gif", ".mp4", ".mov", ".m4v", ".webm", ".mkv"}


@dataclass(frozen=True)
class SampleFile:
    """One file to seed, with what is known about it."""

    path: Path
    origin: Origin
    claim: Claim
    content_warning: str | None = None
    warning_note: str | None = None


@dataclass
class SeedReport:
    """What seeding did, for the start-up line and for tests."""

    archive_added: int = 0
    incoming_added: int = 0
    already_present: int = 0
    warnings_added: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    skipped_reason: str | None = None
    item_ids: dict[str, int] = field(default_factory=dict)

    @property
    def added(self) -> int:
        return self.archive_added + self.incoming_added

    def message(self) -> str:
        if self.skipped_reason:
            return f"verify: {self.skipped_reason}"
        if self.added:
            text = (
                f"verify: seeded the data folder with {self.added} sample file{'s' if self.added != 1 else ''} "
                f"({self.archive_added} archive, {self.incoming_added} incoming)"
            )
            if self.already_present:
                text += f"; {self.already_present} were already there"
        elif self.problems:
            text = "verify: no sample file could be added"
        else:
            text = "verify: the samples are already in the data folder; nothing to add"
        for name, why in self.problems:
            text += f"\nverify: sample {name} was not added: {why}"
        return text


def _claims_file(folder: Path, name: str) -> list[ManifestRow]:
    path = folder / name
    return read_manifest_rows(path) if path.is_file() else []


def _media_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p.resolve() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in MEDIA_SUFFIXES)


def sample_files(samples_dir: Path) -> list[SampleFile]:
    """The archive files (with manifest.csv) then the incoming files (with claims.csv)."""
    out: list[SampleFile] = []
    for sub, origin, sheet in (("archive", "archive", "manifest.csv"), ("incoming", "submission", "claims.csv")):
        folder = samples_dir / sub
        rows = {r.path: r for r in _claims_file(folder, sheet)}
        for path in _media_in(folder):
            row = rows.get(path)
            if row is None:
                out.append(SampleFile(path, origin, Claim()))  # type: ignore[arg-type]
            else:
                out.append(SampleFile(path, origin, row.claim, row.content_warning, row.warning_note))  # type: ignore[arg-type]
    return out


def seed_from_samples(services: Services, samples_dir: Path | None = None, actor: str = SAMPLE_ACTOR) -> SeedReport:
    """Ingest the samples into an empty store, once; see the module docstring for the rules.

    Returns a report; raises nothing for a file that cannot be read (it is listed in
    ``problems``), only ``VerifyError`` for a broken manifest.
    """
    samples_dir = Path(samples_dir) if samples_dir is not None else DEFAULT_SAMPLES_DIR
    files = sample_files(samples_dir)
    if not files:
        return SeedReport(skipped_reason="no sample files found; starting with an empty data folder")
    count = services.store.count_items()
    if count:
        # Only a store that holds nothing but samples (say, an interrupted first run) is topped up.
        if count > len(files) or not services.store.all_shas() <= {sha256_file(f.path) for f in files}:
            return SeedReport(skipped_reason=f"the data folder already has {count} item{'s' if count != 1 else ''}; the samples were not added")
    report = SeedReport()
    for f in files:
        try:
            result = services.ingest_path(f.path, claim=f.claim, origin=f.origin, actor=actor)
        except VerifyError as exc:
            report.problems.append((f.path.name, str(exc)))
            continue
        report.item_ids[f.path.name] = result.item.id
        if not result.created:
            report.already_present += 1
        elif f.origin == "archive":
            report.archive_added += 1
        else:
            report.incoming_added += 1
        if f.content_warning:
            # Once an editor has touched the item's warnings, theirs is the last word.
            touched = services.store.events(result.item.id, kinds=("warning_added", "warning_removed"))
            if not touched:
                services.add_warning(result.item.id, f.content_warning, actor=actor, note=f.warning_note)
                report.warnings_added += 1
    return report


def _say(line: str) -> None:
    print(line, flush=True)


def seed_on_start(settings: Settings, *, enabled: bool = True, samples_dir: Path | None = None, say: Callable[[str], None] = _say) -> SeedReport | None:
    """What the start command runs before the workbench opens: seed, say what happened, carry on.

    A failure here never stops the workbench from starting; it is reported in one line.
    """
    if not enabled:
        say("verify: VERIFY_NO_SEED is set; the samples were not added")
        return None
    try:
        services = Services(settings)
    except VerifyError as exc:
        say(f"verify: the samples could not be added: {exc}")
        return None
    try:
        report = seed_from_samples(services, samples_dir)
    except VerifyError as exc:
        say(f"verify: the samples could not be added: {exc}")
        return None
    else:
        _refresh(services, say)
    finally:
        services.close()
    say(report.message())
    return report


def _refresh(services: Services, say: Callable[[str], None]) -> None:
    """Pictures stored by an earlier version get the fingerprints this one matches with."""
    try:
        updated, failed = services.refresh_fingerprints()
    except VerifyError as exc:
        say(f"verify: stored pictures could not be brought up to date: {exc}")
        return
    if updated or failed:
        say(f"verify: added keypoint words to {updated} pictures stored by an earlier version" + (f"; {failed} could not be read" if failed else ""))


__all__ = ["DEFAULT_SAMPLES_DIR", "SAMPLE_ACTOR", "SampleFile", "SeedReport", "sample_files", "seed_from_samples", "seed_on_start"]
