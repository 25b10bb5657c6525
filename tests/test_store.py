"""The evidence store on both backends: atomic ingest, idempotency, the hash chain, append-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from verify.store.migrations import MIGRATIONS

from factories import jpeg_bytes, photo
from verify.errors import Conflict, NotAllowed, StoreError, VerifyError
from verify.events import GENESIS_HASH, verify_chain
from verify.models import Claim
from verify.services import Services
from verify.store import sha256_file


def test_ingest_stores_exact_bytes_content_addressed(services: Services) -> None:
    data = jpeg_bytes(photo(1))
    result = services.ingest_bytes(data, filename="protest.jpg", actor="amal")
    assert result.created
    stored = services.original_path(result.item)
    assert stored.read_bytes() == data
    assert stored.name == result.item.sha256 == sha256_file(stored)
    assert not os.access(stored, os.W_OK) or os.geteuid() == 0  # read-only for non-root
    assert stored.stat().st_mode & 0o222 == 0
    assert result.item.filename == "protest.jpg"
    assert result.item.ingested_by == "amal"
    assert result.item.kind == "image" and result.item.mime == "image/jpeg"
    assert (result.item.width, result.item.height) == (800, 600)


def test_same_bytes_twice_is_one_item(services: Services) -> None:
    data = jpeg_bytes(photo(2))
    first = services.ingest_bytes(data, filename="a.jpg", actor="amal")
    second = services.ingest_bytes(data, filename="renamed.jpg", actor="badr")
    assert first.created and not second.created
    assert second.item.id == first.item.id
    assert services.store.count_items() == 1
    assert [e.kind for e in services.store.events()] == ["ingested"]


def test_ingest_records_claim_and_event(services: Services) -> None:
    from datetime import UTC, date, datetime

    claim = Claim(source="WhatsApp tip", claimed_place="Aleppo", claimed_lat=36.2, claimed_lon=37.13,
                  claimed_date=date(2024, 3, 1), first_seen_at=datetime(2013, 5, 2, tzinfo=UTC))  # fmt: skip
    item = services.ingest_bytes(jpeg_bytes(photo(3)), filename="x.jpg", claim=claim, actor="amal").item
    assert item.source == "WhatsApp tip" and item.claimed_place == "Aleppo"
    assert item.claimed_date == date(2024, 3, 1)
    assert item.first_seen_at == datetime(2013, 5, 2, tzinfo=UTC)
    (ev,) = services.store.events(item.id)
    assert ev.kind == "ingested" and ev.actor == "amal" and ev.payload["sha256"] == item.sha256
    assert ev.prev_hash == GENESIS_HASH


def test_failed_transaction_leaves_neither_row_nor_file(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the original is in place rolls back the rows and removes the file."""
    data = jpeg_bytes(photo(4))
    calls = {"n": 0}
    real_commit = services.blobs.commit

    def commit_then_fail(staged):  # the original lands, then the process "fails" before commit
        calls["n"] += 1
        real_commit(staged)
        raise OSError("disk full")

    monkeypatch.setattr(services.blobs, "commit", commit_then_fail)
    with pytest.raises(OSError):
        services.ingest_bytes(data, filename="a.jpg", actor="amal")
    assert calls["n"] == 1
    assert services.store.count_items() == 0
    assert services.store.events() == []
    assert list(services.blobs.iter_shas()) == []
    assert list(services.blobs.iter_incoming()) == []
    monkeypatch.undo()
    # and the same bytes can be ingested afterwards
    assert services.ingest_bytes(data, filename="a.jpg", actor="amal").created


def test_rejected_file_leaves_nothing(services: Services) -> None:
    with pytest.raises(VerifyError):
        services.ingest_bytes(b"hello, this is not a photo", filename="fake.jpg", actor="amal")
    assert services.store.count_items() == 0
    assert list(services.blobs.iter_shas()) == []
    assert list(services.blobs.iter_incoming()) == []


def test_event_chain_links_and_verifies(services: Services) -> None:
    a = services.ingest_bytes(jpeg_bytes(photo(5)), filename="a.jpg", actor="amal").item
    b = services.ingest_bytes(jpeg_bytes(photo(6)), filename="b.jpg", actor="badr").item
    services.add_warning(a.id, "graphic_violence", actor="amal")
    services.record_verdict(b.id, "misattributed", "Same photo published in 2013.", actor="badr", evidence_links=["https://example.org/2013"])
    events = services.store.events()
    assert [e.kind for e in events] == ["ingested", "ingested", "warning_added", "verdict_set"]
    for prev, ev in zip(events, events[1:]):
        assert ev.prev_hash == prev.hash
    head, count = services.store.chain_head()
    assert head == events[-1].hash and count == 4
    assert verify_chain(events, head) == []


