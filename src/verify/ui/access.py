"""What the signed-in person may do, for the workbench to grey out and explain.

The core decides (``Services.require`` refuses whatever a page sends); this module only asks it
beforehand, so a page can disable a button and say why instead of letting a click fail.
"""

from __future__ import annotations

import streamlit as st

from verify import roles
from verify.roles import Action, Role
from verify.ui import identity
from verify.ui.resources import services


def role() -> Role:
    """The role of whoever is working now (admin on a desk where roles are not in use)."""
    return services().role_of(identity.current())


def can(action: Action) -> bool:
    return services().can(identity.current(), action)


def why_not(action: Action, detail: str | None = None) -> str:
    """The refusal the core would give, said before the click."""
    svc = services()
    return roles.refusal(identity.current() or "You", role(), action, viewer_reveal=svc.settings.viewer_reveal, detail=detail)


def gate(action: Action, detail: str | None = None) -> bool:
    """True when allowed; otherwise shows why (once, as an info box) and returns False."""
    if can(action):
        return True
    st.info(why_not(action, detail), icon=":material/lock:")
    return False


def statuses_for(current: str) -> tuple[list[str], str | None]:
    """The statuses this person may set on an item now at ``current``, and a note on the rest.

    A verifier sees them all. A reporter sees the open ones, unless the item was decided (then
    none: reopening is a verifier's call). A viewer sees none.
    """
    svc = services()
    everything = list(svc.statuses)
    if can(Action.DECIDE):
        return everything, None
    if not can(Action.VERDICT):
        return [], why_not(Action.VERDICT)
    if roles.is_decisive(current, svc.open_statuses):
        return [], why_not(Action.DECIDE, detail="reopening a decided item")
    allowed = [s for s in everything if not roles.is_decisive(s, svc.open_statuses)]
    others = [s for s in everything if s not in allowed]
    note = (f"As a {role().value} you can set {', '.join(allowed)}; only a verifier can set "
            f"{', '.join(others)}.") if others else None
    return allowed, note


def sidebar_role() -> None:
    """The role under the name in the sidebar, with what it means in a few words."""
    name = identity.current()
    if not name:
        return
    svc = services()
    with st.sidebar:
        if not svc.roles_in_use():
            st.caption("Role: admin (single-user desk: no roles granted yet)")
            return
        r = svc.role_of(name)
        plain = {
            Role.VIEWER: "reads the desk",
            Role.REPORTER: "adds material, notes, warnings",
            Role.VERIFIER: "records verdicts",
            Role.ADMIN: "everything, and roles",
        }[r]
        st.caption(f"Role: {r.value} ({plain})")
