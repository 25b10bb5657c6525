"""Links in the workbench: the "Links" field and capture import on the upload page, and the
provenance on the item page. Thin over ``Services.fetch_link``/``import_capture``/``links``.

Everything a page or platform said (titles, uploaders, descriptions) is a stranger's text: it is
shown with ``st.text`` and ``components.facts``, never as Markdown or HTML.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from verify.report import basis_label
from verify.ui import components, nav
from verify.ui.resources import note_own_ingest, services
from verify.ui.safe import md, short

LINK_RESULTS_KEY = "link_results"
MAX_LINKS = 20


def parse_links(text: str) -> list[str]:
    """One link per line (blank lines and duplicates dropped), at most ``MAX_LINKS``."""
    out: list[str] = []
    for line in (text or "").splitlines():
        url = line.strip()
        if url and url not in out:
            out.append(url)
    return out[:MAX_LINKS]


def _summary(result: Any) -> dict[str, Any]:
    prov = result.provenance
    return {
        "url": result.url or (result.path or ""),
        "error": result.error,
        "title": prov.title if prov else None,
        "published_at": prov.published_at if prov else None,
        "basis": prov.published_at_basis if prov else None,
        "items": [(li.item.id, li.created, li.media_url, li.item.kind) for li in result.items],
        "notes": list(prov.notes) if prov else [],
    }


def fetch_links(urls: list[str], *, origin: str, source: str | None, actor: str) -> list[dict[str, Any]]:
    svc = services()
    results = []
    bar = st.progress(0.0, text="Fetching links…")
    for i, url in enumerate(urls):
        bar.progress(i / len(urls), text=f"Fetching link {i + 1} of {len(urls)}")
        results.append(_summary(svc.fetch_link(url, origin=origin, source=source, actor=actor)))  # type: ignore[arg-type]
    bar.progress(1.0, text=f"Done: {sum(not r['error'] for r in results)} of {len(results)} links fetched.")
    note_own_ingest(svc)
    return results


def import_uploaded(files: list[Any], *, origin: str, source: str | None, actor: str) -> list[dict[str, Any]]:
    """Captures uploaded in the browser: written to a private temporary folder, imported together
    (so a yt-dlp ``.info.json`` finds the video uploaded beside it), then removed."""
    svc = services()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="captures-", dir=svc.blobs.incoming) as tmp:
        folder = Path(tmp)
        for f in files:
            from verify.services import safe_filename

            name = safe_filename(str(f.name)) or "capture"
            if name in (".", "..") or name.startswith("."):
                name = "capture" + name.lstrip(".")
            with open(folder / name, "wb") as out:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
        for r in svc.import_capture(folder, origin=origin, source=source, actor=actor):  # type: ignore[arg-type]
            s = _summary(r)
            s["url"] = r.url or Path(r.path or "").name
            results.append(s)
    note_own_ingest(svc)
    return results


def show_results(results: list[dict[str, Any]]) -> None:
    if not results:
        return
    st.subheader("Links and captures")
    for r in results:
        with st.container(border=True):
            st.text(short(r["url"], 200))
            if r["error"]:
                st.error(md(r["error"], 500))
                continue
            if r["title"]:
                st.text(f"Title: {short(r['title'], 200)}")
            if r["published_at"]:
                st.text(f"Published: {r['published_at']} ({basis_label(r['basis'])})")
            for item_id, created, media_url, kind in r["items"]:
                cols = st.columns([3, 2])
                cols[0].text(f"{'Stored' if created else 'Already stored'} as item {item_id} ({kind}) from {short(media_url, 120)}")
                with cols[1]:
                    nav.link("item", f"Open item {item_id}", item_id)
            for note in r["notes"][:10]:
                st.caption(md(note, 300))


def show_item_links(item_id: int) -> None:
    """The item page's "Where it came from" section: one box per link or capture."""
    try:
        links = services().links(item_id)
    except Exception:  # noqa: BLE001 - an older store without the table shows nothing
        return
    if not links:
        return
    st.markdown("#### Where it came from (links)")
    for link in links:
        p = link.provenance
        rows: list[tuple[str, object]] = [
            ("Link", p.url),
            ("Final address", p.final_url if p.final_url != p.url else None),
            ("Media address", link.media_url),
            ("Platform", p.platform),
            ("Title", p.title),
            ("Uploader", p.uploader),
            ("Channel", p.channel),
            ("Published", f"{p.published_at} ({basis_label(p.published_at_basis)})" if p.published_at else "not stated"),
            ("Server's Last-Modified", f"{p.server_modified_at} (server-reported, not the post's date)" if p.server_modified_at else None),
            ("Captured", p.captured_at),
            ("Capture", f"{p.capture_format} SHA-256 {p.capture_sha256}" if p.capture_sha256 else None),
            ("Fetched", f"{link.fetched_at[:19]} by {link.fetched_by}" + (" (imported capture)" if p.via == "import" else "")),
            ("Through proxy", p.proxy),
        ]
        with st.container(border=True):
            components.facts([(k, v) for k, v in rows if v not in (None, "")])
            if p.description:
                with st.expander("Description or caption (as the page gave it)"):
                    st.text(short(p.description, 2000))
