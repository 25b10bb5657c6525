"""The workbench's building blocks without a browser: offline map, blurring, comparisons, refresh."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image, ImageFilter, ImageStat

from factories import jpeg_bytes, photo
from verify.models import Claim
from verify.ui import imaging, mapdraw


def edge_energy(im: Image.Image) -> float:
    return ImageStat.Stat(im.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


def test_country_outlines_are_bundled_and_decode():
    rings = mapdraw.country_rings()
    assert len(rings) > 1000  # every country, islands included, at 1:50m
    lons = [b[0] for _, b in rings] + [b[2] for _, b in rings]
    assert min(lons) == pytest.approx(-180, abs=0.5) and max(lons) == pytest.approx(180, abs=0.5)


def test_offline_map_draws_land_sea_and_both_markers_where_they_belong():
    gps = mapdraw.MapPoint(48.8584, 2.2945, "GPS", "gps")
    claimed = mapdraw.MapPoint(50.45, 30.52, "Claimed: Kyiv", "claimed")
    im = mapdraw.render_map([gps, claimed], (720, 420))
    colours = {c for _n, c in im.getcolors(1_000_000)}
    assert mapdraw.SEA in colours and mapdraw.LAND in colours
    assert mapdraw.COLOURS["claimed"] in colours and mapdraw.COLOURS["gps"] in colours
    # the claimed square sits east of the GPS ring: find each colour's mean x
    px = im.load()
    xs = {k: [x for x in range(720) for y in range(0, 420, 2) if px[x, y] == mapdraw.COLOURS[k]] for k in ("gps", "claimed")}
    assert sum(xs["claimed"]) / len(xs["claimed"]) > sum(xs["gps"]) / len(xs["gps"])


def test_map_without_points_shows_the_world_and_distance_is_right():
    im = mapdraw.render_map([], (360, 180))
    assert im.size == (360, 180)
    assert mapdraw.haversine_km((48.8566, 2.3522), (51.5074, -0.1278)) == pytest.approx(344, abs=3)


def test_blur_removes_detail_and_keeps_size():
    im = photo(1, (640, 480))
    out = imaging.blur(im)
    assert out.size == im.size
    assert edge_energy(out) < edge_energy(im) * 0.35


def test_compare_views_share_the_upload_frame():
    a, b = photo(2, (400, 300)), photo(2, (380, 290))
    assert imaging.blend(a, b, 0.5).size == (400, 300)
    sw = imaging.swipe(a, b, 0.25)
    assert sw.getpixel((10, 150)) == a.getpixel((10, 150))
    assert imaging.difference(a, a).getextrema() == ((0, 0), (0, 0), (0, 0))


def test_contact_sheet_stamps_keyframes(tmp_path):
    from factories import video

    path = video(tmp_path / "v.mp4", seconds=3.0, gop=25)
    frames = imaging.keyframes(path, max_frames=6, min_gap_s=0.5)
    assert len(frames) >= 3 and frames[0][0] == pytest.approx(0.0, abs=0.05)
    sheet = imaging.contact_sheet(frames, columns=2)
    assert sheet.width > frames[0][1].width and sheet.height > frames[0][1].height
    assert imaging.fmt_time(75.5) == "1:15.5" and imaging.fmt_time(3725) == "1:02:05.0"


def test_safe_md_escapes_and_shortens():
    from verify.ui.safe import md, short

    assert md("![a](http://x)") == "\\!\\[a\\]\\(http\\://x\\)"
    assert len(md("x" * 500, 100)) == 100
    assert short("a\nb") == "a b"


def test_workbench_sees_items_another_process_indexed(sqlite_settings):
    """`verify index` running beside the workbench: the in-memory index is reloaded, not stale."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from verify.services import Services

    st.cache_resource.clear()
    st.cache_data.clear()
    desk = Services(sqlite_settings)
    data = jpeg_bytes(photo(90))
    new = desk.ingest_bytes(jpeg_bytes(Image.open(io.BytesIO(data)).resize((700, 525))), filename="new.jpg", actor="A").item
    at = AppTest.from_file(str(__import__("pathlib").Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.session_state["editor_name"] = "Ana"
    at.query_params["item"] = str(new.id)
    at.run()
    at.switch_page("src/verify/ui/pages/matches.py").run()
    assert "No earlier copy" in "\n".join(s.value for s in at.success)
    other = Services(sqlite_settings)  # another process, as far as the workbench can tell
    other.ingest_bytes(data, filename="old.jpg", origin="archive", actor="indexer",
                       claim=Claim(first_seen_at=datetime(2011, 1, 2, tzinfo=UTC)))
    other.close()
    at.run()
    assert "This picture was in the archive on 2011-01-02" in "\n".join(e.value for e in at.error)
    desk.close()
    st.cache_resource.clear()
    st.cache_data.clear()


def test_align_lays_a_mirrored_crop_back_onto_the_original():
    import numpy as np
    from PIL import ImageOps

    a = photo(3, (800, 600))
    b = ImageOps.mirror(a.crop((80, 60, 720, 540))).resize((500, 375))
    aligned = imaging.align(a, b)
    assert aligned is not None and aligned.size == a.size
    inner = (slice(100, 500), slice(100, 700))
    after = np.asarray(imaging.difference(a, aligned).convert("L"))[inner].mean()
    before = np.asarray(imaging.difference(a, b).convert("L"))[inner].mean()
    assert after < before / 4
    assert imaging.align(a, photo(99, (800, 600))) is None  # a different picture does not align


def test_tile_map_fetches_tiles_on_the_server_and_falls_back_when_unreachable():
    """With VERIFY_MAP_TILES set, tiles come from that server (here a local one), fetched server-side."""
    import http.server
    import socket
    import threading

    tile_colour = (10, 200, 30)
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), tile_colour).save(buf, "PNG")
    png = buf.getvalue()
    seen: list[str] = []

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tiles/{{z}}/{{x}}/{{y}}.png"
        points = [mapdraw.MapPoint(48.8584, 2.2945, "GPS", "gps"), mapdraw.MapPoint(48.8566, 2.3522, "Claimed", "claimed")]
        im = mapdraw.render_tile_map(points, url, (720, 420))
        colours = {c for _n, c in im.getcolors(1_000_000)}
        assert tile_colour in colours and mapdraw.COLOURS["claimed"] in colours
        assert seen and all(p.startswith("/tiles/") and p.endswith(".png") for p in seen)
        z = int(seen[0].split("/")[2])
        assert z >= 12  # 4 km apart: zoomed in to street level, not the world
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with pytest.raises(OSError):
        mapdraw.render_tile_map(points, f"http://127.0.0.1:{dead}/{{z}}/{{x}}/{{y}}.png", timeout=2)
