"""Every workbench page through Streamlit's AppTest, on a temporary data folder.

AppTest runs the real app script (root ``app.py``) in-process; each test gets its own data folder
and cleared Streamlit caches, and seeds the store through ``Services`` where a page needs content.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image

from factories import exif_bytes, jpeg_bytes, photo, png_bytes
from verify.config import load_settings
from verify.models import Claim
from verify.services import Services

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = "src/verify/ui/pages"

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def desk(sqlite_settings):
    """A Services on the same data folder the app will use; the app's own caches cleared."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    svc = Services(sqlite_settings)
    yield svc
    svc.close()
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def any_desk(settings, monkeypatch):
    """Like ``desk``, on SQLite and on PostgreSQL (the app finds the database through VERIFY_DB)."""
    import streamlit as st

    if settings.db_url:
        monkeypatch.setenv("VERIFY_DB", settings.db_url)
    st.cache_resource.clear()
    st.cache_data.clear()
    svc = Services(settings)
    yield svc
    st.cache_resource.clear()  # the app's own desk closes with the cache
    st.cache_data.clear()
    svc.close()


def start(name: str = "Ana Editor", page: str | None = None, item: int | None = None):
    """The app, signed in as ``name``, optionally on a page about ``item``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["editor_name"] = name
    if item is not None:
        at.query_params["item"] = str(item)
    at.run()
    if page:
        at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    """Everything shown as text or markdown on the page, joined (for assertions)."""
    parts: list[str] = []
    for kind in ("title", "subheader", "header", "markdown", "caption", "text", "error", "warning", "info", "success", "code"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)


def markdown_bodies(at) -> list[str]:
    parts: list[str] = []
    for kind in ("title", "subheader", "header", "markdown", "caption", "error", "warning", "info", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return parts


def button(at, label: str):
    for b in at.button:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r} among {[b.label for b in at.button]}")


def frame_values(at) -> str:
    return "\n".join(df.value.to_csv() for df in at.dataframe)


def jpeg_with_exif(seed: int, **exif) -> bytes:
    return jpeg_bytes(photo(seed), exif=exif_bytes(**exif))


def crop_bytes(data: bytes, keep: float = 0.95) -> bytes:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = im.size
    dx, dy = int(w * (1 - keep) / 2), int(h * (1 - keep) / 2)
    return jpeg_bytes(im.crop((dx, dy, w - dx, h - dy)), quality=85)


# -- who is working -------------------------------------------------------------------------------


def test_first_visit_asks_for_a_name_and_every_event_carries_it(desk):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "Who is working" in texts(at)
    assert not at.file_uploader  # no page before a name
    at.text_input(key="editor_name_input").input("   ").run()
    button(at, "Start").click().run()
    assert "Say who you are first" in texts(at)
    at.text_input(key="editor_name_input").input("Ana Editor")
    button(at, "Start").click().run()
    assert [t.value for t in at.title] == ["Upload"]
    at.file_uploader[0].upload("a.jpg", jpeg_bytes(photo(1)), "image/jpeg")
    button(at, "Upload and check").click().run()
    assert not at.exception
    (item, _status, _w), = desk.list_items()
    assert item.ingested_by == "Ana Editor"
    assert {e.actor for e in desk.store.events(item.id)} == {"Ana Editor"}


def test_trusted_proxy_header_is_required_when_configured(desk, monkeypatch):
    monkeypatch.setenv("VERIFY_TRUSTED_HEADER", "X-Forwarded-User")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "trusted proxy sent no user" in texts(at)
    assert not at.text_input  # no self-declared name when a proxy vouches for editors
    assert not at.file_uploader


def test_oidc_sign_in_is_offered_when_configured(desk):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "verify", "client_secret": "s",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.run()
    assert "Sign in to the verification desk" in texts(at)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.text_input and not at.file_uploader


# -- upload -----------------------------------------------------------------------------------------


def test_upload_several_files_with_a_claim_one_bad_file_does_not_stop_the_rest(desk):
    at = start()
    up = at.file_uploader[0]
    up.upload("street.jpg", jpeg_with_exif(2, make="Canon", model="EOS 5D"), "image/jpeg")
    up.upload("notes.jpg", b"this is not a picture at all, just text pretending\n" * 20, "image/jpeg")
    up.upload("square.png", png_bytes(photo(3, (300, 300))), "image/png")
    at.text_input(key="claim_source_0").input("WhatsApp: Karim")
    at.text_input(key="claim_contact_0").input("+00 123 456")
    at.text_input(key="claim_place_0").input("Kharkiv")
    at.number_input(key="claim_lat_0").set_value(49.99)
    at.number_input(key="claim_lon_0").set_value(36.23)
    at.date_input(key="claim_date_0").set_value(date(2024, 3, 1))
    at.text_area(key="claim_note_0").input("Sent at night")
    button(at, "Upload and check").click().run()
    assert not at.exception
    shown = texts(at)
    assert shown.count("Stored as item") == 2
    assert "This is a text file, not a photo or video" in shown
    assert "Traceback" not in shown
    rows = desk.list_items()
    assert sorted(r[0].filename for r in rows) == ["square.png", "street.jpg"]
    for item, status, _ in rows:
        assert status == "unverified"
        assert item.source == "WhatsApp: Karim" and item.source_contact == "+00 123 456"
        assert item.claimed_place == "Kharkiv" and item.claimed_date == date(2024, 3, 1)
        assert item.claimed_lat == pytest.approx(49.99) and item.claimed_lon == pytest.approx(36.23)
        assert item.note == "Sent at night" and item.origin == "submission"


def test_upload_rejects_half_a_point_and_keeps_the_form(desk):
    at = start()
    at.file_uploader[0].upload("a.jpg", jpeg_bytes(photo(4)), "image/jpeg")
    at.number_input(key="claim_lat_0").set_value(10.0)
    at.text_input(key="claim_source_0").input("Someone")
    button(at, "Upload and check").click().run()
    assert "Give both latitude and longitude" in texts(at)
    assert desk.list_items() == []
    assert at.text_input(key="claim_source_0").value == "Someone"


def test_a_file_already_in_the_store_opens_its_record_and_keeps_the_new_claim(desk):
    data = jpeg_bytes(photo(5))
    first = desk.ingest_bytes(data, filename="orig.jpg", actor="Bob").item
    at = start()
    at.file_uploader[0].upload("copy.jpg", data, "image/jpeg")
    at.text_input(key="claim_source_0").input("Second sender")
    button(at, "Upload and check").click().run()
    # one file, already known: its record opens straight away
    assert f"This file is already in the store: this is its existing record (item {first.id})." in texts(at)
    assert "Key facts" in texts(at) and f"Item {first.id}: orig.jpg" in texts(at)
    assert len(desk.list_items()) == 1
    notes = [e for e in desk.store.events(first.id) if e.kind == "note"]
    assert notes and "Second sender" in notes[0].payload["text"] and notes[0].actor == "Ana Editor"


def test_in_a_batch_a_known_file_links_to_its_record(desk):
    data = jpeg_bytes(photo(5))
    first = desk.ingest_bytes(data, filename="orig.jpg", actor="Bob").item
    at = start()
    at.file_uploader[0].upload("copy.jpg", data, "image/jpeg")
    at.file_uploader[0].upload("new.jpg", jpeg_bytes(photo(6)), "image/jpeg")
    button(at, "Upload and check").click().run()
    assert f"Already in the store: this opens its existing record, item {first.id}" in texts(at)
    assert any(f"Open item {first.id}" in str(link.proto.label) for link in at.get("page_link"))


def test_upload_of_a_recycled_picture_says_when_it_was_in_the_archive(desk):
    data = jpeg_bytes(photo(6))
    desk.ingest_bytes(data, filename="2013.jpg", origin="archive", actor="Archivist",
                      claim=Claim(source="Agency", first_seen_at=datetime(2013, 5, 2, tzinfo=UTC)))
    at = start()
    at.file_uploader[0].upload("new.jpg", crop_bytes(data), "image/jpeg")
    button(at, "Upload and check").click().run()
    assert "this picture was in the archive on 2013-05-02" in texts(at)


# -- inbox ------------------------------------------------------------------------------------------


def _seed_inbox(desk: Services) -> dict[str, int]:
    ids = {}
    ids["old"] = desk.ingest_bytes(jpeg_bytes(photo(10)), filename="protest-2013.jpg", origin="archive", actor="A",
                                   claim=Claim(source="Agency", first_seen_at=datetime(2013, 5, 2, tzinfo=UTC))).item.id
    ids["copy"] = desk.ingest_bytes(crop_bytes(jpeg_bytes(photo(10))), filename="viral.jpg", actor="A",
                                    claim=Claim(source="Telegram channel")).item.id
    ids["flood"] = desk.ingest_bytes(jpeg_bytes(photo(11)), filename="flood.jpg", actor="A",
                                     claim=Claim(source="Reader email")).item.id
    desk.add_warning(ids["flood"], "dead_bodies", actor="A")
    desk.record_verdict(ids["copy"], "misattributed", "Same as the 2013 agency photo", actor="A")
    return ids


def _card_names(at) -> list[str]:
    return [t.value for t in at.text if t.value.endswith(".jpg")]


def test_inbox_lists_items_and_filters(desk):
    ids = _seed_inbox(desk)
    at = start(page="inbox")
    assert sorted(_card_names(at)) == ["flood.jpg", "protest-2013.jpg", "viral.jpg"]
    assert "Source: Telegram channel" in texts(at)
    assert "Warning: Dead bodies" in texts(at)
    assert "Blurred (content warning)" in texts(at)  # the flagged thumbnail, and only that one
    assert texts(at).count("Blurred (content warning)") == 1

    at.selectbox(key="inbox_status").set_value("misattributed").run()
    assert _card_names(at) == ["viral.jpg"]
    at.selectbox(key="inbox_status").set_value("(any)")
    at.selectbox(key="inbox_warning").set_value("dead_bodies").run()
    assert _card_names(at) == ["flood.jpg"]
    at.selectbox(key="inbox_warning").set_value("(none)").run()
    assert sorted(_card_names(at)) == ["protest-2013.jpg", "viral.jpg"]
    at.selectbox(key="inbox_warning").set_value("(any)")
    at.selectbox(key="inbox_origin").set_value("archive").run()
    assert _card_names(at) == ["protest-2013.jpg"]
    at.selectbox(key="inbox_origin").set_value("(any)")
    at.text_input(key="inbox_text").input("telegram").run()
    assert _card_names(at) == ["viral.jpg"]
    sha = desk.store.item(ids["flood"]).sha256
    at.text_input(key="inbox_text").input(sha[:10]).run()
    assert _card_names(at) == ["flood.jpg"]
    at.text_input(key="inbox_text").input("").run()
    at.date_input(key="inbox_dates").set_value((date(2013, 1, 1), date(2013, 12, 31))).run()
    assert _card_names(at) == ["protest-2013.jpg"]
    at.date_input(key="inbox_dates").set_value(())
    at.checkbox(key="inbox_has_matches").check().run()
    assert sorted(_card_names(at)) == ["protest-2013.jpg", "viral.jpg"]
    at.text_input(key="inbox_text").input("no such thing anywhere").run()
    assert "No item matches these filters." in texts(at)


# -- item view --------------------------------------------------------------------------------------


def test_item_page_shows_key_facts_map_and_tags(desk):
    data = jpeg_with_exif(20, make="Apple", model="iPhone 13", software="Adobe Photoshop 25.0",
                          datetime_original="2024:02:29 10:11:12", offset="+02:00", gps=(48.8584, 2.2945))
    item = desk.ingest_bytes(data, filename="tower.jpg", actor="A",
                             claim=Claim(source="Facebook group", claimed_place="Kyiv", claimed_lat=50.45, claimed_lon=30.52)).item
    at = start(page="item", item=item.id)
    facts = texts(at) + frame_values(at)
    assert "Apple iPhone 13" in texts(at)
    assert "2024-02-29T10:11:12+02:00" in facts
    assert "48.858400, 2.294500" in facts
    assert "Adobe Photoshop 25.0" in facts
    assert "Facebook group" in facts and "Kyiv" in facts
    assert "km from the claimed place" in texts(at)
    assert "Offline map" in texts(at)
    assert "EXIF:Make" in facts  # the full tag table, as a dataframe
    assert len(at.get("image")) >= 2  # the picture and the map


def test_item_page_without_location_says_so(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(21)), filename="plain.jpg", actor="A").item
    at = start(page="item", item=item.id)
    assert "No location" in texts(at)
    assert "not recorded" in texts(at)


def test_crafted_names_and_tags_are_shown_as_text_never_markup(desk):
    evil = "![x](http://evil.example/x.png)<img src=x onerror=alert(1)><script>alert(1)</script>**bold**"
    data = jpeg_with_exif(22, make=evil, software="[click](javascript:alert(1))")
    item = desk.ingest_bytes(data, filename=evil + ".jpg", actor="A", claim=Claim(source=evil, note=evil)).item
    for page in ("item", "matches", "warnings", "verdict", "export", "inbox"):
        at = start(page=page, item=item.id)
        assert not at.exception
        for body in markdown_bodies(at):
            assert "](http" not in body and "](javascript" not in body, (page, body)
            assert "<script" not in body and "<img" not in body, (page, body)
        if page == "item":
            assert evil in frame_values(at)  # still shown, as text, in full


# -- matches ----------------------------------------------------------------------------------------


def test_matches_side_by_side_with_first_seen_date_and_compare_views(desk):
    data = jpeg_bytes(photo(30))
    old = desk.ingest_bytes(data, filename="2013.jpg", origin="archive", actor="Archivist",
                            claim=Claim(source="Agency X", first_seen_at=datetime(2013, 5, 2, tzinfo=UTC))).item
    new = desk.ingest_bytes(crop_bytes(data), filename="viral.jpg", actor="A").item
    at = start(page="matches", item=new.id)
    shown = texts(at)
    assert "This picture was in the archive on 2013-05-02" in shown
    assert f"Archive item {old.id}" in shown
    assert "Source: Agency X" in shown and "Method:" in shown
    assert len(at.get("image")) >= 2
    assert at.get("button_group"), "the compare control"
    assert not at.slider
    before = len(at.get("image"))
    at.session_state[f"mode_{new.id}_{old.id}"] = "Overlay"
    at.run()
    assert at.slider and at.slider[0].label == "Upload ← → archive"
    assert len(at.get("image")) == before + 1


def test_match_with_a_flagged_archive_item_suggests_the_same_warning(desk):
    data = jpeg_bytes(photo(31))
    old = desk.ingest_bytes(data, filename="old.jpg", origin="archive", actor="Archivist").item
    desk.add_warning(old.id, "graphic_violence", actor="Archivist")
    new = desk.ingest_bytes(crop_bytes(data), filename="new.jpg", actor="A").item
    at = start(page="matches", item=new.id)
    assert "carries the warning **Graphic violence**" in texts(at)
    assert "Comparison views open once both pictures are revealed." in texts(at)
    # until an editor decides, the new copy is blurred too, as a precaution, on every item page
    for page in ("item", "warnings", "verdict"):
        at.switch_page(f"{PAGES}/{page}.py").run()
        assert "blurred as a precaution" in texts(at) and "Blurred: content warning" in texts(at), page
    at.switch_page(f"{PAGES}/matches.py").run()
    button(at, "Add warning: Graphic violence").click().run()
    assert not at.exception
    state = desk.store.state(new.id)
    assert [w.category for w in state.warnings] == ["graphic_violence"]
    assert state.warnings[0].added_by == "Ana Editor"


def test_matches_page_with_no_earlier_copy(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(32)), filename="fresh.jpg", actor="A").item
    at = start(page="matches", item=item.id)
    assert "No earlier copy of this picture was found in the archive." in texts(at)


# -- content warnings -------------------------------------------------------------------------------


def test_flagging_blurs_the_item_until_reveal(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(40)), filename="scene.jpg", actor="A").item
    at = start(page="warnings", item=item.id)
    assert "Blurred: content warning" not in texts(at)
    at.multiselect(key=f"warn_categories_{item.id}_0").set_value(["graphic_violence", "injury_blood"])
    button(at, "Add warning").click().run()
    assert not at.exception
    assert "blurred everywhere until Reveal" in texts(at)
    assert "Blurred: content warning" in texts(at)
    assert {w.category for w in desk.store.state(item.id).warnings} == {"graphic_violence", "injury_blood"}
    # the item page is blurred too, until Reveal for this item
    at.switch_page(f"{PAGES}/item.py").run()
    assert "Blurred: content warning" in texts(at)
    button(at, "Reveal").click().run()
    assert "Blurred: content warning" not in texts(at)
    assert "Shown because you chose Reveal" in texts(at)
    button(at, "Blur again").click().run()
    assert "Blurred: content warning" in texts(at)


def test_other_needs_a_note_and_removal_is_recorded(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(41)), filename="x.jpg", actor="A").item
    at = start(page="warnings", item=item.id)
    at.multiselect(key=f"warn_categories_{item.id}_0").set_value(["other"])
    button(at, "Add warning").click().run()
    assert "needs a note" in texts(at)
    at.text_input(key=f"warn_note_{item.id}_0").input("flashing lights")
    button(at, "Add warning").click().run()
    assert [w.note for w in desk.store.state(item.id).warnings] == ["flashing lights"]
    at.text_input(key=f"rm_reason_{item.id}_other").input("not needed")
    button(at, "Remove Other").click().run()
    assert desk.store.state(item.id).warnings == ()
    kinds = [e.kind for e in desk.store.events(item.id)]
    assert kinds == ["ingested", "warning_added", "warning_removed"]


def test_video_item_has_player_contact_sheet_and_blur(desk, tmp_path):
    from factories import video

    path = video(tmp_path / "clip.mp4", seconds=3.0, gop=25)
    item = desk.ingest_path(path, actor="A", origin="submission").item
    at = start(page="item", item=item.id)
    assert at.get("video"), "a player for an unflagged video"
    assert "Keyframes (" in texts(at)
    desk.add_warning(item.id, "distressing_audio", actor="A")
    at.run()
    assert not at.get("video"), "flagged: no player until Reveal"
    button(at, "Reveal").click().run()
    players = at.get("video")
    assert players and players[0].proto.muted is True  # sound starts muted


# -- verdict ----------------------------------------------------------------------------------------


def test_verdict_needs_a_rationale_and_appears_in_the_history(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(50)), filename="v.jpg", actor="Bob").item
    at = start(page="verdict", item=item.id)
    at.selectbox(key=f"verdict_status_{item.id}_0").set_value("false")
    button(at, "Record verdict").click().run()
    assert "needs a rationale" in texts(at)
    assert desk.store.state(item.id).verdict is None
    at.text_area(key=f"verdict_rationale_{item.id}_0").input("Reverse search: agency photo from 2013.")
    at.text_area(key=f"verdict_links_{item.id}_0").input("https://example.org/a\nhttps://example.org/b")
    button(at, "Record verdict").click().run()
    assert not at.exception
    v = desk.store.state(item.id).verdict
    assert v.status == "false" and v.actor == "Ana Editor" and v.evidence_links == ("https://example.org/a", "https://example.org/b")
    history = frame_values(at)
    assert "set status to False: Reverse search" in history and "Ana Editor" in history and "Bob" in history
    assert "Recorded: False." in texts(at)


def test_concurrent_verdicts_say_who_changed_it_and_lose_nothing(any_desk):
    desk = any_desk
    item = desk.ingest_bytes(jpeg_bytes(photo(51)), filename="c.jpg", actor="A").item
    at = start(page="verdict", item=item.id)
    # Bob records a verdict after Ana opened the page.
    desk.record_verdict(item.id, "verified", "Bob checked with the photographer", actor="Bob")
    at.selectbox(key=f"verdict_status_{item.id}_0").set_value("false")
    at.text_area(key=f"verdict_rationale_{item.id}_0").input("Ana's reasoning")
    button(at, "Record verdict").click().run()
    shown = texts(at)
    assert "changed by Bob meanwhile" in shown and "Your text is still in the form" in shown
    assert at.text_area(key=f"verdict_rationale_{item.id}_0").value == "Ana's reasoning"
    assert desk.store.state(item.id).verdict.actor == "Bob"
    assert "Bob checked with the photographer" in frame_values(at)  # the page now shows Bob's change
    button(at, "Record verdict").click().run()  # deliberately again, now on top of Bob's
    assert desk.store.state(item.id).verdict.rationale == "Ana's reasoning"


def test_concurrent_warning_is_refused_with_a_clear_message(any_desk):
    desk = any_desk
    item = desk.ingest_bytes(jpeg_bytes(photo(52)), filename="w.jpg", actor="A").item
    at = start(page="warnings", item=item.id)
    desk.add_warning(item.id, "children", actor="Carla")
    at.multiselect(key=f"warn_categories_{item.id}_0").set_value(["graphic_violence"])
    button(at, "Add warning").click().run()
    assert "changed by Carla meanwhile" in texts(at)
    assert [w.category for w in desk.store.state(item.id).warnings] == ["children"]


# -- export -----------------------------------------------------------------------------------------


def test_export_page_report_preview_and_stripped_copy(desk):
    data = jpeg_with_exif(60, make="Canon", model="R5", gps=(50.45, 30.52))
    item = desk.ingest_bytes(data, filename="e.jpg", actor="A").item
    desk.record_verdict(item.id, "verified", "Confirmed with the photographer", actor="A")
    at = start(page="export", item=item.id)
    report_md = at.code[0].value
    assert "# Verification report: item" in report_md and "Confirmed with the photographer" in report_md
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"Report (Markdown)", "Report (JSON)", "Report (HTML)", "Download case list (CSV)"} <= set(labels)
    button(at, "Prepare a stripped copy").click().run()
    _, stripped, ext, mime = at.session_state["stripped_export"]
    assert ext == "jpg" and mime == "image/jpeg"
    im = Image.open(io.BytesIO(stripped))
    assert not im.getexif() and "exif" not in im.info
    assert any("Download stripped copy" in b.proto.label for b in at.get("download_button"))


def test_pages_without_items_point_to_upload(desk):
    for page in ("inbox", "item", "matches", "warnings", "verdict", "export"):
        at = start(page=page)
        assert not at.exception
        assert "upload" in texts(at).lower()


def test_unknown_item_in_the_url_is_a_plain_message(desk):
    desk.ingest_bytes(jpeg_bytes(photo(70)), filename="a.jpg", actor="A")
    at = start(page="item", item=999)
    assert "There is no item 999." in texts(at)
    at.query_params["item"] = "not-a-number"
    at.run()
    assert not at.exception


def test_settings_follow_the_data_dir(desk, sqlite_settings):
    assert load_settings().data_dir == sqlite_settings.data_dir


# -- hostile input ----------------------------------------------------------------------------------


def _png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_hostile_uploads_each_get_a_plain_error_and_the_good_one_goes_in(desk):
    good = jpeg_bytes(photo(80))
    at = start()
    up = at.file_uploader[0]
    up.upload("empty.jpg", b"", "image/jpeg")
    up.upload("truncated.jpg", good[: len(good) // 3], "image/jpeg")
    up.upload("bomb.png", _png_header_bomb(), "image/png")
    up.upload("page.jpg", b"<html><script>alert(1)</script></html>", "text/html")
    up.upload("../../etc/\x07passwd\n.jpg", good, "image/jpeg")
    at.text_input(key="claim_source_0").input("<script>alert(1)</script>")
    button(at, "Upload and check").click().run()
    assert not at.exception
    shown = texts(at)
    assert shown.count("Stored as item") == 1
    assert "The file is empty" in shown
    assert "too many pixels" in shown or "beyond the limit" in shown
    assert "This is a text file" in shown
    assert "Traceback" not in shown and "/tmp/" not in shown and str(desk.settings.data_dir) not in shown
    (item, _s, _w), = desk.list_items()
    assert item.filename == "_passwd_.jpg"
    assert item.source == "<script>alert(1)</script>"  # stored verbatim, shown as text
    for body in markdown_bodies(at):
        assert "<script" not in body


def test_correcting_the_claim_updates_the_record_and_the_history(any_desk):
    desk = any_desk
    item = desk.ingest_bytes(jpeg_bytes(photo(90)), filename="c.jpg", actor="A",
                             claim=Claim(source="Tip line", claimed_place="Kyyiv")).item
    at = start(page="item", item=item.id)
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["Claimed place"].input("Kyiv")
    nums = {n.label: n for n in at.number_input}
    nums["Latitude"].set_value(50.45)
    button(at, "Save the claim").click().run()
    assert "Give both latitude and longitude" in texts(at)
    nums = {n.label: n for n in at.number_input}
    nums["Longitude"].set_value(30.52)
    button(at, "Save the claim").click().run()
    assert not at.exception
    assert "Claim corrected" in texts(at)
    fresh = desk.store.item(item.id)
    assert (fresh.claimed_place, fresh.claimed_lat, fresh.claimed_lon, fresh.source) == ("Kyiv", 50.45, 30.52, "Tip line")
    ev = desk.store.events(item.id)[-1]
    assert ev.kind == "claim_updated" and ev.actor == "Ana Editor"
    assert ev.payload["previous"]["claimed_place"] == "Kyyiv" and ev.payload["changes"]["claimed_place"] == "Kyiv"
    at.switch_page(f"{PAGES}/verdict.py").run()
    history = frame_values(at)
    assert "corrected the claim:" in history and "claimed place 'Kyyiv' → 'Kyiv'" in history
    # a colleague's change meanwhile is not overwritten
    at.switch_page(f"{PAGES}/item.py").run()
    desk.record_verdict(item.id, "in_progress", "checking", actor="Bob")
    {t.label: t for t in at.text_input}["Claimed place"].input("Kyiv city")
    button(at, "Save the claim").click().run()
    assert "changed by Bob meanwhile" in texts(at)
    assert desk.store.item(item.id).claimed_place == "Kyiv"


def test_inbox_pages_long_lists(desk, monkeypatch):
    import verify.ui.views.inbox as inbox

    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    for i in range(3):
        desk.ingest_bytes(jpeg_bytes(photo(100 + i)), filename=f"p{i}.jpg", actor="A")
    at = start(page="inbox")
    assert _card_names(at) == ["p2.jpg", "p1.jpg"]
    at.selectbox(key="inbox_page").set_value(2).run()
    assert _card_names(at) == ["p0.jpg"]


def test_unreachable_tile_server_falls_back_to_the_offline_map(desk, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("VERIFY_MAP_TILES", f"http://127.0.0.1:{dead}/{{z}}/{{x}}/{{y}}.png")
    item = desk.ingest_bytes(jpeg_with_exif(110, gps=(48.85, 2.29)), filename="t.jpg", actor="A").item
    at = start(page="item", item=item.id)
    shown = texts(at)
    assert "could not be reached; showing the offline map" in shown and "Offline map" in shown


def test_uploading_the_same_file_with_the_same_claim_adds_nothing(desk):
    data = jpeg_bytes(photo(120))
    first = desk.ingest_bytes(data, filename="a.jpg", actor="Bob", claim=Claim(source="Tip line")).item
    at = start()
    at.file_uploader[0].upload("a.jpg", data, "image/jpeg")
    at.text_input(key="claim_source_0").input("Tip line")
    button(at, "Upload and check").click().run()
    assert f"this is its existing record (item {first.id})" in texts(at)
    assert [e.kind for e in desk.store.events(first.id)] == ["ingested"]
    at.switch_page(f"{PAGES}/upload.py").run()
    # a fresh form for the next batch: new widgets (the browser would keep an old widget's value)
    assert at.text_input(key="claim_source_1").value == ""


def test_correcting_an_archive_items_first_seen_date(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(130)), filename="arch.jpg", origin="archive", actor="A",
                             claim=Claim(source="Agency", first_seen_at=datetime(2013, 5, 2, 9, 30, tzinfo=UTC))).item
    at = start(page="item", item=item.id)
    {d.label: d for d in at.date_input}["First seen / published on"].set_value(date(2012, 5, 2))
    button(at, "Save the claim").click().run()
    assert "Claim corrected" in texts(at)
    assert desk.store.item(item.id).first_seen_at.date() == date(2012, 5, 2)
    ev = desk.store.events(item.id)[-1]
    assert ev.payload["previous"]["first_seen_at"].startswith("2013-05-02T09:30")
    assert list(ev.payload["changes"]) == ["first_seen_at"]  # nothing else was touched


def test_an_unexpected_error_on_a_page_is_one_plain_sentence(desk, monkeypatch):
    import verify.ui.views.inbox as inbox

    def boom() -> None:
        raise RuntimeError("disk exploded at /srv/secret/path.db")

    monkeypatch.setattr(inbox, "render", boom)
    at = start(page="inbox")
    shown = texts(at)
    assert "Something went wrong on this page; nothing was changed." in shown
    assert "/srv/secret" not in shown and "RuntimeError" not in shown
    assert not at.exception


# -- walkthrough findings: fresh forms, precautions everywhere, matches named by origin --------------


def test_after_a_verdict_the_form_is_fresh_and_the_same_verdict_twice_adds_nothing(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(140)), filename="twice.jpg", actor="A").item
    at = start(page="verdict", item=item.id)
    at.selectbox(key=f"verdict_status_{item.id}_0").set_value("false")
    at.text_area(key=f"verdict_rationale_{item.id}_0").input("Agency photo from 2013.")
    button(at, "Record verdict").click().run()
    assert "Recorded: False." in texts(at)
    # new widgets: nothing left in the form that a second click could send again
    assert at.text_area(key=f"verdict_rationale_{item.id}_1").value == ""
    assert at.selectbox(key=f"verdict_status_{item.id}_1").value == "false"  # the current status
    button(at, "Record verdict").click().run()
    assert "needs a rationale" in texts(at)
    # the same verdict typed again (or sent twice) is not a second event
    at.text_area(key=f"verdict_rationale_{item.id}_1").input("Agency photo from 2013.")
    button(at, "Record verdict").click().run()
    assert "This verdict is already on the record; nothing was added." in texts(at)
    assert [e.kind for e in desk.store.events(item.id)] == ["ingested", "verdict_set"]


def test_after_adding_a_warning_the_form_is_fresh(desk):
    item = desk.ingest_bytes(jpeg_bytes(photo(141)), filename="w.jpg", actor="A").item
    at = start(page="warnings", item=item.id)
    at.multiselect(key=f"warn_categories_{item.id}_0").set_value(["children"])
    button(at, "Add warning").click().run()
    assert at.multiselect(key=f"warn_categories_{item.id}_1").value == []


def _flagged_original_and_copy(desk: Services) -> tuple[int, int]:
    data = jpeg_bytes(photo(142))
    old = desk.ingest_bytes(data, filename="original.jpg", origin="archive", actor="Archivist",
                            claim=Claim(first_seen_at=datetime(2015, 6, 14, tzinfo=UTC))).item
    desk.add_warning(old.id, "injury_blood", actor="Archivist")
    new = desk.ingest_bytes(crop_bytes(data), filename="copy.jpg", actor="A").item
    return old.id, new.id


def test_inbox_blurs_a_copy_of_a_flagged_item_as_a_precaution(desk):
    _old, new = _flagged_original_and_copy(desk)
    desk.ingest_bytes(jpeg_bytes(photo(143)), filename="unrelated.jpg", actor="A")
    at = start(page="inbox")
    shown = texts(at)
    assert shown.count("Blurred (content warning)") == 1  # the original's own warning
    assert shown.count("Blurred as a precaution") == 1  # its copy, never opened in this session
    assert "Matches an item with a warning: Injury / blood" in shown
    # the copy's item page agrees; Reveal there unblurs its card too (the editor chose to see it)
    at.switch_page(f"{PAGES}/item.py")
    at.query_params["item"] = str(new)
    at.run()
    assert "blurred as a precaution" in texts(at)
    button(at, "Reveal").click().run()
    at.switch_page(f"{PAGES}/inbox.py").run()
    assert "Blurred as a precaution" not in texts(at)


def test_export_of_a_copy_of_a_flagged_item_blurs_the_report_preview(desk, monkeypatch):
    from PIL import ImageFilter, ImageStat

    from verify.ui.views import export

    embedded: list[bytes] = []
    real = export.to_html

    def spy(report, preview=None):  # the real report, and a look at the picture it embeds
        embedded.append(preview)
        return real(report, preview)

    monkeypatch.setattr(export, "to_html", spy)

    def sharpness(data: bytes) -> float:
        return ImageStat.Stat(Image.open(io.BytesIO(data)).convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]

    plain = desk.ingest_bytes(jpeg_bytes(photo(145)), filename="plain.jpg", actor="A").item
    start(page="export", item=plain.id)
    _old, new = _flagged_original_and_copy(desk)
    at = start(page="export", item=new)
    assert "A matching item carries a content warning (Injury / blood)" in texts(at)
    assert len(embedded) == 2 and all(embedded)
    assert sharpness(embedded[1]) < sharpness(embedded[0]) * 0.5, "the copy's report preview is blurred"


def test_matches_are_named_by_origin_and_the_method_says_the_distance_once(desk):
    data = jpeg_bytes(photo(144))
    archived = desk.ingest_bytes(data, filename="2013.jpg", origin="archive", actor="Archivist",
                                 claim=Claim(first_seen_at=datetime(2013, 5, 2, tzinfo=UTC))).item
    earlier = desk.ingest_bytes(crop_bytes(data, 0.97), filename="screenshot.jpg", actor="A").item
    at = start()
    at.file_uploader[0].upload("forwarded.jpg", crop_bytes(data, 0.93), "image/jpeg")
    button(at, "Upload and check").click().run()
    shown = texts(at)
    assert "Matches 2 earlier item(s): this picture was in the archive on 2013-05-02." in shown
    assert "archived item" not in shown
    new = max(r[0].id for r in desk.list_items())
    at.switch_page(f"{PAGES}/matches.py")
    at.query_params["item"] = str(new)
    at.run()
    shown = texts(at)
    assert f"**Archive item {archived.id}**" in shown and f"**Earlier submission {earlier.id}**" in shown
    assert f"Archive item {earlier.id}" not in shown
    methods = [line for line in shown.splitlines() if line.startswith("Method: ")]
    assert methods and all(not ("d=" in line and "(distance" in line) for line in methods), methods
    # seen from the earlier submission, the new upload is a later one
    at.query_params["item"] = str(earlier.id)
    at.run()
    assert f"**Later submission {new}**" in texts(at)


def test_a_suggested_warning_confirms_what_was_added(desk):
    _old, new = _flagged_original_and_copy(desk)
    at = start(page="warnings", item=new)
    button(at, "Add warning: Injury / blood").click().run()
    assert "Added: Injury / blood. The item is now blurred everywhere until Reveal." in texts(at)
    at = start(page="matches", item=new)
    assert [w.category for w in desk.store.state(new).warnings] == ["injury_blood"]
