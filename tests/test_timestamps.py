"""RFC 3161 timestamps against a real authority on loopback (``openssl ts -reply``, throwaway CA).

Covers: stamping after a batch of ingests and on demand, audit verifying every token against the
head it covers, a token for the wrong head, a token from an untrusted authority, an authority that
does not answer (the desk keeps working, the stamp is pending), a whole-chain rewrite after a stamp,
and bundles that carry tokens checkable with ``openssl ts -verify``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

import factories as f
import tsa
from verify.config import Settings
from verify.events import GENESIS_HASH, canonical_json, event_hash
from verify.integrity import audit
from verify.services import Services
from verify.timestamps import load_roots, request_token, stamp_head

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[tsa.Server]:
    server = tsa.Server(tsa.make_authority(tmp_path / "ca"))
    yield server
    server.stop()


@pytest.fixture
def stranger(tmp_path: Path) -> Iterator[tsa.Server]:
    """Another authority, whose root the desk does not trust."""
    server = tsa.Server(tsa.make_authority(tmp_path / "ca2", "Stranger TSA"))
    yield server
    server.stop()


@pytest.fixture
def silent() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock, url = tsa.silent_port()
    yield url
    sock.close()  # type: ignore[attr-defined]


def _closed_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/tsa"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFY_") or k == "VERIFY_TEST_PG_URL"}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


def _cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    store = ["--data-dir", str(settings.data_dir)] + (["--db", settings.db_url] if settings.db_url else [])
    return subprocess.run([sys.executable, "-m", "verify", *args, *store], capture_output=True, text=True, timeout=300, env=_env(**env))


def _photos(folder: Path, n: int, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(start, start + n):
        (folder / f"p{seed}.jpg").write_bytes(f.jpeg_bytes(f.photo(seed, (200, 150))))
    return folder


def test_index_stamps_the_head_and_audit_verifies_it(settings: Settings, authority: tsa.Server, tmp_path: Path) -> None:
    ca = str(authority.authority.ca_pem)
    proc = _cli(settings, "index", str(_photos(tmp_path / "in", 3)), "--actor", "alice", VERIFY_TSA_URL=authority.url)
    assert proc.returncode == 0, proc.stderr
    assert "stamped by" in proc.stderr
    proc = _cli(settings, "audit", "--json", VERIFY_TSA_CA=ca)
    assert proc.returncode == 0, proc.stdout
    report = json.loads(proc.stdout)
    assert len(report["chain_head"]) == 64 and all(c in "0123456789abcdef" for c in report["chain_head"])
    assert len(report["timestamps"]) == 1 and report["timestamps"][0]["ok"] and report["timestamps"][0]["trusted"]
    assert report["unstamped_events"] == 1  # the timestamp event itself comes after the head it stamps
    # on demand
    proc = _cli(settings, "timestamp", "--json", "--actor", "bob", VERIFY_TSA_URL=authority.url)
    assert proc.returncode == 0, proc.stderr
    stamped = json.loads(proc.stdout)
    assert stamped["stamped"] and stamped["covers"] == report["chain_head"]
    assert json.loads(_cli(settings, "audit", "--json", VERIFY_TSA_CA=ca).stdout)["ok"]
    # without a trusted root the tokens still fit their heads; audit says the signature was not checked
    unchecked = json.loads(_cli(settings, "audit", "--json").stdout)
    assert unchecked["ok"] and {p["code"] for p in unchecked["problems"]} == {"timestamp_untrusted"}


def test_offline_by_default(settings: Settings, tmp_path: Path) -> None:
    proc = _cli(settings, "index", str(_photos(tmp_path / "in", 1)), "--actor", "alice")
    assert proc.returncode == 0 and "stamp" not in proc.stderr
    proc = _cli(settings, "timestamp")
    assert proc.returncode == 2 and "VERIFY_TSA_URL" in proc.stderr


def test_token_for_the_wrong_head_is_reported(services: Services, authority: tsa.Server) -> None:
    services.ingest_bytes(f.jpeg_bytes(f.photo(1, (200, 150))), filename="a.jpg", actor="alice")
    head, count = services.store.chain_head()
    token = request_token(authority.url, "f" * 64)  # a genuine token, over some other head
    services.store.append_event(None, "mallory", "timestamped", {"covers": head, "events": count, "tokens": [token.to_payload()]})
    report = audit(services.store, services.blobs, tsa_roots=load_roots(authority.authority.ca_pem))
    assert not report.ok
    assert any(p.code == "timestamp" and "not for chain head" in p.message for p in report.problems)


def test_token_from_an_untrusted_authority_is_reported(services: Services, settings: Settings, authority: tsa.Server,
                                                       stranger: tsa.Server) -> None:  # fmt: skip
    services.ingest_bytes(f.jpeg_bytes(f.photo(1, (200, 150))), filename="a.jpg", actor="alice")
    result = stamp_head(services.store, replace(settings, tsa_url=stranger.url), actor="alice")
    assert result.stamped
    report = audit(services.store, services.blobs, tsa_roots=load_roots(authority.authority.ca_pem))
    assert not report.ok
    assert any(p.code == "timestamp" and "not from a trusted authority" in p.message for p in report.problems)
    assert audit(services.store, services.blobs, tsa_roots=load_roots(stranger.authority.ca_pem)).ok


@pytest.fixture
def expired(tmp_path: Path) -> Iterator[tsa.Server]:
    """An authority whose timestamping certificate ran out in January 2020 (it still signs)."""
    server = tsa.Server(tsa.make_authority(tmp_path / "old", "Expired TSA", expired=True))
    yield server
    server.stop()


def test_token_signed_with_an_expired_certificate_is_reported(services: Services, settings: Settings, expired: tsa.Server) -> None:
    services.ingest_bytes(f.jpeg_bytes(f.photo(1, (200, 150))), filename="a.jpg", actor="alice")
    assert stamp_head(services.store, replace(settings, tsa_url=expired.url), actor="alice").stamped
    report = audit(services.store, services.blobs, tsa_roots=load_roots(expired.authority.ca_pem))
    assert not report.ok
    assert any(p.code == "timestamp" and "expired" in p.message for p in report.problems), report.problems


@pytest.mark.parametrize("kind", ["silent", "refused"])
def test_authority_that_does_not_answer_leaves_the_stamp_pending(settings: Settings, silent: str, authority: tsa.Server,
                                                                 tmp_path: Path, kind: str) -> None:  # fmt: skip
    url = silent if kind == "silent" else _closed_url()
    proc = _cli(settings, "index", str(_photos(tmp_path / "in", 2)), "--actor", "alice", "--json",
                VERIFY_TSA_URL=url, VERIFY_TSA_TIMEOUT="1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sum(json.loads(line)["status"] == "added" for line in proc.stdout.splitlines()) == 2  # the desk kept working
    assert "timestamp pending" in proc.stderr
    proc = _cli(settings, "timestamp", "--json", VERIFY_TSA_URL=url, VERIFY_TSA_TIMEOUT="1")
    assert proc.returncode == 3 and json.loads(proc.stdout)["pending"][0]["tsa"] == url
    report = json.loads(_cli(settings, "audit", "--json").stdout)
    assert report["ok"] and report["timestamps"] == [] and report["unstamped_events"] == report["events_checked"]
    # one of several authorities answering is enough; the other stays pending
    proc = _cli(settings, "timestamp", "--json", VERIFY_TSA_URL=f"{url},{authority.url}", VERIFY_TSA_TIMEOUT="1")
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and [t["tsa"] for t in out["tokens"]] == [authority.url] and out["pending"][0]["tsa"] == url


def test_whole_chain_rewrite_after_a_stamp_is_detected(sqlite_services: Services, sqlite_settings: Settings,
                                                       authority: tsa.Server) -> None:  # fmt: skip
    s = sqlite_services
    item = s.ingest_bytes(f.jpeg_bytes(f.photo(1, (200, 150))), filename="a.jpg", actor="alice").item
    s.record_verdict(item.id, "false", "Recycled from 2013.", actor="bob")
    assert stamp_head(s.store, replace(sqlite_settings, tsa_url=authority.url), actor="bob").stamped
    roots = load_roots(authority.authority.ca_pem)
    assert audit(s.store, s.blobs, tsa_roots=roots).ok
    # Full database access: rewrite the verdict and re-hash the whole chain and its head.
    with s.store.engine.connect() as conn, conn.begin():
        conn.execute(text("DROP TRIGGER event_no_update"))
        rows = conn.execute(text("SELECT id, item_id, actor, at, kind, payload FROM event ORDER BY id")).all()
        prev = GENESIS_HASH
        for r in rows:
            payload = json.loads(r.payload)
            if r.kind == "verdict_set":
                payload["status"], payload["rationale"] = "verified", "Genuine."
            digest = event_hash(item_id=r.item_id, actor=r.actor, at=r.at, kind=r.kind, payload=payload, prev_hash=prev)
            conn.execute(text("UPDATE event SET payload=:p, prev_hash=:prev, hash=:h WHERE id=:id"),
                         {"p": canonical_json(payload), "prev": prev, "h": digest, "id": r.id})  # fmt: skip
            prev = digest
        conn.execute(text("UPDATE chain_head SET last_hash=:h"), {"h": prev})
        conn.execute(text("UPDATE item_state SET status='verified'"))
    report = audit(s.store, s.blobs, tsa_roots=roots)
    assert not report.ok
    codes = {p.code for p in report.problems if p.severity == "error"}
    assert codes == {"timestamp"}, report.problems  # the chain itself is consistent again: only the stamp tells


def test_bundle_carries_tokens_that_openssl_verifies(sqlite_services: Services, sqlite_settings: Settings,
                                                     authority: tsa.Server, stranger: tsa.Server, tmp_path: Path) -> None:  # fmt: skip
    from verify.bundle import build_bundle, check_bundle

    s = sqlite_services
    ca = authority.authority.ca_pem
    s.settings = replace(sqlite_settings, tsa_url=authority.url, tsa_ca=ca)
    ids = [s.ingest_bytes(f.jpeg_bytes(f.photo(seed, (200, 150))), filename=f"{seed}.jpg", actor="alice").item.id for seed in range(2)]
    s.record_verdict(ids[0], "false", "Recycled.", actor="bob")
    out = build_bundle(s, [ids[0]], tmp_path / "b.zip", actor="erin").path
    report = check_bundle(out)
    assert report.ok, report.problems
    assert len(report.timestamps) == 1 and report.timestamps[0]["ok"] and report.timestamps[0]["trusted"]
    assert not any("come after the last valid timestamp" in n for n in report.notes)  # the stamp covers every event of the item
    unpacked = tmp_path / "u"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unpacked)
        token = next(n for n in zf.namelist() if n.endswith(".tsr"))
    head = token[:-4] + ".head"
    proc = subprocess.run(["openssl", "ts", "-verify", "-data", head, "-in", token, "-CAfile", str(ca)], cwd=unpacked,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr
    # with a reader's own (different) root the token is not trusted
    distrust = check_bundle(out, tsa_roots=stranger.authority.ca_pem)
    assert not distrust.ok and any(p.code == "timestamp" and "trusted" in p.message for p in distrust.problems)
    # a token replaced by one over another head is named
    other = request_token(authority.url, "e" * 64).response
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[token] = other
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    problems = check_bundle(bad).problems
    assert any(p.code == "changed" and p.path == token for p in problems)
    assert any(p.code == "timestamp" and p.path == token and "not the token recorded" in p.message for p in problems)
