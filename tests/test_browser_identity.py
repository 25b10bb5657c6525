"""In a real browser (issue 11, point 5): the name survives a reload, a new browser is asked again,
the upload page says what it found, and "Item" opens the most recent item.

Debian's Chromium driven by Playwright against a real ``streamlit run app.py``. A browser
*context* is a fresh profile (no cookies), which is what "a new browser" means here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import browser
from browser import chromium_browser, clean_env, click_nav, free_port, fresh_context, pick_file, running_server, see, settle, sign_in
from factories import exif_bytes, jpeg_bytes, photo

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
WIDTH, HEIGHT = 1440, 1100


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    with running_server(cmd, clean_env(VERIFY_DATA_DIR=str(tmp_path / "data")), port, tmp_path / "streamlit.log", 120) as url:
        yield url


def _signed_in_as(page) -> str:  # type: ignore[no-untyped-def]
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Working as").wait_for(state="visible")
    return sidebar.inner_text()


def _name_cookie(page, wait: bool = False):  # type: ignore[no-untyped-def]
    if wait:  # the sidebar's script sets it once the page has drawn
        page.wait_for_function("() => document.cookie.includes('verify_editor=')")
    return next((c for c in page.context.cookies() if c["name"] == "verify_editor"), None)


def test_the_name_survives_a_reload_and_a_new_browser_is_asked_again(server: str, chromium: Path) -> None:
    with chromium_browser(chromium) as chrome:
        with fresh_context(chrome, WIDTH, HEIGHT) as page:
            page.goto(server + "/inbox")
            see(page, "Who is working?")
            sign_in(page, "Ana Editor")
            see(page, "Inbox")
            assert "Ana Editor" in _signed_in_as(page)
            cookie = _name_cookie(page, wait=True)
            assert cookie is not None and cookie["expires"] == -1  # a session cookie: gone when the browser closes
            assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"

            page.reload()
            settle(page)
            assert "Ana Editor" in _signed_in_as(page)  # not asked again
            assert page.get_by_text("Who is working?").count() == 0
            page.goto(server + "/")  # a new page load in the same browser session
            settle(page)
            see(page, "Drop the photos and videos")
            assert "Ana Editor" in _signed_in_as(page)

            with fresh_context(chrome, WIDTH, HEIGHT) as other:  # a new browser: asked again
                other.goto(server + "/")
                see(other, "Who is working?")
                assert _name_cookie(other) is None

            # "Not you?": the kept name is forgotten, also for the next reload
            page.get_by_role("button", name="Not you? Change name").click()
            see(page, "Who is working?")
            page.wait_for_function("() => !document.cookie.includes('verify_editor=')")
            page.reload()
            see(page, "Who is working?")
            sign_in(page, "Ben Editor")
            see(page, "Drop the photos and videos")
            page.wait_for_function("() => document.cookie.includes('verify_editor=QmVuIEVkaXRvcg')")  # "Ben Editor"
            page.reload()
            settle(page)
            text = _signed_in_as(page)
            assert "Ben Editor" in text and "Ana Editor" not in text


def test_upload_says_what_it_found_and_item_opens_the_most_recent(server: str, chromium: Path, tmp_path: Path) -> None:
    shot_file = tmp_path / "kyiv-tower.jpg"
    shot_file.write_bytes(jpeg_bytes(
        photo(20, (1200, 900)),
        exif=exif_bytes(make="Apple", model="iPhone 13", software="Adobe Photoshop 25.0", datetime_original="2024:02:29 10:11:12",
                        gps=(48.8584, 2.2945)),
    ))  # fmt: skip
    with chromium_browser(chromium) as chrome, fresh_context(chrome, WIDTH, HEIGHT) as page:
        page.goto(server + "/")
        sign_in(page, "Ana Editor")
        see(page, "Drop the photos and videos")
        pick_file(page, shot_file)
        page.get_by_label("Claimed place").fill("Kyiv")
        page.get_by_label("Latitude").fill("50.45")
        page.get_by_label("Longitude").fill("30.52")
        page.get_by_role("button", name="Upload and check").click()
        see(page, "Stored as item 1.")
        see(page, "What the file says about itself")
        for fact in ("2024-02-29T10:11:12", "Apple iPhone 13", "48.858400, 2.294500", "Adobe Photoshop 25.0"):
            see(page, fact)
        see(page, "Strongest findings")
        see(page, "km from the claimed place")
        see(page, "Edited with Adobe Photoshop")
        browser.shot(page, "12-upload-summary", WIDTH, HEIGHT)

        click_nav(page, "Item")  # no item chosen yet in the URL: the most recent one opens
        see(page, "Item 1: kyiv-tower.jpg")
        see(page, "Key facts")
        assert "item=1" in page.url
        assert page.get_by_text("Choose an item").count() == 0
