"""Long-lived objects shared by every session: the settings and one ``Services`` per store.

The archive index lives in memory inside ``Services``; building it reads every fingerprint, so it
is done once per process (``st.cache_resource``), keyed by the settings so a test with another data
folder gets its own desk. Tests call ``clear()`` between runs.
"""

from __future__ import annotations

import logging

import streamlit as st

from verify.config import Settings, load_settings
from verify.services import Services

log = logging.getLogger(__name__)


def settings() -> Settings:
    """Read per run: cheap, and a test that changes ``VERIFY_DATA_DIR`` is seen at once."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def _services(key: str, _settings: Settings) -> Services:
    try:  # decode untrusted uploads in a sandboxed child process where this build has one
        return Services(_settings, isolate=True)
    except (TypeError, ImportError):
        return Services(_settings)


def services() -> Services:
    s = settings()
    return _services(repr(s), s)


def clear() -> None:
    """Forget cached desks and images (tests; after a data folder changes)."""
    st.cache_resource.clear()
    st.cache_data.clear()
