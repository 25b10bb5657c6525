"""The trusted-header mode believes the header only from the proxy's address (issue 17).

A real workbench started by ``python -m verify.ui.launch`` with ``VERIFY_TRUSTED_HEADER`` and
``VERIFY_TRUSTED_PROXY=127.0.0.2``. The "proxy" is a TCP relay in this test whose connections to
the workbench leave from 127.0.0.2 (loopback, this machine only). Chromium sends the user header
on every request, both through the relay (believed) and straight to the port (refused, even with
an ``X-Forwarded-For`` naming the proxy: the web server's own forwarding rewrite is off).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import CHROMIUM_ARGS, TIMEOUT_MS, clean_env, free_port, running_server, see, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
PROXY_ADDRESS = "127.0.0.2"


class Relay:
    """Listens on 127.0.0.1 and forwards each connection to the workbench from ``source``."""

    def __init__(self, target_port: int, source: str) -> None:
        self.target_port, self.source = target_port, source
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30, source_address=(self.source, 0))
            upstream.settimeout(None)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        for s in self.sockets:
            s.close()


@pytest.fixture(params=["launch", "streamlit-run"])
def workbench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """``launch``: as ``python3 app.py`` starts it; ``streamlit-run``: a plain ``streamlit run app.py``,
    whose web server trusts X-Forwarded-For from loopback (the workbench must then fail closed)."""
    try:  # the whole 127.0.0.0/8 is loopback on Linux; check this machine lets us use .2
        probe = socket.create_connection(("127.0.0.1", 9), timeout=1, source_address=(PROXY_ADDRESS, 0))
        probe.close()
    except ConnectionRefusedError:
        pass
    except OSError as exc:
        pytest.skip(f"cannot connect from {PROXY_ADDRESS}: {exc}")
    port = free_port()
    env = clean_env(VERIFY_DATA_DIR=str(tmp_path / "data"), VERIFY_NO_SEED="1", VERIFY_PORT=str(port), VERIFY_ADDRESS="127.0.0.1",
                    VERIFY_TRUSTED_HEADER="X-Forwarded-User", VERIFY_TRUSTED_PROXY=PROXY_ADDRESS)  # fmt: skip
    env.pop("FORWARDED_ALLOW_IPS", None)  # what launch sets by itself is under test
    flags = ["--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    if request.param == "launch":
        cmd = [sys.executable, "-m", "verify.ui.launch", *flags]
    else:
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1", *flags]
    with running_server(cmd, env, port, tmp_path / "streamlit.log", 120) as url:
        relay = Relay(port, PROXY_ADDRESS)
        try:
            yield url, f"http://127.0.0.1:{relay.port}", request.param
        finally:
            relay.close()


def _page(browser, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, extra_http_headers=headers)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def test_header_believed_only_through_the_proxy(workbench, chromium: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    direct, proxied, mode = workbench
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            context, page = _page(browser, {"X-Forwarded-User": "pat@desk.test"})
            page.goto(proxied + "/")
            settle(page)
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Working as").wait_for(state="visible")
            assert "pat@desk.test" in sidebar.inner_text()
            see(page, "Drop the photos and videos")
            context.close()

            # Straight to the port, the same header and an X-Forwarded-For naming the proxy: refused.
            context, page = _page(browser, {"X-Forwarded-User": "mallory@desk.test", "X-Forwarded-For": PROXY_ADDRESS})
            page.goto(direct + "/")
            if mode == "launch":
                see(page, "accepts sign-in only through its reverse proxy")
                see(page, "came from 127.0.0.1")
            else:  # the address seen may be the forged one: refused without believing it
                see(page, "cannot tell whether this request came through its proxy")
            assert page.get_by_text("mallory@desk.test").count() == 0
            assert page.get_by_text("Drop the photos and videos").count() == 0
            context.close()

            # Straight to the port without any forwarding header: the peer is not the proxy.
            context, page = _page(browser, {"X-Forwarded-User": "mallory@desk.test"})
            page.goto(direct + "/")
            see(page, "accepts sign-in only through its reverse proxy")
            assert page.get_by_text("mallory@desk.test").count() == 0
            context.close()
        finally:
            browser.close()
