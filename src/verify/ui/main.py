"""The workbench's entry: page config and navigation (the workbench issue fills the pages)."""

from __future__ import annotations

import streamlit as st


def run() -> None:
    st.set_page_config(page_title="verify", layout="wide")
    st.title("verify")
    st.write("A media-verification workbench. Use the `verify` command to index and match files.")
