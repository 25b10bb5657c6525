"""Who is working: every event the workbench writes carries this name.

Three ways, strongest first:
1. OIDC through ``st.login`` when ``[auth]`` is configured in ``.streamlit/secrets.toml``;
2. a header set by a trusted reverse proxy (``VERIFY_TRUSTED_HEADER``, e.g. ``X-Forwarded-User``),
   only when the proxy is the sole way in;
3. otherwise the name the editor gives on first visit (kept for the browser session).
"""

from __future__ import annotations

import streamlit as st

from verify.services import require_actor
from verify.ui.resources import settings

NAME_KEY = "editor_name"


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
                return require_actor(str(value))
        return None
    if how == "header":
        value = st.context.headers.get(settings().trusted_header or "")
        return require_actor(value) if value and value.strip() else None
    name = st.session_state.get(NAME_KEY)
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
        st.error("Your sign-in did not reach the workbench (the trusted proxy sent no user). Ask your administrator.")
        st.stop()
    st.write("Who is working? Every warning and verdict you record carries your name.")
    with st.form("who"):
        given = st.text_input("Your name", max_chars=120, key="editor_name_input")
        submitted = st.form_submit_button("Start", type="primary")
    if submitted:
        try:
            st.session_state[NAME_KEY] = require_actor(given)
        except Exception as exc:
            st.error(str(exc))
            st.stop()
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
                st.rerun()
