"""API tokens: what a tipline bot or the CMS presents instead of a person signing in.

A token reads ``vfy_<id>_<secret>``. The id is public (it is the row's key and is shown by
``verify token list``); the secret is 256 random bits, shown once at creation and stored only as
an argon2id hash. Looking a token up is one indexed read by id and one argon2 verification,
whether the id exists or not (an unknown id is verified against a dummy hash), so the time a
refusal takes says nothing about which ids exist.

Roles have one source of truth: creating a token grants its name the role through
``Services.grant_role`` (an attributed ``role_granted`` event), and a request is allowed what that
name's *current* role allows; the role column here is only what was asked for at creation.
Creating and revoking are recorded in the event chain too (``token_created``, ``token_revoked``).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from verify.errors import NotFound
from verify.events import now_iso
from verify.roles import Action, Role, parse_role
from verify.store import schema

if TYPE_CHECKING:
    from verify.services import Services

PREFIX = "vfy_"

# OWASP's argon2id minimum (19 MiB, 2 passes). The secret is 256 random bits, not a password a
# person chose, so the hash guards a stolen database, not a guessable secret; heavier settings
# would only slow every API client's first request.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _HASHER.hash("not-a-token")

#: A token verified once is remembered (by a SHA-256 of the whole token, in memory only) for this
#: long, so a busy client does not pay argon2 on every request; revocation is still read from the
#: store on every request.
CACHE_S = 300.0


@dataclass(frozen=True)
class TokenRecord:
    """One row of ``api_token``, without its hash."""

    id: str
    name: str
    role: str
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "id": self.id, "name": self.name, "role": self.role, "created_at": self.created_at,
            "created_by": self.created_by, "revoked_at": self.revoked_at, "revoked_by": self.revoked_by,
        }  # fmt: skip


@dataclass(frozen=True)
class Created:
    record: TokenRecord
    token: str  # shown once


def _record(row: object) -> TokenRecord:
    r = row
    return TokenRecord(r.id, r.name, r.role, r.created_at, r.created_by, r.revoked_at, r.revoked_by)  # type: ignore[attr-defined]


def split(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed token, else ``None``."""
    if not token.startswith(PREFIX):
        return None
    rest = token[len(PREFIX) :]
    token_id, sep, secret = rest.partition("_")
    if not sep or not (8 <= len(token_id) <= 32) or not token_id.isalnum() or not (20 <= len(secret) <= 200):
        return None
    return token_id, secret


def create(services: Services, name: str, role: Role | str, *, actor: str) -> Created:
    """A new token for ``name`` with ``role`` (admin only); grants ``name`` the role as well."""
    from verify.services import require_actor

    who = require_actor(actor)
    target = require_actor(name)
    wanted = parse_role(role) if isinstance(role, str) else Role(role)
    if services.roles_in_use():
        services.require(who, Action.ADMIN, detail="creating API tokens")
    if services.role_of(target) != wanted or not services.roles_in_use():
        services.grant_role(target, wanted, actor=who, reason="API token")
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    at = now_iso()
    with services.store.write() as conn:
        conn.execute(
            schema.api_token.insert().values(
                id=token_id, name=target, role=wanted.value, secret_hash=_HASHER.hash(secret), created_at=at, created_by=who
            )
        )
        services.store._append_event(conn, None, who, "token_created", {"token_id": token_id, "name": target, "role": wanted.value})
    return Created(TokenRecord(token_id, target, wanted.value, at, who, None, None), f"{PREFIX}{token_id}_{secret}")


def list_tokens(services: Services) -> list[TokenRecord]:
    with services.store.read() as conn:
        rows = conn.execute(select(schema.api_token).order_by(schema.api_token.c.created_at, schema.api_token.c.id)).all()
    return [_record(r) for r in rows]


def revoke(services: Services, name_or_id: str, *, actor: str) -> list[TokenRecord]:
    """Revoke one token by id, or every live token of a name (admin only). Returns what was revoked."""
    from verify.services import require_actor

    who = require_actor(actor)
    services.require(who, Action.ADMIN, detail="revoking API tokens")
    key = (name_or_id or "").strip()
    t = schema.api_token
    at = now_iso()
    with services.store.write() as conn:
        rows = conn.execute(select(t).where(t.c.revoked_at.is_(None), (t.c.id == key) | (t.c.name == key))).all()
        if not rows:
            raise NotFound(f"There is no live API token with the id or name {key!r}.")
        for r in rows:
            conn.execute(update(t).where(t.c.id == r.id).values(revoked_at=at, revoked_by=who))
            services.store._append_event(conn, None, who, "token_revoked", {"token_id": r.id, "name": r.name})
    _cache.clear()
    return [TokenRecord(r.id, r.name, r.role, r.created_at, r.created_by, at, who) for r in rows]


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, str, str]] = {}

    def get(self, key: str) -> tuple[str, str] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return hit[1], hit[2]

    def put(self, key: str, token_id: str, name: str) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + CACHE_S, token_id, name)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _Cache()


def authenticate(services: Services, token: str) -> TokenRecord | None:
    """The live token record for ``token``, or ``None`` (unknown, malformed, wrong secret, revoked)."""
    parts = split(token.strip())
    if parts is None:
        _verify(_DUMMY_HASH, "x")
        return None
    token_id, secret = parts
    with services.store.read() as conn:
        row = conn.execute(select(schema.api_token).where(schema.api_token.c.id == token_id)).first()
    key = hashlib.sha256(token.strip().encode()).hexdigest()
    if row is not None and _cache.get(key) == (row.id, row.name) and row.revoked_at is None:
        return _record(row)
    ok = _verify(row.secret_hash if row is not None else _DUMMY_HASH, secret)
    if row is None or not ok or row.revoked_at is not None:
        return None
    _cache.put(key, row.id, row.name)
    return _record(row)


def _verify(digest: str, secret: str) -> bool:
    try:
        return _HASHER.verify(digest, secret)
    except (VerificationError, InvalidHashError):
        return False


__all__ = ["Created", "TokenRecord", "authenticate", "create", "list_tokens", "revoke", "split"]

