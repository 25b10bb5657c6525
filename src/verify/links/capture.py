"""A WARC capture of what a link served, kept as evidence beside the media (``warcio``).

The page as it was fetched (request and response, headers and body) is written as a gzipped WARC
1.1 file, hashed with SHA-256 and stored content-addressed, write-once, in the data folder's
``captures/`` (same layout as the media folder), so a report can name it and anyone can check it
later with any WARC tool. Media bodies are not copied into the capture: they are stored as the
originals of their items, with their own SHA-256.

Reading WARC files (imports) is here too: response records with their target URI, date, HTTP
headers and body, and each record's own digests checked (``WARC-Block-Digest``/
``WARC-Payload-Digest``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

FORMAT = "warc.gz"


@dataclass
class CapturedExchange:
    """One request and its response, as fetched."""

    url: str
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    at: str | None = None


def write_warc(exchanges: list[CapturedExchange], *, software: str = "verify links") -> bytes:
    """The exchanges as one gzipped WARC (a ``warcinfo`` record first)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
    info = writer.create_warcinfo_record("capture.warc.gz", {"software": software, "format": "WARC File Format 1.1"})
    writer.write_record(info)
    for ex in exchanges:
        host = ex.url.split("/")[2] if "//" in ex.url else ""
        path = "/" + ex.url.split("/", 3)[3] if ex.url.count("/") >= 3 else "/"
        req_headers = StatusAndHeaders(f"GET {path} HTTP/1.1", [("Host", host)], protocol="HTTP/1.1", is_http_request=True)
        req = writer.create_warc_record(ex.url, "request", http_headers=req_headers)
        # Headers as received, minus those that describe a transfer encoding we already undid.
        hdrs = [(k, v) for k, v in ex.headers.items() if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
        hdrs.append(("Content-Length", str(len(ex.body))))
        resp_headers = StatusAndHeaders(f"{ex.status} {ex.reason or 'OK'}", hdrs, protocol="HTTP/1.1")
        resp = writer.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), http_headers=resp_headers,
                                         warc_headers_dict={"WARC-Date": ex.at} if ex.at else None)  # fmt: skip
        writer.write_record(req)
        writer.write_record(resp)
    return out.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CaptureStore:
    """Captures kept content-addressed and write-once, like originals (not in the media folder:
    they are not media items, and the media folder's checks must not take them for orphans)."""

    def __init__(self, root: Path) -> None:
        from verify.store.blobs import BlobStore

        self.blobs = BlobStore(Path(root))

    def put(self, data: bytes) -> str:
        staged = self.blobs.stage_bytes(data, max(len(data), 1))
        try:
            self.blobs.commit(staged)
        finally:
            self.blobs.discard(staged)
        return staged.sha256

    def path_for(self, sha256: str) -> Path:
        return self.blobs.path_for(sha256)

    def exists(self, sha256: str) -> bool:
        return self.blobs.exists(sha256)


@dataclass
class WarcResponse:
    url: str
    date: str | None
    status: int | None
    headers: dict[str, str]
    path: Path | None = None
    body: bytes | None = None
    head: bytes = b""
    size: int = 0
    digest_ok: bool | None = None
    digest_problems: list[str] = field(default_factory=list)


def read_warc(stream: BinaryIO, workdir: Path, *, max_bytes: int, page_max_bytes: int) -> Iterator[WarcResponse]:
    """Each ``response`` (and ``resource``) record: pages in memory, other bodies to files in ``workdir``."""
    from warcio.archiveiterator import ArchiveIterator

    from verify.links.fetch import is_html, is_playlist
    from verify.errors import TooLarge

    n = 0
    for record in ArchiveIterator(stream, check_digests=True):
        if record.rec_type not in ("response", "resource"):
            continue
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        date = record.rec_headers.get_header("WARC-Date")
        status = None
        headers: dict[str, str] = {}
        if record.http_headers is not None and record.rec_type == "response":
            try:
                status = int(record.http_headers.get_statuscode() or 0) or None
            except ValueError:
                status = None
            headers = {k.lower(): v for k, v in record.http_headers.headers}
        content = record.content_stream()
        head = content.read(4096)
        in_memory = is_html(head) or is_playlist(head)
        n += 1
        out = WarcResponse(url, date, status, headers, head=head)
        size = len(head)
        if in_memory:
            chunks = [head]
            while chunk := content.read(65536):
                size += len(chunk)
                if size > page_max_bytes:
                    chunks = []
                    break
                chunks.append(chunk)
            while content.read(65536):  # finish the record so its digest is checked
                pass
            out.body = b"".join(chunks) if chunks else None
        else:
            path = workdir / f"warc-{n:04d}.bin"
            with open(path, "wb") as fh:
                fh.write(head)
                while chunk := content.read(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        fh.close()
                        path.unlink(missing_ok=True)
                        raise TooLarge(f"A file in the capture ({url[:120]}) is larger than the limit of {max_bytes / 1024**2:,.0f} MB.")
                    fh.write(chunk)
            out.path = path
        out.size = size
        checker = getattr(record, "digest_checker", None)
        if checker is not None:
            out.digest_ok = checker.passed
            out.digest_problems = list(checker.problems)
        yield out
