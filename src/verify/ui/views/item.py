"""The item page: the media, the key facts first, the findings as flags, a map, every tag.

The facts an editor checks first (captured when, with what camera, where, edited with what,
content credentials) come before the long tag table; the findings say in plain words what is odd.
Everything that came from the file is shown as text.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from verify.findings import camera_line
from verify.models import Finding, Metadata
from verify.report import earliest_match, findings_for, media_word, seen_date
from verify.services import ItemView
from verify.ui import components, identity, mapdraw
from verify.ui.resources import services
from verify.ui.safe import md, short
from verify.ui.views.matching import match_outcome
from verify.ui.views.text import show_text


def key_facts(meta: Metadata, item: Any) -> list[tuple[str, str]]:
    gps = f"{meta.gps.lat:.6f}, {meta.gps.lon:.6f}" + (f" (alt {meta.gps.alt:.0f} m)" if meta.gps.alt is not None else "") if meta.gps else "none in the file"
    camera = camera_line(meta.make, meta.model) or "not recorded"
    facts = [
        ("Captured at", (meta.captured_at + ("" if meta.captured_at_has_offset is not False else " (no time zone recorded)"))
         if meta.captured_at else "not recorded"),
        ("Camera", camera),
        ("Lens", meta.lens or "-"),
        ("GPS", gps),
        ("Software", meta.software or "-"),
        ("C2PA content credentials", _c2pa_summary(meta.c2pa)),
        ("Size", f"{meta.width or item.width} x {meta.height or item.height} px"),
        ("File type", f"{item.mime}, {item.bytes:,} bytes"),
    ]
    if item.kind == "video":
        facts += [
            ("Duration", f"{(meta.duration_s or item.duration_s or 0):.1f} s"),
            ("Frame rate", f"{meta.fps:.2f} fps" if meta.fps else "-"),
            ("Video codec", meta.video_codec or "-"),
            ("Encoder", meta.encoder or "-"),
            ("Rotation", f"{meta.rotation}°" if meta.rotation else "-"),
        ]
    facts.append(("SHA-256", item.sha256))
    return facts


def _c2pa_summary(c2pa: dict | None) -> str:
    if not c2pa:
        return "none"
    for key in ("summary", "status", "validation_state", "claim_generator"):
        if c2pa.get(key):
            return f"present ({short(c2pa[key], 80)})"
    return "present"


SEVERITY = {"red_flag": st.error, "caution": st.warning, "info": st.info}
SEVERITY_ICON = {"red_flag": ":material/flag:", "caution": ":material/warning:", "info": ":material/info:"}


def show_findings(findings: list[Finding]) -> None:
    if not findings:
        st.caption("No findings: nothing odd was flagged in what the file says about itself.")
        return
    order = {"red_flag": 0, "caution": 1, "info": 2}
    for f in sorted(findings, key=lambda x: order.get(x.severity, 3)):
        show = SEVERITY.get(f.severity, st.info)
        show(f"**{md(f.title, 200)}**  \n{md(f.evidence, 1000)}", icon=SEVERITY_ICON.get(f.severity, ":material/info:"))


def show_map(view: ItemView) -> None:
    item, meta = view.item, view.metadata
    points: list[mapdraw.MapPoint] = []
    if meta.gps:
        points.append(mapdraw.MapPoint(meta.gps.lat, meta.gps.lon, "GPS in the file", "gps"))
    if item.claimed_lat is not None and item.claimed_lon is not None:
        label = f"Claimed: {item.claimed_place}" if item.claimed_place else "Claimed place"
        points.append(mapdraw.MapPoint(item.claimed_lat, item.claimed_lon, label, "claimed"))
    if not points:
        st.caption("No location: the file has no GPS and no claimed point was given.")
        return
    if len(points) == 2:
        km = mapdraw.haversine_km((points[0].lat, points[0].lon), (points[1].lat, points[1].lon))
        st.text(f"The file's GPS is {km:,.1f} km from the claimed place.")
    tiles = services().settings.map_tiles_url
    if tiles:
        data = _tile_png(tuple(points), tiles)
        if data is not None:
            st.image(data, width="stretch")
            st.caption("Map tiles fetched by the workbench server (VERIFY_MAP_TILES). Red circle: GPS in the file; "
                       "blue square: claimed place.")
            return
        st.caption("The configured tile server could not be reached; showing the offline map.")
    st.image(_map_png(tuple(points)), width="stretch")
    st.caption("Offline map (country outlines). Red circle: GPS in the file; blue square: claimed place.")


@st.cache_data(show_spinner=False, max_entries=500)
def _map_png(points: tuple[mapdraw.MapPoint, ...]) -> bytes:
    import io

    buf = io.BytesIO()
    mapdraw.render_map(list(points)).save(buf, "PNG")
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=500, ttl=3600)
def _tile_png(points: tuple[mapdraw.MapPoint, ...], tiles: str) -> bytes | None:
    import io

    try:
        im = mapdraw.render_tile_map(list(points), tiles)
    except Exception:  # unreachable server, a bad tile: the offline map is always there
        return None
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def show_tags(meta: Metadata) -> None:
    import pandas as pd

    with st.expander(f"All tags ({len(meta.raw)})", expanded=False):
        if meta.raw:
            df = pd.DataFrame(sorted(meta.raw.items()), columns=["tag", "value"])
            st.dataframe(df, hide_index=True, width="stretch")
        else:
            st.text("The file carries no metadata tags (typical of files passed through social platforms).")
        if meta.errors:
            st.text("Reader problems:")
            st.code("\n".join(meta.errors), language=None)


def correct_claim(item, state) -> None:  # type: ignore[no-untyped-def]
    """A form to correct the claim; the old and new values go into the history."""
    from verify.errors import Conflict, VerifyError
    from verify.ui import identity

    from verify.roles import Action
    from verify.ui import access

    expected = components.seen_version(item.id, state)
    flash = st.session_state.pop("claim_flash", None)
    if flash:
        st.success(flash)
    if not access.can(Action.CLAIM):
        st.caption(access.why_not(Action.CLAIM))
        return
    with st.expander("Correct the claim", expanded=False), st.form(f"claim_{item.id}"):
        source = st.text_input("Source (who sent it)", value=item.source or "", max_chars=500)
        contact = st.text_input("How to reach them", value=item.source_contact or "", max_chars=500)
        url = st.text_input("Where it was posted (link)", value=item.source_url or "", max_chars=2000)
        place = st.text_input("Claimed place", value=item.claimed_place or "", max_chars=500)
        c1, c2 = st.columns(2)
        lat = c1.number_input("Latitude", -90.0, 90.0, value=item.claimed_lat, format="%.5f")
        lon = c2.number_input("Longitude", -180.0, 180.0, value=item.claimed_lon, format="%.5f")
        when = st.date_input("Claimed date", value=item.claimed_date, min_value=__import__("datetime").date(1900, 1, 1))
        note = st.text_area("Note", value=item.note or "", max_chars=5000)
        first_seen = None
        if item.origin == "archive":
            first_seen = st.date_input("First seen / published on", value=item.first_seen_at.date() if item.first_seen_at else None,
                                       min_value=__import__("datetime").date(1900, 1, 1))
        if st.form_submit_button("Save the claim"):
            changes = {"source": source, "source_contact": contact, "source_url": url, "claimed_place": place,
                       "claimed_lat": lat, "claimed_lon": lon, "claimed_date": when, "note": note}
            if item.origin == "archive" and first_seen is not None:
                changes["first_seen_at"] = first_seen
            try:
                new_state = services().update_claim(item.id, changes, actor=identity.require(), expected_version=expected)
            except Conflict as exc:
                st.error(f"{exc} Your corrections are still in the form.")
                components.mark_seen(item.id, state.version)
            except VerifyError as exc:
                st.error(str(exc))
            else:
                components.mark_seen(item.id, new_state.version)
                st.session_state["claim_flash"] = "Claim corrected; the change is in the history."
                st.rerun()


def render() -> None:
    identity.require()
    item_id = components.pick_item()
    if item_id is None:
        return
    svc = services()
    view = svc.inspect(item_id, with_matches=False)
    view.outcome = match_outcome(item_id)
    item, state = view.item, view.state
    components.item_header(item, state)
    opened = st.session_state.pop("opened_existing", None)
    if opened:
        st.info(opened, icon=":material/info:")
    first = earliest_match(view.outcome.matches)
    if first is not None:
        st.error(f"### This {media_word(item.kind)} was in the archive on {seen_date(first.item).date().isoformat()}\n"
                 f"Archive item {first.item.id}; see the Matches page.", icon=":material/history:")
    left, right = st.columns([3, 2])
    with left:
        components.show_media(item, state, key="item", inherited=components.inherited_warnings(state, view.outcome))
        st.markdown("#### Map")
        show_map(view)
    with right:
        st.markdown("#### Key facts")
        with st.container(border=True):
            components.facts(key_facts(view.metadata, item))
        st.markdown("#### Findings")
        show_findings(findings_for(view))
        show_text(view.metadata)
        st.markdown("#### The claim")
        claim_rows = [
            ("Source", item.source), ("Contact", item.source_contact), ("Posted at", item.source_url),
            ("Claimed place", item.claimed_place),
            ("Claimed point", f"{item.claimed_lat:.5f}, {item.claimed_lon:.5f}" if item.claimed_lat is not None and item.claimed_lon is not None else None),
            ("Claimed date", item.claimed_date.isoformat() if item.claimed_date else None),
            ("First seen", (item.first_seen_at or item.ingested_at).isoformat(timespec="minutes")),
            ("Received", f"{item.ingested_at.isoformat(timespec='minutes')} by {item.ingested_by}"),
            ("Note", item.note),
        ]
        with st.container(border=True):
            components.facts(claim_rows)
        from verify.ui.views.links import show_item_links

        show_item_links(item.id)
        correct_claim(item, state)
    show_tags(view.metadata)
    if item.kind == "image" or view.metadata.gps or item.claimed_lat is not None:
        from verify.ui.views import forensics

        forensics.render_section(item, state, components.inherited_warnings(state, view.outcome))
    from verify.ui.views.bundle import evidence_bundle

    evidence_bundle(item.id, key="item")
