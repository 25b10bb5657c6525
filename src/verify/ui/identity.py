"""Who is working: every event the workbench writes carries this name.

Three ways, strongest first:
1. OIDC through ``st.login`` when ``[auth]`` is configured in ``.streamlit/secrets.toml``;
2. a header set by a trusted reverse proxy (``VERIFY_TRUSTED_HEADER``, e.g. ``X-Forwarded-User``),
   believed only on connections from the proxy's own address (``VERIFY_TRUSTED_PROXY``, default
   loopback): anyone else who reaches the port is refused, whatever headers they send;
3. otherwise the name the editor gives on first visit, kept for the browser session.

Keeping the given name: Streamlit's session state ends with the page (a reload is a new session),
so the name also goes into a *session cookie* (no expiry: the browser drops it when it closes; a
new browser or profile asks again). Streamlit can read cookies (``st.context.cookies``, as sent
when the page connected) but not set them, so a two-line script in the sidebar sets it
(``st.html`` with JavaScript). The value is the name in base64url, so nothing the editor typed
reaches the script as code. This is the same trust as the name form itself (anyone can type any
name); teams that need more use OIDC or a proxy header.
"""

from __future__ import annotations

import base64
import binascii
import json

import streamlit as st

from verify.errors import VerifyError
from verify.services import require_actor
from verify.ui.resources import settings

NAME_KEY = "editor_name"
#: The cookie that keeps the given name for the browser session.
COOKIE = "verify_editor"
#: Set when the editor chose "Change name": the cookie sent at connect time no longer counts.
FORGET_KEY = "editor_name_forgotten"


def encode_name(name: str) -> str:
    """The name as a cookie value: base64url of its UTF-8, without padding (cookie- and script-safe)."""
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def decode_name(value: str | None) -> str | None:
    """The name from a cookie value, or None when it is missing or not one of ours."""
    if not isinstance(value, str) or not value or len(value) > 1000:  # (AppTest hands out mocks)
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        name = require_actor(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, VerifyError):
        return None
    return name


def _cookie_script(value: str | None) -> str:
    """A script that sets (``value``) or deletes (None) the name cookie for this site."""
    if value is None:
        assignment = f"{COOKIE}=; path=/; max-age=0; SameSite=Strict"
        return f"<script>document.cookie = {json.dumps(assignment)};</script>"
    assignment = f"{COOKIE}={value}; path=/; SameSite=Strict"
    return ("<script>document.cookie = " + json.dumps(assignment)
            + " + (location.protocol === 'https:' ? '; Secure' : '');</script>")


def _cookie_name() -> str | None:
    """The name kept in this browser's session cookie, unless the editor chose to change it."""
    if st.session_state.get(FORGET_KEY):
        return None
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser connection (bare mode)
        return None
    return decode_name(value)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except (AttributeError, KeyError):  # no auth runtime (tests, misconfiguration)
        return False


#: Where the trusted proxy connects from when VERIFY_TRUSTED_PROXY is unset: this machine.
DEFAULT_PROXIES = "127.0.0.1,::1"


def peer_address() -> str | None:
    """The address of the connection this page runs for (the TCP peer of the websocket).

    Streamlit reports loopback (``127.0.0.1``, ``::1``) as ``None``; that is given back as
    ``127.0.0.1``. With no browser connection at all (AppTest, bare mode) also ``127.0.0.1``:
    only a local process can run the script without a socket. ``verify.ui.launch`` turns off the
    web server's own X-Forwarded-For rewriting, so this is the proxy itself, never what a
    client claims.
    """
    try:
        ip = st.context.ip_address
    except Exception:
        ip = None
    return str(ip) if isinstance(ip, str) and ip else "127.0.0.1"


def proxy_allows(peer: str | None, trusted: str | None) -> bool:
    """Whether ``peer`` is one of the trusted proxy addresses (IPs or networks, comma-separated)."""
    import ipaddress

    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for part in (trusted or DEFAULT_PROXIES).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if address in ipaddress.ip_network(part, strict=False):
                return True
        except ValueError:
            continue
    return False


def _forwarding_rewrite_on() -> bool:
    """Whether the web server may have replaced a loopback peer's address with X-Forwarded-For.

    Uvicorn (under Streamlit) does so for peers in ``FORWARDED_ALLOW_IPS`` (default loopback);
    ``verify.ui.launch`` sets it to ``none``. A plain ``streamlit run`` leaves it on.
    """
    import os

    value = os.environ.get("FORWARDED_ALLOW_IPS")
    return value is None or value.strip().lower() not in ("", "none")


