"""Text in pictures (issue 18): reading English and Arabic, what is made of it, search, front ends.

The pure parts (line order, handles, dates, places, terms) are tested without an engine; the
reading tests run the real Tesseract on pictures drawn here, and skip (fail in CI) without it.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from PIL import Image

from conftest import skip_or_fail
from factories import jpeg_bytes, photo, png_bytes
from text_pictures import ARABIC_INDIC, banner_over, caption_over, screenshot, tiled_watermark, watermark
from verify.models import Claim, Metadata
from verify.text import engine_status, merge_spans, read_picture, TextLine
from verify.text.facts import dates, handles, numbers, times, urls
from verify.text.layout import Word, assemble, clean, order_words
from verify.text.places import places_in
from verify.text.terms import index_terms

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine():
    status = engine_status(None, "ara+eng")
    if not status.available:
        skip_or_fail(status.reason)
    return status


@pytest.fixture
def ocr_on(monkeypatch):
    monkeypatch.setenv("VERIFY_OCR", "1")


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


# -- pure: line order, facts, terms --------------------------------------------------------------


def w(text: str, x: int, y: int = 0, width: int = 50, key=(1, 1, 1, 1), conf: float = 0.9) -> Word:
    return Word(text, conf, x, y, width, 20, key)


def test_arabic_line_is_put_in_reading_order_with_latin_runs_kept_left_to_right():
    # Visual, left to right on the screen: "Busra al-Sham" (Latin) then two Arabic words.
    words = [w("اليوم", 400), w("مظاهرة", 600), w("حاشدة", 500), w("Busra", 10), w("al-Sham", 100), w("2013", 250)]
    ordered = [x.text for x in order_words(words)]
    assert ordered == ["مظاهرة", "حاشدة", "اليوم", "2013", "Busra", "al-Sham"]


def test_english_line_is_left_to_right_and_bidi_marks_are_dropped():
    assert [x.text for x in order_words([w("world", 200), w("hello", 10)])] == ["hello", "world"]
    assert clean("\u200fحلب\u200e  \x00 x") == "حلب x"


def test_assemble_drops_texture_and_low_confidence_lines():
    lines = assemble([w("|", 0, key=(1,)), w(";:", 60, key=(1,)), w("Aleppo", 0, 40, key=(2,)), w("blur", 0, 80, key=(3,), conf=0.2)])
    assert [ln.text for ln in lines] == ["Aleppo"]


def test_handles_urls_dates_and_places_in_both_scripts():
    text = "@Syria_Now24 posted 12 March 2013 in Halab; see www.example.com/p/1 (mail a@b.com)\nمظاهرة في بصرى الشام ١٢ آذار ٢٠١٣"
    assert handles(text) == ["@syria_now24"]
    assert urls(text) == ["www.example.com/p/1"]
    assert [d.when for d in dates(text)] == [date(2013, 3, 12), date(2013, 3, 12)]
    assert places_in(text) == ["Aleppo", "Busra al-Sham"]  # not also "al-Sham" (Damascus)
    assert places_in("قصف على مدينة إدلب وريفها") == ["Idlib"]
    assert [d.when for d in dates("March 12, 2013 / 2013-03-14 / 14.03.2013 / 5 يناير 2014")] == [
        date(2013, 3, 12), date(2013, 3, 14), date(2013, 3, 14), date(2014, 1, 5)]  # fmt: skip
    # Impossible days are not days ("February 2013" alone may still be read, as a month).
    assert [d for d in dates("31 February 2013 and 2013-13-01") if d.precision == "day"] == []


EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
AR_MONTHS = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]


@hsettings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31)), st.sampled_from(["en", "en_us", "ar", "iso", "ar_digits"]))
def test_any_written_date_is_read_back(day, form):
    if form == "en":
        text = f"Posted {day.day} {EN_MONTHS[day.month - 1]} {day.year}"
    elif form == "en_us":
        text = f"{EN_MONTHS[day.month - 1]} {day.day}, {day.year} at noon"
    elif form == "ar":
        text = f"نشر في {day.day} {AR_MONTHS[day.month - 1]} {day.year}"
    elif form == "iso":
        text = f"file {day.isoformat()}.jpg"
    else:
        text = f"{day.day} {AR_MONTHS[day.month - 1]} {day.year}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert [d.when for d in dates(text)] == [day]


@hsettings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9_]{3,20}", fullmatch=True))
def test_any_handle_is_found_once(name):
    assert handles(f"by @{name}, again @{name.upper()} ") == ["@" + name.lower()]


@hsettings(max_examples=300, deadline=None)
@given(st.text())
def test_fact_extraction_never_fails_on_any_text(text):
    handles(text), urls(text), dates(text), places_in(text)
    index_terms({"lines": [{"text": text}]})


def test_terms_are_handles_addresses_and_whole_sentences_not_common_words():
    terms = dict((t, k) for k, t in index_terms({"lines": [{"text": "@Aleppo_Now https://www.Example.com/x/"}, {"text": "Huge crowds in the streets today"}, {"text": "LIVE"}]}))
    assert terms.get("handle:@aleppo_now") == "handle"
    assert terms.get("url:example.com/x") == "url"
    assert sum(1 for k in terms.values() if k == "line") == 1  # the sentence; "LIVE" is too short


def test_lines_seen_in_several_frames_become_one_span():
    a = TextLine("@syria_now", 0.9, [300, 200, 100, 20], 0.0, 0.0)
    b = TextLine("@syria_now", 0.8, [302, 201, 99, 20], 2.0, 2.0)
    c = TextLine("BREAKING", 0.9, [10, 10, 100, 20], 1.0, 1.0)
    merged = merge_spans([a, c, b])
    assert [(m.text, m.time_s, m.until_s) for m in merged] == [("@syria_now", 0.0, 2.0), ("BREAKING", 1.0, 1.0)]


# -- findings -----------------------------------------------------------------------------------


def test_findings_compare_the_text_with_the_claim():
    from verify.findings import evaluate

    meta = Metadata(text={"lines": [{"text": "@syria_now posted on 12 March 2013"}, {"text": "مظاهرة في حلب"}]})
    found = {f.code: f for f in evaluate(None, meta, claim=Claim(claimed_date=date(2026, 12, 7), claimed_place="Idlib"))}
    assert found["text_date_before"].severity == "caution"
    assert "12 March 2013" in found["text_date_before"].evidence and "2026-12-07" in found["text_date_before"].evidence
    assert found["text_place_differs"].severity == "caution" and "حلب" in found["text_place_differs"].evidence
    assert "'@syria_now'" in found["text_handle"].title
    agree = {f.code for f in evaluate(None, meta, claim=Claim(claimed_date=date(2013, 3, 12), claimed_place="Halab"))}
    assert {"text_date_agrees", "text_place_agrees"} <= agree and "text_date_before" not in agree


# -- the engine -----------------------------------------------------------------------------------


def test_engine_says_why_it_is_off(tmp_path):
    assert "not installed" in engine_status(str(tmp_path / "no-tesseract"), "eng").reason
    status = engine_status(None, "eng+xyz")
    if status.version is None:
        skip_or_fail("Tesseract is not installed")
    assert not status.available and "tesseract-ocr-xyz" in status.reason


def test_english_screenshot_light_and_dark(engine):
    lines = ["@syria_now24 posted on 12 March 2013", "Huge crowds in Busra al-Sham today", "www.syrianow24.example/post/991"]
    for dark in (False, True):
        reading = read_picture(screenshot(lines, dark=dark), engine)
        got = "\n".join(ln.text for ln in reading.lines)
        assert similarity(got, "\n".join(lines)) >= 0.95, (dark, got)
        assert "@syria_now24" in handles(got)
        assert date(2013, 3, 12) in [d.when for d in dates(got)]
        for ln in reading.lines:
            assert ln.confidence > 0.5 and len(ln.box) == 4 and ln.time_s is None


def test_arabic_screenshot_in_logical_order(engine):
    lines = ["مظاهرة حاشدة في بصرى الشام اليوم", "الحرية للمعتقلين"]
    reading = read_picture(screenshot(lines, size=40), engine)
    got = [ln.text for ln in reading.lines]
    assert len(got) == 2, got
    for want, have in zip(lines, got):
        assert similarity(want, have) >= 0.9, (want, have)  # logical order, not reversed
    assert "Busra al-Sham" in places_in(" ".join(got))


def test_caption_band_and_watermark_over_a_photo(engine):
    """A news-card caption and a corner watermark on a photo (outlined meme captions over busy
    photos read less well: their figures are in docs/text.md, from benchmarks/text.py)."""
    pic = watermark(banner_over(photo(5, (1000, 700)), "SHELLING IN ALEPPO TODAY"), "@aleppo_now")
    got = "\n".join(ln.text for ln in read_picture(pic, engine).lines)
    assert "@aleppo_now" in handles(got), got
    best = max(got.splitlines(), key=lambda s: similarity(s, "SHELLING IN ALEPPO TODAY"))
    assert similarity("SHELLING IN ALEPPO TODAY", best) >= 0.9, got


def test_a_picture_without_text_reads_nothing(engine):
    assert read_picture(Image.new("RGB", (800, 600), (120, 160, 200)), engine).lines == []


def test_huge_picture_is_read_on_a_reduced_copy(engine):
    big = screenshot(["Reduced but readable: 5 May 2015"], width=5200, size=150)
    reading = read_picture(big, engine)
    assert reading.note and "reduced copy" in reading.note
    assert date(2015, 5, 5) in [d.when for ln in reading.lines for d in dates(ln.text)]
    assert all(ln.box[0] + ln.box[2] <= 5200 for ln in reading.lines)  # boxes in the original's pixels


def test_video_watermark_is_reported_once_with_its_time_span(engine, tmp_path):
    import av

    path = tmp_path / "wm.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height = 640, 360
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 10
        scenes = [photo(40 + i, (640, 360)) for i in range(4)]
        for i in range(40):
            frame = watermark(scenes[i // 10], "@syria_now", size=28)
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    from verify.text import read_file

    reading = read_file(path, "video", engine, 10**9)
    marks = [ln for ln in reading.lines if "@syria_now" in handles(ln.text)]
    assert len(marks) == 1, [(ln.text, ln.time_s) for ln in reading.lines]
    assert marks[0].time_s is not None and marks[0].until_s - marks[0].time_s >= 2.0


def test_a_crashing_engine_loses_nothing(tmp_path, monkeypatch, sqlite_settings):
    """Tesseract that dies on every picture: the file is still analysed, the problem said."""
    fake = tmp_path / "tesseract"
    fake.write_text("#!/bin/sh\ncase \"$1\" in --version) echo 'tesseract 5.3.0';; --list-langs) printf 'List\\neng\\nara\\n';; *) kill -SEGV $$;; esac\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    from dataclasses import replace

    from verify.services import Services

    settings = replace(sqlite_settings, ocr=True, tesseract=str(fake))
    svc = Services(settings)
    try:
        result = svc.ingest_bytes(jpeg_bytes(photo(3)), filename="a.jpg", actor="A")
        meta = svc.store.metadata(result.item.id)
        assert meta.text is None
        assert any("text in the picture could not be read" in e for e in meta.errors), meta.errors
    finally:
        svc.close()


# -- store, search, "shares text with", CLI, workbench ------------------------------------------------


def test_search_by_text_and_shared_handle_candidates(settings, engine, monkeypatch):
    from dataclasses import replace

    from verify.services import Services
    from verify.store import ItemFilter

    svc = Services(replace(settings, ocr=True))
    try:
        # Watermarks on photos whose corner is dark enough for white letters to be legible (a white
        # mark on a light sky is hard for the engine as for the eye: benchmarks/text.py measures it).
        first = svc.ingest_bytes(png_bytes(watermark(photo(62, (900, 600)), "@aleppo24")), filename="first.png", actor="A").item
        other = svc.ingest_bytes(png_bytes(screenshot(["Shelling reported near the old market"])), filename="post.png", actor="A").item
        plain = svc.ingest_bytes(jpeg_bytes(photo(61)), filename="plain.jpg", actor="A").item
        found = [it.id for it, _s, _w in svc.list_items(ItemFilter(text="old market"))]
        assert found == [other.id]
        assert [it.id for it, _s, _w in svc.list_items(ItemFilter(text="@aleppo24"))] == [first.id]
        # A different picture carrying the same watermark: a candidate worth a look, never a match.
        second = svc.ingest_bytes(png_bytes(watermark(photo(63, (900, 600)), "@aleppo24")), filename="second.png", actor="A").item
        outcome = svc.match_item(second.id)
        shared = [m for m in outcome.candidates if m.detail.get("shortlist") == "text"]
        assert [m.item.id for m in shared] == [first.id]
        assert "@aleppo24" in shared[0].method and not shared[0].confident
        assert first.id not in [m.item.id for m in outcome.matches]
        assert plain.id not in [m.item.id for m in outcome.candidates]
    finally:
        svc.close()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300)


def test_meta_json_carries_the_text_and_says_off_when_off(tmp_path, engine):
    shot = tmp_path / "shot.png"
    shot.write_bytes(png_bytes(screenshot(["@syria_now24 12 March 2013", "مظاهرة في حلب"])))
    out = _cli("meta", "--json", str(shot), env={"VERIFY_OCR": "1"})
    record = json.loads(out.stdout)
    text = record["text"]
    assert text["engine"] == "tesseract" and text["languages"] == ["ara", "eng"]
    assert {"text", "confidence", "box", "time_s"} <= set(text["lines"][0])
    assert any("@syria_now24" in ln["text"] for ln in text["lines"])
    assert any("حلب" in ln["text"] for ln in text["lines"])
    off = json.loads(_cli("meta", "--json", str(shot), env={"VERIFY_OCR": "0"}).stdout)
    assert off["text"] is None
    human = _cli("meta", str(shot), env={"VERIFY_OCR": "1"}).stdout
    assert "text" in human and "@syria_now24" in human


def test_item_page_and_report_show_the_text_as_text(sqlite_settings, engine, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from verify.report import build_report, to_html
    from verify.services import Services

    monkeypatch.setenv("VERIFY_OCR", "1")
    evil = "<script>alert(1)</script> @evil_handle"
    st.cache_resource.clear()
    st.cache_data.clear()
    svc = Services(load := __import__("verify.config", fromlist=["load_settings"]).load_settings(data_dir=sqlite_settings.data_dir))
    try:
        item = svc.ingest_bytes(png_bytes(screenshot([evil, "Protest in Busra al-Sham"])), filename="s.png", actor="A").item
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        at.session_state["editor_name"] = "Ana"
        at.query_params["item"] = str(item.id)
        at.run()
        at.switch_page("src/verify/ui/pages/item.py").run()
        assert not at.exception
        shown = "\n".join(df.value.to_csv() for df in at.dataframe)
        assert "Busra al-Sham" in shown and "@evil_handle" in shown
        assert any("Text in the picture" in str(m.value) for m in at.markdown)
        for m in at.markdown:
            assert "<script" not in str(m.value)
        html = to_html(build_report(svc.inspect(item.id)))
        assert "<script>alert" not in html and "Busra al-Sham" in html
    finally:
        svc.close()
        st.cache_resource.clear()
        st.cache_data.clear()


def test_backfill_reads_items_stored_unread_once_and_resumably(settings, engine):
    """Items stored while text reading was off get their text later: searchable, in the metadata,
    shared-text terms written; a text-free picture is marked read and not read again."""
    from dataclasses import replace

    from verify.services import Services
    from verify.store import ItemFilter

    off = Services(replace(settings, ocr=False))
    try:
        post = off.ingest_bytes(png_bytes(screenshot(["@backfill_news posted on 3 May 2014", "Shelling near the old bridge"])), filename="p.png", actor="A").item
        blank = off.ingest_bytes(png_bytes(Image.new("RGB", (640, 480), (90, 140, 200))), filename="b.png", actor="A").item
        third = off.ingest_bytes(png_bytes(screenshot(["Third post about the bridge"])), filename="t.png", actor="A").item
        assert off.store.metadata(post.id).text is None
        assert [i for i, _s, _k in off.store.items_lacking_text()] == [post.id, blank.id, third.id]
    finally:
        off.close()
    svc = Services(replace(settings, ocr=True))
    try:
        seen: list[tuple[int, str | None]] = []
        assert svc.backfill_text(lambda i, e: seen.append((i, e)), limit=2) == (2, 1, 0)  # bounded run
        assert seen == [(post.id, None), (blank.id, None)]
        assert [i for i, _s, _k in svc.store.items_lacking_text()] == [third.id]  # resumes here
        assert svc.backfill_text() == (1, 1, 0)
        assert svc.backfill_text() == (0, 0, 0)  # nothing read twice, the blank picture included
        lines = [ln["text"] for ln in svc.store.metadata(post.id).text["lines"]]
        assert any("@backfill_news" in ln for ln in lines), lines
        assert svc.store.metadata(blank.id).text["lines"] == []
        assert [it.id for it, _s, _w in svc.list_items(ItemFilter(text="old bridge"))] == [post.id]
        assert "handle:@backfill_news" in svc.store.text_terms(post.id)
    finally:
        svc.close()


def test_backfill_cli_says_off_and_reports_progress(tmp_path, engine):
    env = {"VERIFY_DATA_DIR": str(tmp_path / "d"), "VERIFY_OCR": "0"}
    shot = tmp_path / "s.png"
    shot.write_bytes(png_bytes(screenshot(["@cli_backfill 9 June 2016"])))
    assert _cli("index", str(shot), env=env).returncode == 0
    state = json.loads(_cli("text", "--json", env=env).stdout)
    assert state["unread"] == 1 and state["engine_on"] is False
    refused = _cli("text", "--backfill", env=env)
    assert refused.returncode == 2 and "off" in refused.stderr
    done = _cli("text", "--backfill", "--json", env={**env, "VERIFY_OCR": "1"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"read": 1, "with_text": 1, "failed": 0, "unread": 0, "failures": []}


# -- issue 18, second round: Arabic numbers, dropped lines, overlays, watermarks --------------------


def test_times_and_numbers_are_normalised_and_the_original_kept():
    found = times("١٩ آب ٢٠١٩ الساعة ٠٣:٥٨ م / posted 12:30 am / price 7.45")
    assert [(t.value, t.text) for t in found] == [("15:58", "٠٣:٥٨ م"), ("00:30", "12:30 am")]
    assert numbers("عدد الضحايا ١٢٣") == ["123"]
    assert [d.when for d in dates("١٩ آب ٢٠١٩")] == [date(2019, 8, 19)]


def test_numbers_in_arabic_lines_keep_their_first_digit(engine):
    """Tesseract's Arabic model reads "11 كانون الثاني" as "1 كانون الثاني": the day is re-read."""
    lines = ["قصف على مدينة إدلب صباح اليوم", "11 كانون الثاني 2015 الساعة 18:33", "22 آب 2013"]
    got = "\n".join(ln.text for ln in read_picture(screenshot(lines, size=28), engine).lines)
    assert {date(2015, 1, 11), date(2013, 8, 22)} <= {d.when for d in dates(got)}, got
    assert "18:33" in [t.value for t in times(got)], got


