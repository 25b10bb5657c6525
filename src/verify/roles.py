"""Who may do what on the desk: four roles, a fixed list of actions, one rule table.

Pure: no store, no settings read here. ``Services.require`` asks ``allows`` before any change, so
the workbench, the CLI and the HTTP API cannot disagree about what a person may do.

The roles are ordered by rank; each one can do everything the one below it can:

* ``viewer`` reads the desk. Flagged (graphic) media stays blurred for a viewer unless the
  desk allows viewers to reveal it (``VERIFY_VIEWER_REVEAL=1``).
* ``reporter`` brings material in (uploads, link fetches, batch imports), writes notes, adds and
  removes content warnings, corrects the claim, and may move an item between the *open*
  statuses (``unverified``, ``in_progress``): "I am working on this" is a reporter's to say.
* ``verifier`` decides: only a verifier sets a status that the desk publishes on (``verified``,
  ``false``, ``misattributed``, and ``inconclusive``, which also closes the question in public),
  and only a verifier reopens an item that was decided.
* ``admin`` assigns roles, creates API tokens, changes settings, runs doctor and backups.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from verify.errors import VerifyError


class Role(StrEnum):
    """A person's standing on the desk, lowest first (the order is the rank)."""

    VIEWER = "viewer"
    REPORTER = "reporter"
    VERIFIER = "verifier"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Action(StrEnum):
    """What a front end asks to do; each maps to the lowest role that may do it."""

    READ = "read"  # list, inspect, match without storing, reports and bundles of what one can see
    REVEAL = "reveal"  # show flagged media unblurred
    UPLOAD = "upload"  # ingest a file, fetch a link, batch import
    NOTE = "note"  # a free note on the record
    WARN = "warn"  # add or remove a content warning
    CLAIM = "claim"  # correct what came with a file
    VERDICT = "verdict"  # set an open (non-decisive) status
    DECIDE = "decide"  # set a decisive status, or reopen a decided item
    ADMIN = "admin"  # roles, tokens, settings, doctor, backup, hash banks


READ, REVEAL, UPLOAD, NOTE, WARN, CLAIM, VERDICT, DECIDE, ADMIN = tuple(Action)

#: The lowest role that may do each action.
MINIMUM: dict[Action, Role] = {
    Action.READ: Role.VIEWER,
    Action.REVEAL: Role.REPORTER,
    Action.UPLOAD: Role.REPORTER,
    Action.NOTE: Role.REPORTER,
    Action.WARN: Role.REPORTER,
    Action.CLAIM: Role.REPORTER,
    Action.VERDICT: Role.REPORTER,
    Action.DECIDE: Role.VERIFIER,
    Action.ADMIN: Role.ADMIN,
}

#: Statuses that say "not decided yet". Every other status (the built-in decisive ones and any
#: status a desk adds with VERIFY_VERDICT_STATUSES) needs a verifier: unknown means decisive.
OPEN_STATUSES: tuple[str, ...] = ("unverified", "in_progress", "needs_review")

#: What each action is, in words for a refusal message.
DOING: dict[Action, str] = {
    Action.READ: "reading the desk",
    Action.REVEAL: "revealing flagged media",
    Action.UPLOAD: "adding material",
    Action.NOTE: "writing notes",
    Action.WARN: "changing content warnings",
    Action.CLAIM: "correcting a claim",
    Action.VERDICT: "changing an item's status",
    Action.DECIDE: "recording a decisive verdict",
    Action.ADMIN: "administering the desk",
}


def needed(action: Action, *, viewer_reveal: bool = False) -> Role:
    """The lowest role that may do ``action`` (revealing is a viewer's when the desk allows it)."""
    if action is Action.REVEAL and viewer_reveal:
        return Role.VIEWER
    return MINIMUM[Action(action)]


def allows(role: Role, action: Action, *, viewer_reveal: bool = False) -> bool:
    """Whether a person with ``role`` may do ``action``."""
    return Role(role).at_least(needed(Action(action), viewer_reveal=viewer_reveal))


def is_decisive(status: str, open_statuses: Iterable[str] = OPEN_STATUSES) -> bool:
    """A status the desk publishes on: only a verifier sets it."""
    return status not in tuple(open_statuses)


def verdict_action(status: str, current: str | None = None, open_statuses: Iterable[str] = OPEN_STATUSES) -> Action:
    """The action setting ``status`` on an item now at ``current`` needs.

    Moving a decided item back to an open status undoes a decision, so it needs a verifier too.
    """
    opens = tuple(open_statuses)
    if is_decisive(status, opens) or (current is not None and is_decisive(current, opens)):
        return Action.DECIDE
    return Action.VERDICT


def refusal(name: str, role: Role, action: Action, *, viewer_reveal: bool = False, detail: str | None = None) -> str:
    """One sentence for a refusal: who, their role, what they tried, the role it needs."""
    need = needed(action, viewer_reveal=viewer_reveal)
    what = detail or DOING[Action(action)]
    return (
        f"{name} is a {Role(role).value}; {what} needs the {need.value} role or higher. "
        "Ask an admin of this desk to change your role."
    )


def parse_role(text: str) -> Role:
    """A role from a person's typing (``Verifier``, `` admin ``); a readable error otherwise."""
    value = (text or "").strip().lower()
    try:
        return Role(value)
    except ValueError:
        raise VerifyError(f"Unknown role {text!r}; use one of: {', '.join(r.value for r in Role)}.") from None


def parse_role_map(text: str | None) -> dict[str, Role]:
    """``"desk-verifiers=verifier,desk-admins=admin"`` -> ``{"desk-verifiers": Role.VERIFIER, ...}``.

    Group names are kept as written (identity providers' group names are case-sensitive).
    """
    mapping: dict[str, Role] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        group, sep, role = part.rpartition("=")
        if not sep or not group.strip():
            raise VerifyError(f"VERIFY_OIDC_ROLE_MAP entries are GROUP=ROLE; {part!r} is not.")
        mapping[group.strip()] = parse_role(role)
    return mapping


def role_from_claim(value: object, mapping: dict[str, Role]) -> Role | None:
    """The highest role any of a person's groups maps to, or ``None`` when none is mapped.

    ``value`` is the claim as the identity provider sent it: a list of groups, one string, or a
    comma- or space-separated string (providers differ).
    """
    if value is None:
        return None
    if isinstance(value, str):
        groups = [g for g in value.replace(",", " ").split() if g]
        if value in mapping:
            groups.append(value)
    elif isinstance(value, (list, tuple, set)):
        groups = [str(g) for g in value]
    else:
        groups = [str(value)]
    roles = [mapping[g] for g in groups if g in mapping]
    return max(roles, key=lambda r: r.rank) if roles else None


__all__ = [
    "ADMIN", "CLAIM", "DECIDE", "MINIMUM", "NOTE", "OPEN_STATUSES", "READ", "REVEAL", "UPLOAD", "VERDICT", "WARN",
    "Action", "Role", "allows", "is_decisive", "needed", "parse_role", "parse_role_map", "refusal", "role_from_claim",
    "verdict_action",
]  # fmt: skip
