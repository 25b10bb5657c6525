"""The workbench says what it found (issue 11, point 5), through Streamlit's AppTest.

After "Upload and check" each file shows its key facts and strongest findings with a link to its
item; the Item page opens the most recent item (or the last one opened) instead of an empty
chooser; the name cookie round-trips. The name surviving a reload is a browser test
(``test_browser_identity.py``): AppTest has no cookies.
"""

from __future__ import annotations

import pytest

from factories import jpeg_bytes, photo
from test_ui_pages import PAGES, button, desk, jpeg_with_exif, markdown_bodies, start, texts  # noqa: F401 - desk is a fixture
from verify.models import Claim

pytestmark = pytest.mark.filterwarnings("ignore")


def _text_values(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.value for t in at.text]


def test_upload_shows_key_facts_and_strongest_findings_with_the_item_one_click_away(desk) -> None:  # type: ignore[no-untyped-def]
    at = start()
    at.file_uploader[0].upload(
        "tower.jpg",
        jpeg_with_exif(20, make="Apple", model="iPhone 13", software="Adobe Photoshop 25.0",
                       datetime_original="2024:02:29 10:11:12", offset="+02:00", gps=(48.8584, 2.2945)),
        "image/jpeg",
    )
    at.file_uploader[0].upload("plain.jpg", jpeg_bytes(photo(21)), "image/jpeg")
    at.text_input(key="claim_place_0").input("Kyiv")
    at.number_input(key="claim_lat_0").set_value(50.45)
    at.number_input(key="claim_lon_0").set_value(30.52)
    button(at, "Upload and check").click().run()
    assert not at.exception, at.exception
    shown, values = texts(at), _text_values(at)
    assert shown.count("Stored as item") == 2
    assert shown.count("What the file says about itself") == 2
    # the key facts, as text
    assert "2024-02-29T10:11:12+02:00" in values
    assert "Apple iPhone 13" in values
    assert any(v.startswith("48.858400, 2.294500") for v in values)
    assert "Adobe Photoshop 25.0" in values
    assert values.count("none") >= 2  # no content credentials in either file
    assert "not recorded" in values  # the plain file has no capture time
    # the strongest findings right there: GPS far from the claimed place, edited with Photoshop
    assert "Strongest findings" in shown
    finding_texts = "\n".join(values)
    assert "km" in finding_texts and "Photoshop" in finding_texts
    assert any("Red flag" in m or "Caution" in m for m in markdown_bodies(at))
    # the item one click away
    items = sorted(item.id for item, _s, _w in desk.list_items())
    links = [str(link.proto.label) for link in at.get("page_link")]
    for item_id in items:
        assert f"Open item {item_id}" in links


def test_upload_summary_shows_hostile_metadata_as_text_only(desk) -> None:  # type: ignore[no-untyped-def]
    evil = "![x](http://evil.example/x.png)<img src=x onerror=alert(1)>**bold**"
    at = start()
    at.file_uploader[0].upload("evil.jpg", jpeg_with_exif(22, make="Evil", model=evil, software=f"[click](javascript:alert(1)) {evil}"),
                               "image/jpeg")  # fmt: skip
    button(at, "Upload and check").click().run()
    assert not at.exception
    values = _text_values(at)
    assert any(evil in v for v in values)  # shown, as text
    for body in markdown_bodies(at):  # and never as Markdown
        assert "evil.example" not in body and "javascript:" not in body


def test_a_file_that_matches_the_archive_shows_it_among_its_findings(desk) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from test_ui_pages import crop_bytes

    data = jpeg_bytes(photo(6))
    desk.ingest_bytes(data, filename="2013.jpg", origin="archive", actor="Archivist",
                      claim=Claim(source="Agency", first_seen_at=datetime(2013, 5, 2, tzinfo=UTC)))
    at = start()
    at.file_uploader[0].upload("new.jpg", crop_bytes(data), "image/jpeg")
    at.file_uploader[0].upload("other.jpg", jpeg_bytes(photo(7)), "image/jpeg")
    button(at, "Upload and check").click().run()
    assert not at.exception
    assert "this picture was in the archive on 2013-05-02" in texts(at)
    assert any("2013-05-02" in v for v in _text_values(at) if v != "new.jpg")  # the archive finding, in the summary


def test_item_page_opens_the_most_recent_item_not_an_empty_chooser(desk) -> None:  # type: ignore[no-untyped-def]
    first = desk.ingest_bytes(jpeg_bytes(photo(30)), filename="first.jpg", actor="A").item
    latest = desk.ingest_bytes(jpeg_bytes(photo(31)), filename="latest.jpg", actor="A").item
    at = start(page="item")
    assert not at.exception
    assert f"Item {latest.id}: latest.jpg" in texts(at)
    assert f"Showing the most recent item, item {latest.id}" in texts(at)
    assert "Key facts" in texts(at)
    assert not at.selectbox  # no chooser
    assert at.query_params["item"] == [str(latest.id)] or at.query_params["item"] == str(latest.id)
    assert first.id != latest.id


def test_item_page_opens_the_last_item_viewed_in_this_session(desk) -> None:  # type: ignore[no-untyped-def]
    first = desk.ingest_bytes(jpeg_bytes(photo(32)), filename="first.jpg", actor="A").item
    desk.ingest_bytes(jpeg_bytes(photo(33)), filename="latest.jpg", actor="A")
    at = start(page="item", item=first.id)  # opened from a link
    assert f"Item {first.id}: first.jpg" in texts(at)
    at.switch_page(f"{PAGES}/inbox.py").run()
    del at.query_params["item"]  # the sidebar's "Item" carries no item in the URL
    at.switch_page(f"{PAGES}/item.py").run()
    assert not at.exception
    assert f"Item {first.id}: first.jpg" in texts(at)
    assert "Showing the most recent item" not in texts(at)


def test_an_unknown_item_in_the_url_is_forgotten_for_the_session(desk) -> None:  # type: ignore[no-untyped-def]
    item = desk.ingest_bytes(jpeg_bytes(photo(34)), filename="a.jpg", actor="A").item
    at = start(page="item", item=999)
    assert "There is no item 999." in texts(at)
    del at.query_params["item"]
    at.switch_page(f"{PAGES}/item.py").run()
    assert "There is no item 999." not in texts(at)
    assert f"Item {item.id}: a.jpg" in texts(at)


@pytest.mark.parametrize("name", ["Ana Editor", "Ørjan Ødegård", "محمد", "a;b=c, \"quoted\" <script>", "x" * 120])
def test_the_name_cookie_round_trips_and_is_script_safe(name: str) -> None:
    import re

    from verify.ui.identity import _cookie_script, decode_name, encode_name

    value = encode_name(name)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value)  # nothing that could end the string or the cookie
    assert decode_name(value) == name
    inner = _cookie_script(value).removeprefix("<script>").removesuffix("</script>")
    assert value in inner and "<" not in inner


@pytest.mark.parametrize("value", [None, "", "***", "%%%", "AAAA" * 400, "ICAg"])  # "ICAg" is three spaces
def test_a_cookie_that_is_not_a_name_is_ignored(value: str | None) -> None:
    from verify.ui.identity import decode_name

    assert decode_name(value) is None
