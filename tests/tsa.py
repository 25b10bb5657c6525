"""A real RFC 3161 timestamp authority on loopback, for tests: OpenSSL's ``openssl ts -reply``.

A throwaway CA and a timestamping certificate are made with the openssl command line in a temp
folder; a small HTTP handler (``application/timestamp-query`` in, ``application/timestamp-reply``
out) runs ``openssl ts -reply`` on each request. The server runs in a thread of the test process
and is shut down by the fixture's finalizer; each ``openssl`` call is a child that exits at once.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_TS_CONF = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

_EXT = """
[ req ]
distinguished_name = dn
[ dn ]

[ ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ tsa ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass
class Authority:
    """A CA plus a TSA key and certificate in ``dir``; ``ca_pem`` is the root a checker trusts."""

    dir: Path
    name: str

    @property
    def ca_pem(self) -> Path:
        return self.dir / "ca.crt"

    def reply(self, query: bytes) -> bytes:
        (q := self.dir / "query.tsq").write_bytes(query)
        out = self.dir / "reply.tsr"
        _run("ts", "-reply", "-config", "ts.cnf", "-queryfile", q.name, "-out", out.name, cwd=self.dir)
        return out.read_bytes()


_CA_CNF = """
[ ca ]
default_ca = throwaway
[ throwaway ]
dir = .
database = index.txt
new_certs_dir = .
serial = caserial
default_md = sha256
policy = anything
copy_extensions = none
[ anything ]
commonName = supplied
"""


def make_authority(root: Path, name: str = "Test TSA", *, days: int = 30, expired: bool = False) -> Authority:
    """A throwaway CA and timestamping certificate, made with the openssl CLI in ``root/name``."""
    d = root / name.replace(" ", "-")
    d.mkdir(parents=True)
    (d / "ext.cnf").write_text(_EXT)
    (d / "ts.cnf").write_text(_TS_CONF.format(dir=d))
    (d / "serial").write_text("01\n")
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", str(days),
         "-subj", f"/CN={name} Root", "-config", "ext.cnf", "-extensions", "ca", cwd=d)  # fmt: skip
    _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name}", "-config", "ext.cnf", cwd=d)
    sign = ["x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.crt",
            "-extfile", "ext.cnf", "-extensions", "tsa", "-days", str(days)]  # fmt: skip
    if expired:
        # ``openssl ca`` can date a certificate in the past: valid for one day in January 2020.
        (d / "ca.cnf").write_text(_CA_CNF)
        (d / "index.txt").write_text("")
        (d / "caserial").write_text("1000\n")
        sign = ["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "tsa.csr", "-out", "tsa.crt",
                "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", "ext.cnf", "-extensions", "tsa", "-notext"]  # fmt: skip
    _run(*sign, cwd=d)
    return Authority(d, name)


class _Handler(BaseHTTPRequestHandler):
    authority: Authority
    lock: threading.Lock

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        query = self.rfile.read(length)
        with self.lock:  # openssl ts -reply works on files in one folder
            try:
                body = self.authority.reply(query)
            except subprocess.CalledProcessError:
                self.send_response(400)
                self.end_headers()
                return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


class Server:
    """The authority behind HTTP on 127.0.0.1 (a thread of the test process)."""

    def __init__(self, authority: Authority) -> None:
        handler = type("H", (_Handler,), {"authority": authority, "lock": threading.Lock()})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.authority = authority

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def silent_port() -> tuple[object, str]:
    """A listening socket that accepts and never answers: an authority that does not respond."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, f"http://127.0.0.1:{s.getsockname()[1]}/tsa"


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tsa-"))
