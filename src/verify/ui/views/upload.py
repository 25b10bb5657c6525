"""Upload: several photos and videos at once, with the claim that came with them.

Each file is handled on its own: one bad file gets its own plain error and the others still go
in. A file whose bytes are already in the store opens its existing record (and the new claim is
kept on it as a note, so nothing the editor typed is lost).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import streamlit as st

from verify.errors import VerifyError
from verify.matching import MatchOutcome
from verify.models import Claim
from verify.report import earliest_match, media_word, seen_date, warning_label
from verify.ui import identity, nav
from verify.ui.resources import note_own_ingest, services
from verify.ui.safe import md, short
from verify.ui.views import upload_summary
from verify.ui.views.matching import remember_matches

RESULTS_KEY = "upload_results"
#: The form's generation: it is part of every widget key, so each batch starts with new, empty
#: widgets. (Clearing the values in the session is not enough: the browser keeps showing a
#: widget's last value and sends it again with the next submit.)
BATCH_KEY = "upload_batch"
#: Message for the item page when an upload opened an existing record.
OPENED_KEY = "opened_existing"
CLAIM_KEYS = ("claim_source", "claim_contact", "claim_url", "claim_date", "claim_place", "claim_lat", "claim_lon",
              "claim_note", "claim_archive", "claim_first_seen")


def field_key(name: str, generation: int | None = None) -> str:
    """The widget key of one claim field (or ``upload_files``) in the current form generation."""
    gen = st.session_state.get(BATCH_KEY, 0) if generation is None else generation
    return f"{name}_{gen}"


def _claim_from_form(values: dict) -> Claim:
    lat, lon = values["lat"], values["lon"]
    if (lat is None) != (lon is None):
        raise VerifyError("Give both latitude and longitude for the claimed place, or neither.")
    first_seen = None
    if values.get("first_seen"):
        first_seen = datetime.combine(values["first_seen"], time(12, 0), UTC)
    return Claim(
        source=(values["source"] or "").strip() or None,
        source_url=(values["source_url"] or "").strip() or None,
        source_contact=(values["contact"] or "").strip() or None,
        first_seen_at=first_seen,
        claimed_place=(values["place"] or "").strip() or None,
        claimed_lat=lat,
        claimed_lon=lon,
        claimed_date=values["claimed_date"],
        note=(values["note"] or "").strip() or None,
    )


def _claim_note(claim: Claim) -> str | None:
    parts = [
        f"{label}: {value}"
        for label, value in (
            ("source", claim.source),
            ("contact", claim.source_contact),
            ("posted at", claim.source_url),
            ("claimed place", claim.claimed_place),
            ("claimed point", f"{claim.claimed_lat}, {claim.claimed_lon}" if claim.claimed_lat is not None else None),
            ("claimed date", claim.claimed_date.isoformat() if claim.claimed_date else None),
            ("note", claim.note),
        )
        if value
    ]
    return ("Received again with: " + "; ".join(parts)) if parts else None


def _is_new_claim(claim: Claim, item) -> bool:  # type: ignore[no-untyped-def]
    """Whether a re-upload came with something the record does not already say."""
    for name in ("source", "source_url", "source_contact", "claimed_place", "claimed_lat", "claimed_lon", "claimed_date", "note"):
        value = getattr(claim, name)
        if value not in (None, "") and value != getattr(item, name):
            return True
    return False


def _ingest_one(f, claim: Claim, origin: str, actor: str) -> dict:  # type: ignore[no-untyped-def]
    svc = services()
    name = f.name
    result: dict = {"name": name, "ok": False, "item_id": None, "created": False, "error": None, "matches": 0,
                    "first_seen": None, "suggested": []}
    try:
        res = svc.ingest_stream(f, filename=name, claim=claim, origin=origin, actor=actor)  # type: ignore[arg-type]
    except VerifyError as exc:
        result["error"] = str(exc)
        return result
    except Exception:  # noqa: BLE001 - one bad file must not stop the batch
        import logging

        logging.getLogger(__name__).exception("upload failed")
        result["error"] = "This file could not be processed (an unexpected problem); the other files are not affected."
        return result
    result.update(ok=True, item_id=res.item.id, created=res.created, kind=res.item.kind)
    note_own_ingest(svc)
    if not res.created and _is_new_claim(claim, res.item):
        note = _claim_note(claim)
        if note:
            try:
                svc.add_note(res.item.id, note, actor=actor)
            except (VerifyError, AttributeError):
                pass
    try:
        outcome = svc.match_item(res.item.id)
        result["matches"] = len(outcome.matches)
        remember_matches(res.item.id, outcome)
        first = earliest_match(outcome.matches)
        if first is not None:
            result["first_seen"] = seen_date(first.item).date().isoformat()
            result["first_origin"] = first.item.origin
            result["first_id"] = first.item.id
        suggested: set[str] = set()
        for m in outcome.matches:
            suggested.update(w.category for w in svc.store.state(m.item.id).warnings)
        result["suggested"] = sorted(suggested)
    except VerifyError:
        outcome = MatchOutcome()
    result.update(upload_summary.summarise(svc, res.item.id, outcome))
    return result


def render() -> None:
    actor = identity.require()
    st.title("Upload")
    from verify.roles import Action
    from verify.ui import access

    if not access.gate(Action.UPLOAD):
        return
    st.write("Drop the photos and videos you received, and say what came with them. Each file is checked on its own.")
    with st.form("upload_form", clear_on_submit=False):
        pick, paste = st.columns(2)
        files = pick.file_uploader(
            "Photos and videos",
            accept_multiple_files=True,
            key=field_key("upload_files"),
            help="JPEG, PNG, HEIC, WebP, TIFF, GIF; MP4, MOV, MKV, WebM, AVI. The bytes decide the type, not the name.",
        )
        links_text = paste.text_area(
            "Links", key=field_key("upload_links"), max_chars=20_000, height=100,
            help="One link per line: a post, a page or a direct photo or video. Each is fetched (with its provenance: "
                 "address, uploader, published time and its basis, a WARC capture of the page) and its media checked like a file.",
        )  # fmt: skip
        captures = st.file_uploader(
            "Captures made elsewhere (yt-dlp .info.json with its video, WACZ, WARC)",
            accept_multiple_files=True, key=field_key("upload_captures"),
            help="For material captured where there was a connection: the capture's own hashes are checked before anything is stored.",
        )  # fmt: skip
        st.markdown("**The claim that came with them**")
        c1, c2 = st.columns(2)
        source = c1.text_input("Source (who sent it)", key=field_key("claim_source"), max_chars=500)
        contact = c2.text_input("How to reach them", key=field_key("claim_contact"), max_chars=500)
        source_url = c1.text_input("Where it was posted (link)", key=field_key("claim_url"), max_chars=2000)
        claimed_date = c2.date_input("Claimed date", value=None, key=field_key("claim_date"), min_value=date(1900, 1, 1))
        place = c1.text_input("Claimed place", key=field_key("claim_place"), max_chars=500)
        p1, p2 = c2.columns(2)
        lat = p1.number_input("Latitude", min_value=-90.0, max_value=90.0, value=None, format="%.5f", key=field_key("claim_lat"))
        lon = p2.number_input("Longitude", min_value=-180.0, max_value=180.0, value=None, format="%.5f", key=field_key("claim_lon"))
        note = st.text_area("Note", key=field_key("claim_note"), max_chars=5000)
        archive = st.checkbox(
            "These are earlier, already published material for the archive (not a new submission)", key=field_key("claim_archive")
        )
        first_seen = st.date_input("First seen / published on (archive material)", value=None, key=field_key("claim_first_seen"),
                                   min_value=date(1900, 1, 1))
        background = st.checkbox(
            "Analyse in the background (a big batch or long videos): you can go on working, results appear when ready",
            key=field_key("upload_background"),
        )
        submitted = st.form_submit_button("Upload and check", type="primary")

    if submitted:
        from verify.ui.views import links as linkview

        urls = linkview.parse_links(links_text)
        if not files and not urls and not captures:
            st.warning("Choose at least one file, paste a link or add a capture first.")
        else:
            try:
                claim = _claim_from_form(
                    {"source": source, "contact": contact, "source_url": source_url, "place": place, "lat": lat, "lon": lon,
                     "claimed_date": claimed_date, "note": note, "first_seen": first_seen}
                )
            except VerifyError as exc:
                st.error(str(exc))
                claim = None
            if claim is not None and (urls or captures):
                origin = "archive" if archive else "submission"
                link_results = []
                if urls:
                    link_results += linkview.fetch_links(urls, origin=origin, source=claim.source, actor=actor)
                if captures:
                    link_results += linkview.import_uploaded(captures, origin=origin, source=claim.source, actor=actor)
                st.session_state[linkview.LINK_RESULTS_KEY] = link_results
                if not files:
                    gen = st.session_state.get(BATCH_KEY, 0)
                    st.session_state[BATCH_KEY] = gen + 1
                    for key in (*CLAIM_KEYS, "upload_files", "upload_links", "upload_captures"):
                        st.session_state.pop(field_key(key, gen), None)
                    st.session_state[RESULTS_KEY] = []
                    st.rerun()
            elif claim is not None:
                st.session_state.pop(linkview.LINK_RESULTS_KEY, None)
            if claim is not None and files and background:
                _queue_in_background(files, claim, "archive" if archive else "submission", actor)
            elif claim is not None and files:
                origin = "archive" if archive else "submission"
                results = []
                bar = st.progress(0.0, text="Checking files…")
                for i, f in enumerate(files):
                    bar.progress(i / len(files), text=f"Checking file {i + 1} of {len(files)}")
                    with st.status(f"File {i + 1} of {len(files)}", expanded=False) as status:
                        st.text(short(f.name, 120))
                        r = _ingest_one(f, claim, origin, actor)
                        status.update(label=f"File {i + 1} of {len(files)}: {'done' if r['ok'] else 'failed'}",
                                      state="complete" if r["ok"] else "error")
                    results.append(r)
                bar.progress(1.0, text=f"Done: {sum(r['ok'] for r in results)} of {len(results)} files stored or found.")
                st.session_state[RESULTS_KEY] = results
                st.session_state.pop(QUEUED_KEY, None)
                # A fresh form for the next batch: this claim is on the record now, and carrying it
                # over would pin it on files that did not come with it. New keys make new widgets,
                # in the browser too; the old generation's values are dropped.
                gen = st.session_state.get(BATCH_KEY, 0)
                st.session_state[BATCH_KEY] = gen + 1
                for key in (*CLAIM_KEYS, "upload_files", "upload_links", "upload_captures"):
                    st.session_state.pop(field_key(key, gen), None)
                if len(results) == 1 and not urls and not captures and results[0]["ok"] and not results[0]["created"]:
                    # One file, already known: open its existing record straight away.
                    st.session_state[OPENED_KEY] = (
                        f"This file is already in the store: this is its existing record (item {results[0]['item_id']})."
                    )
                    nav.go("item", results[0]["item_id"])
                st.rerun()
    from verify.ui.views.links import LINK_RESULTS_KEY, show_results

    show_results(st.session_state.get(LINK_RESULTS_KEY) or [])
    queued = st.session_state.get(QUEUED_KEY)
    if queued:
        st.success(f"{queued[1]} file(s) queued as job {queued[0]}: they are analysed in the background.")
        nav.link("jobs", "Follow the progress on the Background work page")
    _show_results(st.session_state.get(RESULTS_KEY) or [])


QUEUED_KEY = "upload_queued_job"


def _queue_in_background(files, claim: Claim, origin: str, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Copy the files where the workers find them and queue one job; the form starts fresh."""
    from verify.ui.resources import server_worker
    from verify.worker import enqueue_uploads

    try:
        job = enqueue_uploads(services(), [(f.name, f) for f in files], claim=claim, origin=origin, actor=actor)
    except VerifyError as exc:
        st.error(str(exc))
        return
    server_worker()  # this server's own worker, unless the team runs `verify worker` elsewhere
    st.session_state[QUEUED_KEY] = (job.id, len(files))
    st.session_state.pop(RESULTS_KEY, None)
    gen = st.session_state.get(BATCH_KEY, 0)
    st.session_state[BATCH_KEY] = gen + 1
    for key in (*CLAIM_KEYS, "upload_files", "upload_links", "upload_captures", "upload_background"):
        st.session_state.pop(field_key(key, gen), None)
    st.rerun()


