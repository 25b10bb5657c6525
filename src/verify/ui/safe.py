"""Showing untrusted text safely.

File names, tags, sources and notes come from strangers. Streamlit renders Markdown in
``st.markdown``, ``st.caption``, ``st.write`` of strings and in most widget labels, so untrusted
text goes out through ``st.text``/``st.code``/dataframes, and where a label is unavoidable, through
``md`` which escapes every Markdown character (a crafted name cannot become a link, an image or HTML).
"""

from __future__ import annotations

from verify.report import md_text


def md(value: object, limit: int = 200) -> str:
    """Untrusted text as literal Markdown, shortened for labels."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return md_text(text)


def short(value: object, limit: int = 80) -> str:
    """Plain text, shortened (for st.text and dataframe cells, which never interpret markup)."""
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
