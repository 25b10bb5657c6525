"""The event log's rules, as pure functions: how an event is hashed and how a state is derived.

Events are never updated or deleted. Each carries the hash of the one before it (a single chain
across the whole store), so editing, deleting or re-ordering any entry breaks the chain, which
``verify audit`` reports. Current warnings and verdicts are a fold over an item's events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from verify.models import ContentWarning, Event, ItemState, Verdict

GENESIS_HASH = "0" * 64
EDITORIAL_KINDS = frozenset({"warning_added", "warning_removed", "verdict_set", "claim_updated", "note"})


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def now_iso() -> str:
    """UTC with microseconds: the one time format events are hashed with."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def event_hash(*, item_id: int | None, actor: str, at: str, kind: str, payload: dict[str, Any], prev_hash: str) -> str:
    body = canonical_json(
        {"item_id": item_id, "actor": actor, "at": at, "kind": kind, "payload": payload, "prev_hash": prev_hash}
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def verify_chain(events: Iterable[Event], head_hash: str | None = None) -> list[str]:
    """Problems found walking the chain in id order; empty when the log is intact."""
    problems: list[str] = []
    prev = GENESIS_HASH
    last: Event | None = None
    for ev in events:
        if ev.prev_hash != prev:
            problems.append(
                f"event {ev.id}: its link to the previous event is broken (an event before it was deleted, "
                "inserted or edited)"
            )
        expected = event_hash(
            item_id=ev.item_id, actor=ev.actor, at=ev.at, kind=ev.kind, payload=ev.payload, prev_hash=ev.prev_hash
        )
        if expected != ev.hash:
            problems.append(f"event {ev.id} ({ev.kind} by {ev.actor} at {ev.at}): its content was changed after it was written")
        prev = ev.hash
        last = ev
    if head_hash is not None and head_hash != (last.hash if last else GENESIS_HASH):
        problems.append("the newest events are missing: the log ends before the recorded chain head")
    return problems


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at)


def derive_state(item_id: int, events: Iterable[Event], default_status: str = "unverified") -> ItemState:
    """Fold an item's events (in order) into its current warnings and verdict."""
    warnings: dict[str, ContentWarning] = {}
    verdict: Verdict | None = None
    version = 0
    last_actor: str | None = None
    for ev in events:
        if ev.kind not in EDITORIAL_KINDS:
            continue
        version += 1
        last_actor = ev.actor
        p = ev.payload
        if ev.kind == "warning_added":
            warnings[p["category"]] = ContentWarning(p["category"], p.get("note"), ev.actor, _parse(ev.at))
        elif ev.kind == "warning_removed":
            warnings.pop(p["category"], None)
        elif ev.kind == "verdict_set":
            verdict = Verdict(p["status"], p.get("rationale", ""), tuple(p.get("evidence_links", ())), ev.actor, _parse(ev.at))
    return ItemState(
        item_id=item_id,
        status=verdict.status if verdict else default_status,
        verdict=verdict,
        warnings=tuple(warnings.values()),
        version=version,
        last_actor=last_actor,
    )
