"""Role grants in the store: appended rows, each with its ``role_granted`` event in the chain.

A person's role is their latest grant. Nothing here decides who *may* grant: ``Services`` does,
then calls ``append_grants`` with everything one decision writes, so a first grant (which also
makes its operator admin) lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from verify.events import now_iso
from verify.store import schema
from verify.store.db import Store


@dataclass(frozen=True)
class Grant:
    """One recorded role assignment."""

    id: int
    name: str
    role: str
    granted_by: str
    at: str
    reason: str | None
    event_id: int


def _grant(row: object) -> Grant:
    r = row
    return Grant(r.id, r.name, r.role, r.granted_by, r.at, r.reason, r.event_id)  # type: ignore[attr-defined]


def any_grants(store: Store) -> bool:
    """Whether roles are in use on this desk at all (none: the single-user default, all admin)."""
    with store.read() as conn:
        return conn.execute(select(schema.role_grant.c.id).limit(1)).first() is not None


def latest_grant(store: Store, name: str) -> Grant | None:
    with store.read() as conn:
        row = conn.execute(
            select(schema.role_grant).where(schema.role_grant.c.name == name).order_by(schema.role_grant.c.id.desc()).limit(1)
        ).first()
    return _grant(row) if row else None


def current_roles(store: Store) -> list[Grant]:
    """Everyone's latest grant, by name."""
    g = schema.role_grant
    latest = select(func.max(g.c.id)).group_by(g.c.name).scalar_subquery()
    with store.read() as conn:
        rows = conn.execute(select(g).where(g.c.id.in_(latest)).order_by(g.c.name)).all()
    return [_grant(r) for r in rows]


def history(store: Store) -> list[Grant]:
    with store.read() as conn:
        return [_grant(r) for r in conn.execute(select(schema.role_grant).order_by(schema.role_grant.c.id))]


def append_grants(
    store: Store,
    decide: Callable[[Connection, bool], Sequence[tuple[str, str, str, str | None]]],
) -> list[Grant]:
    """Write the grants ``decide`` returns, in one transaction serialised on the chain head.

    ``decide(conn, any_grants_yet)`` sees the store after the lock is taken (two first grants at
    once cannot both be "first") and returns ``(name, role, granted_by, reason)`` tuples; it may
    raise to refuse, and then nothing is written.
    """
    with store.write() as conn:
        # Lock the chain head first: every event append takes it, so this orders grants too.
        conn.execute(select(schema.chain_head.c.id).where(schema.chain_head.c.id == 1).with_for_update()).one()
        existing = conn.execute(select(schema.role_grant.c.id).limit(1)).first() is not None
        out: list[Grant] = []
        for name, role, granted_by, reason in decide(conn, existing):
            payload = {"name": name, "role": role, "reason": reason}
            event = store._append_event(conn, None, granted_by, "role_granted", payload)
            at = event.at or now_iso()
            new_id = conn.execute(
                schema.role_grant.insert()
                .values(name=name, role=role, granted_by=granted_by, at=at, reason=reason, event_id=event.id)
                .returning(schema.role_grant.c.id)
            ).scalar_one()
            out.append(Grant(new_id, name, role, granted_by, at, reason, event.id))
        return out


def latest_in(conn: Connection, name: str) -> str | None:
    """A person's role inside a caller's transaction (``append_grants``' ``decide``)."""
    row = conn.execute(
        select(schema.role_grant.c.role).where(schema.role_grant.c.name == name).order_by(schema.role_grant.c.id.desc()).limit(1)
    ).first()
    return row.role if row else None


def admins_in(conn: Connection) -> set[str]:
    """Names whose latest grant is admin, inside a caller's transaction."""
    g = schema.role_grant
    latest = select(func.max(g.c.id)).group_by(g.c.name).scalar_subquery()
    return {r.name for r in conn.execute(select(g.c.name).where(g.c.id.in_(latest), g.c.role == "admin"))}


__all__ = ["Grant", "any_grants", "append_grants", "current_roles", "history", "latest_grant"]
