"""Matches: each earlier copy side by side with the upload, and ways to compare them.

The earliest first-seen date comes first and large: "this picture was in the archive on ...",
which is the whole story of a recycled photo. Each match shows its score, the method that found
it, the matched item's first-seen date and source, and for video the matched frame times. A match
is named by where it came from: "Archive item 1", "Earlier submission 10".
"""

from __future__ import annotations

import io

import streamlit as st
from PIL import Image

from verify.errors import VerifyError
from verify.models import Match, MediaItem
from verify.report import earliest_match, media_word, seen_date
from verify.ui import components, identity, imaging, nav
from verify.ui.resources import services
from verify.ui.safe import md, short
from verify.ui.views.matching import item_label, match_outcome
from verify.ui.views.warnings import FLASH_KEY, suggest_warnings


@st.cache_data(show_spinner=False, max_entries=300)
def _frame_jpeg(sha256: str, kind: str, path: str, t: float | None, max_pixels: int, blurred: bool) -> bytes | None:
    """The picture to compare: the image itself, or the video frame nearest ``t``."""
    from pathlib import Path

    try:
        if kind == "image":
            im = imaging.load_preview(Path(path), kind, 800, max_pixels)
        else:
            im = imaging.frame_near(Path(path), t)
            if im is None:
                return None
            im.thumbnail((800, 800))
    except Exception:
        return None
    return imaging.jpeg(imaging.blur(im) if blurred else im)


def _picture(item: MediaItem, t: float | None, blurred: bool) -> bytes | None:
    svc = services()
    return _frame_jpeg(item.sha256, item.kind, str(svc.original_path(item)), t, svc.settings.max_image_pixels, blurred)


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@st.cache_data(show_spinner=False, max_entries=200)
def _aligned(query: bytes, other: bytes) -> bytes | None:
    try:
        out = imaging.align(_open(query), _open(other))
    except Exception:
        return None
    return imaging.jpeg(out) if out is not None else None


def _compare(query: bytes, other: bytes, key: str) -> None:
    mode = st.segmented_control("Compare", ["Side by side", "Overlay", "Swipe", "Difference"], default="Side by side",
                                key=f"mode_{key}")
    if mode in (None, "Side by side"):
        return
    a, b = _open(query), _open(other)
    aligned = _aligned(query, other)
    if aligned is not None:
        b = _open(aligned)
    if mode == "Overlay":
        alpha = st.slider("Upload ← → archive", 0.0, 1.0, 0.5, 0.05, key=f"alpha_{key}")
        out = imaging.blend(a, b, alpha)
    elif mode == "Swipe":
        split = st.slider("Swipe position", 0.0, 1.0, 0.5, 0.05, key=f"split_{key}")
        out = imaging.swipe(a, b, split)
    else:
        out = imaging.difference(a, b)
    st.image(imaging.jpeg(out), width="stretch")
    st.caption("The matched picture aligned onto your upload (keypoints, mirrored if needed)." if aligned is not None
               else "The matched picture fitted into your upload's frame (no reliable alignment found).")


def _view_word(view: object) -> str:
    """What part or view of the upload matched, in plain words."""
    return {
        "region": "picture inside it",
        "rectified": "screen (straightened)",
        "uncaptioned": "picture without its caption text",
        "turned-90": "picture turned back a quarter",
        "turned-270": "picture turned back a quarter",
    }.get(str(view), "part")


def _matched_part(item: MediaItem, q: bytes, region: list[int], quad: list[list[int]] | None) -> tuple[bytes, bytes | None]:
    """The upload cut to the matched region (for the comparison modes) and the upload with it outlined."""
    from verify.matching.derived import upright_size

    try:
        preview = _open(q)
        size = upright_size(services().original_path(item))
        box = imaging.region_in_preview(preview, region, size)
        if box is None or size is None:
            return q, q
        scale = (preview.width / size[0], preview.height / size[1])
        shown = imaging.jpeg(imaging.outline(preview, box, quad, scale))
        return imaging.jpeg(preview.crop(box)), shown
    except Exception:
        return q, q


def _method_line(m: Match) -> str:
    """How the match was found; the hash distance only when the method does not already say it."""
    if "d=" in m.method:
        return f"Method: {m.method}"
    return f"Method: {m.method} (distance {m.distance})"