def test_an_arabic_line_the_engine_drops_at_one_size_is_read_at_another(engine):
    """At 40 px on a dark screen Tesseract's line finder drops this Arabic line whole (every page
    mode); the cut-out pass reads lines that came back empty at other sizes."""
    lines = ["@idlib_news", "الحرية للمعتقلين في سجون النظام", "10 كانون الأول 2020"]
    got = [ln.text for ln in read_picture(screenshot(lines, dark=True, size=40), engine).lines]
    assert any(similarity(lines[1], g) >= 0.9 for g in got), got
    assert "10 كانون الأول 2020" in got, got


@pytest.mark.parametrize("text", ["Shelling reported near the old market", "الحرية للمعتقلين في سجون النظام"])
@pytest.mark.parametrize("where", ["top", "bottom"])
def test_outlined_meme_captions_are_read(engine, text, where):
    """White letters with a black rim over a busy photo (plain Tesseract reads nothing here)."""
    pic = caption_over(photo(3341, (1080, 720)), text, size=46, where=where)
    got = [ln.text for ln in read_picture(pic, engine).lines]
    assert max((similarity(text, g) for g in got), default=0) >= 0.9, got


def test_outlined_text_mask_keeps_rimmed_letters_not_white_walls():
    import numpy as np

    from verify.text.overlays import outlined_light_text

    wall = np.asarray(photo(8, (800, 500))).copy()
    wall[100:300, 100:500] = 255  # a white wall: edged by the photo's colours, not by a rim
    assert outlined_light_text(wall) is None
    mask = outlined_light_text(np.asarray(caption_over(Image.fromarray(wall), "HELLO WORLD", size=60)))
    assert mask is not None and (mask[100:300, 100:500] == 255).all()  # the wall is not text
    assert (mask < 128).sum() > 500  # the letters are


