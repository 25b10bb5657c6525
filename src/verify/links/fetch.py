"""HTTP fetching with limits, and the request log that goes into the ``fetched`` event.

Why its own module: this is the one place that opens network connections for links, so the rules
an editor relies on hold everywhere: nothing is fetched unless asked; ``VERIFY_OFFLINE=1`` refuses
everything; every request goes through ``VERIFY_FETCH_PROXY`` when set; no cookies, credentials or
environment proxies/netrc are ever sent; only ``http``/``https`` to public addresses (loopback and
private ranges only when ``VERIFY_FETCH_ALLOW_LOCAL=1``, which the tests use); a size limit, a
redirect limit and one total deadline per link, checked after every chunk so a server that
trickles a byte a second is cut off as surely as one that never answers.

Through a proxy the host name is not resolved here (a Tor client must resolve it, or the lookup
would leak); literal private addresses and ``localhost`` are still refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from verify.errors import VerifyError

#: Bytes read to decide whether a response is a page, a playlist or media.
HEAD_BYTES = 4096
CHUNK = 64 * 1024
USER_AGENT = "Mozilla/5.0 (compatible; verify-workbench/0.1; +media verification)"
#: Response headers kept as evidence (the rest are noise for a verification desk).
HEADERS_KEPT = (
    "content-type", "content-length", "last-modified", "date", "etag", "server", "location",
    "content-disposition", "age", "x-cache", "via", "cache-control",
)  # fmt: skip


class FetchError(VerifyError):
    """A link could not be fetched; the message is one line an editor can read."""


class FetchRefused(FetchError):
    """A link the rules do not allow (offline, scheme, credentials, private address)."""


@dataclass(frozen=True)
class FetchLimits:
    """The limits of one link; built from ``Settings`` by the services."""

    max_bytes: int = 512 * 1024**2
    page_max_bytes: int = 5 * 1024**2
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    max_redirects: int = 5
    max_media: int = 20
    allow_local: bool = False
    proxy: str | None = None
    offline: bool = False


@dataclass
class RequestRecord:
    """One request in the log: what was asked, when, through which proxy, and what came back."""

    url: str
    at: str
    method: str = "GET"
    status: int | None = None
    bytes: int = 0
    elapsed_s: float = 0.0
    proxy: str | None = None
    error: str | None = None
    via: str = "verify"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Deadline:
    """One total time budget for everything fetched for a link."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def check(self, what: str) -> float:
        left = self.remaining()
        if left <= 0:
            raise FetchError(f"Gave up on {what}: the time limit of {self.seconds:g} s for this link ran out.")
        return left


@dataclass
class Response:
    """A finished response: where it ended up, what it said, and its body (in memory or a file)."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    redirects: list[str]
    head: bytes
    body: bytes | None = None
    path: Path | None = None
    size: int = 0

    def kept_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k in HEADERS_KEPT}


def redact_proxy(proxy: str | None) -> str | None:
    """The proxy as logged: never its password."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    if parts.username or parts.password:
        host = parts.hostname or ""
        return f"{parts.scheme}://***@{host}{':' + str(parts.port) if parts.port else ''}"
    return proxy


def _is_local_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def check_url(url: str, limits: FetchLimits) -> str:
    """The URL, cleaned, if the rules allow fetching it; else ``FetchRefused`` saying why."""
    if limits.offline:
        raise FetchRefused("Fetching is turned off on this desk (VERIFY_OFFLINE=1); nothing was fetched.")
    url = (url or "").strip()
    if not url:
        raise FetchRefused("An empty link.")
    if any(ord(c) < 32 or c == " " for c in url):
        raise FetchRefused("The link contains spaces or control characters; refused.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchRefused(f"Only http and https links are fetched; {parts.scheme or 'no'} scheme refused.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise FetchRefused("The link carries a user name or password; links with credentials are refused.")
    host = parts.hostname
    if not host:
        raise FetchRefused("The link names no host.")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise FetchRefused("The link has an invalid port.") from exc
    if limits.allow_local:
        return url
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith((".localhost", ".local", ".internal")):
        raise FetchRefused(f"{host} is a local address; only public addresses are fetched.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if _is_local_ip(literal):
            raise FetchRefused(f"{host} is a private or local address; only public addresses are fetched.")
        return url
    if limits.proxy:
        return url  # the proxy resolves the name (no DNS leak around a Tor client)
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"The host {host} could not be found.") from exc
    for info in infos:
        if _is_local_ip(ipaddress.ip_address(info[4][0])):
            raise FetchRefused(f"{host} resolves to a private or local address; only public addresses are fetched.")
    return url


def is_html(head: bytes) -> bool:
    sample = head[:1024].lstrip().lower()
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:].lstrip()
    return sample.startswith((b"<!doctype html", b"<html", b"<head", b"<!--", b"<meta", b"<title", b"<body")) or (
        b"<html" in head[:4096].lower()
    )


