"""Roles in the core (issue 17): every refusal is a clear sentence and writes nothing.

Run on SQLite and PostgreSQL through the ``services`` fixture.
"""

from __future__ import annotations

import pytest

from factories import jpeg_bytes, photo
from verify import roles
from verify.errors import NotAllowed, VerifyError
from verify.roles import Action, Role, allows
from verify.store import roles as role_store


def _events(services) -> int:  # type: ignore[no-untyped-def]
    return services.store.chain_head()[1]


@pytest.fixture
def desk(services):  # type: ignore[no-untyped-def]
    """A desk in use: alice admin (first grant), vera verifier, rita reporter, one item."""
    item = services.ingest_bytes(jpeg_bytes(photo(1)), filename="a.jpg", actor="alice").item
    services.grant_role("vera", Role.VERIFIER, actor="alice", reason="desk lead")
    services.grant_role("rita", "reporter", actor="alice")
    return services, item


def test_rule_table() -> None:
    assert [r.value for r in Role] == ["viewer", "reporter", "verifier", "admin"]
    assert allows(Role.VIEWER, Action.READ) and not allows(Role.VIEWER, Action.UPLOAD)
    assert not allows(Role.VIEWER, Action.REVEAL) and allows(Role.VIEWER, Action.REVEAL, viewer_reveal=True)
    for a in (Action.UPLOAD, Action.NOTE, Action.WARN, Action.CLAIM, Action.VERDICT, Action.REVEAL):
        assert allows(Role.REPORTER, a)
    assert not allows(Role.REPORTER, Action.DECIDE) and allows(Role.VERIFIER, Action.DECIDE)
    assert not allows(Role.VERIFIER, Action.ADMIN) and all(allows(Role.ADMIN, a) for a in Action)
    for s in ("verified", "false", "misattributed", "inconclusive", "a_custom_status"):
        assert roles.verdict_action(s) is Action.DECIDE
    assert roles.verdict_action("in_progress") is Action.VERDICT
    assert roles.verdict_action("in_progress", current="verified") is Action.DECIDE  # reopening


def test_role_map_and_claim() -> None:
    m = roles.parse_role_map("desk-verifiers=verifier, desk-admins=admin")
    assert m == {"desk-verifiers": Role.VERIFIER, "desk-admins": Role.ADMIN}
    assert roles.role_from_claim(["x", "desk-verifiers", "desk-admins"], m) is Role.ADMIN
    assert roles.role_from_claim("desk-verifiers", m) is Role.VERIFIER
    assert roles.role_from_claim(["other"], m) is None and roles.role_from_claim(None, m) is None
    with pytest.raises(VerifyError, match="GROUP=ROLE"):
        roles.parse_role_map("nonsense")
    with pytest.raises(VerifyError, match="Unknown role"):
        roles.parse_role_map("g=boss")


def test_no_grants_everyone_is_admin(services) -> None:  # type: ignore[no-untyped-def]
    assert services.role_of("anyone") is Role.ADMIN and not services.roles_in_use()
    item = services.ingest_bytes(jpeg_bytes(photo(2)), filename="b.jpg", actor="anyone").item
    services.record_verdict(item.id, "verified", "seen the original", actor="anyone")


def test_first_grant_makes_operator_admin(services) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotAllowed, match="grant yourself admin first"):
        services.grant_role("alice", "viewer", actor="alice")
    assert not services.roles_in_use() and _events(services) == 0
    services.grant_role("bob", "reporter", actor="alice")
    assert services.role_of("alice") is Role.ADMIN and services.role_of("bob") is Role.REPORTER
    assert services.role_of("stranger") is Role.VIEWER
    grants = [e for e in services.store.events() if e.kind == "role_granted"]
    assert [(e.actor, e.payload["name"], e.payload["role"]) for e in grants] == [("alice", "alice", "admin"), ("alice", "bob", "reporter")]
    assert [g.event_id for g in role_store.history(services.store)] == [e.id for e in grants]