def header_refused() -> str | None:
    """Why a header-mode request is not believed (it did not come through the proxy), or None."""
    if method() != "header":
        return None
    try:
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:
        forwarded = None
    if forwarded and _forwarding_rewrite_on():
        # The address seen may be what the request claims, not who connected: fail closed.
        return ("This workbench cannot tell whether this request came through its proxy: the web server trusts "
                "X-Forwarded-For. Start it with 'python3 app.py' (or set FORWARDED_ALLOW_IPS=none), or ask your administrator.")
    peer = peer_address()
    if proxy_allows(peer, settings().trusted_proxy):
        return None
    return (f"This workbench accepts sign-in only through its reverse proxy; this connection came from {peer}, "
            "which is not the proxy's address. Use the desk's address, or ask your administrator.")


def _apply_signed_in_role(name: str) -> None:
    """Record the role the identity provider's groups claim maps to, once per session and change."""
    from verify import roles
    from verify.ui.resources import services

    s = settings()
    if not s.oidc_role_map:
        return
    try:
        claim = st.user.get(s.oidc_role_claim or "groups")
    except Exception:
        return
    role = roles.role_from_claim(claim, roles.parse_role_map(s.oidc_role_map))
    if role is None:
        return
    key = f"{name}\n{role.value}"
    if st.session_state.get("_oidc_role_applied") == key:
        return
    services().apply_signed_in_role(name, role, source="oidc")
    st.session_state["_oidc_role_applied"] = key


def method() -> str:
    if _oidc_configured():
        return "oidc"
    if settings().trusted_header:
        return "header"
    return "name"


def current() -> str | None:
    """The editor's name, or None if nobody is identified yet (no UI drawn here)."""
    how = method()
    if how == "oidc":
        if not _logged_in():
            return None
        for key in ("email", "preferred_username", "name", "sub"):
            value = st.user.get(key)
            if value:
                name = require_actor(str(value))
                _apply_signed_in_role(name)
                return name
        return None
    if how == "header":
        if header_refused():
            return None
        value = st.context.headers.get(settings().trusted_header or "")
        return require_actor(value) if value and value.strip() else None
    name = st.session_state.get(NAME_KEY)
    if not name:
        name = _cookie_name()  # a reload: the name given earlier in this browser session
        if name:
            st.session_state[NAME_KEY] = name
    return name or None


def require() -> str:
    """The editor's name; draws the sign-in (or name form) and stops the page until there is one."""
    name = current()
    if name:
        return name
    how = method()
    st.title("verify")
    if how == "oidc":
        st.write("Sign in to the verification desk: every change is recorded under your name.")
        if st.button("Sign in", type="primary"):
            st.login()
        st.stop()
    if how == "header":
        refused = header_refused()
        st.error(refused or "Your sign-in did not reach the workbench (the trusted proxy sent no user). Ask your administrator.")
        st.stop()
    st.write("Who is working? Every warning and verdict you record carries your name.")
    if st.session_state.get(FORGET_KEY):
        st.html(_cookie_script(None), unsafe_allow_javascript=True)  # "Change name": forget the kept one
    with st.form("who"):
        given = st.text_input("Your name", max_chars=120, key="editor_name_input")
        submitted = st.form_submit_button("Start", type="primary")
    if submitted:
        try:
            st.session_state[NAME_KEY] = require_actor(given)
        except Exception as exc:
            st.error(str(exc))
            st.stop()
        st.session_state.pop(FORGET_KEY, None)
        st.rerun()
    st.stop()
    raise AssertionError("unreachable")


def sidebar() -> None:
    name = current()
    if not name:
        return
    with st.sidebar:
        st.caption("Working as")
        st.text(name)
        how = method()
        if how == "oidc":
            if st.button("Sign out"):
                st.logout()
        elif how == "name":
            if st.button("Not you? Change name", key="change_name"):
                st.session_state.pop(NAME_KEY, None)
                st.session_state[FORGET_KEY] = True
                st.rerun()
            # Keep the name for a reload in this browser session (idempotent: drawn on every run, so
            # a page switch right after the name form cannot lose it).
            st.html(_cookie_script(encode_name(name)), unsafe_allow_javascript=True)
