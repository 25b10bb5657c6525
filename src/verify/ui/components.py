"""Pieces several pages share: the current item, previews that respect warnings, item headers.

Blurring is decided here, once: ``is_blurred`` is true for an item with a content warning until an
editor presses Reveal for that item in this session. Blurred pixels are made on the server
(``imaging.blur``), so the unblurred picture never reaches the browser before Reveal.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from verify.errors import VerifyError
from verify.models import ItemState, MediaItem
from verify.report import status_label, warning_label
from verify.store import ItemFilter
from verify.ui import imaging, nav
from verify.ui.resources import services
from verify.ui.safe import md, short

REVEALED_KEY = "revealed_items"
#: Streamlit serves media from memory: larger videos are shown as keyframes only.
VIDEO_INLINE_MAX_BYTES = 300 * 1024**2


# -- reveal state ------------------------------------------------------------------------------


def revealed() -> set[int]:
    return st.session_state.setdefault(REVEALED_KEY, set())


def may_reveal() -> bool:
    """Whether this person may unblur flagged media (viewers only when the desk allows it)."""
    from verify.roles import Action
    from verify.ui import access

    try:
        return access.can(Action.REVEAL)
    except Exception:  # no store yet: the careful answer
        return False


def is_blurred(item_id: int, warnings: object) -> bool:
    return bool(warnings) and (item_id not in revealed() or not may_reveal())


def reveal_controls(item: MediaItem, state: ItemState, key: str, inherited: tuple[str, ...] = ()) -> None:
    """Reveal / blur-again buttons for a flagged item (nothing for an unflagged one).

    ``inherited`` are warnings carried by items this one matches: until an editor decides,
    the item is blurred as a precaution.
    """
    if not state.warnings and not inherited:
        return
    if state.warnings:
        labels = ", ".join(warning_label(w.category) for w in state.warnings)
        what = f"Content warning: {labels}."
    else:
        labels = ", ".join(warning_label(c) for c in inherited)
        what = f"A matching item carries a content warning ({labels}); blurred as a precaution."
    if not may_reveal():
        from verify.roles import Action
        from verify.ui import access

        st.warning(f"{what} The picture stays blurred.", icon=":material/warning:")
        st.button("Reveal", key=f"reveal_{key}_{item.id}", disabled=True, help=access.why_not(Action.REVEAL))
        st.caption(access.why_not(Action.REVEAL))
        return
    if item.id in revealed():
        st.warning(f"{what} Shown because you chose Reveal.", icon=":material/warning:")
        if st.button("Blur again", key=f"blur_{key}_{item.id}"):
            revealed().discard(item.id)
            st.rerun()
    else:
        st.warning(f"{what} The picture is blurred until you choose Reveal.", icon=":material/warning:")
        if st.button("Reveal", key=f"reveal_{key}_{item.id}", type="secondary"):
            revealed().add(item.id)
            st.rerun()


def inherited_warnings(state: ItemState, outcome: object) -> tuple[str, ...]:
    """Warning categories of confidently matched items that this item does not carry.

    The item's own matches, plus the items with a warning that find this one among theirs: the
    same rule the inbox cards follow (``views.matching.precaution_warnings``), so a card and its
    item page never disagree about blurring.
    """
    from verify.ui.views.matching import precaution_warnings

    have = {w.category for w in state.warnings}
    found: set[str] = set()
    svc = services()
    for m in getattr(outcome, "matches", []) or []:
        try:
            found.update(w.category for w in svc.store.state(m.item.id).warnings)
        except VerifyError:
            continue
    found.update(precaution_warnings(state.item_id, tuple(have)))
    return tuple(sorted(found - have))


# -- pictures (cached by content hash: the originals never change) ------------------------------


@st.cache_data(show_spinner=False, max_entries=2000)
def preview_jpeg(sha256: str, kind: str, path: str, max_side: int, blurred: bool, max_pixels: int) -> bytes | None:
    try:
        im = imaging.load_preview(Path(path), kind, max_side, max_pixels)
    except VerifyError:
        return None
    except Exception:  # a preview must never take a page down
        return None
    return imaging.jpeg(imaging.blur(im) if blurred else im)


def preview(item: MediaItem, max_side: int = 640, *, blurred: bool) -> bytes | None:
    svc = services()
    return preview_jpeg(item.sha256, item.kind, str(svc.original_path(item)), max_side, blurred, svc.settings.max_image_pixels)


@st.cache_data(show_spinner=False, max_entries=200)
def contact_sheet_jpeg(sha256: str, path: str, blurred: bool) -> tuple[bytes | None, list[float]]:
    try:
        frames = imaging.keyframes(Path(path))
    except Exception:
        return None, []
    return imaging.jpeg(imaging.contact_sheet(frames, blurred=blurred)), [t for t, _ in frames]


def show_media(item: MediaItem, state: ItemState, *, key: str, max_side: int = 900, inherited: tuple[str, ...] = ()) -> None:
    """The item itself: a picture, or a player plus a contact sheet; blurred while flagged."""
    blurred = is_blurred(item.id, tuple(state.warnings) + tuple(inherited))
    svc = services()
    if item.kind == "image":
        data = preview(item, max_side, blurred=blurred)
        if data is None:
            st.error("This picture cannot be shown (it could not be decoded for a preview).")
        else:
            st.image(data, width="stretch")
    else:
        if blurred:
            data = preview(item, max_side, blurred=True)
            if data is not None:
                st.image(data, width="stretch")
            st.text("Video hidden behind its content warning; Reveal to play it (sound starts muted).")
        elif item.bytes > VIDEO_INLINE_MAX_BYTES:
            st.text(f"This video is {item.bytes / 1024**2:,.0f} MB, too large to play in the browser here; "
                    "the keyframes below show its content.")
        else:
            try:
                st.video(svc.original_path(item).read_bytes(), format=item.mime, muted=bool(state.warnings or inherited))
            except OSError:
                st.error("The stored video could not be read.")
        sheet, times = contact_sheet_jpeg(item.sha256, str(svc.original_path(item)), blurred)
        if sheet:
            st.caption(f"Keyframes ({len(times)}), with their time in the video")
            st.image(sheet, width="stretch")
    if blurred:
        st.caption("Blurred: content warning")
    reveal_controls(item, state, key, inherited)


# -- item header and item navigation ------------------------------------------------------------


def item_title(item: MediaItem) -> str:
    return f"Item {item.id}: {md(item.filename or item.sha256[:12], 80)}"


def item_header(item: MediaItem, state: ItemState) -> None:
    st.subheader(item_title(item))
    cols = st.columns([1, 1, 2])
    cols[0].metric("Status", status_label(state.status))
    cols[1].metric("Kind", item.kind)
    with cols[2]:
        st.caption("Source")
        st.text(short(item.source, 120) or "(not given)")
    nav.item_links(item.id)


def pick_item() -> int | None:
    """The item the item pages are about: from the URL (?item=N), else the last one opened in this
    session, else the most recent item (never an empty chooser: the inbox lists the others)."""
    item_id = nav.current_item_id()
    svc = services()
    if item_id is not None:
        try:
            svc.store.item(item_id)
            return item_id
        except VerifyError:
            st.error(f"There is no item {item_id}.")
            st.session_state.pop(nav.ITEM_KEY, None)  # not the session's "last opened" any more
            nav.link("inbox", "Choose an item in the inbox")
            return None
    rows = svc.list_items(ItemFilter(limit=1))
    if not rows:
        st.info("No items yet: upload a photo or video first.")
        nav.link("upload", "Upload files")
        return None
    latest = rows[0][0]
    nav.set_current_item(latest.id)
    st.caption(f"Showing the most recent item, item {latest.id}. The inbox lists the others.")
    return latest.id


# -- optimistic concurrency: the version the editor last saw ------------------------------------

SEEN_KEY = "seen_versions"


def seen_version(item_id: int, state: ItemState) -> int:
    """The item version this editor's page showed before this run (their change is based on it).

    Streamlit reruns the whole page on a click, so the state loaded in this run may already hold
    someone else's change; checking against the version shown *before* the click is what turns
    that into a "changed by X meanwhile" message instead of a silent overwrite.
    """
    seen: dict[int, int] = st.session_state.setdefault(SEEN_KEY, {})
    return seen.setdefault(item_id, state.version)


def mark_seen(item_id: int, version: int) -> None:
    st.session_state.setdefault(SEEN_KEY, {})[item_id] = version


def facts(rows: list[tuple[str, object]]) -> None:
    """Label/value pairs; values (often from the file or a stranger) always as plain text."""
    for label, value in rows:
        left, right = st.columns([2, 5], gap="small", vertical_alignment="center")
        left.caption(label)  # labels are ours, never from a file
        right.text("-" if value is None or value == "" else str(value))


# -- forms that start fresh after a save --------------------------------------------------------


def form_key(form: str, field: str) -> str:
    """A widget key that includes the form's generation (see ``next_form``)."""
    return f"{field}_{st.session_state.get(f'form_gen_{form}', 0)}"


def next_form(form: str) -> None:
    """Start the form afresh after a save: new keys make new, empty widgets.

    Emptying the values in the session is not enough: the browser keeps showing a widget's last
    value and sends it again with the next submit, so a second click would save the same text
    again (or pin an old claim on the next file).
    """
    st.session_state[f"form_gen_{form}"] = st.session_state.get(f"form_gen_{form}", 0) + 1
    # The old generation's widgets are not drawn again, so Streamlit drops their values.
