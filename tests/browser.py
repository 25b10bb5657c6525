"""Driving the real workbench in Debian's Chromium: shared by the browser tests.

A server is a real ``streamlit run`` (or ``python -m verify.ui.launch``) subprocess on a free
127.0.0.1 port; a page is Playwright on ``/usr/bin/chromium`` (never ``playwright install``) that
fails the test if the workbench makes any request outside its own server.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageStat

import procs

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 90_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any VERIFY_ setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFY_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def running_server(cmd: list[str], env: dict[str, str], port: int, log_path: Path, start_timeout_s: float = 180) -> Iterator[str]:
    """Start ``cmd``, wait for Streamlit's health check, yield the URL; no traceback may be logged."""
    with open(log_path, "wb") as log:
        # its own process group: stopping it stops the sandbox workers it started too
        proc = procs.start(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the workbench did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        procs.stop(proc, grace_s=20)
        text = log_path.read_text(errors="replace")
        assert "Traceback" not in text, text[-5000:]


@contextmanager
def chromium_page(chromium: Path, width: int, height: int, *, accept_downloads: bool = False) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=accept_downloads)
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


@contextmanager
def chromium_browser(chromium: Path) -> Iterator[object]:
    """One Chromium for several contexts (each a fresh browser profile: own cookies, own session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_context(browser, width: int, height: int) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A new browser context (like a new browser: no cookies) and a page in it; no outside requests."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    try:
        yield page
    finally:
        context.close()
    assert outside == [], f"the workbench reached outside its own server: {outside[:5]}"


def settle(page, pause_ms: int = 600) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished running the script (no spinner, status idle)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(pause_ms)


def shot(page, filename: str, width: int, min_height: int) -> None:  # type: ignore[no-untyped-def]
    """The whole page as docs/screenshots/<filename>.png: the viewport is made as tall as the content first
    (Streamlit scrolls inside its main area, so a plain full-page screenshot would cut it)."""
    settle(page)
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]') || document.body;"
        " return Math.max(m.scrollHeight, document.body.scrollHeight); }"
    )
    page.set_viewport_size({"width": width, "height": int(min(max(height + 40, min_height), 4000))})
    page.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{filename}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": min_height})


def see(page, text: str | re.Pattern[str]) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=TIMEOUT_MS)


def sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Give a name on the first-visit screen."""
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Start").click()


def pick_file(page, path: Path, shown: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Put a file in the upload picker and wait until the picker shows it (``shown``: its name as shown)."""
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(path))
    see(page, shown or path.name)


def click_nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    settle(page)


def choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').filter(has_text=label).first
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def image_sharpness(page, index: int = 0) -> float:  # type: ignore[no-untyped-def]
    """Edge energy of the index-th picture in the main area, as the browser received it (blur test)."""
    img = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').nth(index)
    img.wait_for(state="visible")
    src = img.get_attribute("src")
    base = "/".join(page.url.split("/")[:3])
    data = page.request.get(src if src.startswith("http") else base + src).body()
    im = Image.open(io.BytesIO(data)).convert("L")
    return ImageStat.Stat(im.filter(ImageFilter.FIND_EDGES)).mean[0]
