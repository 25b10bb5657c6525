"""Matching results for the item pages, computed once per archive size.

The confirmer behind ``match_item`` may decode both pictures, so results are cached; a key that
includes the archive's size makes a new upload show up without a stale answer.
"""

from __future__ import annotations

import streamlit as st

from verify.errors import VerifyError
from verify.matching import MatchOutcome
from verify.ui.resources import services


@st.cache_data(show_spinner="Looking for earlier copies in the archive…", max_entries=500)
def _outcome(item_id: int, archive_size: int, db: str) -> MatchOutcome:
    return services().match_item(item_id)


def match_outcome(item_id: int) -> MatchOutcome:
    svc = services()
    try:
        return _outcome(item_id, svc.store.count_items(), svc.settings.database_url)
    except VerifyError as exc:
        st.warning(f"Matching could not run for this item: {exc}")
        return MatchOutcome()
