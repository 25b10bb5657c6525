"""docs/walkthrough.md, step by step, in a real browser on the project's own samples.

The workbench is started the way ``python3 app.py`` starts it once set up: ``python -m
verify.ui.launch`` on an empty data folder, which seeds the samples and then runs Streamlit. Debian's
Chromium, driven by Playwright (never ``playwright install``), then follows the walkthrough: the
seeded inbox, the forwarded Busra al-Sham photo uploaded with its claim, its match with the 2013
original, its findings, the Idlib banner photo whose GPS is 380 km from the claim, the graphic copy
that inherits the archive's content warning, and the verdict in the history. Every step asserts what
the page says before it saves the screenshot the walkthrough shows (docs/screenshots/walkthrough-*.png).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import browser
from browser import TIMEOUT_MS, chromium_page, choose, clean_env, click_nav, free_port, image_sharpness, running_server, see, sign_in  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
WIDTH, HEIGHT = 1400, 1800
EDITOR = "Ana Editor"
UPLOAD = SAMPLES / "upload" / "forwarded_busra-al-sham-today.jpg"
RATIONALE = (
    "Published by the Busra al-Sham Coordination Committee on 2 May 2013 (archive match, confirmed by "
    "keypoints). It shows the 2013 protest, not today's."
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``python -m verify.ui.launch`` on an empty data folder; yields the URL and the start-up log."""
    port = free_port()
    env = clean_env(VERIFY_DATA_DIR=str(tmp_path / "data"), VERIFY_PORT=str(port), VERIFY_ADDRESS="127.0.0.1")
    log_path = tmp_path / "launch.log"
    # sys.executable is the project's .venv python when the tests run from it (tests/run.py, CI).
    cmd = [sys.executable, "-m", "verify.ui.launch", "--server.fileWatcherType", "none"]
    with running_server(cmd, env, port, log_path) as url:
        yield url, log_path


@pytest.fixture
def browser_page(chromium: Path) -> Iterator[object]:
    with chromium_page(chromium, WIDTH, HEIGHT) as page:
        yield page


# -- driving Streamlit (helpers shared with the other browser tests live in tests/browser.py) -----


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    browser.shot(page, f"walkthrough-{name}", WIDTH, HEIGHT)


def settle(page) -> None:  # type: ignore[no-untyped-def]
    browser.settle(page, 500)


def see_all(page, *texts: str | re.Pattern[str]) -> None:  # type: ignore[no-untyped-def]
    for text in texts:
        see(page, text)


def wait_for_cards(page, n: int) -> str:  # type: ignore[no-untyped-def]
    """Wait until the inbox shows all n cards (they appear as their previews are made); returns the page text."""
    from playwright.sync_api import expect

    see(page, f"{n} item(s)")
    expect(page.locator('[data-testid="stMain"] [data-testid="stPageLink"]').get_by_text(re.compile(r"^Open item \d+$"))
           ).to_have_count(n, timeout=TIMEOUT_MS)
    settle(page)
    return main_text(page)


def main_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stMain"]').inner_text()