def is_playlist(head: bytes) -> bool:
    return head.lstrip().startswith(b"#EXTM3U")


class Fetcher:
    """Fetches URLs for one link under one deadline, logging every request."""

    def __init__(self, limits: FetchLimits, workdir: Path) -> None:
        self.limits = limits
        self.workdir = Path(workdir)
        self.deadline = Deadline(limits.timeout_s)
        self.log: list[RequestRecord] = []
        self._client: Any = None
        self._files = 0

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            proxy = self.limits.proxy or None
            if proxy and proxy.lower().startswith("socks"):
                try:
                    import socksio  # noqa: F401
                except ImportError as exc:
                    raise FetchError("A SOCKS proxy needs the socksio package (pip install 'httpx[socks]'); nothing was fetched.") from exc
            # trust_env=False: no proxy, netrc or certificates picked up from the environment; the
            # only proxy is the one the desk set. follow_redirects=False: each hop is checked here.
            self._client = httpx.Client(
                proxy=proxy, trust_env=False, follow_redirects=False, headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
                http2=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, url: str, *, max_bytes: int | None = None, to_file: bool | None = None, what: str = "the link") -> Response:
        """GET ``url``, following at most ``max_redirects`` redirects, each hop checked.

        The body goes to memory when it is a page or playlist (bounded by ``page_max_bytes``), else to
        a file in the work folder (bounded by ``max_bytes``); ``to_file`` forces one or the other.
        A status of 400 or more is a ``FetchError``.
        """
        import httpx

        original = url
        redirects: list[str] = []
        seen = set()
        current = check_url(url, self.limits)
        while True:
            if current in seen:
                raise FetchError(f"The link redirects in a loop ({len(redirects)} hops); nothing was fetched.")
            seen.add(current)
            left = self.deadline.check(what)
            rec = RequestRecord(url=current, at=datetime.now(UTC).isoformat(timespec="seconds"), proxy=redact_proxy(self.limits.proxy))
            self.log.append(rec)
            started = time.monotonic()
            client = self._http()
            client.cookies.clear()  # never send back what a server set
            timeout = httpx.Timeout(min(left, 30.0), connect=min(left, self.limits.connect_timeout_s))
            try:
                request = client.build_request("GET", current, timeout=timeout)
                request.headers.pop("Cookie", None)
                resp = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                rec.error = "timed out"
                raise FetchError(f"The server did not answer {what} in time.") from exc
            except httpx.HTTPError as exc:
                rec.error = type(exc).__name__
                raise FetchError(f"Could not connect for {what}: {_reason(exc)}.") from exc
            try:
                rec.status = resp.status_code
                headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status_code in (301, 302, 303, 307, 308) and "location" in headers:
                    nxt = urljoin(current, headers["location"])
                    redirects.append(nxt)
                    if len(redirects) > self.limits.max_redirects:
                        raise FetchError(f"The link redirects more than {self.limits.max_redirects} times; nothing was fetched.")
                    current = check_url(nxt, self.limits)
                    continue
                if resp.status_code >= 400:
                    raise FetchError(f"The server answered {resp.status_code} {resp.reason_phrase or ''}".rstrip() + f" for {what}.")
                out = self._read_body(resp, rec, original, current, headers, redirects, max_bytes, to_file, what)
                return out
            finally:
                rec.elapsed_s = round(time.monotonic() - started, 3)
                resp.close()

    def _read_body(self, resp: Any, rec: RequestRecord, original: str, final: str, headers: dict[str, str],
                   redirects: list[str], max_bytes: int | None, to_file: bool | None, what: str) -> Response:  # fmt: skip
        import httpx

        media_limit = max_bytes or self.limits.max_bytes
        declared = headers.get("content-length")
        head = b""
        chunks: list[bytes] = []
        fh = None
        path: Path | None = None
        size = 0
        limit = media_limit
        decided = False
        try:
            for chunk in resp.iter_bytes():
                self.deadline.check(what)
                size += len(chunk)
                rec.bytes = size
                if not decided:
                    head += chunk
                    if len(head) < HEAD_BYTES and size < (int(declared) if declared and declared.isdigit() else HEAD_BYTES):
                        continue
                    decided = True
                    in_memory = (is_html(head) or is_playlist(head)) if to_file is None else not to_file
                    limit = self.limits.page_max_bytes if in_memory else media_limit
                    if declared and declared.isdigit() and int(declared) > limit:
                        raise FetchError(_too_big(what, limit, in_memory))
                    if in_memory:
                        chunks.append(head)
                    else:
                        self._files += 1
                        path = self.workdir / f"fetch-{self._files:03d}.part"
                        fh = open(path, "xb")  # noqa: SIM115 - closed below
                        fh.write(head)
                    if size > limit:
                        raise FetchError(_too_big(what, limit, in_memory))
                    continue
                if size > limit:
                    raise FetchError(_too_big(what, limit, fh is None))
                if fh is not None:
                    fh.write(chunk)
                else:
                    chunks.append(chunk)
            if not decided:
                in_memory = (is_html(head) or is_playlist(head) or not head) if to_file is None else not to_file
                limit = self.limits.page_max_bytes if in_memory else media_limit
                if size > limit:
                    raise FetchError(_too_big(what, limit, in_memory))
                if in_memory:
                    chunks.append(head)
                else:
                    self._files += 1
                    path = self.workdir / f"fetch-{self._files:03d}.part"
                    path.write_bytes(head)
        except httpx.TimeoutException as exc:
            rec.error = "timed out"
            raise FetchError(f"The server stopped sending {what} (timed out).") from exc
        except httpx.HTTPError as exc:
            rec.error = type(exc).__name__
            raise FetchError(f"The transfer of {what} broke off: {_reason(exc)}.") from exc
        except BaseException:
            if fh is not None:
                fh.close()
                fh = None
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        finally:
            if fh is not None:
                fh.close()
        if declared and declared.isdigit() and int(declared) != size and "content-encoding" not in headers:
            if path is not None:
                path.unlink(missing_ok=True)
            raise FetchError(f"The transfer of {what} was cut short ({size:,} of {int(declared):,} bytes).")
        body = b"".join(chunks) if path is None else None
        return Response(original, final, resp.status_code, headers, redirects, head[:HEAD_BYTES], body, path, size)


