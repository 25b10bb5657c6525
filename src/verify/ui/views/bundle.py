"""The "Export evidence bundle" control, shared by the item page and the export page.

Making a bundle reads the original, re-runs the matches and may ask a timestamp authority, so it
runs on a click ("Prepare"), not on every page run; the ZIP then waits in the session for the
download button. The ``exported`` event is recorded when the bundle is made (its manifest's
SHA-256 is in the event), attributed to the signed-in editor.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from verify.errors import VerifyError
from verify.ui import identity
from verify.ui.resources import services

BUNDLE_KEY = "evidence_bundle"


def evidence_bundle(item_id: int, *, key: str) -> None:
    """A button that makes the item's evidence bundle, then the download button for it."""
    from verify.bundle import build_bundle

    st.markdown("#### Evidence bundle")
    st.text("One ZIP that proves itself outside the newsroom: the original byte for byte, the record, the events\n"
            "linked to the desk's hash chain, a manifest of SHA-256 hashes and a report saying how to check it.")
    if st.button("Prepare evidence bundle", key=f"{key}_prepare_bundle"):
        actor = identity.require()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                with st.spinner("Making the bundle..."):
                    result = build_bundle(services(), [item_id], Path(tmp) / "bundle.zip", actor=actor)
                data = result.path.read_bytes()
            except VerifyError as exc:
                st.error(str(exc))
                return
        st.session_state[BUNDLE_KEY] = (item_id, data, result.chain_head, bool(result.flagged), result.stamp_pending)
    ready = st.session_state.get(BUNDLE_KEY)
    if not ready or ready[0] != item_id:
        return
    _, data, head, flagged, pending = ready
    if flagged:
        st.warning("The bundle holds media with a content warning: it is named in the manifest and blurred in the report, "
                   "but the original inside is not. Tell the recipient before they open it.", icon=":material/warning:")
    for url, why in pending:
        st.info(f"Timestamp pending ({url}: {why}); the bundle was made without a new stamp.", icon=":material/schedule:")
    st.text(f"Chain head at export: {head}")
    st.download_button(f"Export evidence bundle (ZIP, {len(data) / 1024:,.0f} KB)", data, file_name=f"verify-evidence-item-{item_id}.zip",
                       mime="application/zip", key=f"{key}_dl_bundle")
