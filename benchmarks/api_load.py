"""A bounded load test of the HTTP API: concurrent clients on loopback against a real ``verify api``.

What is measured, honestly:

* A fresh data folder (SQLite, or ``--db`` PostgreSQL) gets ``--archive`` generated photos and one
  viewer token; then ``verify api`` is started as its own process (its own process group, stopped
  by group at the end, also on failure) with uvicorn's single worker, the default.
* For each endpoint in turn, ``--clients`` threads, each with one keep-alive connection, send
  requests back to back for ``--seconds``: requests per second over the whole window, and the
  p50/p95 latency of the requests (send to last byte read). An error is any status other than 200
  or a dropped connection.
* **Baseline**: ``GET /v1/health`` (no token, no store) in the same run, so the ratio says what the
  endpoint's own work costs against the server's floor on this machine at this moment.
* ``GET /v1/check?sha256=`` of a stored photo (token check, lookup, matching against the archive);
  ``GET /v1/items/{id}`` (the item with metadata, findings and matches); ``POST /v1/match`` of a
  recompressed copy (upload, staging, decode in the sandbox, fingerprints, matching; nothing stored).
* The clients run on the same machine as the server (Python threads), so they take CPU from it:
  the figures are a floor for one 2-core box, not a capacity plan.

Usage: ``.venv/bin/python benchmarks/api_load.py [--clients 8] [--seconds 10] [--archive 100] [--db URL] [--json out.json]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))


@dataclass
class Series:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run_series(name: str, port: int, clients: int, seconds: float, method: str, path: str,
               headers: dict[str, str], body: bytes | None = None) -> Series:  # fmt: skip
    series = Series(name)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        errs: list[str] = []
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errs.append(f"HTTP {resp.status}")
                else:
                    mine.append(time.perf_counter() - t0)
            except (OSError, http.client.HTTPException) as exc:
                errs.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.close()
        with lock:
            series.latencies.extend(mine)
            series.errors.extend(errs)

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    series.seconds = time.monotonic() - start  # includes the last requests that ran past the window
    return series


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--archive", type=int, default=100, help="Generated photos in the archive before the run.")
    ap.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite in a temporary data folder).")
    ap.add_argument("--json", default=None, help="Write the figures here too.")
    args = ap.parse_args()
    args.clients = max(1, min(args.clients, 32))
    args.seconds = max(1.0, min(args.seconds, 120.0))

    import procs
    from factories import jpeg_bytes, photo

    from verify import tokens
    from verify.config import load_settings
    from verify.services import Services

    with tempfile.TemporaryDirectory(prefix="verify-api-load-") as tmp:
        data_dir = Path(tmp) / "data"
        settings = load_settings(data_dir=data_dir, db_url=args.db)
        services = Services(settings)
        t0 = time.perf_counter()
        ids = []
        for i in range(args.archive):
            ids.append(services.ingest_bytes(jpeg_bytes(photo(1000 + i, (640, 480))), filename=f"a{i}.jpg", origin="archive",
                                             actor="bench").item.id)  # fmt: skip
        seed_s = time.perf_counter() - t0
        token = tokens.create(services, "load-bench", "viewer", actor="operator").token
        target = services.store.item(ids[len(ids) // 2])
        services.close()
        query = jpeg_bytes(photo(1000 + len(ids) // 2, (640, 480)).resize((480, 360)), quality=70)

        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DB",)}
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-m", "verify", "api", "--port", str(port), "--data-dir", str(data_dir)]
        if args.db:
            cmd += ["--db", args.db]
        log = open(Path(tmp) / "api.log", "wb")
        proc = procs.start(cmd, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/v1/health")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("verify api did not start:\n" + (Path(tmp) / "api.log").read_text()[-2000:])
                time.sleep(0.3)
            auth = {"Authorization": f"Bearer {token}"}
            body, ctype = _multipart("q.jpg", query)
            plan = [
                ("GET /v1/health (baseline)", "GET", "/v1/health", {}, None),
                ("GET /v1/check?sha256=", "GET", f"/v1/check?sha256={target.sha256}", auth, None),
                ("GET /v1/items/{id}", "GET", f"/v1/items/{target.id}", auth, None),
                ("POST /v1/match", "POST", "/v1/match", {**auth, "Content-Type": ctype}, body),
            ]
            results = []
            for name, method, path, headers, payload in plan:
                run_series(name, port, 1, 1.0, method, path, headers, payload)  # warm: the index, the sandbox
                results.append(run_series(name, port, args.clients, args.seconds, method, path, headers, payload))
        finally:
            procs.stop(proc)
            log.close()

    base = results[0]
    print(f"# API load: {args.clients} clients x {args.seconds:.0f} s per endpoint, archive of {args.archive} photos "
          f"({'PostgreSQL' if args.db else 'SQLite'}; seeded in {seed_s:.0f} s), one uvicorn worker, {os.cpu_count()} cores")  # fmt: skip
    print()
    print("| endpoint | requests/s | p50 ms | p95 ms | errors | req/s vs baseline | p50 vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    out = []
    for s in results:
        ratio = s.rps / base.rps if base.rps else float("nan")
        p50r = s.pct(0.5) / base.pct(0.5) if base.latencies else float("nan")
        print(f"| `{s.name}` | {s.rps:.1f} | {s.pct(0.5) * 1000:.1f} | {s.pct(0.95) * 1000:.1f} | {len(s.errors)} | "
              f"{ratio:.3f} | {p50r:.1f}x |")  # fmt: skip
        out.append({"endpoint": s.name, "requests": len(s.latencies), "rps": round(s.rps, 2), "p50_ms": round(s.pct(0.5) * 1000, 2),
                    "p95_ms": round(s.pct(0.95) * 1000, 2), "errors": len(s.errors), "error_kinds": sorted(set(s.errors))[:5],
                    "rps_vs_baseline": round(ratio, 4)})  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"clients": args.clients, "seconds": args.seconds, "archive": args.archive,
                                               "db": "postgresql" if args.db else "sqlite", "results": out}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