def test_refusals_write_nothing(desk) -> None:  # type: ignore[no-untyped-def]
    services, item = desk
    before = _events(services)
    version = services.store.state(item.id).version
    data = jpeg_bytes(photo(3))
    cases = [
        ("viewer", Action.UPLOAD, lambda who: services.ingest_bytes(data, filename="c.jpg", actor=who)),
        ("viewer", Action.NOTE, lambda who: services.add_note(item.id, "hello", actor=who)),
        ("viewer", Action.WARN, lambda who: services.add_warning(item.id, "children", actor=who)),
        ("viewer", Action.WARN, lambda who: services.remove_warning(item.id, "children", actor=who)),
        ("viewer", Action.CLAIM, lambda who: services.update_claim(item.id, {"source": "x"}, actor=who)),
        ("viewer", Action.VERDICT, lambda who: services.record_verdict(item.id, "in_progress", "looking", actor=who)),
        ("reporter", Action.DECIDE, lambda who: services.record_verdict(item.id, "verified", "trust me", actor=who)),
        ("reporter", Action.DECIDE, lambda who: services.record_verdict(item.id, "false", "fake", actor=who)),
        ("reporter", Action.DECIDE, lambda who: services.record_verdict(item.id, "misattributed", "old", actor=who)),
        ("verifier", Action.ADMIN, lambda who: services.grant_role("rita", "admin", actor=who)),
    ]
    names = {"viewer": "victor", "reporter": "rita", "verifier": "vera"}
    for role, action, call in cases:
        who = names[role]
        with pytest.raises(NotAllowed) as exc:
            call(who)
        message = str(exc.value)
        assert who in message and f"is a {role}" in message and roles.needed(action).value in message, message
    assert _events(services) == before and services.store.state(item.id).version == version
    assert services.store.count_items() == 1


def test_allowed_paths(desk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services, item = desk
    services.add_note(item.id, "source called back", actor="rita")
    services.add_warning(item.id, "children", actor="rita")
    services.record_verdict(item.id, "in_progress", "checking the weather", actor="rita")
    services.record_verdict(item.id, "verified", "shadows match", actor="vera")
    with pytest.raises(NotAllowed, match="reopening a decided item"):
        services.record_verdict(item.id, "in_progress", "not sure", actor="rita")
    services.record_verdict(item.id, "in_progress", "new evidence", actor="vera")
    assert services.store.state(item.id).status == "in_progress"
    services.ingest_bytes(jpeg_bytes(photo(4)), filename="d.jpg", actor="rita")


def test_grant_changes_and_last_admin(desk) -> None:  # type: ignore[no-untyped-def]
    services, _item = desk
    with pytest.raises(NotAllowed, match="last admin"):
        services.grant_role("alice", "verifier", actor="alice")
    services.grant_role("rita", "verifier", actor="alice", reason="promoted")
    assert services.role_of("rita") is Role.VERIFIER
    listed = {r["name"]: r for r in services.list_roles()}
    assert listed["rita"]["role"] == "verifier" and listed["rita"]["reason"] == "promoted" and listed["vera"]["granted_by"] == "alice"
    with pytest.raises(VerifyError, match="Unknown role"):
        services.grant_role("rita", "boss", actor="alice")


def test_signed_in_role_recorded_when_it_changes(desk) -> None:  # type: ignore[no-untyped-def]
    services, _item = desk
    assert services.apply_signed_in_role("olga", Role.VERIFIER)
    assert not services.apply_signed_in_role("olga", Role.VERIFIER)  # unchanged: no new event
    assert services.apply_signed_in_role("olga", Role.REPORTER)
    grants = [g for g in role_store.history(services.store) if g.name == "olga"]
    assert [(g.role, g.granted_by) for g in grants] == [("verifier", "oidc"), ("reporter", "oidc")]


def test_viewer_reveal_setting(desk) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    services, _item = desk
    assert not services.can("victor", Action.REVEAL) and services.can("rita", Action.REVEAL)
    services.settings = replace(services.settings, viewer_reveal=True)
    assert services.can("victor", Action.REVEAL)


def test_default_role_setting(desk) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    services, _item = desk
    services.settings = replace(services.settings, default_role="reporter")
    assert services.role_of("newcomer") is Role.REPORTER


def test_grants_are_append_only(desk) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    services, _item = desk
    with pytest.raises(Exception, match="append-only"):
        with services.store.write() as conn:
            conn.execute(text("UPDATE role_grant SET role = 'admin' WHERE name = 'rita'"))
    with pytest.raises(Exception, match="append-only"):
        with services.store.write() as conn:
            conn.execute(text("DELETE FROM role_grant"))
    assert services.role_of("rita") is Role.REPORTER


def test_audit_accepts_role_events(desk) -> None:  # type: ignore[no-untyped-def]
    from verify.integrity import audit

    services, _item = desk
    report = audit(services.store, services.blobs)
    assert report.ok, report.problems


def test_bundle_of_flagged_media_needs_reveal(desk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from verify.bundle import build_bundle

    services, item = desk
    services.add_warning(item.id, "dead_bodies", actor="rita")
    before = _events(services)
    with pytest.raises(NotAllowed, match="victor is a viewer; exporting the originals of flagged media needs the reporter role"):
        build_bundle(services, [item.id], tmp_path / "b.zip", actor="victor", with_matches=False)
    assert _events(services) == before and not (tmp_path / "b.zip").exists()
    build_bundle(services, [item.id], tmp_path / "b.zip", actor="rita", with_matches=False)
    assert (tmp_path / "b.zip").exists()
