"""Tamper evidence: ``verify audit`` detects modified originals and edited, deleted or inserted events.

Every test tampers on purpose, the way someone with access to the server could (chmod and edit a
stored original; drop the append-only trigger and edit the log in SQL), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

import factories as f
import procs
from verify.config import Settings
from verify.integrity import audit, doctor
from verify.services import Services


@pytest.fixture
def desk(services: Services) -> Services:
    """Three items with a warning and verdicts: a log worth tampering with."""
    ids = []
    for seed in range(3):
        r = services.ingest_bytes(f.jpeg_bytes(f.photo(seed, (240, 180))), filename=f"photo-{seed}.jpg", actor="alice")
        ids.append(r.item.id)
    services.add_warning(ids[0], "graphic_violence", actor="bob")
    services.record_verdict(ids[0], "false", "Recycled from 2013.", actor="bob")
    services.record_verdict(ids[1], "verified", "Geolocated.", actor="carol")
    services.record_verdict(ids[0], "misattributed", "Same photo, other city.", actor="alice")
    return services


def _sql(services: Services, *statements: str) -> None:
    with services.store.engine.connect() as conn, conn.begin():
        for stmt in statements:
            conn.execute(text(stmt))


def _drop_triggers(services: Services) -> None:
    if services.store.dialect == "postgresql":
        _sql(services, "DROP TRIGGER event_no_update ON event")
    else:
        _sql(services, "DROP TRIGGER event_no_update", "DROP TRIGGER event_no_delete")


def _codes(services: Services) -> set[str]:
    return {p.code for p in audit(services.store, services.blobs).problems if p.severity == "error"}


def _cli_audit(settings: Settings) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "verify", "audit", "--data-dir", str(settings.data_dir), "--json"]
    if settings.db_url:
        args += ["--db", settings.db_url]
    env = {k: v for k, v in os.environ.items() if k != "VERIFY_DB"}
    return procs.run(args, capture_output=True, text=True, timeout=120, env=env)


def test_intact_store_passes(desk: Services, settings: Settings) -> None:
    report = audit(desk.store, desk.blobs)
    assert report.ok and report.problems == []
    assert report.events_checked == 3 + 4 and report.items_checked == 3 and report.originals_checked == 3
    assert report.chain_head == desk.store.chain_head()[0]
    proc = _cli_audit(settings)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["ok"] is True


def test_append_only_triggers_refuse_edits(desk: Services) -> None:
    with pytest.raises(Exception, match="append-only"):
        _sql(desk, "UPDATE event SET actor = 'mallory' WHERE id = 2")
    with pytest.raises(Exception, match="append-only"):
        _sql(desk, "DELETE FROM event WHERE id = 2")
    assert audit(desk.store, desk.blobs).ok


def test_modified_original_is_detected(desk: Services, settings: Settings) -> None:
    item = desk.store.item(2)
    path = desk.blobs.path_for(item.sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = audit(desk.store, desk.blobs)
    assert not report.ok
    [p] = [p for p in report.problems if p.code == "original_modified"]
    assert p.item_id == 2 and "MODIFIED" in p.message
    proc = _cli_audit(settings)
    assert proc.returncode == 1
    assert any(q["code"] == "original_modified" for q in json.loads(proc.stdout)["problems"])
    # doctor never "repairs" evidence: the modified original stays for investigation
    doctor(desk.store, desk.blobs, repair=True, grace_s=0)
    assert path.read_bytes() == bytes(data)
    assert "original_modified" in _codes(desk)


def test_missing_original_is_detected(desk: Services) -> None:
    path = desk.blobs.path_for(desk.store.item(1).sha256)
    os.chmod(path, 0o644)
    path.unlink()
    assert "original_missing" in _codes(desk)


def test_edited_event_is_detected(desk: Services, settings: Settings) -> None:
    _drop_triggers(desk)
    verdict = [e for e in desk.store.events() if e.kind == "verdict_set"][0]
    forged = dict(verdict.payload, status="verified", rationale="Looks fine.")
    _sql(desk, f"UPDATE event SET payload = '{json.dumps(forged)}' WHERE id = {verdict.id}")
    report = audit(desk.store, desk.blobs)
    assert not report.ok
    assert any(p.code == "chain" and f"event {verdict.id}" in p.message and "changed" in p.message for p in report.problems)
    assert _cli_audit(settings).returncode == 1


def test_edited_actor_is_detected(desk: Services) -> None:
    _drop_triggers(desk)
    _sql(desk, "UPDATE event SET actor = 'someone-else' WHERE id = 5")
    assert "chain" in _codes(desk)


def test_deleted_event_is_detected(desk: Services) -> None:
    _drop_triggers(desk)
    _sql(desk, "DELETE FROM event WHERE id = 4")
    report = audit(desk.store, desk.blobs)
    codes = {p.code for p in report.problems}
    assert {"chain", "chain_count"} <= codes
    assert any("event 5" in p.message and "link" in p.message for p in report.problems)


def test_deleted_newest_event_is_detected(desk: Services) -> None:
    _drop_triggers(desk)
    last = desk.store.events()[-1].id
    _sql(desk, f"DELETE FROM event WHERE id = {last}")
    report = audit(desk.store, desk.blobs)
    assert any("newest events are missing" in p.message for p in report.problems)
    assert "projection" in {p.code for p in report.problems}  # the list view still shows the deleted verdict


def test_inserted_event_is_detected(desk: Services) -> None:
    """A forged verdict appended in SQL, correctly hashed but without the chain head."""
    from verify.events import canonical_json, event_hash, now_iso

    last = desk.store.events()[-1]
    payload = {"status": "verified", "rationale": "forged", "evidence_links": []}
    at = now_iso()
    digest = event_hash(item_id=3, actor="mallory", at=at, kind="verdict_set", payload=payload, prev_hash=last.hash)
    with desk.store.engine.connect() as conn, conn.begin():
        conn.execute(
            text("INSERT INTO event (item_id, actor, at, kind, payload, prev_hash, hash) VALUES (3, 'mallory', :at, 'verdict_set', :p, :prev, :h)"),
            {"at": at, "p": canonical_json(payload), "prev": last.hash, "h": digest},
        )
    codes = _codes(desk)
    assert "chain_count" in codes and "chain" in codes


def test_inserted_event_in_the_middle_is_detected(desk: Services) -> None:
    """Re-inserting a deleted event's slot with a different event breaks the next link."""
    from verify.events import canonical_json, event_hash

    _drop_triggers(desk)
    evs = desk.store.events()
    victim, before = evs[4], evs[3]
    _sql(desk, f"DELETE FROM event WHERE id = {victim.id}")
    payload = {"category": "children", "note": None}
    digest = event_hash(item_id=victim.item_id, actor="mallory", at=victim.at, kind="warning_added", payload=payload, prev_hash=before.hash)
    with desk.store.engine.connect() as conn, conn.begin():
        conn.execute(
            text("INSERT INTO event (id, item_id, actor, at, kind, payload, prev_hash, hash) VALUES (:id, :item, 'mallory', :at, 'warning_added', :p, :prev, :h)"),
            {"id": victim.id, "item": victim.item_id, "at": victim.at, "p": canonical_json(payload), "prev": before.hash, "h": digest},
        )
    report = audit(desk.store, desk.blobs)
    assert any(p.code == "chain" and f"event {evs[5].id}" in p.message for p in report.problems)


def test_edited_item_record_is_detected(desk: Services) -> None:
    _sql(desk, "UPDATE media_item SET filename = 'innocent.jpg' WHERE id = 1")
    report = audit(desk.store, desk.blobs)
    [p] = [p for p in report.problems if p.code == "row_changed"]
    assert p.item_id == 1 and "filename" in p.message


def test_tampered_status_projection_is_detected_and_rederived(desk: Services) -> None:
    _sql(desk, "UPDATE item_state SET status = 'verified' WHERE item_id = 1")
    assert "projection" in _codes(desk)
    report = doctor(desk.store, desk.blobs, repair=True, grace_s=0)
    assert report.stale_projections == [1]
    assert audit(desk.store, desk.blobs).ok
    assert desk.list_items()[-1][1] == "misattributed"  # back to what the log says
