"""The workbench's "Export evidence bundle" on the item and export pages, through AppTest.

The downloaded ZIP is checked with ``check_bundle`` like any outside reader would, and the export
is in the log with the signed-in editor's name.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from factories import jpeg_bytes, photo
from test_ui_pages import button, desk, start  # noqa: F401 - desk is a fixture
from verify.bundle import check_bundle

pytestmark = pytest.mark.filterwarnings("ignore")




@pytest.mark.parametrize("page", ["item", "export"])
def test_export_evidence_bundle_from_the_page(desk, page: str, tmp_path: Path) -> None:  # noqa: F811
    item = desk.ingest_bytes(jpeg_bytes(photo(160)), filename="scene.jpg", actor="A").item
    desk.add_warning(item.id, "graphic_violence", actor="A")
    desk.record_verdict(item.id, "false", "Recycled from 2014.", actor="A")
    at = start("Ana Editor", page=page, item=item.id)
    assert not [b for b in at.get("download_button") if b.proto.label.startswith("Export evidence bundle")]
    button(at, "Prepare evidence bundle").click().run()
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("Export evidence bundle (ZIP") for label in labels), labels
    assert any("content warning" in w.value for w in at.warning)
    _, data, head, flagged, _pending = at.session_state["evidence_bundle"]
    assert flagged and len(head) == 64
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    report = check_bundle(path)
    assert report.ok, report.problems
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert json.loads(zf.read("manifest.json"))["content_warnings"][0]["item_id"] == item.id
        assert zf.read("items/%d/original.jpg" % item.id) == desk.original_path(item).read_bytes()
    exported = [e for e in desk.store.events(item.id) if e.kind == "exported"]
    assert exported[-1].actor == "Ana Editor" and exported[-1].payload["what"] == "evidence bundle"
