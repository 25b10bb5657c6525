"""A loopback web server for the links tests: posts, galleries, streams and bad servers.

Runs in a thread of the test process (``ThreadingHTTPServer`` on 127.0.0.1, a free port), started
by a fixture and shut down in its finalizer; the slow handlers watch a stop event so shutdown
never waits on them. Nothing here reaches the internet.
"""

from __future__ import annotations

import http.server
import io
import threading

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from factories import jpeg_bytes, photo, video

LAST_MODIFIED = "Wed, 01 Jan 2020 00:00:00 GMT"


def mpegts_bytes(tmp: Path, seconds: float = 2.0, seed: int = 7) -> bytes:
    """An H.264 MPEG-TS made with PyAV (the HLS segments are cut from it at packet boundaries)."""
    import av

    path = tmp / f"stream-{seed}.ts"
    size = (320, 240)
    fps = 25
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = fps
        scenes = [photo(seed * 100 + i, (size[0] + 64, size[1] + 64)) for i in range(int(seconds) + 1)]
        for i in range(int(seconds * fps)):
            dx = (i % fps) * 2
            im = scenes[i // fps].crop((dx, dx // 2, dx + size[0], dx // 2 + size[1]))
            for packet in stream.encode(av.VideoFrame.from_image(im)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable[[http.server.BaseHTTPRequestHandler, threading.Event], None] | None = None


class LinkServer:
    def __init__(self, tmp: Path) -> None:
        self.routes: dict[str, Route] = {}
        self.stop = threading.Event()
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, with_body: bool) -> None:
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                path = self.path
                if path.startswith(("http://", "https://")):  # asked as a proxy (absolute form): serve it too
                    from urllib.parse import urlsplit

                    path = urlsplit(path).path or "/"
                route = server.routes.get(path.split("?")[0])
                if route is None:
                    body = b"<html><body>not here</body></html>"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if with_body:
                        self.wfile.write(body)
                    return
                if route.handler is not None:
                    route.handler(self, server.stop)
                    return
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.send_header("Set-Cookie", "session=abc; Path=/")
                self.end_headers()
                if with_body:
                    self.wfile.write(route.body)

            def do_GET(self) -> None:  # noqa: N802
                try:
                    self._serve(True)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_HEAD(self) -> None:  # noqa: N802
                try:
                    self._serve(False)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="linkserver", daemon=True)
        self._build(tmp)

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes, ctype: str, status: int = 200, **headers: str) -> None:
        self.routes[path] = Route(status, body, {"Content-Type": ctype, **headers})

    def _build(self, tmp: Path) -> None:
        self.mp4 = video(tmp / "clip.mp4", seconds=2.0, seed=3).read_bytes()
        self.images = [jpeg_bytes(photo(40 + i)) for i in range(5)]
        self.add("/clip.mp4", self.mp4, "video/mp4", **{"Last-Modified": LAST_MODIFIED})
        for i, data in enumerate(self.images):
            self.add(f"/img/{i}.jpg", data, "image/jpeg", **{"Last-Modified": LAST_MODIFIED})
        self.add("/post", (
            "<!doctype html><html><head><title>Flood in the old town</title>"
            '<meta property="og:title" content="Flood in the old town">'
            '<meta property="og:video" content="/clip.mp4"><meta property="og:video:type" content="video/mp4">'
            '<meta property="og:video:width" content="320"><meta property="og:video:height" content="240">'
            '<meta property="article:published_time" content="2021-03-04T05:06:07Z">'
            '<meta name="author" content="Ana Reporter"><meta property="og:description" content="Water in the streets.">'
            "</head><body><article><p>Footage sent by a reader.</p></article></body></html>"
        ).encode(), "text/html; charset=utf-8")
        imgs = "".join(f'<img src="/img/{i}.jpg" alt="photo {i}">' for i in range(5))
        self.add("/gallery", (
            "<html><head><title>Five photos</title>"
            '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
            '"headline":"Five photos","datePublished":"2019-07-08T09:10:11+02:00","author":{"@type":"Person","name":"B. Writer"}}'
            "</script></head><body><header><img src=\"/logo.png\"></header>"
            f"<article>{imgs}</article></body></html>"
        ).encode(), "text/html")
        ts = mpegts_bytes(tmp)
        cut = (len(ts) // 188 // 2) * 188
        self.add("/hls/seg0.ts", ts[:cut], "video/mp2t")
        self.add("/hls/seg1.ts", ts[cut:], "video/mp2t")
        self.ts = ts
        self.add("/hls/index.m3u8", (
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXTINF:1.0,\nseg0.ts\n#EXTINF:1.0,\nseg1.ts\n#EXT-X-ENDLIST\n"
        ).encode(), "application/vnd.apple.mpegurl")
        self.add("/hls/master.m3u8", (
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000,RESOLUTION=160x120\nlow.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240\nindex.m3u8\n"
        ).encode(), "application/x-mpegURL")
        self.add("/r1", b"", "text/plain", 302, Location="/r2")
        self.add("/r2", b"", "text/plain", 301, Location=self.base + "/post")
        self.add("/loop", b"", "text/plain", 302, Location="/loop2")
        self.add("/loop2", b"", "text/plain", 302, Location="/loop")
        self.add("/nomedia", b"<html><head><title>Just words</title></head><body><article><p>No pictures.</p></article></body></html>", "text/html")
        self.add("/fake.jpg", b"<html><head><title>Login</title></head><body>please log in</body></html>", "image/jpeg")
        self.add("/fakegallery", b'<html><body><article><img src="/fake.jpg"><img src="/img/0.jpg"></article></body></html>', "text/html")
        self.add("/big.mp4", self.mp4 + b"\0" * 300_000, "video/mp4")
        self.add("/bigpost", b'<html><head><meta property="og:video" content="/big.mp4"></head><body></body></html>', "text/html")
        self.add("/huge", b"<html><head><title>huge</title></head><body>" + b"<p>filler</p>" * 200_000 + b"</body></html>", "text/html")
        self.add("/hostile", (
            "<html><head><title>&lt;b&gt;Breaking&lt;/b&gt; <script>alert(1)</script> news</title>"
            '<meta property="og:title" content="<img src=x onerror=alert(1)>**bold** [link](http://evil)">'
            '<meta name="author" content="<script>steal()</script>">'
            "<script>document.write('<img src=/img/4.jpg>')</script></head>"
            '<body><article><img src="/img/1.jpg" onerror="alert(2)"></article></body></html>'
        ).encode(), "text/html")
        self.routes["/never"] = Route(handler=_never)
        self.routes["/trickle"] = Route(handler=_trickle)

    def __enter__(self) -> LinkServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _never(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Accepts the request and never answers."""
    stop.wait(60)


def _trickle(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Answers at once, then sends its body a few bytes at a time, for ever."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "10000000")
    handler.end_headers()
    handler.wfile.write(b"<html><head><title>slow</title>")
    handler.wfile.flush()
    while not stop.wait(0.2):
        try:
            handler.wfile.write(b"<p>.</p>")
            handler.wfile.flush()
        except OSError:
            return


def wacz_bytes(page_url: str, page_html: bytes, media_url: str, media: bytes, *, tamper: bool = False) -> bytes:
    """A WACZ (zip: ``archive/data.warc.gz``, ``pages/pages.jsonl``, ``datapackage.json``) made with warcio."""
    import hashlib
    import json
    import zipfile

    from verify.links.capture import CapturedExchange, write_warc

    warc = write_warc([
        CapturedExchange(page_url, 200, "OK", {"Content-Type": "text/html"}, page_html, "2022-02-03T04:05:06Z"),
        CapturedExchange(media_url, 200, "OK", {"Content-Type": "image/jpeg"}, media, "2022-02-03T04:05:07Z"),
    ], software="tests")  # fmt: skip
    pages = json.dumps({"format": "json-pages-1.0", "id": "pages"}) + "\n" + json.dumps({"url": page_url, "ts": "2022-02-03T04:05:06Z", "title": "Captured"}) + "\n"
    resources = []
    files = {"archive/data.warc.gz": warc, "pages/pages.jsonl": pages.encode()}
    for name, data in files.items():
        resources.append({"name": name.split("/")[-1], "path": name, "hash": "sha256:" + hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    package = json.dumps({"profile": "data-package", "wacz_version": "1.1.1", "resources": resources}).encode()
    if tamper:
        files["pages/pages.jsonl"] = pages.replace("Captured", "Changed!").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("datapackage.json", package)
    return out.getvalue()


__all__ = ["LinkServer", "mpegts_bytes", "wacz_bytes"]
