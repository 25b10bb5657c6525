"""The words read in the picture, as text (never markup), with where and when they were seen."""

from __future__ import annotations

import streamlit as st

from verify import text as text_reading
from verify.models import Metadata
from verify.ui.resources import services


def show_text(meta: Metadata) -> None:
    st.markdown("#### Text in the picture")
    reading = text_reading.from_dict(meta.text)
    if reading is None:
        settings = services().settings
        status = text_reading.engine_status(settings.tesseract, settings.ocr_langs)
        if not settings.ocr:
            st.caption("Text reading is switched off on this desk (VERIFY_OCR=0).")
        elif not status.available:
            st.caption(status.reason)
        else:
            st.caption("No text was read for this item (it was stored before text reading, or reading failed: see the reader problems under All tags).")
        return
    if not reading.lines:
        st.caption(f"No text found ({reading.engine}, {'+'.join(reading.languages)}).")
        return
    import pandas as pd

    rows = [
        {
            "text": line.text,
            "confidence": round(line.confidence, 2),
            "what": "watermark" if line.kind == "watermark" else "",
            "where (x, y, w, h)": ", ".join(str(v) for v in line.box),
            "seen": "" if line.time_s is None else (f"{line.time_s:.1f}s" + (f" to {line.until_s:.1f}s" if line.until_s and line.until_s > line.time_s else "")),
        }
        for line in reading.lines
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"Read by {reading.engine} ({'+'.join(reading.languages)})" + (f"; {reading.note}" if reading.note else "") + ". Machine reading makes mistakes: check the words against the picture.")
