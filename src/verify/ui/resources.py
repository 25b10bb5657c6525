"""Long-lived objects shared by every session: the settings and one ``Services`` per store.

The archive index lives in memory inside ``Services``; building it reads every fingerprint, so it
is done once per process (``st.cache_resource``), keyed by the settings so a test with another data
folder gets its own desk. Tests call ``clear()`` between runs.
"""

from __future__ import annotations

import logging

import streamlit as st

from verify.config import Settings, load_settings
from verify.services import Services

log = logging.getLogger(__name__)


def settings() -> Settings:
    """Read per run: cheap, and a test that changes ``VERIFY_DATA_DIR`` is seen at once."""
    return load_settings()


def _release(svc: Services) -> None:
    """Close the desk when its cache entry goes (its sandbox workers and database connections)."""
    try:
        svc.close()
    except Exception:  # closing must never fail a page or a test teardown
        log.warning("closing a workbench desk failed", exc_info=True)


@st.cache_resource(show_spinner=False, on_release=_release)
def _services(key: str, _settings: Settings) -> Services:
    try:  # decode untrusted uploads in a sandboxed child process where this build has one
        return Services(_settings, isolate=True)
    except (TypeError, ImportError):
        return Services(_settings)


def services() -> Services:
    s = settings()
    svc = _services(repr(s), s)
    _refresh_if_archive_changed(svc)
    return svc


def _refresh_if_archive_changed(svc: Services) -> None:
    """Take in items that arrived from elsewhere (``verify index``, a colleague) into the index.

    Uploads made through this process add themselves to the index (see ``note_own_ingest``); a
    count that moved otherwise means another process wrote to the store.
    """
    try:
        count = svc.store.count_items()
    except Exception:  # the store reports its own problems where it is used
        return
    seen = getattr(svc, "_ui_item_count", None)
    if seen is not None and seen != count:
        # Rows past the index's watermark are read by id: no reload, however big the archive.
        svc.matcher.sync()
    svc._ui_item_count = count  # type: ignore[attr-defined]


def note_own_ingest(svc: Services) -> None:
    """After an upload through this process: the index already holds it, no reload needed."""
    try:
        svc._ui_item_count = svc.store.count_items()  # type: ignore[attr-defined]
    except Exception:
        pass


class _ServerWorker:
    """The workbench server's own background worker: a thread running ``worker.run_worker``."""

    def __init__(self, settings: Settings) -> None:
        import threading

        from verify.worker import WorkerOptions, run_worker

        self.stop = threading.Event()
        options = WorkerOptions(concurrency=settings.ui_workers, poll_s=2.0)
        self.thread = threading.Thread(target=self._run, args=(run_worker, settings, options), name="verify-ui-worker", daemon=True)
        self.thread.start()

    def _run(self, run_worker, settings, options) -> None:  # type: ignore[no-untyped-def]
        try:
            run_worker(settings, options, self.stop)
        except Exception:  # a broken worker must not take the workbench down; the page says none runs
            log.warning("the workbench's background worker stopped", exc_info=True)

    def alive(self) -> bool:
        return self.thread.is_alive()

    def close(self) -> None:
        self.stop.set()  # the job in hand goes back to the queue after its current file
        self.thread.join(60)


def _stop_worker(worker: _ServerWorker) -> None:
    worker.close()


@st.cache_resource(show_spinner=False, on_release=_stop_worker)
def _server_worker(key: str, _settings: Settings) -> _ServerWorker:
    return _ServerWorker(_settings)


def server_worker() -> _ServerWorker | None:
    """Start (once per process and store) the server's own worker, unless ``VERIFY_UI_WORKERS=0``
    (a team running ``verify worker`` elsewhere). ``None`` when there is none or it stopped."""
    s = settings()
    if s.ui_workers <= 0:
        return None
    worker = _server_worker(repr(s), s)
    return worker if worker.alive() else None


def clear() -> None:
    """Forget cached desks and images (tests; after a data folder changes)."""
    st.cache_resource.clear()
    st.cache_data.clear()