@pytest.mark.parametrize("corner,opacity,outline", [("tl", 0.5, False), ("tr", 1.0, False), ("bl", 0.7, True)])
def test_corner_watermarks_are_found_and_reported_as_watermarks(engine, corner, opacity, outline):
    from verify.findings import evaluate

    pic = watermark(photo(77, (1080, 720)), "@aleppo24", size=26, corner=corner, opacity=opacity, outline=outline)
    reading = read_picture(pic, engine)
    marks = [ln for ln in reading.lines if "@aleppo24" in handles(ln.text)]
    assert marks and marks[0].kind == "watermark", [(ln.text, ln.kind) for ln in reading.lines]
    found = {f.code: f for f in evaluate(None, Metadata(text=reading.to_dict()))}
    assert "'@aleppo24'" in found["text_watermark"].title and "watermark" in found["text_watermark"].title


def test_a_tiled_diagonal_watermark_is_read_once(engine):
    pic = tiled_watermark(photo(12, (1080, 720)), "@syria_now24", size=34, angle=30.0, opacity=0.45)
    reading = read_picture(pic, engine)
    marks = [ln for ln in reading.lines if "@syria_now24" in handles(ln.text)]
    assert len(marks) == 1 and marks[0].kind == "watermark", [(ln.text, ln.kind) for ln in reading.lines]
    x, y, w, h = marks[0].box
    assert 0 <= x and 0 <= y and x + w <= 1080 and y + h <= 720


