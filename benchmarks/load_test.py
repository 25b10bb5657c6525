"""A bounded load test against a running workbench on 127.0.0.1.

What is measured, honestly:

* **Sessions**: ``--sessions`` browser-less Streamlit sessions, each a websocket speaking
  Streamlit's own protocol (``BackMsg.rerun_script`` -> ``ForwardMsg`` deltas until
  ``script_finished``), exactly what a browser tab sends on each page load or click. Each session
  loops over the upload page, the inbox, an item page and its verdict page for ``--seconds``. The
  latency is from sending the rerun to receiving ``script_finished``: the server-side cost of
  running the page, not the browser's rendering. An error is a timeout, a dropped connection, a
  script that did not finish successfully, or the app's "Something went wrong" message.
* **HTTP**: ``--http-clients`` threads fetching ``/``, ``/_stcore/health`` and a static JS asset.
* **Uploads and matches**: ``--uploaders`` threads ingesting new photos and matching recompressed
  copies through ``Services(isolate=True)`` (the same call the upload page makes, with decoding in
  the sandbox), against the same data folder and database as the server. Uploading through the
  browser widget itself is not driven here (it needs the file-upload handshake of the frontend);
  the server-side work of an upload is this call.

Usage: ``.venv/bin/python benchmarks/load_test.py [--sessions 20] [--seconds 30] [--json out.json]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
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
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def fail(self, why: str) -> None:
        with self.lock:
            self.errors.append(why)

    def summary(self, wall_s: float) -> dict[str, object]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] * 1000, 1)

        return {
            "name": self.name,
            "requests": len(lat) + len(self.errors),
            "errors": len(self.errors),
            "error_kinds": sorted(set(self.errors))[:5],
            "per_s": round(len(lat) / wall_s, 2) if wall_s else None,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_archive(data_dir: Path, n: int) -> list[int]:
    import factories as f
    from verify.config import load_settings
    from verify.services import Services

    svc = Services(load_settings(data_dir=data_dir))
    ids = [svc.ingest_bytes(f.jpeg_bytes(f.photo(5000 + i, (800, 600))), filename=f"archive-{i}.jpg", actor="load-seed", origin="archive").item.id for i in range(n)]
    svc.close()
    return ids


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(VERIFY_DATA_DIR=str(data_dir), VERIFY_TRUSTED_HEADER="X-Forwarded-User")
    env.pop("VERIFY_DB", None)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    log = open(data_dir / "server.log", "wb")  # never a pipe nobody reads: a full pipe blocks the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the workbench did not start within 90 s")


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children (decoder sandboxes), in MB."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def session_worker(port: int, k: int, item_ids: list[int], deadline: float, series: Series, warmup: Series,
                   per_page: dict[str, Series] | None = None) -> None:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    warnings.filterwarnings("ignore", category=DeprecationWarning)

    pages = [("", ""), ("inbox", ""), ("item", "item={id}"), ("verdict", "item={id}")]
    try:
        ws = connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],  # type: ignore[list-item]
            additional_headers={"X-Forwarded-User": f"load-editor-{k}"},
            max_size=None,
            open_timeout=30,
        )
    except Exception as exc:
        series.fail(f"connect: {type(exc).__name__}")
        return
    n = 0
    first = True
    try:
        while time.time() < deadline:
            page, qs = pages[(n + k) % len(pages)]
            item = item_ids[(n * 7 + k) % len(item_ids)]
            msg = BackMsg()
            msg.rerun_script.query_string = qs.format(id=item)
            msg.rerun_script.page_name = page
            t0 = time.perf_counter()
            ws.send(msg.SerializeToString())
            failed = None
            while True:
                try:
                    raw = ws.recv(timeout=60)
                except TimeoutError:
                    failed = "timeout (60 s)"
                    break
                fm = ForwardMsg()
                fm.ParseFromString(raw)  # type: ignore[arg-type]
                kind = fm.WhichOneof("type")
                if kind == "delta":
                    text = str(fm.delta)
                    if "Something went wrong" in text:
                        failed = f"page error on {page or 'upload'}"
                    elif "Who is working?" in text:
                        failed = "not signed in (the trusted header was not applied)"
                if kind == "script_finished":
                    if fm.script_finished not in (0, 3):  # FINISHED_SUCCESSFULLY, FINISHED_EARLY_FOR_RERUN
                        failed = f"script finished with status {fm.script_finished}"
                    break
            dt = time.perf_counter() - t0
            target = warmup if first else series
            first = False
            if failed:
                target.fail(failed)
                if failed.startswith("timeout"):
                    break
            else:
                target.ok(dt)
                if per_page is not None and target is series:
                    per_page[page or "upload"].ok(dt)
            n += 1
    except Exception as exc:
        series.fail(f"{type(exc).__name__}")
    finally:
        try:
            ws.close()
        except Exception:
            pass


def http_worker(port: int, paths: list[str], deadline: float, series: Series) -> None:
    n = 0
    while time.time() < deadline:
        path = paths[n % len(paths)]
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                r.read()
                if r.status != 200:
                    series.fail(f"HTTP {r.status}")
                else:
                    series.ok(time.perf_counter() - t0)
        except Exception as exc:
            series.fail(type(exc).__name__)
        n += 1
        time.sleep(0.05)


def upload_worker(data_dir: Path, k: int, deadline: float, uploads: Series, matches: Series) -> None:
    import factories as f
    from PIL import Image
    from verify.config import load_settings
    from verify.services import Services

    svc = Services(load_settings(data_dir=data_dir), isolate=True)
    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    n = 0
    try:
        while time.time() < deadline:
            data = f.jpeg_bytes(f.photo(90_000 + k * 10_000 + n, (1600, 1200)))
            t0 = time.perf_counter()
            try:
                svc.ingest_bytes(data, filename=f"upload-{k}-{n}.jpg", actor=f"load-uploader-{k}", origin="submission")
                uploads.ok(time.perf_counter() - t0)
            except Exception as exc:
                uploads.fail(type(exc).__name__)
            copy = tmp / f"copy-{n}.jpg"
            im = Image.open(io.BytesIO(data)).resize((800, 600))
            copy.write_bytes(f.jpeg_bytes(im, quality=60))
            t0 = time.perf_counter()
            try:
                report = svc.match_path(copy)
                if not report.outcome.matches:
                    matches.fail("recompressed copy not found")
                else:
                    matches.ok(time.perf_counter() - t0)
            except Exception as exc:
                matches.fail(type(exc).__name__)
            n += 1
    finally:
        svc.close()


def static_asset(port: int) -> str | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
        html = r.read().decode("utf-8", "replace")
    m = re.search(r'src="\.?/?(static/js/[^"]+\.js)"', html)
    return "/" + m.group(1) if m else None


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--http-clients", type=int, default=4)
    ap.add_argument("--uploaders", type=int, default=2)
    ap.add_argument("--archive", type=int, default=40, help="photos in the archive before the test")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--replicate", type=int, default=0,
                    help="grow the archive to this many items with replicas of the seeded ones (perturbed fingerprint "
                         "rows, no originals: benchmarks/scale.py's method), e.g. 100000")  # fmt: skip
    args = ap.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="verify-load-"))
    print(f"seeding an archive of {args.archive} photos ...", flush=True)
    item_ids = seed_archive(data_dir, args.archive)
    if args.replicate > args.archive:
        import numpy as np

        sys.path.insert(0, str(ROOT / "benchmarks"))
        import scale

        t = time.time()
        scale.replicate(data_dir / "verify.sqlite3", args.replicate, np.random.default_rng(args.replicate))
        print(f"archive grown to {args.replicate:,} items with replicas in {time.time() - t:.0f} s (sessions open the seeded items)", flush=True)
    port = free_port()
    server = start_server(data_dir, port)
    print(f"workbench on http://127.0.0.1:{port}/ (pid {server.pid})", flush=True)
    try:
        asset = static_asset(port)
        http_paths = ["/", "/_stcore/health"] + ([asset] if asset else [])
        sessions, warmup = Series("session page run"), Series("session first run (cold)")
        http, uploads, matches = Series("HTTP /, health, static"), Series("upload (ingest, sandboxed)"), Series("match (recompressed copy)")
        deadline = time.time() + args.seconds
        per_page = {p: Series(f"  of which {p} page") for p in ("upload", "inbox", "item", "verdict")}
        threads = [threading.Thread(target=session_worker, args=(port, k, item_ids, deadline, sessions, warmup, per_page)) for k in range(args.sessions)]
        threads += [threading.Thread(target=http_worker, args=(port, http_paths, deadline, http)) for _ in range(args.http_clients)]
        threads += [threading.Thread(target=upload_worker, args=(data_dir, k, deadline, uploads, matches)) for k in range(args.uploaders)]
        peak = 0.0
        t0 = time.time()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_mb(server.pid))
            time.sleep(1)
            if time.time() > deadline + 120:
                break
        wall = time.time() - t0
        alive_after = server.poll() is None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as r:
            healthy_after = r.status == 200
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    results: dict[str, object] = {
        "cores": os.cpu_count(),
        "sessions": args.sessions,
        "seconds": args.seconds,
        "wall_s": round(wall, 1),
        "archive_items_at_start": max(args.archive, args.replicate),
        "server_peak_rss_mb": peak,
        "server_alive_after": alive_after,
        "server_healthy_after": healthy_after,
        "series": [s.summary(wall) for s in (sessions, *per_page.values(), warmup, http, uploads, matches)],
    }
    print(f"\n{args.sessions} sessions, {args.http_clients} HTTP clients, {args.uploaders} uploaders for {args.seconds:g} s on {os.cpu_count()} cores")
    print(f"{'series':32} {'n':>6} {'err':>4} {'per s':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for s in results["series"]:  # type: ignore[union-attr]
        print(f"{s['name']:32} {s['requests']:>6} {s['errors']:>4} {s['per_s'] or 0:>7} {s['p50_ms'] or '-':>8} {s['p90_ms'] or '-':>8} {s['p99_ms'] or '-':>8} {s['max_ms'] or '-':>8}")
        if s["error_kinds"]:
            print(f"{'':32} errors: {', '.join(s['error_kinds'])}")
    print(f"server peak RSS (with decoder sandboxes): {peak} MB; alive and healthy afterwards: {alive_after and healthy_after}")
    print(f"server log: {data_dir / 'server.log'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