def _too_big(what: str, limit: int, page: bool) -> str:
    kind = "pages" if page else "media files"
    return f"{what[0].upper() + what[1:]} is larger than the limit of {limit / 1024**2:,.1f} MB for {kind}; nothing was stored."


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _playlist_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def fetch_hls(fetcher: Fetcher, url: str, playlist: bytes, *, what: str = "the stream") -> Response:
    """Download an HLS stream (``.m3u8``) into one file: the best variant, its segments joined.

    MPEG-TS segments joined end to end are a valid transport stream (and fMP4 segments after their
    ``EXT-X-MAP`` init segment a valid fragmented MP4), which the normal ingest then reads. An
    encrypted stream is refused: its segments are not media without the key, and fetching keys is
    a step no editor asked for. The size limit counts the joined file.
    """
    text = playlist.decode("utf-8", errors="replace")
    lines = _playlist_lines(text)
    base = url
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        best: tuple[int, str] | None = None
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-STREAM-INF"):
                m = [p for p in line.split(",") if "BANDWIDTH=" in p and "AVERAGE" not in p]
                bw = int(m[0].split("=")[1]) if m and m[0].split("=")[1].isdigit() else 0
                nxt = next((x for x in lines[i + 1 :] if not x.startswith("#")), None)
                if nxt and (best is None or bw > best[0]):
                    best = (bw, nxt)
        if best is None:
            raise FetchError(f"The playlist of {what} names no stream.")
        variant = fetcher.get(urljoin(url, best[1]), to_file=False, what=what)
        base = variant.final_url
        lines = _playlist_lines((variant.body or b"").decode("utf-8", errors="replace"))
    for line in lines:
        if line.startswith("#EXT-X-KEY") and "METHOD=NONE" not in line:
            raise FetchError(f"{what[0].upper() + what[1:]} is encrypted (HLS with a key); it was not fetched.")
    parts: list[str] = []
    for line in lines:
        if line.startswith("#EXT-X-MAP"):
            m = re.search(r'URI="([^"]+)"', line)
            if m:
                parts.append(m.group(1))
        elif not line.startswith("#"):
            parts.append(line)
    if not parts:
        raise FetchError(f"The playlist of {what} has no segments.")
    if len(parts) > 20_000:
        raise FetchError(f"The playlist of {what} has too many segments ({len(parts):,}).")
    fetcher._files += 1
    path = fetcher.workdir / f"hls-{fetcher._files:03d}.ts"
    total = 0
    head = b""
    try:
        with open(path, "xb") as out:
            for seg in parts:
                resp = fetcher.get(urljoin(base, seg), to_file=True, max_bytes=fetcher.limits.max_bytes - total + 1, what=what)
                assert resp.path is not None
                total += resp.size
                if total > fetcher.limits.max_bytes:
                    resp.path.unlink(missing_ok=True)
                    raise FetchError(_too_big(what, fetcher.limits.max_bytes, False))
                with open(resp.path, "rb") as src:
                    while chunk := src.read(CHUNK):
                        if len(head) < HEAD_BYTES:
                            head += chunk[: HEAD_BYTES - len(head)]
                        out.write(chunk)
                resp.path.unlink(missing_ok=True)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Response(url, url, 200, {"content-type": "video/mp2t"}, [], head, None, path, total)
