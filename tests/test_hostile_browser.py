"""Hostile files through the workbench's upload page, in a real browser.

The editor drops a batch of damaged and malicious files at once. Each must get its own result, the
workbench must stay up and usable, and the store must be whole afterwards (no row without file,
no file without row, nothing left in ``.incoming``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_hostile import assert_store_consistent, build_hostile
from test_security_browser import BROWSER_ARGS, _settle, _start_streamlit, _stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPLOAD = [
    "empty.jpg", "jpeg-truncated-50.jpg", "png-bitflip-0.png", "heic-truncated.heic", "mp4-truncated-50.mp4",
    "mov-bitflip.mov", "html-as.png", "svg-as.jpg", "polyglot-jpeg-html.jpg", "polyglot-jpeg-zip.jpg",
    "bomb-png-header-100k.png", "bomb-png-zlib-16k.png", "bomb-jpeg-header-65k.jpg", "gif-3000-frames.gif",
    "exif-loop.jpg", "exif-huge-count.jpg", "exif-xss.jpg", "mp4-endless-atom.mp4", "mp4-nested-20000.mp4",
    "valid.jpg", "valid-xss-tags.mp4",
]  # fmt: skip


def test_upload_page_survives_hostile_batch(chromium: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from verify.config import load_settings

    files = build_hostile(tmp_path / "in")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server, port = _start_streamlit(Path(__file__).resolve().parents[1] / "app.py", {"VERIFY_DATA_DIR": str(data_dir), "VERIFY_DECODE_TIMEOUT": "60"})
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(chromium), args=BROWSER_ARGS, headless=True)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
        page.get_by_label("Your name").fill("upload tester")
        page.get_by_role("button", name="Start").click()
        _settle(page, "Upload and check")
        page.locator('input[type="file"]').first.set_input_files([str(files[name]) for name in UPLOAD])
        _settle(page)
        page.get_by_role("button", name="Upload and check").click()
        page.get_by_text("Results", exact=True).first.wait_for(timeout=240_000)
        _settle(page, timeout=240_000)
        text = page.inner_text("body")
        assert server.poll() is None, "the workbench process died"
        assert "Traceback" not in text and "Something went wrong" not in text
        for name in UPLOAD:
            assert name in text, f"no result shown for {name}"
        assert text.count("Stored as item") + text.count("Already in the store") >= 3
        # still usable afterwards: another page renders
        page.get_by_role("link", name="Inbox").first.click()
        _settle(page)
        assert "Something went wrong" not in page.inner_text("body")
    finally:
        browser.close()
        pw.stop()
        _stop(server)
    assert_store_consistent(load_settings(data_dir=data_dir))