def test_chain_verification_detects_edits_and_deletions(services: Services) -> None:
    for seed in (7, 8, 9):
        services.ingest_bytes(jpeg_bytes(photo(seed)), filename=f"{seed}.jpg", actor="amal")
    events = services.store.events()
    head, _ = services.store.chain_head()
    from dataclasses import replace

    edited = [events[0], replace(events[1], actor="mallory"), events[2]]
    assert any("changed" in p for p in verify_chain(edited, head))
    assert any("broken" in p for p in verify_chain([events[0], events[2]], head))
    assert any("missing" in p for p in verify_chain(events[:2], head))


def test_event_log_is_append_only_in_the_database(services: Services) -> None:
    services.ingest_bytes(jpeg_bytes(photo(10)), filename="a.jpg", actor="amal")
    for stmt in ("UPDATE event SET actor = 'mallory'", "DELETE FROM event"):
        with pytest.raises(Exception, match="append-only"):
            with services.store.write() as conn:
                conn.execute(text(stmt))
    assert services.store.events()[0].actor == "amal"


def test_stale_editor_gets_conflict_not_overwrite(services: Services) -> None:
    item = services.ingest_bytes(jpeg_bytes(photo(11)), filename="a.jpg", actor="amal").item
    seen = services.store.state(item.id).version
    services.record_verdict(item.id, "in_progress", "Checking with the source.", actor="amal", expected_version=seen)
    with pytest.raises(Conflict, match="amal"):
        services.record_verdict(item.id, "verified", "Looks fine.", actor="badr", expected_version=seen)
    state = services.store.state(item.id)
    assert state.status == "in_progress" and state.version == seen + 1
    assert [e.kind for e in services.store.events(item.id)] == ["ingested", "verdict_set"]


def test_state_is_derived_from_events_and_projection_agrees(services: Services) -> None:
    from verify.store import ItemFilter

    item = services.ingest_bytes(jpeg_bytes(photo(12)), filename="a.jpg", actor="amal").item
    services.add_warning(item.id, "dead_bodies", actor="amal")
    services.add_warning(item.id, "other", note="shows a child's face", actor="badr")
    services.remove_warning(item.id, "dead_bodies", actor="amal")
    services.record_verdict(item.id, "false", "Staged.", actor="badr")
    state = services.store.state(item.id)
    assert {w.category for w in state.warnings} == {"other"}
    assert state.status == "false" and state.verdict and state.verdict.actor == "badr"
    ((listed, status, warnings),) = services.list_items(ItemFilter())
    assert listed.id == item.id and status == "false" and warnings == ["other"]
    assert services.list_items(ItemFilter(has_warning=False)) == []
    assert services.list_items(ItemFilter(status="verified")) == []


def test_editorial_actions_need_an_identified_editor(services: Services) -> None:
    item = services.ingest_bytes(jpeg_bytes(photo(13)), filename="a.jpg", actor="amal").item
    for actor in ("", "   ", None):
        with pytest.raises(NotAllowed):
            services.add_warning(item.id, "children", actor=actor)  # type: ignore[arg-type]
    with pytest.raises(VerifyError, match="rationale"):
        services.record_verdict(item.id, "verified", "  ", actor="amal")
    with pytest.raises(VerifyError, match="Unknown status"):
        services.record_verdict(item.id, "probably", "why", actor="amal")
    assert services.store.state(item.id).version == 0


def test_migrations_are_idempotent_and_recorded(settings) -> None:
    first = Services(settings)
    first.ingest_bytes(jpeg_bytes(photo(14)), filename="a.jpg", actor="amal")
    first.close()
    again = Services(settings)
    assert again.store.count_items() == 1
    with again.store.read() as conn:
        from verify.store.migrations import MIGRATIONS

        # one row per migration, each applied once (not again on the second start)
        assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == len(MIGRATIONS)
    again.close()


def test_sqlite_runs_in_wal_mode(sqlite_services: Services) -> None:
    with sqlite_services.store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_unreachable_database_is_a_readable_error(tmp_path: Path) -> None:
    from verify.config import load_settings

    settings = load_settings(data_dir=tmp_path, db_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="cannot be opened"):
        Services(settings)


def test_writer_queue_serves_writers_in_arrival_order() -> None:
    """A writer that begins again at once must not overtake one already waiting (SQLite's lock would let it)."""
    import threading
    import time

    from verify.store.db import WriterQueue

    queue = WriterQueue()
    order: list[str] = []
    waiting = threading.Event()

    def hot() -> None:
        for n in range(3):
            with queue.turn():
                order.append(f"hot{n}")
                if n == 0:
                    waiting.wait(5)  # the other writer is queued by now
                    time.sleep(0.05)

    def other() -> None:
        with queue.turn():
            order.append("other")

    t1 = threading.Thread(target=hot)
    t1.start()
    while not order:
        time.sleep(0.001)
    t2 = threading.Thread(target=other)
    t2.start()
    while queue._next < 2:  # the other writer holds ticket 1
        time.sleep(0.001)
    waiting.set()
    t1.join(10)
    t2.join(10)
    assert order == ["hot0", "other", "hot1", "hot2"]
