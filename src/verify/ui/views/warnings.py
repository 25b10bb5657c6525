"""Content warnings: attach categories, see who added them, remove them with a reason.

A flagged item is blurred everywhere until an editor chooses Reveal for it. When the item matches
another item that carries a warning, the same warning is suggested here (and on Matches).
"""

from __future__ import annotations

import streamlit as st

from verify.errors import Conflict, VerifyError
from verify.matching import MatchOutcome
from verify.models import WARNING_CATEGORIES, ItemState
from verify.report import warning_label
from verify.roles import Action
from verify.ui import access, components, identity
from verify.ui.resources import services
from verify.ui.views.matching import item_label, match_outcome

FLASH_KEY = "warnings_flash"


def _apply(action, item_id: int, state: ItemState, **kwargs) -> bool:  # type: ignore[no-untyped-def]
    """Run an editorial action against the version this editor saw; report conflicts plainly."""
    expected = components.seen_version(item_id, state)
    try:
        new_state = action(item_id, actor=identity.require(), expected_version=expected, **kwargs)
    except Conflict as exc:
        st.error(str(exc))
        components.mark_seen(item_id, state.version)  # they now see the other change
        return False
    except VerifyError as exc:
        st.error(str(exc))
        return False
    components.mark_seen(item_id, new_state.version)
    return True


def suggest_warnings(item_id: int, outcome: MatchOutcome, state: ItemState, *, key: str) -> None:
    """Offer the warnings that matched items carry and this item does not."""
    if not access.can(Action.WARN):
        return
    svc = services()
    have = {w.category for w in state.warnings}
    query = svc.store.item(item_id)
    suggested: dict[str, list[str]] = {}
    for m in outcome.matches:
        for w in svc.store.state(m.item.id).warnings:
            if w.category not in have:
                suggested.setdefault(w.category, []).append(item_label(m.item, query))
    for category, sources in suggested.items():
        with st.container(border=True):
            st.warning(f"{', '.join(sources)}, which this matches, carries the warning "
                       f"**{warning_label(category)}**. Add the same warning here?", icon=":material/warning:")
            if st.button(f"Add warning: {warning_label(category)}", key=f"suggest_{key}_{category}"):
                note = f"Suggested: matches {sources[0][0].lower()}{sources[0][1:]}" if category == "other" else None
                if _apply(services().add_warning, item_id, state, category=category, note=note):
                    st.session_state[FLASH_KEY] = (f"Added: {warning_label(category)}. "
                                                   "The item is now blurred everywhere until Reveal.")
                    st.rerun()


def render() -> None:
    identity.require()
    item_id = components.pick_item()
    if item_id is None:
        return
    svc = services()
    item = svc.store.item(item_id)
    state = svc.store.state(item_id, svc.statuses[0])
    components.item_header(item, state)
    components.seen_version(item_id, state)
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    left, right = st.columns([2, 3])
    with left:
        components.show_media(item, state, key="warnings", max_side=640,
                              inherited=components.inherited_warnings(state, match_outcome(item_id)))
    with right:
        allowed = access.can(Action.WARN)
        st.markdown("#### Current warnings")
        if not state.warnings:
            st.text("None.")
        for w in state.warnings:
            with st.container(border=True):
                st.markdown(f"**{warning_label(w.category)}**")
                lines = [f"Added by {w.added_by} on {w.added_at.isoformat(timespec='minutes')}"]
                if w.note:
                    lines.append(f"Note: {w.note}")
                st.text("\n".join(lines))
                if not allowed:
                    continue
                reason = st.text_input("Reason for removing (optional)", key=f"rm_reason_{item_id}_{w.category}", max_chars=500)
                if st.button(f"Remove {warning_label(w.category)}", key=f"rm_{item_id}_{w.category}"):
                    if _apply(svc.remove_warning, item_id, state, category=w.category, reason=(reason or "").strip() or None):
                        st.session_state[FLASH_KEY] = f"Removed the warning {warning_label(w.category)}."
                        st.rerun()
        suggest_warnings(item_id, match_outcome(item_id), state, key="warnings")
        st.markdown("#### Add a warning")
        if not access.gate(Action.WARN):
            return
        form = f"warnings_{item_id}"
        with st.form(f"add_warning_{item_id}", clear_on_submit=False):
            categories = st.multiselect("Categories", list(WARNING_CATEGORIES), format_func=warning_label,
                                        key=components.form_key(form, f"warn_categories_{item_id}"))
            note = st.text_input("Note (required for Other)", key=components.form_key(form, f"warn_note_{item_id}"), max_chars=1000)
            submitted = st.form_submit_button("Add warning", type="primary")
        if submitted:
            if not categories:
                st.warning("Choose at least one category.")
            else:
                added = []
                current = state
                for c in categories:
                    if not _apply(svc.add_warning, item_id, current, category=c, note=(note or "").strip() or None):
                        break
                    added.append(warning_label(c))
                    current = svc.store.state(item_id, svc.statuses[0])
                if added:
                    st.session_state[FLASH_KEY] = f"Added: {', '.join(added)}. The item is now blurred everywhere until Reveal."
                    components.next_form(form)
                    st.rerun()
