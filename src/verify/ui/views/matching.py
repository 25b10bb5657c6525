"""Matching results for the item pages, computed once per archive size, and what they imply.

The confirmer behind ``match_item`` may decode both pictures, so results are cached; a key that
includes the archive's size makes a new upload show up without a stale answer.

``precaution_warnings`` answers "does this item copy something that carries a content warning?"
for pages that show many items (the inbox) without running the matcher for every card, which
costs 0.1-1 s an item. Two sources, both cheap once warm:

* every match result this process has computed (uploads, item pages, the "has matches" filter)
  is remembered per item, so an item whose matches were ever looked at is known;
* for the few items that carry a warning, their own matches are computed (cached per archive
  size, shared with their item pages): a copy of a flagged item is found from the flagged side.
  Matching is symmetric in practice (a crop finds its original and the original its crop); the
  first source covers the item pages' direction wherever it was computed.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from verify.errors import VerifyError
from verify.matching import MatchOutcome
from verify.models import MediaItem
from verify.report import seen_date
from verify.store import ItemFilter
from verify.ui.resources import services

log = logging.getLogger(__name__)

_KNOWN_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def _known() -> dict[tuple[str, int], tuple[int, ...]]:
    """(database, item id) -> ids of its confident matches, as last computed in this process.

    A cached resource rather than a module global, so it is forgotten with the desks and images
    (``resources.clear``) when a data folder changes.
    """
    return {}


@st.cache_data(show_spinner="Looking for earlier copies in the archive…", max_entries=500)
def _outcome(item_id: int, archive_size: int, db: str) -> MatchOutcome:
    return services().match_item(item_id)


def remember_matches(item_id: int, outcome: MatchOutcome) -> None:
    """Keep an item's confident matches for the pages that show many items at once."""
    db = services().settings.database_url
    with _KNOWN_LOCK:
        _known()[(db, item_id)] = tuple(m.item.id for m in outcome.matches)


def match_outcome(item_id: int) -> MatchOutcome:
    svc = services()
    try:
        outcome = _outcome(item_id, svc.store.count_items(), svc.settings.database_url)
    except VerifyError as exc:
        st.warning(f"Matching could not run for this item: {exc}")
        return MatchOutcome()
    remember_matches(item_id, outcome)
    return outcome


def item_label(item: MediaItem, query: MediaItem | None = None) -> str:
    """"Archive item 1", "Earlier submission 10": a matched item named by where it came from."""
    if item.origin == "archive":
        return f"Archive item {item.id}"
    if query is not None and seen_date(item) > seen_date(query):
        return f"Later submission {item.id}"
    return f"Earlier submission {item.id}"


def precaution_map() -> dict[int, set[str]]:
    """Item id -> warning categories carried by items it matches (its own warnings included or not)."""
    svc = services()
    db = svc.settings.database_url
    size = svc.store.count_items()
    flagged = {item.id: set(warnings) for item, _status, warnings in svc.list_items(ItemFilter(has_warning=True))}
    out: dict[int, set[str]] = {}
    if not flagged:
        return out
    for fid, categories in flagged.items():
        try:
            outcome = _outcome(fid, size, db)
        except VerifyError:
            continue
        except Exception:  # a precaution must never take the inbox down
            log.warning("matching flagged item %s failed", fid, exc_info=True)
            continue
        remember_matches(fid, outcome)
        for m in outcome.matches:
            out.setdefault(m.item.id, set()).update(categories)
    with _KNOWN_LOCK:
        known = [(iid, ids) for (kdb, iid), ids in _known().items() if kdb == db]
    for iid, ids in known:
        for mid in ids:
            if mid in flagged:
                out.setdefault(iid, set()).update(flagged[mid])
    return out


def precaution_warnings(item_id: int, own: list[str] | tuple[str, ...], table: dict[int, set[str]] | None = None) -> tuple[str, ...]:
    """Warning categories this item inherits from matched items and does not carry itself."""
    table = precaution_map() if table is None else table
    return tuple(sorted(table.get(item_id, set()) - set(own)))
