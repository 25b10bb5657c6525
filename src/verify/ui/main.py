"""The workbench's entry: page config, who is working, navigation over the pages.

Root ``app.py`` calls ``run()`` on every script run. Anything unexpected that escapes a page is
caught here and shown as a plain sentence (``client.showErrorDetails = "none"`` hides tracebacks
from the browser too): nothing an editor types or uploads may crash the workbench.
"""

from __future__ import annotations

import logging

import streamlit as st

from verify.errors import VerifyError
from verify.ui import identity, nav

log = logging.getLogger(__name__)


def run() -> None:
    st.set_page_config(page_title="verify", page_icon=":material/fact_check:", layout="wide")
    try:
        # Navigation first, even before anyone is identified, so that the page in the URL
        # (/inbox, /item?item=8: a link from a colleague) is still the page after the name form.
        pages = nav.build()
        known = identity.current() is not None
        current = st.navigation(list(pages.values()), position="sidebar" if known else "hidden", expanded=True)
        identity.require()
        identity.sidebar()
        current.run()
    except VerifyError as exc:
        st.error(str(exc))
    except Exception:  # noqa: BLE001 - last line of defence; st.rerun/st.stop are BaseException and pass
        log.exception("page failed")
        st.error("Something went wrong on this page; nothing was changed. Reload the page and try again.")