def show_match(item: MediaItem, item_warnings: tuple, m: Match, i: int) -> None:
    svc = services()
    other_state = svc.store.state(m.item.id)
    with st.container(border=True):
        seen = seen_date(m.item).date().isoformat()
        label = item_label(m.item, item)
        st.markdown(f"**{label}** · first seen {seen} · score {m.score:.2f}"
                    + (" · confident match" if m.confident else " · candidate, check by eye"))
        info = [
            _method_line(m),
            f"Source: {short(m.item.source, 100) or '-'}",
            f"File: {short(m.item.filename, 100) or '-'}",
        ]
        if m.query_time_s is not None or m.match_time_s is not None:
            info.append(f"Frame: {imaging.fmt_time(m.query_time_s) or '-'} in the upload ↔ {imaging.fmt_time(m.match_time_s) or '-'} in the "
                        + ("archive item" if m.item.origin == "archive" else "other submission"))
        st.text("\n".join(info))
        q_blur = components.is_blurred(item.id, item_warnings)
        o_blur = components.is_blurred(m.item.id, other_state.warnings)
        left, right = st.columns(2)
        with left:
            q = _picture(item, m.query_time_s, q_blur)
            region = m.detail.get("region")
            if q and region and item.kind == "image":
                q, shown = _matched_part(item, q, region, m.detail.get("quad"))
                st.caption(f"Your upload: the matched {_view_word(m.detail.get('view'))} is outlined")
                if shown:
                    st.image(shown, width="stretch")
            else:
                st.caption("Your upload" + (f" ({_view_word(m.detail.get('view'))})" if m.detail.get("view") else ""))
                if q:
                    st.image(q, width="stretch")
        with right:
            st.caption(label)
            o = _picture(m.item, m.match_time_s, o_blur)
            if o:
                st.image(o, width="stretch")
            if other_state.warnings:
                components.reveal_controls(m.item, other_state, key=f"match{i}")
        if q and o and not (q_blur or o_blur):
            _compare(q, o, f"{item.id}_{m.item.id}")
        elif q_blur or o_blur:
            st.caption("Comparison views open once both pictures are revealed.")
        nav.link("item", f"Open {label[0].lower()}{label[1:]}", m.item.id)


def show_bank_hits(item: MediaItem, hits: list) -> None:  # type: ignore[type-arg]
    """Partners' hash-bank entries this item is near: a listing, not an archive item to compare."""
    for h in hits:
        at = f" at {h.query_time_s:.1f} s" if h.query_time_s is not None else ""
        where = f" of {md(h.file_name, 80)}" if h.file_name else ""
        label = f" ({md(h.label, 80)})" if h.label else ""
        st.warning(
            f"**Bank hit: listed in bank {md(h.bank, 100)}**{at}  \n"
            f"Entry on line {h.line_no}{where}{label}: PDQ `{h.pdq}`, distance {h.distance} of 256 "
            f"(quality {h.query_quality}). A partner's hash list: there is no original in the archive to compare.",
            icon=":material/share:",
        )


def render() -> None:
    identity.require()
    item_id = components.pick_item()
    if item_id is None:
        return
    svc = services()
    try:
        item = svc.store.item(item_id)
    except VerifyError as exc:
        st.error(str(exc))
        return
    state = svc.store.state(item_id, svc.statuses[0])
    components.item_header(item, state)
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    outcome = match_outcome(item_id)
    first = earliest_match(outcome.matches)
    if first is not None:
        src = f" (source: {md(first.item.source, 80)})" if first.item.source else ""
        when = seen_date(first.item).date().isoformat()
        headline = (f"This {media_word(item.kind)} was in the archive on {when}" if first.item.origin == "archive"
                    else f"This {media_word(item.kind)} was received before, on {when}")
        st.error(f"### {headline}\n{item_label(first.item, item)}{src}.", icon=":material/history:")
    elif outcome.candidates:
        st.info("No confident match; the weaker candidates below are worth a look.")
    elif not outcome.bank_hits:
        st.success(f"No earlier copy of this {media_word(item.kind)} was found in the archive.")
    show_bank_hits(item, outcome.bank_hits)
    suggest_warnings(item_id, outcome, state, key="matches")
    inherited = components.inherited_warnings(state, outcome)
    components.reveal_controls(item, state, key="matches_q", inherited=inherited)
    flags = tuple(state.warnings) + inherited
    for i, m in enumerate(outcome.matches):
        show_match(item, flags, m, i)
    if outcome.candidates:
        with st.expander(f"Candidates ({len(outcome.candidates)}): similar, not confirmed", expanded=not outcome.matches):
            for i, m in enumerate(outcome.candidates):
                show_match(item, flags, m, 1000 + i)
