"""The HTTP API (issue 17, parts 3 and 4): tokens, every refusal, the endpoints, bad input.

Runs on SQLite and PostgreSQL (the ``settings`` fixture), with the real Services, sandbox and
store behind FastAPI's TestClient; ``test_real_server`` runs ``verify api`` itself on loopback.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
import urllib.request
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import procs
import pytest
from factories import jpeg_bytes, photo

from verify import tokens
from verify.config import Settings
from verify.errors import Conflict

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Desk:
    """An API over a fresh store, with one token per role."""

    def __init__(self, settings: Settings) -> None:
        from fastapi.testclient import TestClient

        from verify.api import create_app
        from verify.services import Services

        self.services = Services(settings, isolate=True)
        self.app = create_app(settings, self.services)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.tokens: dict[str, str] = {}
        for name, role in (("admin-bot", "admin"), ("verifier-bot", "verifier"), ("tipline", "reporter"), ("reader", "viewer")):
            self.tokens[role] = tokens.create(self.services, name, role, actor="operator").token

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def upload(self, data: bytes, role: str = "reporter", name: str = "photo.jpg", **form: str):  # type: ignore[no-untyped-def]
        return self.client.post("/v1/items", headers=self.h(role), files={"file": (name, data, "image/jpeg")}, data=form)

    def close(self) -> None:
        self.client.close()
        self.services.close()


@pytest.fixture
def desk(settings: Settings):  # type: ignore[no-untyped-def]
    d = Desk(replace(settings, max_file_bytes=3_000_000))
    yield d
    d.close()


def is_problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and "Traceback" not in body["detail"]
    return body


# -- tokens and auth ---------------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_grant_the_role(desk: Desk) -> None:
    from sqlalchemy import select

    from verify.store import schema

    with desk.services.store.read() as conn:
        rows = conn.execute(select(schema.api_token)).all()
    assert len(rows) == 4
    for row in rows:
        assert row.secret_hash.startswith("$argon2id$")
        assert all(row.secret_hash not in t and t.split("_", 2)[2] not in row.secret_hash for t in desk.tokens.values())
    assert desk.services.role_of("tipline").value == "reporter"
    assert desk.services.role_of("operator").value == "admin"  # the first grant made its operator admin
    kinds = [e.kind for e in desk.services.store.events()]
    assert kinds.count("token_created") == 4 and "role_granted" in kinds
    me = desk.client.get("/v1/me", headers=desk.h("verifier")).json()
    assert me["name"] == "verifier-bot" and me["role"] == "verifier" and me["can"]["decide"] and not me["can"]["admin"]


def test_each_auth_refusal(desk: Desk) -> None:
    c = desk.client
    body = is_problem(c.get("/v1/items"), 401)
    assert "Bearer" in body["detail"]
    assert c.get("/v1/items").headers["www-authenticate"].startswith("Bearer")
    is_problem(c.get("/v1/items", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    is_problem(c.get("/v1/items", headers={"Authorization": "Bearer nonsense"}), 401)
    good = desk.tokens["viewer"]
    wrong_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    is_problem(c.get("/v1/items", headers={"Authorization": f"Bearer {wrong_secret}"}), 401)
    unknown_id = "vfy_0123456789abcdef_" + good.split("_", 2)[2]
    is_problem(c.get("/v1/items", headers={"Authorization": f"Bearer {unknown_id}"}), 401)
    assert c.get("/v1/items", headers=desk.h("viewer")).status_code == 200
    # Role refusals: 403 with the sentence from the core, and nothing written.
    before = desk.services.store.chain_head()[1]
    body = is_problem(desk.upload(jpeg_bytes(photo(1)), role="viewer"), 403)
    assert "reader is a viewer" in body["detail"] and "reporter" in body["detail"]
    item = desk.upload(jpeg_bytes(photo(2))).json()["item"]
    after_upload = desk.services.store.chain_head()[1]
    assert after_upload == before + 1
    is_problem(c.post(f"/v1/items/{item['id']}/warnings", headers=desk.h("viewer"), json={"category": "children"}), 403)
    body = is_problem(c.post(f"/v1/items/{item['id']}/verdict", headers=desk.h("reporter"),
                             json={"status": "verified", "rationale": "looks fine", "expected_version": 0}), 403)  # fmt: skip
    assert "verifier" in body["detail"]
    assert desk.services.store.chain_head()[1] == after_upload  # refusals are event-free
    # Revoked: 401 on the very next request, though the token was just verified (and cached).
    assert c.get("/v1/me", headers=desk.h("reporter")).status_code == 200
    tokens.revoke(desk.services, "tipline", actor="operator")
    is_problem(c.get("/v1/me", headers=desk.h("reporter")), 401)
    # Only an admin revokes or creates tokens.
    from verify.errors import NotAllowed

    with pytest.raises(NotAllowed):
        tokens.create(desk.services, "sneaky", "admin", actor="verifier-bot")
    with pytest.raises(NotAllowed):
        tokens.revoke(desk.services, "reader", actor="reader")


# -- the endpoints -----------------------------------------------------------------------------


def test_upload_item_verdict_history_and_exports(desk: Desk) -> None:
    c = desk.client
    original = jpeg_bytes(photo(10))
    r = desk.upload(original, name="../../etc/pa\u202egpj.exe\x00.jpg", source="tipline +44", claimed_place="Kyiv",
                    claimed_lat="50.45", claimed_lon="30.52", claimed_date="2026-01-02", first_seen="2026-01-03")  # fmt: skip
    assert r.status_code == 201, r.text
    item = r.json()["item"]
    assert item["filename"] and "/" not in item["filename"] and "\u202e" not in item["filename"] and "\x00" not in item["filename"]
    assert item["ingested_by"] == "tipline" and item["source"] == "tipline +44" and item["claimed_place"] == "Kyiv"
    again = desk.upload(original)
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["item"]["id"] == item["id"]
    # A re-encoded smaller copy is matched to the first.
    copy = jpeg_bytes(photo(10).resize((400, 300)), quality=70)
    second = desk.upload(copy, name="copy.jpg").json()["item"]
    view = c.get(f"/v1/items/{second['id']}", headers=desk.h("viewer")).json()
    for key in ("item", "metadata", "findings", "matches", "warnings", "verdict", "status", "version", "facts"):
        assert key in view
    assert [m["item_id"] for m in view["matches"]] == [item["id"]]
    assert view["metadata"]["width"] == 400 and view["status"] == "unverified" and view["version"] == 0
    # Match without storing.
    count = desk.services.store.count_items()
    m = c.post("/v1/match", headers=desk.h("viewer"), files={"file": ("q.jpg", jpeg_bytes(photo(10), quality=60), "image/jpeg")})
    assert m.status_code == 200, m.text
    assert {x["item_id"] for x in m.json()["matches"]} == {item["id"], second["id"]}
    assert desk.services.store.count_items() == count
    # Warning, then verdict on the version the verifier saw; attributed to the tokens' names.
    w = c.post(f"/v1/items/{item['id']}/warnings", headers=desk.h("reporter"), json={"category": "dead_bodies", "note": "faces visible"})
    assert w.status_code == 200 and w.json()["warnings"][0]["added_by"] == "tipline"
    version = c.get(f"/v1/items/{item['id']}", headers=desk.h("viewer")).json()["version"]
    v = c.post(f"/v1/items/{item['id']}/verdict", headers=desk.h("verifier"),
               json={"status": "false", "rationale": "Published in 2019 elsewhere", "evidence_links": ["https://example.org/a"],
                     "expected_version": version})  # fmt: skip
    assert v.status_code == 200, v.text
    assert v.json()["verdict"]["actor"] == "verifier-bot" and v.json()["status"] == "false"
    stale = c.post(f"/v1/items/{item['id']}/verdict", headers=desk.h("verifier"),
                   json={"status": "verified", "rationale": "second look", "expected_version": version})  # fmt: skip
    assert "changed by verifier-bot meanwhile" in is_problem(stale, 409)["detail"]
    n = c.post(f"/v1/items/{item['id']}/notes", headers=desk.h("reporter"), json={"text": "caller rang back"})
    assert n.status_code == 200
    d = c.delete(f"/v1/items/{item['id']}/warnings/dead_bodies", headers=desk.h("reporter"))
    assert d.status_code == 200 and d.json()["warnings"] == []
    is_problem(c.delete(f"/v1/items/{item['id']}/warnings/children", headers=desk.h("reporter")), 404)
    # Lists and history.
    listed = c.get("/v1/items", headers=desk.h("viewer"), params={"status": "false"}).json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]
    assert c.get("/v1/items", headers=desk.h("viewer"), params={"text": "Kyiv"}).json()["count"] == 1
    evs = c.get(f"/v1/items/{item['id']}/events", headers=desk.h("viewer")).json()["events"]
    assert [e["kind"] for e in evs] == ["ingested", "warning_added", "verdict_set", "note", "warning_removed"]
    assert [e["actor"] for e in evs] == ["tipline", "tipline", "verifier-bot", "tipline", "tipline"]
    page = c.get("/v1/events", headers=desk.h("viewer"), params={"limit": 3}).json()
    assert len(page["events"]) == 3 and page["next_after_id"] == page["events"][-1]["id"]
    # Reports and a bundle; each records who took it out.
    for fmt, kind in (("json", "application/json"), ("markdown", "text/markdown"), ("html", "text/html")):
        rep = c.get(f"/v1/items/{item['id']}/report", headers=desk.h("viewer"), params={"format": fmt})
        assert rep.status_code == 200 and rep.headers["content-type"].startswith(kind)
    assert json.loads(c.get(f"/v1/items/{item['id']}/report", headers=desk.h("viewer")).content)["verdict"]["status"] == "false"
    b = c.post("/v1/bundles", headers=desk.h("reporter"), json={"item_ids": [item["id"], second["id"]], "with_matches": False})
    assert b.status_code == 200, b.text
    with zipfile.ZipFile(io.BytesIO(b.content)) as zf:
        assert any(n.endswith("manifest.json") for n in zf.namelist())
    exported = [e for e in desk.services.store.events(kinds=["exported"])]
    assert {e.actor for e in exported} == {"reader", "tipline"}
    assert not list(desk.services.settings.data_dir.glob("api-bundle-*"))  # the temporary ZIP is gone
    is_problem(c.get("/v1/items/999999", headers=desk.h("viewer")), 404)
    # Everything the API wrote (tokens, grants, ingests, verdicts, exports) keeps the chain intact.
    from verify.integrity import audit

    report = audit(desk.services.store, desk.services.blobs, rehash=True, default_status=desk.services.statuses[0])
    assert report.ok, report.problems


def test_publish_check(desk: Desk) -> None:
    import hashlib

    c = desk.client
    old = jpeg_bytes(photo(20))
    first = desk.upload(old, origin="archive", first_seen="2019-05-01", source="Agency").json()["item"]
    new = jpeg_bytes(photo(20).resize((500, 375)), quality=75)
    second = desk.upload(new, name="tip.jpg").json()["item"]
    c.post(f"/v1/items/{first['id']}/warnings", headers=desk.h("reporter"), json={"category": "injury_blood"})
    c.post(f"/v1/items/{second['id']}/verdict", headers=desk.h("verifier"),
           json={"status": "misattributed", "rationale": "2019 agency photo", "expected_version": 0})  # fmt: skip
    r = c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": hashlib.sha256(new).hexdigest().upper()})
    assert r.status_code == 200, r.text
    ans = r.json()
    assert ans["known"] and ans["identical"] and ans["item"]["status"] == "misattributed"
    assert ans["item"]["verdict_by"] == "verifier-bot"
    assert ans["warnings"] == ["injury_blood"]  # carried by the archive copy it matches
    assert ans["earliest_first_seen"].startswith("2019-05-01")
    assert [m["item_id"] for m in ans["matches"]] == [first["id"]]
    # A bundle carries originals unblurred: a viewer cannot take out a flagged one, a reporter can.
    before_events = desk.services.store.chain_head()[1]
    is_problem(c.post("/v1/bundles", headers=desk.h("viewer"), json={"item_ids": [first["id"]], "with_matches": False}), 403)
    assert desk.services.store.chain_head()[1] == before_events
    unknown = c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": "0" * 64}).json()
    assert unknown["known"] is False and unknown["item"] is None and unknown["earliest_first_seen"] is None
    is_problem(c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": "../../etc"}), 422)
    # A file never stored: matched, not stored, same answer shape.
    count = desk.services.store.count_items()
    f = c.post("/v1/check", headers=desk.h("viewer"), files={"file": ("x.jpg", jpeg_bytes(photo(20), quality=50), "image/jpeg")}).json()
    assert f["known"] and not f["identical"] and f["earliest_first_seen"].startswith("2019-05-01")
    assert "injury_blood" in f["warnings"] and desk.services.store.count_items() == count
    fresh = c.post("/v1/check", headers=desk.h("viewer"), files={"file": ("y.jpg", jpeg_bytes(photo(99)), "image/jpeg")}).json()
    assert fresh["known"] is False
    # Matches of a stored item are remembered until the archive changes: a new copy shows up at once.
    old_sha = hashlib.sha256(old).hexdigest()
    before = c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": old_sha}).json()
    assert c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": old_sha}).json() == before
    third = desk.upload(jpeg_bytes(photo(20).resize((600, 450)), quality=80), name="third.jpg").json()["item"]
    after = c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": old_sha}).json()
    assert third["id"] not in [m["item_id"] for m in before["matches"]]
    assert third["id"] in [m["item_id"] for m in after["matches"]]
    # A verdict is never stale either (state is read fresh, only matches are remembered).
    c.post(f"/v1/items/{first['id']}/verdict", headers=desk.h("verifier"),
           json={"status": "verified", "rationale": "agency original", "expected_version": 1})  # fmt: skip
    assert c.get("/v1/check", headers=desk.h("viewer"), params={"sha256": old_sha}).json()["item"]["status"] == "verified"


def test_concurrent_verdicts_api_and_services(desk: Desk) -> None:
    """The API and the workbench (Services directly) decide at once: one wins, the other is told."""
    item = desk.upload(jpeg_bytes(photo(30))).json()["item"]
    desk.services.grant_role("desk-editor", "verifier", actor="operator")
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def via_api() -> None:
        barrier.wait()
        results["api"] = desk.client.post(f"/v1/items/{item['id']}/verdict", headers=desk.h("verifier"),
                                          json={"status": "verified", "rationale": "api", "expected_version": 0})  # fmt: skip

    def via_workbench() -> None:
        barrier.wait()
        try:
            results["ui"] = desk.services.record_verdict(item["id"], "false", "ui", actor="desk-editor", expected_version=0)
        except Conflict as exc:
            results["ui"] = exc

    threads = [threading.Thread(target=via_api), threading.Thread(target=via_workbench)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    api, ui = results["api"], results["ui"]
    api_lost = api.status_code == 409  # type: ignore[attr-defined]
    ui_lost = isinstance(ui, Conflict)
    assert api_lost != ui_lost, (api, ui)
    if api_lost:
        assert "changed by desk-editor meanwhile" in api.json()["detail"]  # type: ignore[attr-defined]
    else:
        assert "changed by verifier-bot meanwhile" in str(ui)
    assert len([e for e in desk.services.store.events(item["id"]) if e.kind == "verdict_set"]) == 1


# -- bad input -----------------------------------------------------------------------------------


def test_bad_input(desk: Desk) -> None:
    c = desk.client
    h = desk.h("reporter")
    item = desk.upload(jpeg_bytes(photo(40))).json()["item"]
    # Oversized: declared, and streamed without a length.
    is_problem(desk.upload(b"\xff\xd8" + b"0" * 5_000_000), 413)

    def chunks():  # type: ignore[no-untyped-def]
        boundary = b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n"
        yield boundary
        for _ in range(50):
            yield b"0" * 100_000
        yield b"\r\n--xx--\r\n"

    r = c.post("/v1/items", headers={**h, "Content-Type": "multipart/form-data; boundary=xx"}, content=chunks())
    is_problem(r, 413)
    is_problem(c.post(f"/v1/items/{item['id']}/notes", headers=h, json={"text": "x" * 2_000_000}), 413)
    # Wrong content types, malformed JSON, wrong method, unknown fields' values.
    is_problem(c.post("/v1/items", headers=h, json={"file": "x"}), 415)
    is_problem(c.post(f"/v1/items/{item['id']}/notes", headers=h, content=b"text=hi",
                      ), 415)  # fmt: skip
    body = is_problem(c.post(f"/v1/items/{item['id']}/notes", headers={**h, "Content-Type": "application/json"}, content=b"{nope"), 422)
    assert "not valid JSON" in body["detail"]
    is_problem(c.put("/v1/items", headers=h), 405)
    is_problem(c.post(f"/v1/items/{item['id']}/warnings", headers=h, json={"category": "nope"}), 422)
    is_problem(c.get("/v1/items/99999999999999999999", headers=h), 422)
    is_problem(c.get("/v1/items", headers=h, params={"limit": "-1"}), 422)
    # Unicode tricks and NUL in text reach the store cleaned (PostgreSQL refuses NUL outright).
    r = c.get("/v1/items?text=a%00b%E2%80%AE%ED%A0%80%FF", headers=h)  # NUL, RLO, a lone surrogate, not UTF-8
    assert r.status_code in (200, 422), r.text
    n = c.post(f"/v1/items/{item['id']}/notes", headers=h, json={"text": "line\x00two \u202eevil"})
    assert n.status_code == 200, n.text
    assert "\x00" not in desk.services.store.events(item["id"])[-1].payload["text"]
    # Hostile files go through the decoding sandbox and come back as readable refusals.
    before = desk.services.store.count_items()
    is_problem(desk.upload(b"not a picture at all" * 100, name="x.jpg"), 422)
    truncated = jpeg_bytes(photo(41))[:2000]
    assert desk.upload(truncated, name="t.jpg").status_code in (201, 422)
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buf, "PNG")  # a decompression bomb: 400 MP of zeros, small file
    bomb = desk.client.post("/v1/items", headers=h, files={"file": ("bomb.png", buf.getvalue(), "image/png")})
    assert bomb.status_code in (413, 422), bomb.text
    assert desk.services.store.count_items() <= before + 1
    assert c.get("/v1/health").status_code == 200


def test_docs_and_openapi_are_self_contained(desk: Desk) -> None:
    c = desk.client
    page = c.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched from elsewhere (no CDN)
    spec = c.get("/openapi.json").json()
    assert "/v1/check" in spec["paths"] and "HTTPBearer" in json.dumps(spec["components"]["securitySchemes"])
    assert c.get("/redoc").status_code == 404


# -- the CLI and a real server ------------------------------------------------------------------


def _cli(*args: str, data_dir: Path, db: str | None, actor: str = "operator"):  # type: ignore[no-untyped-def]
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DB",)}
    env.update(VERIFY_DATA_DIR=str(data_dir), VERIFY_ACTOR=actor)
    if db:
        env["VERIFY_DB"] = db
    return procs.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, env=env, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_token_cli_and_real_server(data_dir: Path, db_url: str | None, processes: procs.Processes) -> None:
    r = _cli("token", "create", "cms", "--role", "viewer", "--json", data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    token = json.loads(r.stdout)["token"]
    r = _cli("token", "create", "bot", "--role", "reporter", data_dir=data_dir, db=db_url, actor="cms")
    assert r.returncode == 1 and "cms is a viewer" in r.stderr and "Traceback" not in r.stderr
    listed = _cli("token", "list", data_dir=data_dir, db=db_url)
    assert "cms\tviewer" in listed.stdout and token not in listed.stdout and "live" in listed.stdout
    import os

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "VERIFY_DB"}
    env["VERIFY_DATA_DIR"] = str(data_dir)
    cmd = [sys.executable, "-m", "verify", "api", "--address", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    if db_url:
        cmd += ["--db", db_url]
    processes.start(cmd, env=env, stdout=open(data_dir / "api.log", "wb"), stderr=subprocess_stdout())
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/v1/health", timeout=2) as resp:
                assert json.load(resp)["status"] == "ok"
            break
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError((data_dir / "api.log").read_text()) from None
            time.sleep(0.3)
    req = urllib.request.Request(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["name"] == "cms"
    req = urllib.request.Request(f"{base}/v1/check?sha256={'a' * 64}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert json.load(resp)["known"] is False
    r = _cli("token", "revoke", "cms", data_dir=data_dir, db=db_url)
    assert r.returncode == 0 and "revoked" in r.stdout
    req = urllib.request.Request(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401 and err.value.headers["Content-Type"].startswith("application/problem+json")
    assert datetime.now(UTC)  # the server is stopped, by process group, in the fixture finalizer


def subprocess_stdout() -> int:
    import subprocess

    return subprocess.STDOUT


def test_fetch_link_through_the_api(settings: Settings, tmp_path: Path) -> None:
    """POST /v1/links fetches the post (loopback server) and answers with the provenance; a viewer is refused."""
    from dataclasses import replace

    from linkserver import LinkServer

    with LinkServer(tmp_path / "srv") as server:
        desk = Desk(replace(settings, fetch_allow_local=True, fetch_timeout_s=20.0))
        try:
            refused = desk.client.post("/v1/links", headers=desk.h("viewer"), json={"url": server.url("/post")})
            is_problem(refused, 403)
            r = desk.client.post("/v1/links", headers=desk.h("reporter"), json={"url": server.url("/post"), "source": "tipline"})
            assert r.status_code == 201, r.text
            body = r.json()
            assert body["published_at"].startswith("2021-03-04") and body["published_at_basis"] == "page"
            assert body["title"] == "Flood in the old town"
            assert len(body["items"]) == 1 and body["items"][0]["item"]["kind"] == "video"
            history = desk.client.get(f"/v1/items/{body['items'][0]['item']['id']}/events", headers=desk.h("viewer")).json()
            assert any(e["kind"] == "fetched" and e["actor"] == "tipline" for e in history["events"]), history
            missing = desk.client.post("/v1/links", headers=desk.h("reporter"), json={"url": server.url("/missing")})
            is_problem(missing, 422)
        finally:
            desk.close()


def test_a_repeated_query_parameter_is_refused(desk: Desk) -> None:
    """?text=a&text=b would otherwise be read as its last value: a different question from the one asked."""
    r = desk.client.get("/v1/items", headers=desk.h("viewer"), params=[("text", "Kyiv"), ("text", "Idlib")])
    assert "only once" in is_problem(r, r.status_code)["detail"] and r.status_code in (400, 422)
    assert desk.client.get("/v1/items", headers=desk.h("viewer"), params={"text": "Kyiv"}).status_code == 200
