"""Links in a real browser (issue 14): paste a link on the upload page, see the item with its
link, published time and basis. The link points at the tests' loopback server; never the internet."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import browser
from browser import chromium_page, clean_env, free_port, running_server, see, settle, sign_in
from linkserver import LinkServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def links(tmp_path: Path) -> Iterator[LinkServer]:
    media = tmp_path / "linkserver-media"
    media.mkdir()
    with LinkServer(media) as srv:
        yield srv


@pytest.fixture
def app(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    env = clean_env(VERIFY_DATA_DIR=str(tmp_path / "data"), VERIFY_FETCH_ALLOW_LOCAL="1")
    with running_server(cmd, env, port, tmp_path / "streamlit.log", 120) as url:
        yield url


def test_paste_a_link_and_see_its_provenance(links: LinkServer, app: str, chromium: Path) -> None:
    with chromium_page(chromium, 1440, 1100) as page:
        page.goto(app + "/")
        see(page, "Who is working?")
        sign_in(page, "Ana Editor")
        see(page, "Drop the photos and videos")
        page.get_by_role("textbox", name="Links").fill(links.url("/post"))
        page.get_by_role("button", name="Upload and check").click()
        see(page, "Stored as item 1 (video)")
        see(page, "Published: 2021-03-04T05:06:07+00:00 (the page's own published time)")
        browser.shot(page, "links-01-upload", 1440, 1100)
        page.get_by_text("Open item 1", exact=True).click()
        settle(page)
        see(page, "Where it came from (links)")
        see(page, links.url("/post"))
        see(page, "2021-03-04T05:06:07+00:00 (the page's own published time)")
        see(page, "Flood in the old town")
        browser.shot(page, "links-02-item", 1440, 1100)
