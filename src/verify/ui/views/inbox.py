"""Inbox and archive: every item with its thumbnail, status, warnings, source and dates.

Filters run in the database where it can (status, origin, dates, text, SHA-256 prefix); the
warning category and "has matches" are checked here. Thumbnails of flagged items are blurred, and so
are those of copies of flagged items (as a precaution, as on the item pages; see
``views.matching.precaution_warnings``).
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
from verify.ui.views import matching
from verify.ui.views.matching import precaution_map, precaution_warnings

COLUMNS = 4
#: Cards per page: each needs a decoded preview the first time it is shown.
PAGE_SIZE = 48


def _match_count(item_id: int, archive_size: int, db: str) -> int:
    """Confident matches of one item (cached per archive size, shared with the item pages)."""
    try:
        outcome = matching._outcome(item_id, archive_size, db)
    except Exception:
        return 0
    matching.remember_matches(item_id, outcome)
    return len(outcome.matches)


def _filters() -> tuple[ItemFilter, str | None, bool]:
    svc = services()
    # Two rows, so the date range field is wide enough for its whole placeholder.
    top = st.columns([3, 2])
    c = st.columns(4, vertical_alignment="bottom")
    text = top[0].text_input("Search", placeholder="text, file name or SHA-256 prefix", key="inbox_text", max_chars=200)
    dates = top[1].date_input("First seen between", value=(), key="inbox_dates", min_value=date(1900, 1, 1),
                              format="YYYY-MM-DD")
    status = c[0].selectbox("Status", ["(any)", *svc.statuses], format_func=lambda s: s if s == "(any)" else status_label(s),
                            key="inbox_status")
    warning = c[1].selectbox("Warning", ["(any)", "(flagged)", "(none)", *WARNING_CATEGORIES],
                             format_func=lambda s: s if s.startswith("(") else warning_label(s), key="inbox_warning")
    origin = c[2].selectbox("Origin", ["(any)", "submission", "archive"], key="inbox_origin")
    has_matches = c[3].checkbox("Has matches", key="inbox_has_matches")
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
        with st.spinner("Checking which items have earlier copies in the archive…"):
            size, db = svc.store.count_items(), svc.settings.database_url
            rows = [r for r in rows if _match_count(r[0].id, size, db) > 0]
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
    with st.spinner("Checking for copies of items with a content warning…"):
        inherited = precaution_map()
    for start in range(0, len(shown), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, (item, status, warnings) in zip(cols, shown[start : start + COLUMNS], strict=False):
            with col, st.container(border=True):
                _card(item, status, warnings, precaution_warnings(item.id, warnings, inherited))


def _card(item, status: str, warnings: list[str], inherited: tuple[str, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    blurred = components.is_blurred(item.id, tuple(warnings) + tuple(inherited))
    data = components.preview(item, 320, blurred=blurred)
    if data:
        st.image(data, width="stretch")
    else:
        st.text("(no preview)")
    if blurred:
        st.text("Blurred (content warning)" if warnings else "Blurred as a precaution")
    if inherited:
        st.text("Matches an item with a warning: " + ", ".join(warning_label(w) for w in inherited))
    st.text(short(item.filename or item.sha256[:16], 40))
    st.text(f"{status_label(status)} · {item.kind} · {item.origin}")
    if warnings:
        st.text("Warning: " + ", ".join(warning_label(w) for w in warnings))
    st.text(f"Source: {short(item.source, 34) or '-'}")
    seen = item.first_seen_at or item.ingested_at
    st.text(f"Seen {seen.date().isoformat()} · in {item.ingested_at.date().isoformat()}")
    nav.link("item", f"Open item {item.id}", item.id)
