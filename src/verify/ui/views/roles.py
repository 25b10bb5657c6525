"""Roles: who may do what on this desk, and (for an admin) a form to change it.

Everyone sees the list (a reporter should know whom to ask for a verdict); only an admin sees
the form, and the core refuses anyone else's grant anyway. Each grant is an event in the chain.
"""

from __future__ import annotations

import streamlit as st

from verify.errors import VerifyError
from verify.roles import Action, Role
from verify.ui import access, identity
from verify.ui.resources import services

FLASH_KEY = "roles_flash"


def render() -> None:
    actor = identity.require()
    svc = services()
    st.title("Roles")
    st.write(
        "A viewer reads the desk; a reporter adds material, notes and content warnings and marks items in progress; "
        "a verifier records verdicts (verified, false, misattributed, inconclusive); an admin assigns roles."
    )
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    rows = svc.list_roles()
    if rows:
        import pandas as pd

        st.dataframe(pd.DataFrame([{"name": r["name"], "role": r["role"], "granted by": r["granted_by"],
                                    "when (UTC)": str(r["at"])[:19].replace("T", " "), "reason": r["reason"] or ""}
                                   for r in rows]), hide_index=True, width="stretch")  # fmt: skip
        st.caption(f"Anyone not listed is a {svc.default_role.value}.")
    else:
        st.info("No roles granted yet: this is a single-user desk and everyone who uses it is admin. "
                "The first grant makes you admin and everyone else a viewer unless granted more.")  # fmt: skip
    st.markdown("#### Grant a role")
    if not access.gate(Action.ADMIN, detail="assigning roles"):
        return
    with st.form("grant_role"):
        name = st.text_input("Name (as they sign in)", max_chars=200)
        role = st.selectbox("Role", [r.value for r in Role], index=1)
        reason = st.text_input("Reason (for the record)", max_chars=500)
        submitted = st.form_submit_button("Grant role", type="primary")
    if submitted:
        try:
            granted = svc.grant_role(name, role, actor=actor, reason=reason or None)
        except VerifyError as exc:
            st.error(str(exc))
        else:
            st.session_state[FLASH_KEY] = f"{name.strip()} is now {granted.value}."
            st.rerun()
