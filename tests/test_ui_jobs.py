"""The workbench and background jobs (issue 15): an upload analysed in the background, its
progress on the Background work page, and the stored files linked from there (AppTest)."""

from __future__ import annotations

import threading

import pytest
from factories import jpeg_bytes, photo
from test_ui_pages import PAGES, button, desk, start, texts  # noqa: F401  (desk is a fixture)

from verify.store.jobs import JobQueue
from verify.worker import WorkerOptions, run_worker

pytestmark = pytest.mark.filterwarnings("ignore")


def test_a_batch_uploaded_in_the_background_is_stored_by_a_worker(desk, monkeypatch):  # noqa: F811
    monkeypatch.setenv("VERIFY_UI_WORKERS", "0")  # the team's workers do it (here: one, in this test)
    at = start()
    up = at.file_uploader[0]
    up.upload("market.jpg", jpeg_bytes(photo(31)), "image/jpeg")
    up.upload("bridge.jpg", jpeg_bytes(photo(32)), "image/jpeg")
    up.upload("junk.jpg", b"not a picture\n" * 50, "image/jpeg")
    at.text_input(key="claim_source_0").input("Signal: Lina")
    at.checkbox(key="upload_background_0").check()
    button(at, "Upload and check").click().run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "3 file(s) queued as job" in shown
    assert desk.store.count_items() == 0, "nothing is analysed while the editor waits"
    job = JobQueue(desk.store).list()[0]
    assert job.status == "queued" and job.created_by == "Ana Editor"

    at.switch_page(f"{PAGES}/jobs.py").run()
    assert not at.exception, at.exception
    assert "No worker is running here" in texts(at)
    assert [b.label for b in at.button].count("Cancel") == 1

    ran = run_worker(desk.settings, WorkerOptions(once=True), threading.Event())
    assert ran == 1
    done = JobQueue(desk.store).get(job.id)
    assert done.status == "done" and done.result["added"] == 2 and done.failed == 1
    items = {i.filename: i for i, _s, _w in desk.list_items()}
    assert set(items) == {"market.jpg", "bridge.jpg"}
    assert all(i.source == "Signal: Lina" and i.origin == "submission" and i.ingested_by == "Ana Editor" for i in items.values())
    assert not any((desk.settings.media_dir / ".queued").iterdir()), "the waiting copies are removed"

    at.run()
    shown = texts(at)
    assert "market.jpg: added" in shown and "junk.jpg: error" in shown
    assert "1 done" in shown

