"""Links (issue 14): fetch a post's media with its provenance, import captures made elsewhere.

Never the real internet: a loopback server (``linkserver.LinkServer``) serves posts, galleries,
an MP4, an HLS stream and the bad inputs, and yt-dlp's generic extractor runs against it for real.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from linkserver import LAST_MODIFIED, LinkServer, wacz_bytes

from verify.config import Settings, load_settings
from verify.links import page as pagemod
from verify.links.fetch import FetchLimits, FetchRefused, check_url
from verify.services import Services


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkServer]:
    with LinkServer(tmp_path_factory.mktemp("linkserver")) as srv:
        yield srv


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_FETCH_ALLOW_LOCAL", "1")


def _svc(settings: Settings, **changes: object) -> Services:
    return Services(replace(settings, fetch_allow_local=True, fetch_timeout_s=20.0, **changes))


def _counts(svc: Services) -> tuple[int, int]:
    from sqlalchemy import text

    with svc.store.read() as conn:
        links = conn.execute(text("SELECT count(*) FROM item_link")).scalar()
    return svc.store.count_items(), links


# -- the happy paths, on SQLite and PostgreSQL -----------------------------------------------------


def test_post_with_og_video_and_published_time(server: LinkServer, settings: Settings) -> None:
    svc = _svc(settings)
    try:
        r = svc.fetch_link(server.url("/post"), origin="submission", source="reader tip", actor="ana")
        assert r.error is None, r.error
        prov = r.provenance
        assert prov.final_url == server.url("/post") and prov.status == 200
        assert prov.title == "Flood in the old town" and prov.uploader == "Ana Reporter"
        assert prov.published_at == "2021-03-04T05:06:07+00:00" and prov.published_at_basis == "page"
        assert [li.item.kind for li in r.items] == ["video"]
        li = r.items[0]
        assert li.created and li.media_url == server.url("/clip.mp4")
        assert li.item.sha256 == hashlib.sha256(server.mp4).hexdigest()
        assert li.item.first_seen_at.isoformat().startswith("2021-03-04T05:06:07")
        assert li.item.source_url == server.url("/post")
        # The capture: a WARC of the page, stored content-addressed, its SHA-256 the file's.
        from verify.linkdesk import captures

        path = captures(svc).path_for(prov.capture_sha256)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == prov.capture_sha256 and prov.capture_format == "warc.gz"
        from warcio.archiveiterator import ArchiveIterator

        with open(path, "rb") as fh:
            recs = [(rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI")) for rec in ArchiveIterator(fh)]
        assert ("response", server.url("/post")) in recs
        # The event chain: an attributed ``fetched`` event with the request log, and audit intact.
        evs = [e for e in svc.store.events(li.item.id) if e.kind == "fetched"]
        assert len(evs) == 1 and evs[0].actor == "ana"
        p = evs[0].payload
        assert p["url"] == server.url("/post") and p["published_at_basis"] == "page" and p["first_seen_from"] == "page"
        urls = [x["url"] for x in p["request_log"]]
        assert server.url("/post") in urls and server.url("/clip.mp4") in urls
        assert any(x["via"] == "yt-dlp" for x in p["request_log"])
        links = svc.links(li.item.id)
        assert len(links) == 1 and links[0].provenance.title == "Flood in the old town" and links[0].event_id == evs[0].id
        from verify.events import verify_chain

        assert verify_chain(svc.store.events()) == []
        # No cookie the server set was ever sent back.
        assert not any("cookie" in h for _p, h in server.requests)
    finally:
        svc.close()


def test_gallery_with_five_images_and_json_ld_date(server: LinkServer, settings: Settings) -> None:
    svc = _svc(settings)
    try:
        r = svc.fetch_link(server.url("/gallery"), actor="ana")
        assert r.error is None, r.error
        assert [li.media_url for li in r.items] == [server.url(f"/img/{i}.jpg") for i in range(5)]
        assert {li.item.sha256 for li in r.items} == {hashlib.sha256(d).hexdigest() for d in server.images}
        assert r.provenance.published_at_basis == "page" and r.provenance.published_at == "2019-07-08T09:10:11+02:00"
        assert r.provenance.uploader == "B. Writer"
        assert all(li.item.first_seen_at.isoformat().startswith("2019-07-08T07:10:11") for li in r.items)
        assert _counts(svc) == (5, 5)
    finally:
        svc.close()


def test_direct_mp4_server_date_is_labelled_and_never_first_seen(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url("/clip.mp4"), actor="ana")
        assert r.error is None, r.error
        prov = r.provenance
        # yt-dlp's generic extractor ran for real and reported Last-Modified as the upload date.
        assert prov.platform == "Generic"
        assert prov.published_at == "2020-01-01T00:00:00+00:00" and prov.published_at_basis == "server"
        assert prov.server_modified_at == "2020-01-01T00:00:00+00:00"
        assert prov.headers["last-modified"] == LAST_MODIFIED
        item = r.items[0].item
        assert item.kind == "video" and item.first_seen_at.year != 2020  # the server's date is not first seen
        assert prov.capture_sha256 is None
    finally:
        svc.close()


def test_hls_stream_joined_and_ingested(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url("/hls/master.m3u8"), actor="ana")
        assert r.error is None, r.error
        assert len(r.items) == 1 and r.items[0].item.kind == "video"
        assert r.items[0].item.sha256 == hashlib.sha256(server.ts).hexdigest()  # segments joined byte-exact
        assert svc.store.fingerprints(r.items[0].item.id)
    finally:
        svc.close()


def test_redirects_followed_and_recorded(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url("/r1"), actor="ana")
        assert r.error is None, r.error
        assert r.provenance.url == server.url("/r1") and r.provenance.final_url == server.url("/post")
        assert r.items[0].item.sha256 == hashlib.sha256(server.mp4).hexdigest()
        assert r.provenance.request_log[0]["url"] == server.url("/r1") and r.provenance.request_log[0]["status"] == 302
    finally:
        svc.close()


def test_second_fetch_of_same_media_links_existing_item(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = _svc(sqlite_settings)
    try:
        first = svc.fetch_link(server.url("/clip.mp4"), actor="ana")
        assert first.items[0].item.first_seen_at.year != 2021
        second = svc.fetch_link(server.url("/post"), actor="ben")
        assert second.items[0].item.id == first.items[0].item.id and not second.items[0].created
        # The post's published time is earlier than the first fetch: it becomes first seen, noted in the event.
        assert second.items[0].item.first_seen_at.isoformat().startswith("2021-03-04")
        ev = [e for e in svc.store.events(first.items[0].item.id) if e.kind == "fetched"][-1]
        assert ev.actor == "ben" and ev.payload["first_seen_from"] == "page" and ev.payload["first_seen_before"]
        assert len(svc.links(first.items[0].item.id)) == 2
    finally:
        svc.close()


# -- bad input: one clear line, nothing stored -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/missing", "404"),
        ("/nomedia", "No photo or video"),
        ("/loop", "loop"),
        ("/fake.jpg", "labelled image/jpeg"),
    ],
)
def test_bad_links_store_nothing(server: LinkServer, sqlite_settings: Settings, path: str, words: str) -> None:
    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url(path), actor="ana")
        assert r.error and words in r.error and "\n" not in r.error
        assert r.items == [] and _counts(svc) == (0, 0)
        assert not list(svc.blobs.iter_shas()) and not list(svc.blobs.iter_incoming())
    finally:
        svc.close()


def test_never_answering_and_trickling_servers_time_out(server: LinkServer, sqlite_settings: Settings) -> None:
    import time

    svc = Services(replace(sqlite_settings, fetch_allow_local=True, fetch_timeout_s=2.0))
    try:
        for path in ("/never", "/trickle"):
            t0 = time.monotonic()
            r = svc.fetch_link(server.url(path), actor="ana")
            took = time.monotonic() - t0
            assert r.error and ("time" in r.error or "in time" in r.error), r.error
            assert took < 6, (path, took)
        assert _counts(svc) == (0, 0)
    finally:
        svc.close()


def test_media_over_size_limit_aborts_whole_link(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = Services(replace(sqlite_settings, fetch_allow_local=True, fetch_max_bytes=len(server.mp4) + 1000))
    try:
        for path in ("/big.mp4", "/bigpost"):
            r = svc.fetch_link(server.url(path), actor="ana")
            assert r.error and "larger than the limit" in r.error, r.error
        assert _counts(svc) == (0, 0) and not list(svc.blobs.iter_shas()) and not list(svc.blobs.iter_incoming())
    finally:
        svc.close()


def test_huge_html_refused(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = Services(replace(sqlite_settings, fetch_allow_local=True, fetch_page_max_bytes=256 * 1024))
    try:
        r = svc.fetch_link(server.url("/huge"), actor="ana")
        assert r.error and "limit" in r.error and "pages" in r.error
        assert _counts(svc) == (0, 0)
    finally:
        svc.close()


def test_html_served_as_jpeg_inside_a_page_is_skipped(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url("/fakegallery"), actor="ana")
        assert r.error is None and [li.media_url for li in r.items] == [server.url("/img/0.jpg")]
        assert any("fake.jpg" in n and "web page" in n for n in r.provenance.notes)
    finally:
        svc.close()


def test_hostile_html_is_text() -> None:
    html = (
        "<html><head><title>&lt;b&gt;Breaking&lt;/b&gt; <script>alert(1)</script> news</title>"
        '<meta name="author" content="<script>steal()</script>"></head>'
        "<body><script>document.write('<img src=/x.jpg>')</script><article><img src=\"javascript:alert(1)\">"
        '<img src="data:image/png;base64,AAAA"><img src="/ok.jpg"></article></body></html>'
    )
    facts = pagemod.extract(html, "http://example.org/a/")
    assert facts.title == "<b>Breaking</b> news"  # the markup stays characters; the script is not title text
    assert facts.author == "<script>steal()</script>"
    assert [m.url for m in facts.media] == ["http://example.org/ok.jpg"]


def test_hostile_page_fetched_title_is_plain_text(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url("/hostile"), actor="ana")
        assert r.error is None
        assert r.provenance.title == "<img src=x onerror=alert(1)>**bold** [link](http://evil)"
        assert [li.media_url for li in r.items] == [server.url("/img/1.jpg")]  # not the script's image
    finally:
        svc.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "scheme"),
        ("ftp://example.org/a.jpg", "scheme"),
        ("http://user:pw@example.org/a.jpg", "credentials"),
        ("http://127.0.0.1:9/a.jpg", "private or local"),
        ("http://10.1.2.3/a.jpg", "private or local"),
        ("http://[::1]/a.jpg", "private or local"),
        ("http://169.254.169.254/latest/meta-data/", "private or local"),
        ("http://localhost/a.jpg", "local address"),
        ("javascript:alert(1)", "scheme"),
    ],
)
def test_refused_urls(url: str, words: str) -> None:
    with pytest.raises(FetchRefused) as exc:
        check_url(url, FetchLimits())
    assert words in str(exc.value)


def test_private_address_refused_without_the_setting(server: LinkServer, sqlite_settings: Settings) -> None:
    svc = Services(replace(sqlite_settings, fetch_allow_local=False))
    try:
        r = svc.fetch_link(server.url("/post"), actor="ana")
        assert r.error and "private or local" in r.error
        assert _counts(svc) == (0, 0)
    finally:
        svc.close()


def test_every_request_goes_through_the_proxy(server: LinkServer, sqlite_settings: Settings) -> None:
    """VERIFY_FETCH_PROXY: the page, its media and yt-dlp's resolution all go through the proxy (the
    loopback server plays one); the name ``news.invalid`` is never resolved locally (it could not be)."""
    svc = Services(replace(sqlite_settings, fetch_allow_local=False, fetch_proxy=server.base, fetch_timeout_s=20.0))
    try:
        before = len(server.requests)
        r = svc.fetch_link("http://news.invalid/post", actor="ana")
        assert r.error is None, r.error
        assert r.items[0].media_url == "http://news.invalid/clip.mp4"
        asked = [p for p, _h in server.requests[before:]]
        assert asked and all(p.startswith("http://news.invalid/") for p in asked), asked
        assert "http://news.invalid/clip.mp4" in asked
        assert all(x["proxy"] == server.base for x in r.provenance.request_log)
        ev = [e for e in svc.store.events(r.items[0].item.id) if e.kind == "fetched"][0]
        assert ev.payload["proxy"] == server.base
    finally:
        svc.close()


def test_proxy_password_is_not_logged() -> None:
    from verify.links.fetch import redact_proxy

    assert redact_proxy("socks5h://user:secret@127.0.0.1:9050") == "socks5h://***@127.0.0.1:9050"


def test_redirect_to_private_address_refused(server: LinkServer) -> None:
    with pytest.raises(FetchRefused):
        check_url("http://192.168.0.1/", FetchLimits(allow_local=False))


def test_offline_refuses_everything(server: LinkServer, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_OFFLINE", "1")
    monkeypatch.setenv("VERIFY_FETCH_ALLOW_LOCAL", "1")
    settings = load_settings(data_dir=sqlite_settings.data_dir)
    assert settings.offline and settings.fetch_allow_local
    svc = Services(settings)
    try:
        before = len(server.requests)
        r = svc.fetch_link(server.url("/post"), actor="ana")
        assert r.error and "VERIFY_OFFLINE" in r.error
        assert len(server.requests) == before  # not one request
    finally:
        svc.close()


# -- imports of captures made elsewhere ------------------------------------------------------------


def _ytdlp_folder(tmp: Path, mp4: bytes) -> Path:
    folder = tmp / "downloads"
    folder.mkdir()
    (folder / "Flood clip [abc123].mp4").write_bytes(mp4)
    (folder / "Flood clip [abc123].info.json").write_text(json.dumps({
        "id": "abc123", "title": "Flood clip", "extractor": "youtube", "extractor_key": "Youtube",
        "webpage_url": "https://www.youtube.com/watch?v=abc123", "uploader": "River Watch", "channel": "River Watch Channel",
        "timestamp": 1600000000, "upload_date": "20200913", "description": "Filmed this morning", "ext": "mp4",
    }))  # fmt: skip
    return folder


def test_import_ytdlp_folder(tmp_path: Path, server: LinkServer, settings: Settings) -> None:
    svc = _svc(settings)
    try:
        results = svc.import_capture(_ytdlp_folder(tmp_path, server.mp4), actor="field team")
        assert len(results) == 1 and results[0].error is None, results[0].error
        prov = results[0].provenance
        assert prov.platform == "Youtube" and prov.uploader == "River Watch" and prov.channel == "River Watch Channel"
        assert prov.published_at == "2020-09-13T12:26:40+00:00" and prov.published_at_basis == "platform"
        item = results[0].items[0].item
        assert item.origin == "archive" and item.first_seen_at.isoformat().startswith("2020-09-13T12:26:40")
        assert item.sha256 == hashlib.sha256(server.mp4).hexdigest()
        ev = [e for e in svc.store.events(item.id) if e.kind == "fetched"][0]
        assert ev.payload["via"] == "import" and ev.payload["capture_format"] == "yt-dlp-info-json"
    finally:
        svc.close()


def test_import_wacz_verifies_its_hashes(tmp_path: Path, server: LinkServer, settings: Settings) -> None:
    page = b'<html><head><title>Captured post</title><meta property="article:published_time" content="2022-01-30T10:00:00Z"></head><body><article><img src="/p.jpg"></article></body></html>'
    good = tmp_path / "post.wacz"
    good.write_bytes(wacz_bytes("https://news.example/post", page, "https://news.example/p.jpg", server.images[2]))
    bad = tmp_path / "tampered.wacz"
    bad.write_bytes(wacz_bytes("https://news.example/post", page, "https://news.example/p.jpg", server.images[3], tamper=True))
    svc = _svc(settings)
    try:
        [r] = svc.import_capture(good, actor="field team")
        assert r.error is None, r.error
        prov = r.provenance
        assert prov.url == "https://news.example/post" and prov.title == "Captured post"
        assert prov.published_at_basis == "page" and prov.captured_at.startswith("2022-02-03")
        assert prov.capture_format == "wacz" and prov.capture_sha256 == hashlib.sha256(good.read_bytes()).hexdigest()
        assert [li.media_url for li in r.items] == ["https://news.example/p.jpg"]
        assert r.items[0].item.first_seen_at.isoformat().startswith("2022-01-30")
        assert any("datapackage.json" in n for n in prov.notes)
        [t] = svc.import_capture(bad, actor="field team")
        assert t.error and "do not match" in t.error and "pages.jsonl" in t.error
        assert svc.store.count_items() == 1
    finally:
        svc.close()


def test_import_plain_warc(tmp_path: Path, server: LinkServer, sqlite_settings: Settings) -> None:
    from verify.links.capture import CapturedExchange, write_warc

    warc = tmp_path / "cap.warc.gz"
    warc.write_bytes(write_warc([CapturedExchange("https://x.example/a.jpg", 200, "OK", {"Content-Type": "image/jpeg"}, server.images[4],
                                                  "2018-05-05T05:05:05Z")]))  # fmt: skip
    svc = _svc(sqlite_settings)
    try:
        [r] = svc.import_capture(warc, actor="field team")
        assert r.error is None, r.error
        assert r.items[0].item.first_seen_at.isoformat().startswith("2018-05-05")  # the capture's own time
        assert r.provenance.published_at is None and r.provenance.captured_at.startswith("2018-05-05")
    finally:
        svc.close()


# -- the command line --------------------------------------------------------------------------------


def test_cli_fetch_json_contract(server: LinkServer, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from verify.cli import cli

    monkeypatch.setenv("VERIFY_FETCH_ALLOW_LOCAL", "1")
    res = CliRunner().invoke(cli, ["fetch", server.url("/gallery"), server.url("/missing"), "file:///etc/passwd",
                                   "--data-dir", str(data_dir), "--actor", "ana", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    assert [x["url"] for x in lines] == [server.url("/gallery"), server.url("/missing"), "file:///etc/passwd"]
    good, missing, refused = lines
    for key in ("url", "final_url", "error", "platform", "title", "uploader", "published_at", "published_at_basis", "capture", "items"):
        assert key in good and key in missing
    assert good["error"] is None and good["published_at_basis"] == "page" and len(good["items"]) == 5
    assert set(good["capture"]) == {"sha256", "format"} and good["capture"]["format"] == "warc.gz"
    for it in good["items"]:
        assert set(it) >= {"sha256", "item_id", "kind", "created", "media_url", "matches"} and it["kind"] == "image"
    assert "404" in missing["error"] and missing["items"] == [] and missing["capture"] is None
    assert "scheme" in refused["error"]
    # Fetching the same gallery again: the same items, already stored, identical-file matches as ``verify match``.
    res2 = CliRunner().invoke(cli, ["fetch", server.url("/gallery"), "--data-dir", str(data_dir), "--actor", "ben", "--json"])
    again = json.loads(res2.stdout.splitlines()[0])
    assert [i["created"] for i in again["items"]] == [False] * 5
    assert [i["item_id"] for i in again["items"]] == [i["item_id"] for i in good["items"]]
    # All links failing: exit 1.
    res3 = CliRunner().invoke(cli, ["fetch", server.url("/missing"), "--data-dir", str(data_dir), "--json"])
    assert res3.exit_code == 1


def test_cli_import_capture(tmp_path: Path, server: LinkServer, data_dir: Path) -> None:
    from click.testing import CliRunner

    from verify.cli import cli

    folder = _ytdlp_folder(tmp_path, server.mp4)
    res = CliRunner().invoke(cli, ["import-capture", str(folder), "--data-dir", str(data_dir), "--actor", "ana", "--json"])
    assert res.exit_code == 0, res.output
    [line] = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    assert line["platform"] == "Youtube" and line["published_at_basis"] == "platform" and line["items"][0]["kind"] == "video"
    assert line["capture"]["format"] == "yt-dlp-info-json"


# -- the workbench -----------------------------------------------------------------------------------


def test_upload_page_fetches_a_pasted_link_and_item_page_shows_provenance(server: LinkServer, sqlite_settings: Settings,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("VERIFY_FETCH_ALLOW_LOCAL", "1")
    st.cache_resource.clear()
    st.cache_data.clear()
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    try:
        at = AppTest.from_file(app, default_timeout=90)
        at.session_state["editor_name"] = "Ana Editor"
        at.run()
        assert not at.exception
        at.text_area(key="upload_links_0").input(server.url("/post") + "\n" + server.url("/missing") + "\n")
        next(b for b in at.button if b.label == "Upload and check").click().run()
        assert not at.exception, at.exception
        shown = "\n".join(str(e.value) for kind in ("text", "error", "success", "caption", "markdown", "subheader")
                          for e in getattr(at, kind))  # fmt: skip
        assert "Stored as item 1 (video)" in shown
        assert "Published: 2021-03-04T05:06:07+00:00 (the page's own published time)" in shown
        assert "404" in shown
        svc = Services(sqlite_settings)
        try:
            [link] = svc.links(1)
            assert link.fetched_by == "Ana Editor" and link.provenance.url == server.url("/post")
        finally:
            svc.close()
        at.query_params["item"] = "1"
        at.switch_page("src/verify/ui/pages/item.py").run()
        assert not at.exception, at.exception
        page = "\n".join(str(e.value) for kind in ("text", "markdown", "caption") for e in getattr(at, kind))
        assert "Where it came from (links)" in page
        assert server.url("/post") in page and "Flood in the old town" in page
        assert "2021-03-04T05:06:07+00:00 (the page's own published time)" in page
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


def test_report_carries_the_provenance(server: LinkServer, sqlite_settings: Settings) -> None:
    from verify.report import build_report, to_html, to_markdown

    svc = _svc(sqlite_settings)
    try:
        r = svc.fetch_link(server.url("/clip.mp4"), actor="ana")
        view = svc.inspect(r.items[0].item.id, with_matches=False)
        report = build_report(view)
        [link] = report["links"]
        assert link["url"] == server.url("/clip.mp4") and link["published_at_basis"] == "server"
        assert "server-reported" in link["basis_label"] and link["fetched_by"] == "ana"
        md = to_markdown(report)
        assert "Where it came from (links)" in md and r"server-reported \(Last-Modified\), not the post's date" in md
        assert "Where it came from (links)" in to_html(report)
    finally:
        svc.close()


def test_upload_page_imports_a_wacz(server: LinkServer, sqlite_settings: Settings, tmp_path: Path) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    page = b'<html><head><title>Captured post</title><meta property="article:published_time" content="2022-01-30T10:00:00Z"></head><body></body></html>'
    data = wacz_bytes("https://news.example/post", page, "https://news.example/p.jpg", server.images[1])
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=90)
        at.session_state["editor_name"] = "Field Team"
        at.run()
        at.file_uploader[1].upload("../post.wacz", data, "application/zip")
        next(b for b in at.button if b.label == "Upload and check").click().run()
        assert not at.exception, at.exception
        shown = "\n".join(str(e.value) for kind in ("text", "error", "caption") for e in getattr(at, kind))
        assert "Stored as item 1 (image) from https://news.example/p.jpg" in shown
        assert "Published: 2022-01-30T10:00:00+00:00 (the page's own published time)" in shown
        svc = Services(sqlite_settings)
        try:
            [link] = svc.links(1)
            assert link.provenance.capture_format == "wacz" and link.provenance.capture_sha256 == hashlib.sha256(data).hexdigest()
            assert link.fetched_by == "Field Team"
        finally:
            svc.close()
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
