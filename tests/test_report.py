"""Exports: the per-item report in three formats, the case list, media without GPS/device data."""

from __future__ import annotations

import csv
import re
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from factories import exif_bytes, jpeg_bytes, photo, png_bytes, video
from verify.models import Claim
from verify.report import (
    build_report,
    case_list_csv,
    md_text,
    stripped_media,
    to_html,
    to_json,
    to_markdown,
)

EVIL = "![x](http://evil.example/x.png)<script>alert(1)</script>[a](javascript:alert(1))"


@pytest.fixture
def recycled(services):
    """An archived 2013 photo, a submitted copy of it with a warning and a verdict."""
    data = jpeg_bytes(photo(1))
    old = services.ingest_bytes(data, filename="agency.jpg", origin="archive", actor="Archivist",
                                claim=Claim(source="Agency", first_seen_at=datetime(2013, 5, 2, tzinfo=UTC))).item
    new_data = jpeg_bytes(photo(1), quality=70, exif=exif_bytes(make=EVIL, model="X1", gps=(50.45, 30.52)))
    new = services.ingest_bytes(new_data, filename=EVIL + ".jpg", actor="Ana",
                                claim=Claim(source=EVIL, claimed_place="Kyiv", note=EVIL)).item
    services.add_warning(new.id, "graphic_violence", actor="Ana")
    services.record_verdict(new.id, "misattributed", "Agency photo from 2013. " + EVIL, actor="Bob",
                            evidence_links=["https://example.org/agency"])
    return services, old, new


def test_report_holds_facts_matches_warnings_and_history(recycled):
    services, old, new = recycled
    view = services.inspect(new.id)
    report = build_report(view, exported_by="Carla")
    assert report["item"]["id"] == new.id and report["generated_by"] == "Carla"
    assert report["facts"]["model"] == "X1"
    assert report["facts"]["gps"]["lat"] == pytest.approx(50.45, abs=1e-4)
    assert [m["item_id"] for m in report["matches"]] == [old.id]
    assert report["earliest_match"]["first_seen_at"].startswith("2013-05-02")
    assert [w["category"] for w in report["warnings"]] == ["graphic_violence"]
    assert report["verdict"]["status"] == "misattributed" and report["verdict"]["actor"] == "Bob"
    assert [h["kind"] for h in report["history"]] == ["ingested", "warning_added", "verdict_set"]
    assert [h["actor"] for h in report["history"]] == ["Ana", "Ana", "Bob"]
    parsed = json.loads(to_json(report))
    assert parsed["verdict"]["evidence_links"] == ["https://example.org/agency"]


def test_markdown_report_cannot_carry_links_images_or_html(recycled):
    services, _old, new = recycled
    md = to_markdown(build_report(services.inspect(new.id)))
    assert "This picture was in the archive on 2013-05-02" in md
    assert "Misattributed" in md and "Graphic violence" in md
    # outside fenced blocks nothing from the file can open a link or an image or raw HTML
    outside = _outside_fences(md)
    assert "\\<script\\>" in outside  # the crafted text is there, escaped
    assert not re.search(r"(?<!\\)<", outside)  # no unescaped HTML
    assert not re.search(r"(?<!\\)\]\(", outside)  # no link or image target
    assert not re.search(r"(?<!\\)!\[", outside)
    assert EVIL in md  # the rationale and tags, verbatim, inside fenced blocks


def _outside_fences(md: str) -> str:
    out, inside, fence = [], False, ""
    for line in md.splitlines():
        if not inside and line.startswith("```"):
            inside, fence = True, line.split("text")[0]
            continue
        if inside and line == fence:
            inside = False
            continue
        if not inside:
            out.append(line)
    return "\n".join(out)


def test_md_text_escapes_every_markup_character():
    assert md_text("![a](b)") == "\\!\\[a\\]\\(b\\)"
    assert md_text("<img src=x>") == "\\<img src=x\\>"
    assert md_text("see http://x.example") == "see http\\://x.example"
    assert md_text("2013-05-02") == "2013-05-02"
    assert md_text("line\nbreak") == "line break"
    assert md_text(None) == "—"


def test_html_report_escapes_everything_and_loads_nothing_remote(recycled):
    services, _old, new = recycled
    page = to_html(build_report(services.inspect(new.id)), preview_jpeg=b"\xff\xd8fake")
    assert "<script>" not in page and "http://evil.example" in page  # shown, escaped
    assert "&lt;script&gt;" in page
    assert "default-src 'none'" in page
    assert "src='http" not in page and 'src="http' not in page
    assert "data:image/jpeg;base64," in page


def test_case_list_csv_defuses_spreadsheet_formulas(services):
    services.ingest_bytes(jpeg_bytes(photo(2)), filename="=SUM(A1:A9).jpg", actor="A",
                          claim=Claim(source="+cmd|' /C calc'!A0"))
    text = case_list_csv(services.list_items())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["filename"].startswith("'=")
    assert rows[0]["source"].startswith("'+")
    assert rows[0]["status"] == "unverified"


def test_stripped_image_has_no_gps_or_device_data(tmp_path: Path):
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes(photo(3), exif=exif_bytes(make="Canon", model="R5", software="Lightroom",
                                                           gps=(50.45, 30.52), orientation=6)))
    data, ext, mime = stripped_media(path, "image")
    assert (ext, mime) == ("jpg", "image/jpeg")
    im = Image.open(io.BytesIO(data))
    assert len(im.getexif()) == 0 and "exif" not in im.info and "xmp" not in im.info
    assert b"Canon" not in data and b"Lightroom" not in data
    assert im.size == (600, 800)  # orientation 6 applied to the pixels, so it still looks right


def test_stripped_png_keeps_png(tmp_path: Path):
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(photo(4, (200, 100))))
    data, ext, _ = stripped_media(path, "image")
    assert ext == "png" and Image.open(io.BytesIO(data)).size == (200, 100)


def test_stripped_video_drops_location_and_device_tags(tmp_path: Path):
    import av

    path = video(tmp_path / "v.mp4", seconds=2.0,
                 metadata={"location": "+50.4500+030.5200/", "make": "Apple", "model": "iPhone 15", "comment": "secret"})
    with av.open(str(path)) as src:
        assert "location" in src.metadata or "make" in src.metadata  # the fixture really carries them
    data, ext, mime = stripped_media(path, "video")
    assert (ext, mime) == ("mp4", "video/mp4")
    out = tmp_path / "out.mp4"
    out.write_bytes(data)
    with av.open(str(out)) as dst:
        tags = {k.lower(): v for k, v in dst.metadata.items()}
        assert not {"location", "make", "model", "comment", "com.apple.quicktime.location.iso6709"} & set(tags)
        frames = sum(1 for _ in dst.decode(video=0))
    assert frames >= 45  # the footage itself is intact
    assert b"iPhone" not in data and b"+50.4500" not in data


def test_stripped_media_of_a_damaged_file_is_a_plain_error(tmp_path: Path):
    from verify.errors import VerifyError

    path = tmp_path / "bad.jpg"
    path.write_bytes(jpeg_bytes(photo(5))[:500])
    with pytest.raises(VerifyError):
        stripped_media(path, "image")
    bad_video = tmp_path / "bad.mp4"
    bad_video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    with pytest.raises(VerifyError):
        stripped_media(bad_video, "video")
