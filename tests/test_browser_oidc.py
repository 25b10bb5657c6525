"""Real sign-in, end to end (issue 17): Chromium, the workbench's ``st.login``, a real OpenID Provider.

The provider is npm's ``oidc-provider`` (installed into ``.tools/node`` by ``.ci/run``), started by
this test on loopback with one client and two users in different groups. Streamlit reads the
``[auth]`` section from a secrets file in the test's temp folder. The journey: a verifier signs in
through the provider's login form, sees her role, records "verified", signs out; a reporter signs
in and is not offered "verified" (and the core would refuse it); both roles came from the groups
claim and are recorded as grants by "oidc".
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import procs
from browser import ROOT, chromium_browser, clean_env, free_port, fresh_context, running_server, see, settle
from conftest import skip_or_fail
from factories import jpeg_bytes, photo

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
WIDTH, HEIGHT = 1440, 1000
PROVIDER_MODULE = ROOT / ".tools" / "node" / "node_modules" / "oidc-provider"
USERS = {
    "alice": {"password": "correct horse", "email": "alice@desk.test", "name": "Alice Verifier", "groups": ["staff", "desk-verifiers"]},
    "bob": {"password": "battery staple", "email": "bob@desk.test", "name": "Bob Reporter", "groups": ["staff", "desk-reporters"]},
}
ROLE_MAP = "desk-verifiers=verifier,desk-reporters=reporter,desk-admins=admin"


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The OpenID Provider on a free loopback port, in its own process group, stopped afterwards."""
    node = shutil.which("node")
    if node is None or not (PROVIDER_MODULE / "package.json").exists():
        skip_or_fail("node and npm's oidc-provider in .tools/node (npm install --prefix .tools/node oidc-provider)")
    port, app_port = free_port(), free_port()
    info = {"issuer": f"http://127.0.0.1:{port}", "client_id": "verify-workbench", "client_secret": secrets.token_urlsafe(24),
            "redirect_uri": f"http://127.0.0.1:{app_port}/oauth2callback", "app_port": str(app_port)}  # fmt: skip
    env = clean_env(OIDC_PROVIDER_MODULE=str(PROVIDER_MODULE), OIDC_PORT=str(port), OIDC_CLIENT_ID=info["client_id"],
                    OIDC_CLIENT_SECRET=info["client_secret"], OIDC_REDIRECT_URI=info["redirect_uri"], OIDC_USERS=json.dumps(USERS))  # fmt: skip
    log_path = tmp_path / "oidc.log"
    with open(log_path, "wb") as log:
        proc = procs.start([node, str(ROOT / "tests" / "oidc_provider.mjs")], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(info["issuer"] + "/.well-known/openid-configuration", timeout=2) as r:
                    if json.load(r)["issuer"] == info["issuer"]:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the OpenID Provider did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        yield info
    finally:
        procs.stop(proc, grace_s=5)


@pytest.fixture
def desk(tmp_path: Path, provider: dict[str, str]) -> Iterator[tuple[str, Path, list[int]]]:
    """Two items in a fresh store, and the workbench with ``[auth]`` pointing at the provider."""
    from verify.config import load_settings
    from verify.services import Services

    data = tmp_path / "data"
    svc = Services(load_settings(data_dir=data))
    ids = [svc.ingest_bytes(jpeg_bytes(photo(80 + i)), filename=f"tip-{i}.jpg", actor="tipline").item.id for i in range(2)]
    svc.close()
    secrets_file = tmp_path / "secrets" / "secrets.toml"
    secrets_file.parent.mkdir()
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "{provider["redirect_uri"]}"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{provider["client_id"]}"\n'
        f'client_secret = "{provider["client_secret"]}"\n'
        f'server_metadata_url = "{provider["issuer"]}/.well-known/openid-configuration"\n'
        'client_kwargs = { scope = "openid email profile groups", prompt = "login" }\n'
    )
    port = int(provider["app_port"])
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--secrets.files", str(secrets_file)]  # fmt: skip
    env = clean_env(VERIFY_DATA_DIR=str(data), VERIFY_NO_SEED="1", VERIFY_OIDC_ROLE_MAP=ROLE_MAP, VERIFY_OIDC_ROLE_CLAIM="groups")
    with running_server(cmd, env, port, tmp_path / "streamlit.log", 120) as url:
        yield url, data, ids


def _sign_in(page, url: str, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/")
    see(page, "Sign in to the verification desk")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/interaction/**")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/**")
    settle(page)


def _sidebar(page) -> str:  # type: ignore[no-untyped-def]
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Working as").wait_for(state="visible")
    return sidebar.inner_text()


def test_sign_in_through_the_provider_and_roles_from_groups(desk, chromium: Path) -> None:  # type: ignore[no-untyped-def]
    url, data, (first, second) = desk
    with chromium_browser(chromium) as chrome, fresh_context(chrome, WIDTH, HEIGHT) as page:
        # The provider's own form refuses a wrong password.
        page.goto(url + "/")
        see(page, "Sign in to the verification desk")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/interaction/**")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        see(page, "Wrong username or password.")

        _sign_in(page, url, "alice", USERS["alice"]["password"])
        text = _sidebar(page)
        assert "alice@desk.test" in text and "Role: verifier" in text, text

        page.goto(f"{url}/verdict?item={first}")
        settle(page)
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Status").first
        box.locator("input").first.click()
        options = page.get_by_role("option").all_inner_texts()
        assert any(o.startswith("Verified") for o in options), options
        page.get_by_role("option", name="Verified", exact=True).first.click()
        page.get_by_label("Rationale (required): why, for the record").fill("Geolocated; shadows match the claimed hour.")
        page.get_by_role("button", name="Record verdict").click()
        see(page, "Recorded: Verified.")

        page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Yes, sign me out").click()  # the provider ends its session too
        see(page, "Sign in to the verification desk")
        assert page.get_by_text("alice@desk.test").count() == 0

        _sign_in(page, url, "bob", USERS["bob"]["password"])
        text = _sidebar(page)
        assert "bob@desk.test" in text and "Role: reporter" in text and "alice" not in text, text
        page.goto(f"{url}/verdict?item={second}")
        settle(page)
        see(page, "only a verifier can set verified")
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Status").first
        box.locator("input").first.click()
        options = page.get_by_role("option").all_inner_texts()
        assert options and not any(o.startswith(("Verified", "False", "Misattributed")) for o in options), options
        page.keyboard.press("Escape")
        # A decided item: the reporter is not offered the form at all.
        page.goto(f"{url}/verdict?item={first}")
        settle(page)
        see(page, "reopening a decided item needs the verifier role")
        assert page.get_by_role("button", name="Record verdict").count() == 0

    from verify.config import load_settings
    from verify.errors import NotAllowed
    from verify.services import Services

    svc = Services(load_settings(data_dir=data))
    try:
        grants = [(e.actor, e.payload["name"], e.payload["role"]) for e in svc.store.events(kinds=["role_granted"])]
        assert grants == [("oidc", "alice@desk.test", "verifier"), ("oidc", "bob@desk.test", "reporter")]
        verdict = svc.store.state(first).verdict
        assert verdict is not None and verdict.status == "verified" and verdict.actor == "alice@desk.test"
        with pytest.raises(NotAllowed, match="bob@desk.test is a reporter"):
            svc.record_verdict(second, "verified", "trying the core directly", actor="bob@desk.test")
    finally:
        svc.close()
