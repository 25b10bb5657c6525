"""In a real browser: untrusted strings are never rendered as HTML or markdown, errors leak no paths.

A file arrives whose EXIF tags and filename (and the claim, note and verdict typed about it) hold
``<img src=http://127.0.0.1:PORT/x>`` and ``![x](http://127.0.0.1:PORT/y)``. If any of them were
rendered as HTML or markdown, the browser would fetch from PORT, where this test runs a listener.
The test opens the workbench in Chromium, signs in, finds the item the way an editor would and
visits every item page; the listener must receive nothing, and the strings must be on the page
as visible text.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import factories as f
import procs

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    """An HTTP server that records every request it receives (it should receive none)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _start_streamlit(script: Path, env_extra: dict[str, str], trace: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start a Streamlit server on a free local port; with ``trace``, under strace (connect calls)."""
    import shutil

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DB", "VERIFY_MAP_TILES")}
    env.update(env_extra)
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    strace = shutil.which("strace")
    if trace is not None and strace:
        cmd = [strace, "-f", "--seccomp-bpf", "-qq", "-e", "trace=connect", "-e", "signal=none", "-o", str(trace), *cmd]
    proc = procs.start(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.5)
    procs.stop(proc)
    pytest.fail("the workbench did not start within 90 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    procs.stop(proc)  # the whole group: strace, Streamlit and its sandbox workers


def _browser(chromium: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(chromium), args=BROWSER_ARGS, headless=True)
    return pw, browser


def _browser_or_stop(chromium: Path, server: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    """The browser; if it cannot start, the server is stopped before the error goes up."""
    try:
        return _browser(chromium)
    except BaseException:
        _stop(server)
        raise


def _settle(page, text: str | None = None, timeout: float = 30_000) -> None:  # type: ignore[no-untyped-def]
    """Wait for Streamlit to finish running the page (and for some text, when given)."""
    page.wait_for_load_state("networkidle", timeout=timeout)
    if text:
        page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    page.wait_for_timeout(500)


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One browser session over every item page; both tests below read what it saw."""
    from conftest import CHROMIUM, skip_or_fail

    if not CHROMIUM.exists():
        skip_or_fail(f"no browser at {CHROMIUM} (install Debian's chromium to run browser tests)")
    chromium = CHROMIUM
    tmp_path = tmp_path_factory.mktemp("browser")
    listener = Listener()
    from verify.config import load_settings
    from verify.models import Claim
    from verify.services import Services

    port = listener.port
    tag = f"<img src=http://127.0.0.1:{port}/x>"
    mdimg = f"![x](http://127.0.0.1:{port}/y)"
    payload = f"{tag} {mdimg} <script>fetch('http://127.0.0.1:{port}/s')</script>"
    data_dir = tmp_path / "data"
    settings = load_settings(data_dir=data_dir)
    svc = Services(settings)
    exif = f.exif_bytes(make=payload, model=payload, software=payload)
    from PIL import Image

    ex = Image.Exif()
    ex.load(exif)
    ex[0x010E] = payload  # ImageDescription
    ex[0x013B] = payload  # Artist
    from test_hostile import jpeg_xmp_iptc

    jpeg = jpeg_xmp_iptc(payload, seed=31, exif=ex.tobytes())  # EXIF, XMP and IPTC all carry it
    filename = f"{tag}{mdimg}.jpg"
    claim = Claim(source=payload, claimed_place=payload, note=payload, source_url=f"http://127.0.0.1:{port}/src")
    item = svc.ingest_bytes(jpeg, filename=filename, claim=claim, actor=payload, origin="submission").item
    svc.add_warning(item.id, "other", note=payload, actor=payload)
    svc.record_verdict(item.id, "false", payload, actor=payload)
    svc.close()

    trace = tmp_path / "server-connects.txt"
    server, web = _start_streamlit(ROOT / "app.py", {"VERIFY_DATA_DIR": str(data_dir), "VERIFY_ACTOR": ""}, trace=trace)
    pw, browser = _browser_or_stop(chromium, server)
    outside: list[str] = []
    try:
        page = browser.new_page()
        page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(f"http://127.0.0.1:{web}") and not req.url.startswith("data:") and not req.url.startswith("blob:") else None)
        page.goto(f"http://127.0.0.1:{web}/", wait_until="networkidle")
        # sign in with a name, as an editor does on first visit
        page.get_by_label("Your name").fill(f"editor {tag}")
        page.get_by_role("button", name="Start").click()
        _settle(page)
        # find the item as an editor would: the Item page in the sidebar, then pick it from the list
        page.get_by_role("link", name="Item").first.click()
        _settle(page)
        navigated = "picker"
        try:
            page.get_by_text("Choose an item").first.wait_for(timeout=5000)
            page.locator('[data-testid="stSelectbox"]').first.click()
            page.get_by_role("option").first.click()
            _settle(page, "SHA-256")
        except Exception:  # the picker changed shape: open the item by its link instead
            navigated = "link"
            page.goto(f"http://127.0.0.1:{web}/item?item={item.id}", wait_until="networkidle")
            _settle(page, "SHA-256")
        print(f"item page reached via the {navigated}")
        for label in ("All tags",):
            loc = page.get_by_text(label, exact=False)
            if loc.count():
                loc.first.click()
                _settle(page)
        seen = page.inner_text("body")
        # every other page about the item, opened by its shareable link
        for sub in ("matches", "warnings", "verdict", "export", "inbox"):
            page.goto(f"http://127.0.0.1:{web}/{sub}?item={item.id}", wait_until="networkidle")
            _settle(page)
            seen += page.inner_text("body")
        time.sleep(1.0)
        result = {"hits": list(listener.hits), "imgs": page.locator(f'img[src*=":{port}"]').count(), "seen": seen, "tag": tag, "outside": outside, "trace": trace}
    finally:
        browser.close()
        pw.stop()
        _stop(server)
        listener.close()
    yield result


