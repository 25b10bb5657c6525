"""A file whose bytes are already stored is the strongest match, not "no match" (issue 11, point 1).

Through ``Services.match_path`` (which the CLI, the workbench and any later API share) and through
the real ``verify match`` subprocess, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from factories import jpeg_bytes, photo, video, write
from test_cli import MATCH_ENTRY_KEYS, MATCH_KEYS, jsonl, run
from verify.matching.identical import IDENTICAL_METHOD, is_identical
from verify.models import Claim

FIRST_SEEN = datetime(2013, 5, 2, 12, 0, tzinfo=UTC)


def test_stored_bytes_come_first_then_the_other_copies(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = photo(61, (960, 720))
    data = jpeg_bytes(original)
    stored = services.ingest_bytes(
        data, filename="protest-2013.jpg", origin="archive", actor="desk",
        claim=Claim(source="Aleppo Media Centre", first_seen_at=FIRST_SEEN),
    ).item
    # a recompressed, smaller copy received later: a different file showing the same picture
    copy = services.ingest_bytes(jpeg_bytes(original.resize((640, 480)), quality=60), filename="repost.jpg", actor="desk").item
    services.ingest_bytes(jpeg_bytes(photo(62, (960, 720))), filename="other.jpg", actor="desk")

    report = services.match_path(write(tmp_path / "renamed-by-the-sender.jpg", data))

    first, *rest = report.outcome.matches
    assert first.item.id == stored.id and first.item.sha256 == report.sha256
    assert first.method.startswith(IDENTICAL_METHOD) and is_identical(first)
    assert (first.score, first.distance, first.confident) == (1.0, 0, True)
    assert first.item.first_seen_at == FIRST_SEEN and first.item.source == "Aleppo Media Centre"
    # the other copy follows, found by ordinary matching; the identical item is never listed twice
    assert [m.item.id for m in rest] == [copy.id]
    assert not is_identical(rest[0])
    assert stored.id not in {m.item.id for m in report.outcome.candidates}


def test_a_file_not_in_the_store_has_no_identical_match(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = photo(63, (960, 720))
    stored = services.ingest_bytes(jpeg_bytes(original), filename="a.jpg", actor="desk").item
    report = services.match_path(write(tmp_path / "q.jpg", jpeg_bytes(original, quality=70)))
    assert [m.item.id for m in report.outcome.matches] == [stored.id]
    assert not any(is_identical(m) for m in report.outcome.matches + report.outcome.candidates)


def test_an_identical_video_and_a_desk_that_loads_the_store_afresh(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from verify.services import Services

    clip = video(tmp_path / "clip.mp4", seconds=2, seed=9)
    stored = services.ingest_path(clip, actor="desk").item
    fresh = Services(services.settings)  # another process's view: nothing cached
    try:
        report = fresh.match_path(clip)
    finally:
        fresh.close()
    assert report.kind == "video"
    assert [m.item.id for m in report.outcome.matches] == [stored.id]
    assert is_identical(report.outcome.matches[0])


def test_an_explicitly_excluded_item_is_not_brought_back(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = jpeg_bytes(photo(64, (960, 720)))
    stored = services.ingest_bytes(data, filename="a.jpg", actor="desk").item
    report = services.match_path(write(tmp_path / "q.jpg", data), exclude_item_id=stored.id)
    assert stored.id not in {m.item.id for m in report.outcome.matches + report.outcome.candidates}


def test_cli_says_match_identical_file_first_and_keeps_the_json_contract(data_dir: Path, db_url: str | None, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    original = photo(65, (960, 720))
    archived = write(folder / "photo.jpg", jpeg_bytes(original))
    write(folder / "other.jpg", jpeg_bytes(photo(66, (960, 720))))
    r = run("index", str(folder), "--source", "Agency desk", "--first-seen", "2013-05-02", data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    # a resized copy in the archive too: it must follow the identical file
    repost = tmp_path / "later" / "repost.jpg"
    write(repost, jpeg_bytes(original.resize((640, 480)), quality=60))
    assert run("index", str(repost.parent), data_dir=data_dir, db=db_url).returncode == 0

    r = run("match", str(archived), data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "no match" not in r.stdout
    assert re.match(rf"{re.escape(str(archived))}: MATCH \(identical file\) photo\.jpg \(item \d+, score 1\.00, "
                    rf"{re.escape(IDENTICAL_METHOD)}\)", lines[0]), lines
    assert lines[0].endswith("first seen 2013-05-02, source Agency desk"), lines
    assert any("MATCH repost.jpg" in line for line in lines[1:]), lines

    r = run("match", str(archived), "--json", data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    (rec,) = jsonl(r.stdout)
    assert set(rec) == MATCH_KEYS and rec["error"] is None
    first = rec["matches"][0]
    assert set(first) == MATCH_ENTRY_KEYS
    assert first["method"].startswith("identical file (SHA-256)")
    assert (first["score"], first["distance"], first["sha256"]) == (1.0, 0, rec["sha256"])
    assert first["filename"] == "photo.jpg" and first["source"] == "Agency desk"
    assert first["first_seen_at"].startswith("2013-05-02")
    assert [m["filename"] for m in rec["matches"][1:]] == ["repost.jpg"]
