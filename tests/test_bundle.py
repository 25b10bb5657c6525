"""Evidence bundles: made from a real store, checked on their own, every kind of tampering named.

The round trip runs the real CLI in subprocesses on SQLite and PostgreSQL, and the check runs with
no data folder or database at all (a machine that never saw the store). Tampering is done twice
where it matters: naively (the manifest catches it) and by a careful forger who recomputes
manifest.json and SHA256SUMS (the hash-chained events still catch it).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import factories as f
from verify.bundle import check_bundle
from verify.config import Settings
from verify.services import Services

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFY_") or k == "VERIFY_TEST_PG_URL"}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=300,
                          env=env or _env(), cwd=cwd)  # fmt: skip


def _store_args(settings: Settings) -> list[str]:
    args = ["--data-dir", str(settings.data_dir)]
    if settings.db_url:
        args += ["--db", settings.db_url]
    return args


@pytest.fixture
def case(services: Services) -> tuple[Services, list[int]]:
    """Three items, events of other items in between, a warning and verdicts."""
    ids = []
    for seed in range(4):
        ids.append(services.ingest_bytes(f.jpeg_bytes(f.photo(seed, (240, 180))), filename=f"photo-{seed}.jpg", actor="alice").item.id)
    services.add_warning(ids[0], "dead_bodies", actor="bob")
    services.record_verdict(ids[1], "verified", "Geolocated to the square.", actor="carol")  # another item, in between
    services.record_verdict(ids[0], "false", "Recycled from 2013.", actor="bob")
    services.add_note(ids[3], "unrelated", actor="dan")
    services.record_verdict(ids[2], "misattributed", "Other city.", actor="alice")
    return services, [ids[0], ids[2]]


def test_round_trip_through_the_cli(case: tuple[Services, list[int]], settings: Settings, tmp_path: Path) -> None:
    services, ids = case
    out = tmp_path / "case.zip"
    proc = _cli("bundle", *map(str, ids), "--out", str(out), "--actor", "erin", "--json", *_store_args(settings))
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout)
    assert made["items"] == ids and made["flagged"] == [ids[0]]
    exported_events = [e for e in services.store.events() if e.kind == "exported"]
    assert made["chain_head"] == exported_events[0].prev_hash  # the head just before the export was recorded

    # The check: another folder, no store, no settings.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = _cli("audit", "--bundle", str(out), "--json", env=_env(HOME=str(elsewhere), XDG_DATA_HOME=str(elsewhere)), cwd=elsewhere)
    assert check.returncode == 0, check.stdout + check.stderr
    result = json.loads(check.stdout)
    assert result["verdict"] == "INTACT" and result["problems"] == []
    assert result["chain_head"] == made["chain_head"] and result["items"] == ids
    assert not list(elsewhere.iterdir()), "checking a bundle must not create a store"

    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        for iid in ids:
            item = services.store.item(iid)
            assert zf.read(f"items/{iid}/original.jpg") == services.original_path(item).read_bytes()
            record = json.loads(zf.read(f"items/{iid}/record.json"))
            assert record["item"]["sha256"] == item.sha256 and record["verdict"]["rationale"]
        links = zf.read("chain/links.txt").decode().splitlines()
        events = [json.loads(line) for line in zf.read("chain/events.jsonl").decode().splitlines()]
        html = zf.read("report.html").decode()
        readme = zf.read("README.txt").decode()
    assert names == set(manifest["files"]) | {"manifest.json", "SHA256SUMS"}
    # the span holds the other items' events as hashes: the verdict on item 2 and the note on item 4
    owners = [line.split()[3] for line in links]
    assert owners.count("-") >= 2 and {str(i) for i in ids} <= set(owners)
    assert {e["item_id"] for e in events} == set(ids)
    assert links[-1].split()[2] == manifest["chain_head"]["hash"]
    # content warnings travel: named in the manifest and the README, preview blurred in the report
    assert manifest["content_warnings"] == [{"item_id": ids[0], "path": f"items/{ids[0]}/original.jpg", "warnings": ["dead_bodies"]}]
    assert f"items/{ids[0]}/original.jpg: dead_bodies" in readme
    assert "Content warning: Dead bodies" in html and "sha256sum -c SHA256SUMS" in html
    # the export is in the desk's log, attributed, with the manifest's hash
    exported = [e for e in services.store.events(ids[0]) if e.kind == "exported"]
    assert exported and exported[-1].actor == "erin"
    assert exported[-1].payload["manifest_sha256"] == made["manifest_sha256"]


def test_standard_tools_check_the_files(case: tuple[Services, list[int]], tmp_path: Path) -> None:
    from verify.bundle import build_bundle

    services, ids = case
    out = build_bundle(services, ids, tmp_path / "b.zip", actor="erin").path
    unpacked = tmp_path / "u"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unpacked)
    proc = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.count(": OK") == len(list(p for p in unpacked.rglob("*") if p.is_file())) - 1
    (unpacked / "items" / str(ids[0]) / "original.jpg").chmod(0o644)
    with open(unpacked / "items" / str(ids[0]) / "original.jpg", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    proc = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True, text=True)
    assert proc.returncode != 0 and f"items/{ids[0]}/original.jpg: FAILED" in proc.stdout


# -- tampering ------------------------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path: Path, members: dict[str, bytes], *, remanifest: bool) -> Path:
    """Rewrite the ZIP; with ``remanifest``, recompute manifest.json and SHA256SUMS like a careful forger."""
    if remanifest:
        manifest = json.loads(members["manifest.json"])
        manifest["files"] = {
            n: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
            for n, b in sorted(members.items()) if n not in ("manifest.json", "SHA256SUMS")
        }  # fmt: skip
        members["manifest.json"] = json.dumps(manifest, indent=2).encode()
        sums = {n: v["sha256"] for n, v in manifest["files"].items()} | {"manifest.json": hashlib.sha256(members["manifest.json"]).hexdigest()}
        members["SHA256SUMS"] = "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return path


@pytest.fixture
def bundle_zip(sqlite_services: Services, tmp_path: Path) -> tuple[Path, list[int]]:
    from verify.bundle import build_bundle

    s = sqlite_services
    ids = [s.ingest_bytes(f.jpeg_bytes(f.photo(seed, (200, 150))), filename=f"p{seed}.jpg", actor="alice").item.id for seed in range(3)]
    s.record_verdict(ids[0], "false", "Recycled.", actor="bob")
    s.add_note(ids[1], "other item", actor="dan")
    s.add_warning(ids[0], "injury_blood", actor="bob")
    s.record_verdict(ids[0], "misattributed", "Other city.", actor="carol")
    path = build_bundle(s, [ids[0], ids[2]], tmp_path / "b.zip", actor="erin").path
    assert check_bundle(path).ok
    return path, ids


def _problems(path: Path) -> list[tuple[str, str | None, str]]:
    report = check_bundle(path)
    assert not report.ok
    return [(p.code, p.path, p.message) for p in report.problems]


def _flip(data: bytes, at: int = 200) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize("remanifest", [False, True], ids=["naive", "forger"])
def test_flipped_byte_in_an_original(bundle_zip: tuple[Path, list[int]], tmp_path: Path, remanifest: bool) -> None:
    path, ids = bundle_zip
    m = _members(path)
    name = f"items/{ids[0]}/original.jpg"
    m[name] = _flip(m[name])
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=remanifest))
    assert ("changed", name) in {(c, p) for c, p, _ in problems}
    if remanifest:  # the manifest agrees, but the ingested event in the chain names the real bytes
        assert any("not the file the desk received" in msg for _c, _p, msg in problems)


@pytest.mark.parametrize("remanifest", [False, True], ids=["naive", "forger"])
def test_edited_json_field(bundle_zip: tuple[Path, list[int]], tmp_path: Path, remanifest: bool) -> None:
    path, ids = bundle_zip
    m = _members(path)
    name = f"items/{ids[0]}/record.json"
    rec = json.loads(m[name])
    rec["verdict"]["status"] = "verified"
    m[name] = json.dumps(rec).encode()
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=remanifest))
    codes = {(c, p) for c, p, _ in problems}
    assert ("changed", name) in codes if not remanifest else ("record", name) in codes
    # and an edited event field: the verdict's rationale in the chain
    m = _members(path)
    lines = m["chain/events.jsonl"].decode().splitlines()
    i = next(k for k, line in enumerate(lines) if '"verdict_set"' in line)
    lines[i] = lines[i].replace("Recycled.", "Genuine.")
    m["chain/events.jsonl"] = ("\n".join(lines) + "\n").encode()
    problems = _problems(_write(tmp_path / "t2.zip", m, remanifest=remanifest))
    assert any(c == "event" and "was changed" in msg for c, _p, msg in problems)


@pytest.mark.parametrize("remanifest", [False, True], ids=["naive", "forger"])
def test_dropped_event(bundle_zip: tuple[Path, list[int]], tmp_path: Path, remanifest: bool) -> None:
    path, ids = bundle_zip
    m = _members(path)
    lines = m["chain/events.jsonl"].decode().splitlines()
    dropped = next(json.loads(line) for line in lines if '"warning_added"' in line)
    m["chain/events.jsonl"] = ("\n".join(line for line in lines if '"warning_added"' not in line) + "\n").encode()
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=remanifest))
    assert any(c == "event" and f"Event {dropped['id']} of item {ids[0]} was dropped" in msg for c, _p, msg in problems)
    # a forger who also drops its line from the links breaks the links
    links = m["chain/links.txt"].decode().splitlines()
    m["chain/links.txt"] = ("\n".join(line for line in links if not line.startswith(f"{dropped['id']} ")) + "\n").encode()
    problems = _problems(_write(tmp_path / "t2.zip", m, remanifest=True))
    assert any(c == "chain" and "broken" in msg for c, _p, msg in problems)


@pytest.mark.parametrize("remanifest", [False, True], ids=["naive", "forger"])
def test_reordered_events(bundle_zip: tuple[Path, list[int]], tmp_path: Path, remanifest: bool) -> None:
    path, _ids = bundle_zip
    m = _members(path)
    lines = m["chain/events.jsonl"].decode().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    m["chain/events.jsonl"] = ("\n".join(lines) + "\n").encode()
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=remanifest))
    assert any(c == "event" and "reordered" in msg for c, _p, msg in problems)
    links = m["chain/links.txt"].decode().splitlines()
    links[1], links[2] = links[2], links[1]
    m["chain/links.txt"] = ("\n".join(links) + "\n").encode()
    problems = _problems(_write(tmp_path / "t2.zip", m, remanifest=True))
    assert any(c == "chain" and "broken" in msg for c, _p, msg in problems)


def test_added_file(bundle_zip: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, _ids = bundle_zip
    m = _members(path)
    m["items/99/original.jpg"] = f.jpeg_bytes(f.photo(9, (64, 48)))
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=False))
    assert ("added", "items/99/original.jpg") in {(c, p) for c, p, _ in problems}


def test_removed_file(bundle_zip: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, ids = bundle_zip
    m = _members(path)
    name = f"items/{ids[2]}/original.jpg"
    del m[name]
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=False))
    assert ("removed", name) in {(c, p) for c, p, _ in problems}
    problems = _problems(_write(tmp_path / "t2.zip", dict(m), remanifest=True))
    assert any(c == "removed" and f"Item {ids[2]}: its original is not in the bundle" in msg for c, _p, msg in problems)


def test_swapped_manifest(bundle_zip: tuple[Path, list[int]], sqlite_services: Services, tmp_path: Path) -> None:
    from verify.bundle import build_bundle

    path, ids = bundle_zip
    other = build_bundle(sqlite_services, [ids[1]], tmp_path / "other.zip", actor="erin").path
    checked = check_bundle(other)  # an item whose span starts after other items' events
    assert checked.ok and checked.links_checked < len(sqlite_services.store.events())
    m = _members(path)
    m["manifest.json"] = _members(other)["manifest.json"]
    problems = _problems(_write(tmp_path / "t.zip", m, remanifest=False))
    codes = {(c, p) for c, p, _ in problems}
    assert ("manifest", "manifest.json") in codes
    assert any(c == "manifest" and "changed or replaced" in msg for c, _p, msg in problems)
    # and SHA256SUMS swapped along with it: the files no longer match what the manifest names
    m["SHA256SUMS"] = _members(other)["SHA256SUMS"]
    problems = _problems(_write(tmp_path / "t2.zip", m, remanifest=False))
    assert {c for c, _p, _m in problems} & {"added", "removed", "changed"}


def test_not_a_zip_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    proc = _cli("audit", "--bundle", str(bad))
    assert proc.returncode == 1 and "cannot be opened as a ZIP" in proc.stdout and "Traceback" not in proc.stderr
    hostile = tmp_path / "h.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr("../../etc/evil", b"x")
    report = check_bundle(hostile)
    assert not report.ok and any(p.code == "added" and "unsafe path" in p.message for p in report.problems)
    assert not (tmp_path.parent / "etc").exists()


def test_unknown_item_is_refused_and_nothing_written(sqlite_services: Services, sqlite_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    proc = _cli("bundle", "999", "--out", str(out), "--actor", "erin", *_store_args(sqlite_settings))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".b.zip*"))


def test_malformed_bundle_gets_a_verdict_not_a_traceback(bundle_zip: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, _ids = bundle_zip
    for patch in ({"files": {"report.html": "not a dict"}}, {"chain_head": "nope", "span": []}, {"items": ["x"]}):
        m = _members(path)
        manifest = json.loads(m["manifest.json"]) | patch
        m["manifest.json"] = json.dumps(manifest).encode()
        report = check_bundle(_write(tmp_path / "t.zip", m, remanifest=False))
        assert not report.ok and report.problems
    proc = _cli("audit", "--bundle", str(tmp_path / "t.zip"), "--json")
    assert proc.returncode == 1 and json.loads(proc.stdout)["verdict"] == "NOT INTACT" and "Traceback" not in proc.stderr


def test_a_copy_of_a_flagged_item_is_flagged_and_blurred(sqlite_services: Services, tmp_path: Path) -> None:
    """The recycled copy carries no warning of its own, but the archive picture it matches does."""
    import base64
    import re

    from PIL import Image, ImageFilter, ImageStat

    from verify.bundle import build_bundle

    s = sqlite_services
    picture = f.photo(21, (480, 360))
    old = s.ingest_bytes(f.jpeg_bytes(picture), filename="old.jpg", actor="alice").item
    s.add_warning(old.id, "injury_blood", actor="bob")
    new = s.ingest_bytes(f.jpeg_bytes(picture.resize((400, 300)), quality=70), filename="copy.jpg", actor="alice").item
    plain = s.ingest_bytes(f.jpeg_bytes(f.photo(22, (480, 360))), filename="plain.jpg", actor="alice").item
    path = build_bundle(s, [new.id, plain.id], tmp_path / "b.zip", actor="erin").path
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        page = zf.read("report.html").decode()
    assert manifest["content_warnings"] == [{"item_id": new.id, "path": f"items/{new.id}/original.jpg", "warnings": [], "from_matches": ["injury_blood"]}]
    previews = [base64.b64decode(b) for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", page)]
    assert len(previews) == 2

    def sharpness(data: bytes) -> float:
        return ImageStat.Stat(Image.open(io.BytesIO(data)).convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]

    assert sharpness(previews[0]) < sharpness(previews[1]) * 0.5, "the flagged copy's preview is blurred, the plain one is not"
    assert check_bundle(path).ok


def test_unpacked_and_zipped_again_in_a_folder_is_still_intact(bundle_zip: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, ids = bundle_zip
    unpacked = tmp_path / "case"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(unpacked)
    again = tmp_path / "again.zip"
    proc = subprocess.run([sys.executable, "-m", "zipfile", "-c", str(again), "case"], cwd=tmp_path, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    report = check_bundle(again)
    assert report.ok, report.problems
    assert any("inside a folder" in n for n in report.notes)
    with open(unpacked / "items" / str(ids[0]) / "original.jpg", "ab") as fh:  # and a change inside it is still named
        fh.write(b"x")
    again.unlink()
    subprocess.run([sys.executable, "-m", "zipfile", "-c", str(again), "case"], cwd=tmp_path, check=True)
    assert ("changed", f"items/{ids[0]}/original.jpg") in {(p.code, p.path) for p in check_bundle(again).problems}


def test_report_escapes_untrusted_strings_and_loads_nothing(sqlite_services: Services, tmp_path: Path) -> None:
    from verify.bundle import build_bundle
    from verify.models import Claim

    s = sqlite_services
    evil = "<script>alert(1)</script><img src=http://127.0.0.1:9/x>"
    item = s.ingest_bytes(f.jpeg_bytes(f.photo(5, (200, 150))), filename=f"{evil}.jpg", actor="alice",
                          claim=Claim(source=evil)).item  # fmt: skip
    s.record_verdict(item.id, "false", f"Because {evil}", actor=f"bob {evil}")
    path = build_bundle(s, [item.id], tmp_path / "b.zip", actor="erin").path
    with zipfile.ZipFile(path) as zf:
        page = zf.read("report.html").decode()
    assert "<script>" not in page and "<img src=http" not in page
    assert "&lt;script&gt;" in page and "default-src 'none'" in page
    assert check_bundle(path).ok


def test_export_refuses_a_modified_stored_original(sqlite_services: Services, tmp_path: Path) -> None:
    from verify.bundle import build_bundle
    from verify.errors import VerifyError

    item = sqlite_services.ingest_bytes(f.jpeg_bytes(f.photo(8, (200, 150))), filename="a.jpg", actor="alice").item
    stored = sqlite_services.original_path(item)
    stored.chmod(0o644)
    stored.write_bytes(_flip(stored.read_bytes()))
    with pytest.raises(VerifyError, match="MODIFIED"):
        build_bundle(sqlite_services, [item.id], tmp_path / "b.zip", actor="erin")
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*part"))
    assert not [e for e in sqlite_services.store.events(item.id) if e.kind == "exported"]


def test_verdicts_during_export_never_make_record_and_events_disagree(sqlite_services: Services, tmp_path: Path) -> None:
    import threading

    from verify.bundle import build_bundle

    s = sqlite_services
    item = s.ingest_bytes(f.jpeg_bytes(f.photo(9, (200, 150))), filename="a.jpg", actor="alice").item
    stop = threading.Event()

    def decide() -> None:
        n = 0
        while not stop.is_set():
            s.record_verdict(item.id, ("false", "verified")[n % 2], f"Decision {n}.", actor="bob")
            n += 1

    editor = threading.Thread(target=decide)
    editor.start()
    try:
        for k in range(6):
            path = build_bundle(s, [item.id], tmp_path / f"b{k}.zip", actor="erin", with_matches=False).path
            report = check_bundle(path)
            assert report.ok, report.problems
    finally:
        stop.set()
        editor.join(timeout=60)