def item_tab(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """One of the item's page links (Overview, Matches, Warnings, Verdict, Export)."""
    page.locator('[data-testid="stPageLink"]').get_by_text(label, exact=True).first.click()
    settle(page)


def type_date(page, label: str, when: date) -> None:  # type: ignore[no-untyped-def]
    for segment, value in (("year", f"{when.year:04d}"), ("month", f"{when.month:02d}"), ("day", f"{when.day:02d}")):
        page.get_by_role("spinbutton", name=f"{segment}, {label}").click()
        page.keyboard.type(value)
    # The calendar pops up over the fields below, sometimes a moment late: Escape closes it (a click
    # elsewhere can open the next date field's calendar instead), and it must stay closed.
    calendar = page.locator('[data-testid="stDateInputCalendar"]')
    quiet = 0
    for _ in range(60):
        if calendar.count():
            quiet = 0
            page.keyboard.press("Escape")
        else:
            quiet += 1
            if quiet >= 4:
                break
        page.wait_for_timeout(250)
    assert quiet >= 4, "the date picker's calendar would not close"
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no focus ring in the picture


def open_from_inbox(page, filename: str) -> int:  # type: ignore[no-untyped-def]
    """Click "Open item N" on the inbox card of ``filename``; returns N."""
    click_nav(page, "Inbox and archive")
    page.locator('[data-testid="stMain"]').get_by_text(filename, exact=True).first.wait_for(state="visible")
    card = page.locator('[data-testid="stColumn"]').filter(has_text=filename).filter(
        has=page.get_by_text(re.compile(r"^Open item \d+$"))).last
    link = card.get_by_text(re.compile(r"^Open item \d+$")).first
    item_id = int(link.inner_text().split()[-1])
    link.click()
    settle(page)
    see(page, f"Item {item_id}: {filename}")
    return item_id


def _history_events(data_dir: Path, item_id: int) -> list[tuple[str, str, dict]]:
    """The item's history straight from the event log the page reads (kind, actor, payload)."""
    from verify.config import load_settings
    from verify.services import Services

    svc = Services(load_settings(data_dir=data_dir))
    try:
        return [(ev.kind, ev.actor, dict(ev.payload)) for ev in svc.store.events(item_id)]
    finally:
        svc.close()


# -- the walkthrough --------------------------------------------------------------------------


def test_walkthrough_screens_are_real(launched: tuple[str, Path], browser_page, tmp_path: Path,  # type: ignore[no-untyped-def]
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url, log_path = launched
    for key in [k for k in os.environ if k.startswith("VERIFY_")]:
        monkeypatch.delenv(key)  # read the event log with the settings the workbench ran with
    page = browser_page
    doc = WALKTHROUGH.read_text(encoding="utf-8")

    # 1. Start it: the start-up says what it seeded, exactly as the walkthrough quotes it.
    log = log_path.read_text(errors="replace")
    seeded = "verify: seeded the data folder with 12 sample files (5 archive, 7 incoming)"
    assert seeded in log, log[-2000:]
    assert seeded in doc
    assert f"verify: data folder {tmp_path / 'data'}" in log
    assert re.search(r"verify: starting the workbench at http://127\.0\.0\.1:\d+/", log)

    page.goto(url + "/inbox")
    see(page, "Who is working?")
    sign_in(page, EDITOR)
    settle(page)
    text = wait_for_cards(page, 12)
    for name in ("2012-07-13_aleppo_protest.jpg", "2013-05-02_busra-al-sham_protest.jpg", "2014-02-10_aleppo_night-vigil.jpg",
                 "2015-06-14_khan-sheikhoun_street.jpg", "2016-09-20_idlib_rescue.mp4",
                 "idlib_banner-today.jpg", "aleppo-now_shelling-today.jpg", "screenshot_syrianow24_busra-today.png"):
        assert name in text, name
    assert text.count("· archive") == 5 and text.count("· submission") == 7, text
    assert "Source: Busra al-Sham Coordination" in text  # cards shorten long sources
    assert "Seen 2013-05-02" in text
    assert "Warning: Injury / blood" in text  # the manifest's warning on the graphic archive item
    assert "Blurred (content warning)" in text
    # the new copy of the flagged street photo is blurred as a precaution before anyone opens it
    assert "Blurred as a precaution" in text and "Matches an item with a warning: Injury / blood" in text
    shot(page, "01-inbox")

    # 2. Upload the forwarded photo with the claim that came with it.
    click_nav(page, "Upload")
    see(page, "Drop the photos and videos")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(UPLOAD))
    # The picker shows the name shortened ("forward...-today.jpg"), with the size.
    page.locator('[data-testid="stFileUploader"]').get_by_text("-today.jpg").first.wait_for(state="visible")
    page.get_by_label("Source (who sent it)").fill("Reader on WhatsApp")
    page.get_by_label("Claimed place").fill("Busra al-Sham")
    page.get_by_label("Latitude").fill("32.5167")
    page.get_by_label("Longitude").fill("36.4814")
    page.get_by_label("Note").fill('Forwarded with the caption "Busra al-Sham right now."')
    today = date.today()
    type_date(page, "Claimed date", today)
    settle(page)
    assert page.get_by_label("Source (who sent it)").input_value() == "Reader on WhatsApp"
    shot(page, "02-upload")

    page.get_by_role("button", name="Upload and check").click()
    see(page, re.compile(r"Stored as item \d+\."))
    settle(page)
    text = main_text(page)
    upload_id = int(re.search(r"Stored as item (\d+)\.", text).group(1))
    assert upload_id == 13, text  # after the twelve samples
    found = re.search(r"Matches (\d+) earlier item\(s\): this picture was in the archive on 2013-05-02\.", text)
    assert found, text
    assert int(found.group(1)) == 2  # the 2013 original and the reader's screenshot of a post
    shot(page, "03-upload-result")

    # 3. The match, side by side with the 2013 original.
    page.get_by_text(f"See matches of item {upload_id}", exact=True).click()
    settle(page)
    see_all(page, "This picture was in the archive on 2013-05-02",
            "(source: Busra al-Sham Coordination Committee (Facebook page))",
            "first seen 2013-05-02", "confident match", "Your upload",
            "File: 2013-05-02_busra-al-sham_protest.jpg", "Source: Busra al-Sham Coordination Committee (Facebook page)",
            re.compile(r"^Method: phash-v2 .+, orb \d+ inliers \(confirmed\)"),
            "File: screenshot_syrianow24_busra-today.png")
    assert page.locator('[data-testid="stMain"] [data-testid="stImage"]').count() >= 2
    shot(page, "04-matches")

    # 4. The findings, in plain language.
    item_tab(page, "Overview")
    see_all(page, "Findings", "Seen in the archive on 2013-05-02",
            "the picture existed before the event it is said to show", "Metadata stripped", "weak evidence either way",
            "Reader on WhatsApp", today.isoformat())
    shot(page, "05-findings")

    # ... and the Idlib banner photo: GPS 380 km away, captured in March 2023, the map.
    open_from_inbox(page, "idlib_banner-today.jpg")
    see_all(page, "Key facts", "Offline map", "GPS 380 km from the claimed place",
            re.compile(r"The file's GPS is 3[78]\d\.\d km from the claimed place\."),
            "Captured 1.7 years before the claimed date", "2023-03-18", "Claimed date")
    assert page.locator('[data-testid="stMain"] [data-testid="stImage"]').count() >= 2  # the photo and the map
    shot(page, "06-findings-gps")

    # ... and the rescue still: a frame of the 2016 video at 2.0 s, with a Photoshop software tag.
    open_from_inbox(page, "khan-sheikhoun_rescue_this-morning.jpg")
    see_all(page, "Seen in the archive on 2016-09-20", "Edited with Adobe Photoshop", "Adobe Photoshop 25.0 (Windows)")
    item_tab(page, "Matches")
    see_all(page, "File: 2016-09-20_idlib_rescue.mp4", "↔ 0:02.0 in the archive item")

    # 5. The graphic copy: the archive's warning suggested, added, the picture blurred.
    graphic_id = open_from_inbox(page, "aleppo-now_shelling-today.jpg")
    item_tab(page, "Warnings")
    see_all(page, "Add a warning", "carries the warning Injury / blood",
            "A matching item carries a content warning (Injury / blood); blurred as a precaution.")
    page.get_by_role("button", name="Add warning: Injury / blood").click()
    settle(page)
    see(page, "Content warning: Injury / blood.")
    see(page, "Blurred: content warning")
    text = main_text(page)
    assert "Added by " + EDITOR in text, text
    assert "Add the same warning here?" not in text  # the suggestion is gone once taken
    shot(page, "07-warning")
    blurred = image_sharpness(page)
    page.get_by_role("button", name="Reveal").click()
    settle(page)
    see(page, "Shown because you chose Reveal")
    assert image_sharpness(page) > blurred * 1.5, blurred
    page.get_by_role("button", name="Blur again").click()
    settle(page)
    see(page, "The picture is blurred until you choose Reveal.")
    # Once the warning is the item's own, the inbox blurs its card too (the archive original's already was).
    click_nav(page, "Inbox and archive")
    text = wait_for_cards(page, 13)
    assert text.count("Blurred (content warning)") == 2, text
    assert text.count("Warning: Injury / blood") == 2, text
    warned = _history_events(tmp_path / "data", graphic_id)
    assert any(kind == "warning_added" and actor == EDITOR and payload.get("category") == "injury_blood"
               for kind, actor, payload in warned), warned

    # 6. The verdict on the forwarded photo, and its history.
    # (In the app, not by a new page load: that would be a new session, asking for the name again.)
    assert open_from_inbox(page, UPLOAD.name) == upload_id
    item_tab(page, "Verdict")
    see(page, "Record a verdict")
    choose(page, "Status", "Misattributed")
    page.get_by_label("Rationale (required): why, for the record").fill(RATIONALE)
    page.get_by_role("button", name="Record verdict").click()
    settle(page)
    see(page, "Recorded: Misattributed.")
    see(page, "It shows the 2013 protest, not today's.")
    see(page, "History")
    page.locator('[data-testid="stDataFrame"]').last.wait_for(state="visible")
    text = main_text(page)
    assert f"by {EDITOR} on" in text, text
    shot(page, "08-verdict")
    events = _history_events(tmp_path / "data", upload_id)
    assert events[0][1] == EDITOR, events  # the upload itself, under the editor's name
    verdicts = [(actor, payload) for kind, actor, payload in events if kind == "verdict_set"]
    assert verdicts == [(EDITOR, {"status": "misattributed", "rationale": RATIONALE, "evidence_links": []})], events