def test_untrusted_strings_never_load_anything(visit: dict) -> None:
    assert visit["hits"] == [], f"an untrusted string was rendered as markup: the browser fetched {visit['hits']}"
    assert visit["imgs"] == 0
    assert visit["tag"] in visit["seen"], "the hostile string should be shown, as text"
    assert "Something went wrong" not in visit["seen"]


def test_workbench_makes_no_outside_requests(visit: dict) -> None:
    """No fonts, icons, maps or telemetry from the internet: sources are people at risk."""
    outside = sorted(set(visit["outside"]))
    assert outside == [], f"the workbench made requests beyond its own server: {outside[:5]}"




def test_workbench_server_makes_no_outbound_connections(visit: dict) -> None:
    """The server side (maps, C2PA, telemetry), traced at the system-call level while pages were visited."""
    from test_security import _connects

    trace: Path = visit["trace"]
    if not trace.exists():
        pytest.skip("strace is not installed")
    assert _connects(trace.read_text()) == [], _connects(trace.read_text())[:5]


def test_page_errors_show_no_server_paths(chromium: Path, tmp_path: Path) -> None:
    """With the project's .streamlit/config.toml, an exception reaches the browser without details."""
    secret_dir = tmp_path / "srv-secret-evidence-folder"
    script = tmp_path / "boom_app.py"
    script.write_text(
        "import streamlit as st\n"
        "st.write('before the failure')\n"
        f"open({str(secret_dir / 'evidence.sqlite3')!r})\n"
    )
    server, web = _start_streamlit(script, {})
    pw, browser = _browser_or_stop(chromium, server)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{web}/", wait_until="networkidle")
        _settle(page, "before the failure")
        page.wait_for_timeout(1000)
        text = page.inner_text("body")
        html = page.content()
        assert "before the failure" in text
        for leak in (str(secret_dir), "srv-secret-evidence-folder", str(script), "boom_app.py", "Traceback", "FileNotFoundError"):
            assert leak not in text and leak not in html, f"{leak!r} reached the browser"
    finally:
        browser.close()
        pw.stop()
        _stop(server)
