"""The Forensics section of the item page: computed on demand, cached per original, blurred when flagged.

The readings run in the sandbox (a hostile file costs an error message, not the workbench) and
only when the editor asks, so the rest of the item page never waits for them. The result is
cached by SHA-256 (the original never changes) and its JSON kept with the item
(``verify.forensics.cache``) so reports carry it.
"""

from __future__ import annotations

import io
from typing import Any

import streamlit as st

from verify.errors import VerifyError
from verify.forensics import Forensics, examine_isolated
from verify.forensics import cache as fx_cache
from verify.models import Finding
from verify.ui import components, imaging, mapdraw
from verify.ui.resources import services

LENS_TITLES = {
    "clone": "Copied regions",
    "double_map": "Double-compression map",
    "ela": "Error level analysis",
    "noise": "Noise residual",
}


@st.cache_data(show_spinner=False, max_entries=64)
def compute(sha256: str, path: str, claim_lat: float | None, claim_lon: float | None, claim_date: Any) -> Forensics | str:
    """The readings with their images, or the error text for a file that could not be read."""
    svc = services()
    try:
        result = examine_isolated(path, svc.settings, sandbox=svc.sandbox, claim_lat=claim_lat, claim_lon=claim_lon,
                                  claim_date=claim_date, with_images=True)  # fmt: skip
    except VerifyError as exc:
        return str(exc)
    try:
        fx_cache.save(svc.settings.data_dir, sha256, result.to_json())
    except OSError:
        pass  # the reading is still shown; only the copy for reports is missing
    return result


def _findings(items: list[Finding]) -> None:
    from verify.ui.views.item import show_findings

    show_findings(items)


def _stored_findings(record: dict[str, Any]) -> list[Finding]:
    return [Finding(f.get("kind", ""), f.get("severity", "info"), f.get("title", ""), f.get("evidence", ""))
            for f in record.get("findings") or []]  # fmt: skip


def _image(data: bytes, blurred: bool) -> bytes:
    if not blurred:
        return data
    with __import__("PIL.Image", fromlist=["Image"]).open(io.BytesIO(data)) as im:
        return imaging.jpeg(imaging.blur(im.convert("RGB")))


def _facts(result: Forensics) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    j = result.jpeg
    if j:
        tables = "standard IJG" if j.get("standard_tables") else "custom (not IJG)"
        dev = f", off by {j['deviation']:.1f} per entry" if j.get("deviation") else ""
        rows.append(("Last save", f"quality about {j.get('quality')}, {tables} tables{dev}"))
        rows.append(("Layout", f"{j.get('subsampling')}, {'progressive' if j.get('progressive') else 'baseline'}"
                     + (f", restart every {j['restart_interval']} blocks" if j.get("restart_interval") else "")))  # fmt: skip
        rows.append(("Segments", ", ".join(j.get("app_segments") or []) or "none"))
        if j.get("exiftool_digest"):
            rows.append(("ExifTool JPEGDigest", j["exiftool_digest"]))
        dq = {True: "yes", False: "no sign", None: "inconclusive"}[j.get("double_compressed")]
        conf = f" (confidence {j['confidence']:.2f})" if j.get("confidence") is not None else ""
        first = f", first at about quality {j['first_quality']}" if j.get("first_quality") else ""
        rows.append(("Saved twice", dq + first + conf))
    if result.clone is not None:
        n = len(result.clone.get("pairs", []))
        rows.append(("Copied regions", f"{n} pair(s)" if n else "none found"))
    s = result.sun
    if s:
        where = (f"{s['elevation_deg']:+.1f} degrees elevation, {s['azimuth_deg']:.0f} degrees from north"
                 if s.get("elevation_deg") is not None else "no time of day known")
        rows.append(("Sun", f"{where}; sunrise {s.get('sunrise')}, sunset {s.get('sunset')}"))
        rows.append(("Sun basis", s.get("basis")))
    for name, secs in result.seconds.items():
        rows.append((f"Time: {name}", f"{secs:.2f} s"))
    return rows


def _sun_map(result: Forensics) -> None:
    s = result.sun
    if not s or s.get("azimuth_deg") is None or s.get("lat") is None:
        return
    point = mapdraw.MapPoint(float(s["lat"]), float(s["lon"]), "Point used for the sun", "gps")
    label = f"sun {s['azimuth_deg']:.0f} deg" + (" (below horizon)" if (s.get("elevation_deg") or 0) < 0 else "")
    im = mapdraw.render_map([point], bearing=(float(s["lat"]), float(s["lon"]), float(s["azimuth_deg"]), label))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    st.image(buf.getvalue(), width="stretch")
    st.caption("The orange arrow points where the sun stood at the capture time; shadows fall the opposite way.")


def render_section(item: Any, state: Any, inherited: tuple[str, ...] = ()) -> None:
    """The Forensics section for one item (called by the item page)."""
    st.markdown("#### Forensics")
    st.caption("Readings of how the file was saved and whether parts were copied, with the sun at the claimed "
               "time and place. Lenses, not verdicts: each says what it can and cannot show.")  # fmt: skip
    svc = services()
    key = f"forensics_{item.id}"
    stored = fx_cache.load(svc.settings.data_dir, item.sha256)
    if not st.session_state.get(key):
        label = "Compute the forensic readings" if stored is None else "Show the lenses and pictures"
        if stored is not None:
            st.text("Readings computed earlier (kept with the item):")
            _findings(_stored_findings(stored))
        if st.button(label, key=f"{key}_go", icon=":material/biotech:"):
            st.session_state[key] = True
            st.rerun()
        return
    with st.spinner("Reading the file (in the sandbox)..."):
        result = compute(item.sha256, str(svc.original_path(item)), item.claimed_lat, item.claimed_lon, item.claimed_date)
    if isinstance(result, str):
        st.error(f"The forensic readings could not be made: {result}")
        return
    for note in result.notes:
        st.info(note, icon=":material/info:")
    _findings(result.findings)
    with st.container(border=True):
        components.facts(_facts(result))
    _sun_map(result)
    blurred = components.is_blurred(item.id, tuple(state.warnings) + tuple(inherited))
    names = [n for n in ("clone", "double_map", "ela", "noise") if n in result.images]
    if not names:
        return
    tabs = st.tabs([LENS_TITLES[n] for n in names])
    for tab, name in zip(tabs, names):
        with tab:
            st.image(_image(result.images[name], blurred), width="stretch")
            st.caption(("Blurred: content warning. " if blurred else "") + result.captions.get(name, ""))
