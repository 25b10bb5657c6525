"""The pages and moving between them.

Pages are files in ``verify/ui/pages`` (so ``AppTest.switch_page`` can open each one). The item
being worked on travels in the URL (``?item=N``), so a link to an item page can be shared with a
colleague, and falls back to the last item opened in this session.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: key (page file name), title, icon, url path ("" = the default page at /)
PAGE_TABLE: list[tuple[str, str, str, str]] = [
    ("upload", "Upload", ":material/upload:", ""),
    ("inbox", "Inbox and archive", ":material/inbox:", "inbox"),
    ("item", "Item", ":material/image:", "item"),
    ("matches", "Matches", ":material/compare:", "matches"),
    ("warnings", "Content warnings", ":material/warning:", "warnings"),
    ("verdict", "Verdict and history", ":material/gavel:", "verdict"),
    ("export", "Export", ":material/download:", "export"),
    ("roles", "Roles", ":material/group:", "roles"),
    ("jobs", "Background work", ":material/pending_actions:", "jobs"),
]

ITEM_PAGES = ("item", "matches", "warnings", "verdict", "export")
ITEM_KEY = "item_id"


def build() -> dict[str, st.Page]:
    pages: dict[str, st.Page] = {}
    for key, title, icon, url in PAGE_TABLE:
        path = PAGES_DIR / f"{key}.py"
        if url:
            pages[key] = st.Page(path, title=title, icon=icon, url_path=url)
        else:
            pages[key] = st.Page(path, title=title, icon=icon, default=True)
    st.session_state["_pages"] = pages
    return pages


def page(key: str) -> st.Page:
    pages = st.session_state.get("_pages") or build()
    return pages[key]


def current_item_id() -> int | None:
    raw = st.query_params.get("item")
    if raw is not None:
        try:
            item_id = int(str(raw))
            st.session_state[ITEM_KEY] = item_id
            return item_id
        except ValueError:
            pass
    value = st.session_state.get(ITEM_KEY)
    if value is not None:
        st.query_params["item"] = str(value)
    return value


def set_current_item(item_id: int) -> None:
    st.session_state[ITEM_KEY] = int(item_id)
    st.query_params["item"] = str(int(item_id))


def link(key: str, label: str, item_id: int | None = None) -> None:
    params = {"item": str(item_id)} if item_id is not None else None
    st.page_link(page(key), label=label, query_params=params)


def go(key: str, item_id: int | None = None) -> None:
    if item_id is not None:
        st.session_state[ITEM_KEY] = int(item_id)
    st.switch_page(page(key), query_params={"item": str(item_id)} if item_id is not None else None)


def item_links(item_id: int) -> None:
    """The item's pages side by side, each keeping the item in the URL."""
    cols = st.columns(len(ITEM_PAGES))
    labels = {"item": "Overview", "matches": "Matches", "warnings": "Warnings", "verdict": "Verdict", "export": "Export"}
    for col, key in zip(cols, ITEM_PAGES, strict=True):
        with col:
            st.page_link(page(key), label=labels[key], icon=dict((k, i) for k, _t, i, _u in PAGE_TABLE)[key],
                         query_params={"item": str(item_id)})
