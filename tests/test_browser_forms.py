"""Forms in a real browser: what the editor typed must never be sent again with the next thing.

Streamlit keeps a widget's value in the browser: clearing it on the server does not empty the
field the editor sees, and the next submit sends the old value back. AppTest cannot show this (it
keeps widget values on the server side), so these run in Debian's Chromium against a real
`streamlit run app.py`, with the journey's helpers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from factories import jpeg_bytes, photo
from browser import pick_file, sign_in
from test_browser_journey import browser_page, choose, click_nav, see, server, settle  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from verify.config import load_settings
    from verify.services import Services

    return Services(load_settings(data_dir=tmp_path / "data"))


def _date_fields_fit(page, label: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the date range field shows all its segments (yyyy / mm / dd – yyyy / mm / dd) unscrolled."""
    box = page.locator('[data-testid="stDateInput"]').filter(has_text=label).first
    scroller = box.locator('[data-testid="stDateInputFieldsScroller"]').first
    return scroller.evaluate("el => el.scrollWidth <= el.clientWidth + 1")


def test_a_claim_is_never_carried_over_and_a_verdict_is_not_sent_twice(server: str, browser_page, tmp_path: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    page = browser_page
    first, second = tmp_path / "first.jpg", tmp_path / "second.jpg"
    first.write_bytes(jpeg_bytes(photo(201)))
    second.write_bytes(jpeg_bytes(photo(202)))
    page.goto(server + "/")
    sign_in(page, "Ana Editor")
    see(page, "Drop the photos and videos")

    # 1. a file with its claim, then another without touching the form
    pick_file(page, first)
    page.get_by_label("Source (who sent it)").fill("Reader on WhatsApp")
    page.get_by_label("Note").fill("Forwarded at night")
    page.get_by_role("button", name="Upload and check").click()
    see(page, "Stored as item 1.")
    settle(page)
    assert page.get_by_label("Source (who sent it)").input_value() == ""  # the browser shows a fresh form
    assert page.get_by_label("Note").input_value() == ""
    pick_file(page, second)
    page.get_by_role("button", name="Upload and check").click()
    see(page, "Stored as item 2.")
    settle(page)
    for key in [k for k in os.environ if k.startswith("VERIFY_")]:
        monkeypatch.delenv(key)
    svc = _store(tmp_path)
    try:
        one, two = svc.store.item(1), svc.store.item(2)
        assert one.source == "Reader on WhatsApp" and one.note == "Forwarded at night"
        assert two.source is None and two.note is None, (two.source, two.note)
    finally:
        svc.close()

    # 2. a verdict, then the same button again: the form is fresh, nothing is recorded twice
    page.get_by_text("Open item 2", exact=True).click()
    settle(page)
    page.locator('[data-testid="stPageLink"]').get_by_text("Verdict", exact=True).first.click()
    settle(page)
    choose(page, "Status", "False")
    rationale = page.get_by_label("Rationale (required): why, for the record")
    rationale.fill("Reverse search: an agency photo from 2013.")
    page.get_by_role("button", name="Record verdict").click()
    see(page, "Recorded: False.")
    settle(page)
    assert page.get_by_label("Rationale (required): why, for the record").input_value() == ""
    page.get_by_role("button", name="Record verdict").click()
    see(page, "A verdict needs a rationale")
    svc = _store(tmp_path)
    try:
        kinds = [e.kind for e in svc.store.events(2)]
    finally:
        svc.close()
    assert kinds.count("verdict_set") == 1, kinds

    # 3. the inbox's date filter shows its whole placeholder (at the walkthrough's width, too)
    page.set_viewport_size({"width": 1400, "height": 1100})
    click_nav(page, "Inbox and archive")
    see(page, "2 item(s)")
    assert _date_fields_fit(page, "First seen between")
