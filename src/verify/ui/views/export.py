"""Export: the per-item report (Markdown, JSON, HTML), the case list, the media without GPS/device data.

Every export is recorded in the event log with who took it out. Reports of flagged items carry
their warnings, and the HTML report's preview is blurred.
"""

from __future__ import annotations

import streamlit as st

from verify.errors import VerifyError
from verify.report import (
    build_report,
    case_list_csv,
    to_html,
    to_json,
    to_markdown,
    warning_label,
)
from verify.ui import components, identity
from verify.ui.resources import services
from verify.ui.views.matching import match_outcome

STRIPPED_KEY = "stripped_export"


def _record(item_id: int | None, what: str) -> None:
    try:
        services().record_export(item_id, what, actor=identity.current() or "unknown")
    except (VerifyError, AttributeError):
        pass


def render() -> None:
    actor = identity.require()
    st.title("Export")
    svc = services()
    with st.container(border=True):
        st.markdown("#### Case list")
        rows = svc.list_items()
        st.text(f"{len(rows)} item(s), with status, warnings, source, claim and dates.")
        st.download_button("Download case list (CSV)", case_list_csv(rows), file_name="verify-case-list.csv",
                           mime="text/csv", key="export_csv", on_click=_record, args=(None, "case list (CSV)"))
    item_id = components.pick_item()
    if item_id is None:
        return
    view = svc.inspect(item_id, with_matches=False)
    view.outcome = match_outcome(item_id)
    components.item_header(view.item, view.state)
    from verify.forensics.cache import load as load_forensics

    report = build_report(view, exported_by=actor, forensics=load_forensics(svc.settings.data_dir, view.item.sha256))
    stem = f"verify-item-{item_id}"
    st.markdown("#### Verification report")
    st.text("Facts, findings, matches, warnings and the verdict history, in three formats.")
    # The report leaves the newsroom: its preview is blurred for any warning, the item's own or one
    # carried by an item it copies, whatever this editor chose to reveal.
    inherited = components.inherited_warnings(view.state, view.outcome)
    preview = components.preview(view.item, 480, blurred=bool(view.state.warnings or inherited))
    c = st.columns(3)
    c[0].download_button("Report (Markdown)", to_markdown(report), file_name=f"{stem}.md", mime="text/markdown",
                         key="dl_md", on_click=_record, args=(item_id, "report (Markdown)"))
    c[1].download_button("Report (JSON)", to_json(report), file_name=f"{stem}.json", mime="application/json",
                         key="dl_json", on_click=_record, args=(item_id, "report (JSON)"))
    c[2].download_button("Report (HTML)", to_html(report, preview), file_name=f"{stem}.html", mime="text/html",
                         key="dl_html", on_click=_record, args=(item_id, "report (HTML)"))
    with st.expander("Preview the report (Markdown)", expanded=True):
        st.code(to_markdown(report), language="markdown")
    st.markdown("#### The media, without GPS and device data")
    st.text("A copy safe to pass on: GPS, camera and software tags and all other embedded metadata are removed.\n"
            "Photos are re-encoded from their pixels; videos are copied frame for frame without their tags.")
    if view.state.warnings:
        st.warning("This item carries a content warning: tell the recipient before they open it.", icon=":material/warning:")
    elif inherited:
        labels = ", ".join(warning_label(c) for c in inherited)
        st.warning(f"A matching item carries a content warning ({labels}): tell the recipient before they open it, "
                   "or add the warning on the Warnings page.", icon=":material/warning:")
    if st.button("Prepare a stripped copy", key="prepare_stripped"):
        from verify.report import stripped_media

        try:
            data, ext, mime = stripped_media(svc.original_path(view.item), view.item.kind, svc.settings.max_image_pixels)
        except VerifyError as exc:
            st.error(str(exc))
        else:
            st.session_state[STRIPPED_KEY] = (item_id, data, ext, mime)
    ready = st.session_state.get(STRIPPED_KEY)
    if ready and ready[0] == item_id:
        _, data, ext, mime = ready
        st.download_button(f"Download stripped copy ({len(data) / 1024:,.0f} KB)", data, file_name=f"{stem}-stripped.{ext}",
                           mime=mime, key="dl_stripped", on_click=_record, args=(item_id, "media without GPS/device data"))
    from verify.ui.views.bundle import evidence_bundle

    evidence_bundle(item_id, key="export")
