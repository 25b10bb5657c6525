"""What the upload page says about each file it just checked: the key facts and the strongest findings.

"Stored as item 13" alone sends the editor hunting; the answer to "what did it find?" belongs next
to the file. The same facts and findings as the item page (``views.item.key_facts``,
``report.findings_for``), cut to what decides the next step: captured when, with what camera,
where, edited with what, content credentials; and the three strongest findings, red flags first.

Computed once when the file is checked and kept as plain strings with the upload results, so a
rerun of the page does not read the store again. Everything that came from the file is shown with
``st.text`` (never Markdown or HTML); labels and severity words are ours.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from verify.matching import MatchOutcome
from verify.report import findings_for
from verify.services import Services

log = logging.getLogger(__name__)

#: The key facts shown per uploaded file, by their label on the item page.
SUMMARY_FACTS = ("Captured at", "Camera", "GPS", "Software", "C2PA content credentials")
#: How many findings are shown per file (the item page has them all).
TOP_FINDINGS = 3
_ORDER = {"red_flag": 0, "caution": 1, "info": 2}
_SEVERITY_WORD = {"red_flag": "Red flag", "caution": "Caution", "info": "Note"}
_SEVERITY_ICON = {"red_flag": ":material/flag:", "caution": ":material/warning:", "info": ":material/info:"}


def summarise(svc: Services, item_id: int, outcome: MatchOutcome) -> dict[str, Any]:
    """``{"facts": [(label, value)], "findings": [(severity, title, evidence)], "more_findings": n}``.

    Never raises: a summary that cannot be made leaves the upload result as it was (the item page
    still has everything).
    """
    from verify.ui.views.item import key_facts

    try:
        view = svc.inspect(item_id, with_matches=False)
        view.outcome = outcome
        facts = [(label, str(value)) for label, value in key_facts(view.metadata, view.item) if label in SUMMARY_FACTS]
        found = sorted(findings_for(view), key=lambda f: _ORDER.get(f.severity, 3))
    except Exception:  # noqa: BLE001 - the summary is a convenience; the upload itself succeeded
        log.warning("upload summary failed for item %s", item_id, exc_info=True)
        return {}
    return {
        "facts": facts,
        "findings": [(f.severity, f.title, f.evidence) for f in found[:TOP_FINDINGS]],
        "more_findings": max(0, len(found) - TOP_FINDINGS),
    }


def show(result: dict[str, Any]) -> None:
    """The facts and findings of one uploaded file (nothing when there is no summary)."""
    facts = result.get("facts")
    if facts:
        st.caption("What the file says about itself")
        for label, value in facts:
            left, right = st.columns([2, 5], gap="small", vertical_alignment="center")
            left.caption(label)  # ours
            right.text(value or "-")  # from the file: text only
    findings = result.get("findings")
    if findings is None:
        return
    if not findings:
        st.caption("No findings: nothing odd was flagged in what the file says about itself.")
        return
    st.caption("Strongest findings")
    for severity, title, evidence in findings:
        with st.container(border=True):
            st.markdown(f"{_SEVERITY_ICON.get(severity, ':material/info:')} **{_SEVERITY_WORD.get(severity, 'Note')}**")
            st.text(title)
            st.text(evidence)
    more = result.get("more_findings") or 0
    if more:
        st.caption(f"{more} more finding(s) on the item page.")
