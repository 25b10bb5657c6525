"""The editor's whole journey in a real browser, against a real `streamlit run app.py`.

Debian's Chromium driven by Playwright (never `playwright install`): sign in with a name, upload a
photo as archive material, see its metadata, upload a cropped copy and see the match side by side,
flag it graphic and see it blurred until Reveal, record a verdict and see it in the history,
export the report. Each step leaves a screenshot in docs/screenshots/ for the README.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageStat

from factories import exif_bytes, jpeg_bytes, photo

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 90_000

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFY_")}
    env.update(VERIFY_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        text = (tmp_path / "streamlit.log").read_text(errors="replace")
        assert "Traceback" not in text, text[-5000:]


@pytest.fixture
def browser_page(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1440, "height": 1100}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert outside == [], f"the workbench reached outside its own server: {outside[:5]}"


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished running the script (no spinner, status idle)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(600)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of the whole page: the viewport is made as tall as the content first."""
    settle(page)
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]') || document.body;"
        " return Math.max(m.scrollHeight, document.body.scrollHeight); }"
    )
    page.set_viewport_size({"width": 1440, "height": int(min(max(height + 40, 900), 4000))})
    page.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1100})


def see(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=TIMEOUT_MS)


def main_image_sharpness(page, index: int = 0) -> float:  # type: ignore[no-untyped-def]
    """Edge energy of the index-th picture in the main area, as the browser received it."""
    img = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').nth(index)
    img.wait_for(state="visible")
    src = img.get_attribute("src")
    data = page.request.get(src if src.startswith("http") else page.url.split("/", 3)[0] + "//" + page.url.split("/")[2] + src).body()
    im = Image.open(io.BytesIO(data)).convert("L")
    return ImageStat.Stat(im.filter(ImageFilter.FIND_EDGES)).mean[0]


def click_nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    settle(page)


def choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').filter(has_text=label).first
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


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
    page.get_by_label("Your name").fill("Ana Editor")
    page.get_by_role("button", name="Start").click()
    see(page, "Drop the photos and videos")

    # 2. upload a photo as archive material (published 2013-05-02)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(first))
    see(page, "protest-2013.jpg")
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
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(cropped))
    see(page, "viral-repost.jpg")
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
    page.get_by_label("Your name").fill("Ben Editor")
    page.get_by_role("button", name="Start").click()
    see(page, "Drop the photos and videos")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(clip))
    see(page, "clip.mp4")
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
