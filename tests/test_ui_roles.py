"""Roles in the workbench (issue 17), through AppTest on SQLite and PostgreSQL.

What a role cannot do is not offered (and says why); what is offered, the core allows.
"""

from __future__ import annotations

import pytest

from factories import jpeg_bytes, photo
from test_ui_pages import any_desk, button, start, texts  # noqa: F401  (any_desk: a fixture)

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def team(any_desk):  # noqa: F811
    """alice admin, vera verifier, rita reporter; one item, one flagged item."""
    desk = any_desk
    plain = desk.ingest_bytes(jpeg_bytes(photo(71)), filename="plain.jpg", actor="alice").item
    flagged = desk.ingest_bytes(jpeg_bytes(photo(72)), filename="flagged.jpg", actor="alice").item
    desk.add_warning(flagged.id, "graphic_violence", actor="alice")
    desk.grant_role("vera", "verifier", actor="alice")
    desk.grant_role("rita", "reporter", actor="alice")
    return desk, plain, flagged


def sidebar_text(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in (*at.sidebar.caption, *at.sidebar.text))


def test_single_user_desk_is_admin(any_desk) -> None:  # noqa: F811
    at = start()
    assert "Role: admin (single-user desk" in sidebar_text(at)
    assert at.file_uploader  # uploads offered


def test_sidebar_names_the_role(team) -> None:  # type: ignore[no-untyped-def]
    assert "Role: verifier" in sidebar_text(start("vera"))
    assert "Role: viewer" in sidebar_text(start("victor"))


def test_viewer_cannot_upload_warn_decide_or_reveal(team) -> None:  # type: ignore[no-untyped-def]
    desk, plain, flagged = team
    before = desk.store.chain_head()[1]
    at = start("victor")  # the upload page
    assert not at.file_uploader and "victor is a viewer; adding material needs the reporter role" in texts(at)
    at = start("victor", page="warnings", item=plain.id)
    assert "Add warning" not in [b.label for b in at.button] and "changing content warnings needs the reporter role" in texts(at)
    at = start("victor", page="verdict", item=plain.id)
    assert "Record verdict" not in [b.label for b in at.button] and "needs the reporter role" in texts(at)
    at = start("victor", page="item", item=flagged.id)
    reveal = button(at, "Reveal")
    assert reveal.disabled and "revealing flagged media needs the reporter role" in texts(at)
    at.session_state["revealed_items"] = {flagged.id}  # as if a forged click got through: still blurred
    at.run()
    assert "Shown because you chose Reveal" not in texts(at) and "The picture stays blurred" in texts(at)
    assert desk.store.chain_head()[1] == before


def test_viewer_may_reveal_when_the_desk_allows_it(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _desk, _plain, flagged = team
    monkeypatch.setenv("VERIFY_VIEWER_REVEAL", "1")
    at = start("victor", page="item", item=flagged.id)
    reveal = button(at, "Reveal")
    assert not reveal.disabled
    reveal.click().run()
    assert "Shown because you chose Reveal" in texts(at)


def test_reporter_sets_open_statuses_only(team) -> None:  # type: ignore[no-untyped-def]
    desk, plain, _flagged = team
    at = start("rita", page="verdict", item=plain.id)
    box = at.selectbox(key=f"verdict_status_{plain.id}_0")
    assert len(box.options) == 2 and not any(o.lower().startswith(("verified", "false", "misattributed")) for o in box.options), box.options
    assert "only a verifier can set verified, false, misattributed, inconclusive" in texts(at)
    box.set_value("in_progress")
    at.text_area(key=f"verdict_rationale_{plain.id}_0").input("calling the source")
    button(at, "Record verdict").click().run()
    assert desk.store.state(plain.id).status == "in_progress"
    # Decided by a verifier: the reporter can no longer change it.
    desk.record_verdict(plain.id, "verified", "confirmed with the photographer", actor="vera")
    at = start("rita", page="verdict", item=plain.id)
    assert "Record verdict" not in [b.label for b in at.button]
    assert "rita is a reporter; reopening a decided item needs the verifier role" in texts(at)


def test_verifier_decides(team) -> None:  # type: ignore[no-untyped-def]
    desk, plain, _flagged = team
    at = start("vera", page="verdict", item=plain.id)
    at.selectbox(key=f"verdict_status_{plain.id}_0").set_value("verified")
    at.text_area(key=f"verdict_rationale_{plain.id}_0").input("geolocated; weather matches")
    button(at, "Record verdict").click().run()
    assert not at.exception and desk.store.state(plain.id).verdict.actor == "vera"


def test_reporter_warns_and_reveals(team) -> None:  # type: ignore[no-untyped-def]
    desk, plain, flagged = team
    at = start("rita", page="warnings", item=plain.id)
    at.multiselect(key=f"warn_categories_{plain.id}_0").set_value(["children"])
    button(at, "Add warning").click().run()
    assert [w.category for w in desk.store.state(plain.id).warnings] == ["children"]
    at = start("rita", page="item", item=flagged.id)
    button(at, "Reveal").click().run()
    assert "Shown because you chose Reveal" in texts(at)


def test_roles_page_admin_grants_others_only_read(team) -> None:  # type: ignore[no-untyped-def]
    desk, _plain, _flagged = team
    at = start("vera", page="roles")
    assert "Grant role" not in [b.label for b in at.button] and "assigning roles needs the admin role" in texts(at)
    assert "rita" in at.dataframe[0].value.to_csv()
    at = start("alice", page="roles")
    at.text_input[0].input("victor")
    at.selectbox[0].set_value("verifier")
    at.text_input[1].input("night shift")
    button(at, "Grant role").click().run()
    assert not at.exception and "victor is now verifier" in texts(at)
    assert desk.role_of("victor").value == "verifier"
    assert [e.actor for e in desk.store.events(kinds=["role_granted"])][-1] == "alice"


def test_trusted_header_refused_from_another_address(any_desk, monkeypatch) -> None:  # noqa: F811
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("VERIFY_TRUSTED_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("VERIFY_TRUSTED_PROXY", "10.9.9.9")
    at = AppTest.from_file(str(__import__("test_ui_pages").APP), default_timeout=60).run()
    assert "accepts sign-in only through its reverse proxy" in texts(at) and "127.0.0.1" in texts(at)
    assert not at.file_uploader


def test_proxy_address_rule() -> None:
    from verify.ui.identity import proxy_allows

    assert proxy_allows("127.0.0.1", None) and proxy_allows("::1", None)
    assert not proxy_allows("127.0.0.2", "127.0.0.1") and proxy_allows("127.0.0.2", "127.0.0.0/8")
    assert proxy_allows("::ffff:10.0.0.5", "10.0.0.0/24") and not proxy_allows("10.0.1.5", "10.0.0.0/24")
    assert not proxy_allows(None, None) and not proxy_allows("not-an-ip", "127.0.0.1")