def _first_seen_line(r: dict) -> str:
    """When the earliest match was seen, said by where it came from (the archive, or an earlier submission)."""
    word = media_word(r.get("kind"))
    if r.get("first_origin", "archive") == "archive":
        return f"this {word} was in the archive on {r['first_seen']}"
    return f"this {word} was received before, on {r['first_seen']} (submission {r.get('first_id')})"


def _show_results(results: list[dict]) -> None:
    if not results:
        return
    st.subheader("Results")
    for r in results:
        with st.container(border=True):
            cols = st.columns([3, 2])
            with cols[0]:
                st.text(short(r["name"], 120))
                if not r["ok"]:
                    st.error(md(r["error"], 500))
                    continue
                if r["created"]:
                    st.success(f"Stored as item {r['item_id']}.")
                else:
                    st.info(f"Already in the store: this opens its existing record, item {r['item_id']}.")
                if r["matches"]:
                    st.error(f"Matches {r['matches']} earlier item(s): {_first_seen_line(r)}.")
                if r["suggested"]:
                    labels = ", ".join(warning_label(c) for c in r["suggested"])
                    st.warning(f"A matching item carries a content warning ({labels}); consider adding it on the Warnings page.")
                upload_summary.show(r)
            with cols[1]:
                nav.link("item", f"Open item {r['item_id']}", r["item_id"])
                if r["matches"]:
                    nav.link("matches", f"See matches of item {r['item_id']}", r["item_id"])
