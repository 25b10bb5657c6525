"""The workbench's entry: page config, who is working, navigation over the pages.

Root ``app.py`` calls ``run()`` on every script run. Anything unexpected that escapes a page is
caught here and shown as a plain sentence (``client.showErrorDetails = "none"`` hides tracebacks
from the browser too): nothing an editor types or uploads may crash the workbench.
"""

from __future__ import annotations

import functools
import logging

import streamlit as st
from PIL import Image, ImageDraw

from verify.errors import VerifyError
from verify.ui import access, identity, nav

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _icon() -> Image.Image:
    """A small check mark on a dark red disc, as the browser tab's icon."""
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.ellipse([2, 2, 62, 62], fill=(158, 27, 50, 255))
    draw.line([(17, 33), (28, 45), (48, 20)], fill=(255, 255, 255, 255), width=7, joint="curve")
    return im


def run() -> None:
    # The icon is drawn here: a material-icon or emoji favicon would be fetched from a CDN, and the
    # workbench makes no outside requests.
    st.set_page_config(page_title="verify", page_icon=_icon(), layout="wide")
    try:
        # Navigation first, even before anyone is identified, so that the page in the URL
        # (/inbox, /item?item=8: a link from a colleague) is still the page after the name form.
        pages = nav.build()
        known = identity.current() is not None
        current = st.navigation(list(pages.values()), position="sidebar" if known else "hidden", expanded=True)
        identity.require()
        identity.sidebar()
        access.sidebar_role()
        current.run()
    except VerifyError as exc:
        st.error(str(exc))
    except Exception:  # noqa: BLE001 - last line of defence; st.rerun/st.stop are BaseException and pass
        log.exception("page failed")
        st.error("Something went wrong on this page; nothing was changed. Reload the page and try again.")