def test_level_text_is_not_taken_for_a_diagonal_mark():
    from verify.text.overlays import diagonal_angle, light_strokes

    level = banner_over(photo(5, (1080, 720)), "SHELLING IN ALEPPO TODAY")
    import numpy as np

    gray = np.asarray(level.convert("L"))
    assert all(diagonal_angle(s) is None for s in light_strokes(gray))
    slanted = np.asarray(tiled_watermark(photo(5, (1080, 720)), "@syria_now24", angle=30.0).convert("L"))
    angles = [diagonal_angle(s) for s in light_strokes(slanted)]
    assert any(a is not None and abs(a - 30) <= 4 for a in angles), angles


def test_a_handle_cut_at_its_underscore_is_joined():
    lines = assemble([w("@idlib_", 0), w("news", 60), w("today", 120)])
    assert [ln.text for ln in lines] == ["@idlib_news today"]
    assert handles(lines[0].text) == ["@idlib_news"]


def test_reports_say_which_lines_are_watermarks(sqlite_settings, engine):
    from dataclasses import replace

    from verify.report import build_report, to_html, to_markdown
    from verify.services import Services

    svc = Services(replace(sqlite_settings, ocr=True))
    try:
        pic = watermark(photo(77, (1080, 720)), "@aleppo24", size=26, corner="tl", opacity=0.5, outline=False)
        item = svc.ingest_bytes(png_bytes(pic), filename="m.png", actor="A").item
        report = build_report(svc.inspect(item.id))
        lines = report["text"]["lines"]
        assert any(ln["kind"] == "watermark" and "@aleppo24" in ln["text"] for ln in lines), lines
        for out in (to_markdown(report), to_html(report)):
            assert "@aleppo24" in out and "watermark" in out
    finally:
        svc.close()
