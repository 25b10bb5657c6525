"""The editor's whole journey in a real browser, against a real `streamlit run app.py`.

Debian's Chromium driven by Playwright (never `playwright install`): sign in with a name, upload a
photo as archive material, see its metadata, upload a cropped copy and see the match side by side,
flag it graphic and see it blurred until Reveal, record a verdict and see it in the history,
export the report. Each step leaves a screenshot in docs/screenshots/ for the README.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import browser
from browser import TIMEOUT_MS, chromium_page, choose, clean_env, click_nav, free_port, image_sharpness, pick_file, running_server, see, settle, sign_in  # noqa: F401
from factories import exif_bytes, jpeg_bytes, photo

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    with running_server(cmd, clean_env(VERIFY_DATA_DIR=str(tmp_path / "data")), port, tmp_path / "streamlit.log", 120) as url:
        yield url


@pytest.fixture
def browser_page(chromium: Path) -> Iterator[object]:
    with chromium_page(chromium, 1440, 1100, accept_downloads=True) as page:
        yield page


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    browser.shot(page, name, 1440, 1100)


main_image_sharpness = image_sharpness


def test_editor_journey(server: str, browser_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    original = photo(7, (1200, 900))
    original_bytes = jpeg_bytes(
        original,
        exif=exif_bytes(make="Canon", model="EOS 5D Mark III", datetime_original="2013:05:01 16:20:00",
                        gps=(48.8584, 2.2945)),
    )
    first = tmp_path / "protest-2013.jpg"
    first.write_bytes(original_bytes)
    w, h = original.size
    cropped = tmp_path / "viral-repost.jpg"
    cropped.write_bytes(jpeg_bytes(original.crop((int(w * 0.03), int(h * 0.03), int(w * 0.97), int(h * 0.97))), quality=80))

    # 1. who is working
    page.goto(server + "/")
    see(page, "Who is working?")
    sign_in(page, "Ana Editor")
    see(page, "Drop the photos and videos")

    # 2. upload a photo as archive material (published 2013-05-02)
    pick_file(page, first)
    page.get_by_label("Source (who sent it)").fill("Agency photo desk")
    page.get_by_label("Claimed place").fill("Paris")
    page.get_by_label("Latitude").fill("48.8566")
    page.get_by_label("Longitude").fill("2.3522")
    page.get_by_text("These are earlier, already published material").click()
    label = "First seen / published on (archive material)"
    for segment, value in (("year", "2013"), ("month", "05"), ("day", "02")):
        page.get_by_role("spinbutton", name=f"{segment}, {label}").click()
        page.keyboard.type(value)
    page.keyboard.press("Tab")
    shot(page, "01-upload")
    page.get_by_role("button", name="Upload and check").click()
    see(page, "Stored as item 1.")
    shot(page, "02-upload-done")

    # 3. its metadata
    page.get_by_text("Open item 1", exact=True).click()
    settle(page)
    see(page, "Key facts")
    see(page, "km from the claimed place")
    see(page, "Offline map")
    see(page, "Canon EOS 5D Mark III")
    see(page, "2013-05-01T16:20:00")
    see(page, "48.858400, 2.294500")
    shot(page, "03-item-metadata")

    # 4. a cropped copy, and the match side by side
    click_nav(page, "Upload")
    pick_file(page, cropped)
    page.get_by_label("Source (who sent it)").fill("Telegram channel")
    page.get_by_role("button", name="Upload and check").click()
    see(page, "Stored as item 2.")
    see(page, "this picture was in the archive on 2013-05-02")
    page.get_by_text("See matches of item 2", exact=True).click()
    settle(page)
    see(page, "This picture was in the archive on 2013-05-02")
    see(page, "Your upload")
    see(page, "Archive item 1")
    assert page.locator('[data-testid="stMain"] [data-testid="stImage"]').count() >= 2
    shot(page, "04-matches")
    page.get_by_text("Overlay", exact=True).click()
    settle(page)
    see(page, "Upload ← → archive")
    shot(page, "05-matches-overlay")

    # 5. flag it graphic: blurred until Reveal
    page.locator('[data-testid="stPageLink"]').get_by_text("Warnings", exact=True).first.click()
    settle(page)
    see(page, "Add a warning")
    sharp = main_image_sharpness(page)
    choose(page, "Categories", "Graphic violence")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Add warning").click()
    see(page, "The item is now blurred everywhere until Reveal")
    see(page, "Blurred: content warning")
    blurred = main_image_sharpness(page)
    assert blurred < sharp * 0.5, (blurred, sharp)
    click_nav(page, "Item")
    see(page, "Blurred: content warning")
    shot(page, "06-flagged-blurred")
    page.get_by_role("button", name="Reveal").click()
    see(page, "Shown because you chose Reveal")
    assert main_image_sharpness(page) > blurred * 1.5
    shot(page, "07-revealed")
    click_nav(page, "Inbox and archive")
    see(page, "Warning: Graphic violence")
    shot(page, "08-inbox")

    # 6. a verdict, and the history
    page.get_by_text("Open item 2", exact=True).click()
    settle(page)
    page.locator('[data-testid="stPageLink"]').get_by_text("Verdict", exact=True).first.click()
    settle(page)
    see(page, "Record a verdict")
    choose(page, "Status", "Misattributed")
    page.get_by_label("Rationale (required): why, for the record").fill(
        "Same photo as the agency's picture of 2013-05-02 (archive item 1), cropped; not from this week.")
    page.get_by_label("Evidence links, one per line").fill("https://example.org/agency/2013/05/02/protest")
    page.get_by_role("button", name="Record verdict").click()
    see(page, "Recorded: Misattributed.")
    see(page, "Same photo as the agency's picture")
    history = page.locator('[data-testid="stDataFrame"]').last
    history.wait_for(state="visible")
    shot(page, "09-verdict-history")

    # 7. export the report
    page.locator('[data-testid="stPageLink"]').get_by_text("Export", exact=True).first.click()
    settle(page)
    see(page, "Verification report")
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        page.get_by_role("button", name="Report (Markdown)").click()
    report = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "# Verification report: item 2" in report
    assert "Misattributed" in report and "Ana Editor" in report
    assert "This picture was in the archive on 2013-05-02" in report
    assert "Graphic violence" in report
    shot(page, "10-export")


def test_video_item_plays_with_keyframes_and_starts_muted_when_flagged(server: str, browser_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from factories import video

    page = browser_page
    clip = video(tmp_path / "clip.mp4", seconds=4.0, fps=25, size=(480, 270), seed=3, gop=25)
    page.goto(server + "/")
    sign_in(page, "Ben Editor")
    see(page, "Drop the photos and videos")
    pick_file(page, clip)
    page.get_by_label("Source (who sent it)").fill("Signal: field reporter")
    page.get_by_role("button", name="Upload and check").click()
    see(page, "Stored as item 1.")
    page.get_by_text("Open item 1", exact=True).click()
    settle(page)
    see(page, "Keyframes (")
    player = page.locator('[data-testid="stMain"] video').first
    player.wait_for(state="attached")
    assert player.evaluate("v => v.muted") is False
    see(page, "4.0 s")
    shot(page, "11-video-item")
    page.locator('[data-testid="stPageLink"]').get_by_text("Warnings", exact=True).first.click()
    settle(page)
    choose(page, "Categories", "Distressing audio")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Add warning").click()
    see(page, "Video hidden behind its content warning")
    assert page.locator('[data-testid="stMain"] video').count() == 0
    page.get_by_role("button", name="Reveal").click()
    see(page, "Shown because you chose Reveal")
    player = page.locator('[data-testid="stMain"] video').first
    player.wait_for(state="attached")
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=\"stMain\"] video'); return v && v.muted; }")
