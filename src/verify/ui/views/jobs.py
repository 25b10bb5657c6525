"""Background work: what the workers are doing, file by file, and what they finished.

Big batches and long videos uploaded with "analyse in the background" become jobs in the store's
queue (``store/jobs.py``); ``verify worker`` processes (and, unless turned off, one worker the
workbench server runs itself: ``resources.server_worker``) do them while editors go on working.
This page shows each job's progress, the files it stored (with links to their records), and lets
an editor cancel work that is not wanted or retry work that failed. It refreshes itself every few
seconds while anything is queued or running.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from verify.errors import VerifyError
from verify.store.jobs import JobQueue
from verify.ui import identity, nav
from verify.ui.resources import server_worker, services

KIND_LABEL = {"index": "Store files", "refresh": "Newer fingerprints for stored pictures", "features": "Stored keypoints for old pictures"}
STATUS_LABEL = {"queued": "waiting", "running": "running", "done": "done", "failed": "failed", "cancelled": "cancelled"}


def _progress_text(job) -> str:  # type: ignore[no-untyped-def]
    total = "?" if job.total is None else job.total
    text = f"{job.done} of {total}"
    if job.failed:
        text += f", {job.failed} unreadable"
    return text


@st.fragment(run_every=3)
def _live() -> None:
    """The part that refreshes on its own (a fragment: the rest of the page is not re-run)."""
    svc = services()
    queue = JobQueue(svc.store)
    jobs = queue.list(limit=100)
    if not jobs:
        st.info("Nothing in the background. Big batches uploaded with 'Analyse in the background' appear here.")
        return
    active = [j for j in jobs if j.status in ("queued", "running")]
    counts = queue.counts()
    st.caption(", ".join(f"{n} {STATUS_LABEL.get(s, s)}" for s, n in sorted(counts.items())))
    if active and not any(j.status == "running" for j in active) and server_worker() is None:
        st.warning("No worker is running here: start one with `verify worker` (on any machine that shares the database and the media folder).")
    for job in active:
        with st.container(border=True):
            st.markdown(f"**Job {job.id}: {KIND_LABEL.get(job.kind, job.kind)}**, {STATUS_LABEL[job.status]}")
            st.text(f"asked by {job.created_by} at {job.created_at[:19].replace('T', ' ')}")
            fraction = job.done / job.total if job.total else 0.0
            current = f" (now: {job.current})" if job.current else ""
            st.progress(min(1.0, fraction), text=_progress_text(job) + current)
            if st.button("Cancel", key=f"cancel-{job.id}"):
                try:
                    queue.cancel(job.id)
                except VerifyError as exc:
                    st.error(str(exc))
                st.rerun(scope="fragment")
    rows = [
        {"job": j.id, "what": KIND_LABEL.get(j.kind, j.kind), "status": STATUS_LABEL.get(j.status, j.status),
         "progress": _progress_text(j), "attempts": j.attempts, "asked by": j.created_by,
         "finished": (j.finished_at or "")[:19].replace("T", " "), "problem": j.error or ""}
        for j in jobs
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)


def _finished(svc) -> None:  # type: ignore[no-untyped-def]
    queue = JobQueue(svc.store)
    finished = [j for j in queue.list(limit=20) if j.status in ("done", "failed", "cancelled")]
    for job in finished[:10]:
        files = (job.result or {}).get("files") or []
        label = f"Job {job.id}: {KIND_LABEL.get(job.kind, job.kind)}, {STATUS_LABEL[job.status]} ({_progress_text(job)})"
        with st.expander(label, expanded=False):
            if job.error:
                st.text(job.error)
            for f in files:
                line = f"{f['name']}: {f['status']}" + (f" ({f['error']})" if f.get("error") else "")
                if f.get("item_id"):
                    c1, c2 = st.columns([3, 1])
                    c1.text(line)
                    with c2:
                        nav.link("item", "Open", f["item_id"])
                else:
                    st.text(line)
            if job.status in ("failed", "cancelled") and st.button("Retry", key=f"retry-{job.id}"):
                try:
                    queue.retry(job.id)
                except VerifyError as exc:
                    st.error(str(exc))
                st.rerun()


def render() -> None:
    identity.require()
    st.title("Background work")
    st.write("Big batches and long videos are analysed here while you go on working; results appear in the inbox when ready.")
    svc = services()
    server_worker()  # this server's own worker, when it runs one
    _live()
    st.markdown("#### Finished")
    _finished(svc)
