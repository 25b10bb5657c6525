"""Inbox and archive: every item with its thumbnail, status, warnings, source and dates.

Filters run in the database where it can (status, origin, dates, text, SHA-256 prefix); the
warning category and "has matches" are checked here. Thumbnails of flagged items are blurred.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from verify.models import WARNING_CATEGORIES
from verify.report import case_list_csv, status_label, warning_label
from verify.store import ItemFilter
from verify.ui import components, identity, nav
from verify.ui.resources import services
from verify.ui.safe import short

COLUMNS = 4
#: Cards per page: each needs a decoded preview the first time it is shown.
PAGE_SIZE = 48


@st.cache_data(show_spinner=False, max_entries=5000)
def _match_count(item_id: int, archive_size: int, db: str) -> int:
    """Confident matches of one item; recomputed when the archive grows."""
    try:
        return len(services().match_item(item_id).matches)
    except Exception:
        return 0


def _filters() -> tuple[ItemFilter, str | None, bool]:
    svc = services()
    c = st.columns([2, 1, 1, 1, 2, 1])
    text = c[0].text_input("Search", placeholder="text, file name or SHA-256 prefix", key="inbox_text", max_chars=200)
    status = c[1].selectbox("Status", ["(any)", *svc.statuses], format_func=lambda s: s if s == "(any)" else status_label(s),
                            key="inbox_status")
    warning = c[2].selectbox("Warning", ["(any)", "(flagged)", "(none)", *WARNING_CATEGORIES],
                             format_func=lambda s: s if s.startswith("(") else warning_label(s), key="inbox_warning")
    origin = c[3].selectbox("Origin", ["(any)", "submission", "archive"], key="inbox_origin")
    dates = c[4].date_input("First seen between", value=(), key="inbox_dates", min_value=date(1900, 1, 1))
    has_matches = c[5].checkbox("Has matches", key="inbox_has_matches")
    since = until = None
    if isinstance(dates, (tuple, list)):
        if len(dates) >= 1:
            since = dates[0]
        if len(dates) == 2:
            until = dates[1]
    f = ItemFilter(
        origin=None if origin == "(any)" else origin,
        status=None if status == "(any)" else status,
        has_warning=True if warning not in ("(any)", "(none)") else (False if warning == "(none)" else None),
        text=(text or "").strip() or None,
        since=since,
        until=until,
    )
    category = warning if warning in WARNING_CATEGORIES else None
    return f, category, has_matches


def render() -> None:
    identity.require()
    st.title("Inbox and archive")
    svc = services()
    f, category, has_matches = _filters()
    rows = svc.list_items(f)
    if category:
        rows = [r for r in rows if category in r[2]]
    if has_matches:
        size = svc.store.count_items()
        with st.spinner("Checking which items have earlier copies in the archive…"):
            rows = [r for r in rows if _match_count(r[0].id, size, svc.settings.database_url) > 0]
    st.caption(f"{len(rows)} item(s)")
    if not rows:
        st.info("Nothing here yet: upload photos and videos first." if not svc.store.count_items() else "No item matches these filters.")
        nav.link("upload", "Upload files")
        return
    st.download_button("Case list (CSV)", case_list_csv(rows), file_name="verify-case-list.csv", mime="text/csv",
                       key="inbox_csv", on_click="ignore")
    shown = rows
    if len(rows) > PAGE_SIZE:
        pages = (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE
        page = st.selectbox("Page", list(range(1, pages + 1)), key="inbox_page",
                            format_func=lambda p: f"{p} of {pages} (items {(p - 1) * PAGE_SIZE + 1}-{min(p * PAGE_SIZE, len(rows))})")
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    for start in range(0, len(shown), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, (item, status, warnings) in zip(cols, shown[start : start + COLUMNS], strict=False):
            with col, st.container(border=True):
                _card(item, status, warnings)


def _card(item, status: str, warnings: list[str]) -> None:  # type: ignore[no-untyped-def]
    blurred = components.is_blurred(item.id, warnings)
    data = components.preview(item, 320, blurred=blurred)
    if data:
        st.image(data, width="stretch")
    else:
        st.text("(no preview)")
    if blurred:
        st.text("Blurred (content warning)")
    st.text(short(item.filename or item.sha256[:16], 40))
    st.text(f"{status_label(status)} · {item.kind} · {item.origin}")
    if warnings:
        st.text("Warning: " + ", ".join(warning_label(w) for w in warnings))
    st.text(f"Source: {short(item.source, 34) or '-'}")
    seen = item.first_seen_at or item.ingested_at
    st.text(f"Seen {seen.date().isoformat()} · in {item.ingested_at.date().isoformat()}")
    nav.link("item", f"Open item {item.id}", item.id)
