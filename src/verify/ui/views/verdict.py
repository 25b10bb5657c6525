"""Verdict and history: the status with a required rationale and evidence, and the full record.

The history is read from the event log (append-only, hash-chained), so it shows every warning and
verdict change with who and when, including changes made from the command line. A change made
against an older version of the item is refused with "changed by X meanwhile"; what the editor
typed stays in the form, so nothing is lost.
"""

from __future__ import annotations

import streamlit as st

from verify.errors import Conflict, VerifyError
from verify.report import describe_event, status_label
from verify.ui import access, components, identity
from verify.ui.resources import services
from verify.ui.views.matching import match_outcome

FLASH_KEY = "verdict_flash"


def history_table(events) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    rows = [
        {"when (UTC)": ev.at[:19].replace("T", " "), "who": ev.actor, "what": describe_event(ev.kind, ev.payload),
         "event": ev.kind, "hash": ev.hash[:12]}
        for ev in reversed(events)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _same_as_current(state, status: str, rationale: str | None, evidence: list[str]) -> bool:  # type: ignore[no-untyped-def]
    """Whether this submit says exactly what the current verdict already says."""
    v = state.verdict
    return (v is not None and v.status == status and v.rationale.strip() == (rationale or "").strip()
            and tuple(v.evidence_links) == tuple(evidence))


def render() -> None:
    actor = identity.require()
    item_id = components.pick_item()
    if item_id is None:
        return
    svc = services()
    item = svc.store.item(item_id)
    state = svc.store.state(item_id, svc.statuses[0])
    components.item_header(item, state)
    expected = components.seen_version(item_id, state)
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    left, right = st.columns([3, 2])
    with left:
        st.markdown("#### Current verdict")
        if state.verdict:
            v = state.verdict
            st.markdown(f"**{status_label(v.status)}**")
            st.text(f"by {v.actor} on {v.at.isoformat(timespec='minutes')}")
            st.text(v.rationale)
            for link in v.evidence_links:
                st.text(f"Evidence: {link}")
        else:
            st.text("No verdict yet: the item is unverified.")
        st.markdown("#### Record a verdict")
        statuses, limits = access.statuses_for(state.status)
        form = f"verdict_{item_id}"
        if not statuses:
            st.info(limits or "You cannot record a verdict here.", icon=":material/lock:")
        elif limits:
            st.caption(limits)
        submitted = False
        if statuses:
            with st.form(f"verdict_form_{item_id}", clear_on_submit=False):
                status = st.selectbox("Status", statuses, format_func=status_label, key=components.form_key(form, f"verdict_status_{item_id}"),
                                      index=statuses.index(state.status) if state.status in statuses else 0)
                rationale = st.text_area("Rationale (required): why, for the record",
                                         key=components.form_key(form, f"verdict_rationale_{item_id}"), max_chars=20000)
                links = st.text_area("Evidence links, one per line", key=components.form_key(form, f"verdict_links_{item_id}"),
                                     max_chars=20000)
                submitted = st.form_submit_button("Record verdict", type="primary")
        if submitted:
            evidence = [line.strip() for line in (links or "").splitlines() if line.strip()]
            if _same_as_current(state, status, rationale, evidence):
                # A second click on the same text (a double click, or a form sent again): the
                # record already says exactly this; another event would only repeat it.
                components.next_form(form)
                st.session_state[FLASH_KEY] = "This verdict is already on the record; nothing was added."
                st.rerun()
            try:
                new_state = svc.record_verdict(
                    item_id, status, rationale or "", actor=actor, evidence_links=evidence, expected_version=expected,
                )
            except Conflict as exc:
                st.error(f"{exc} Your text is still in the form.")
                components.mark_seen(item_id, state.version)
            except VerifyError as exc:
                st.error(str(exc))
            else:
                components.mark_seen(item_id, new_state.version)
                st.session_state[FLASH_KEY] = f"Recorded: {status_label(status)}."
                components.next_form(form)  # a fresh form: the rationale is on the record now
                st.rerun()
    with right:
        components.show_media(item, state, key="verdict", max_side=480,
                              inherited=components.inherited_warnings(state, match_outcome(item_id)))
    st.markdown("#### History")
    st.caption("Every change to this item, newest first, from the append-only event log.")
    history_table(svc.store.events(item_id))
