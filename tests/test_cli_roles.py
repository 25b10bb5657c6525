"""Roles from the shell (issue 17): `verify role grant/list`, and refusals as one line, exit 1."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import procs
from factories import jpeg_bytes, photo, write


def run(*args: str, data_dir: Path, db: str | None, actor: str | None = None):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DB", "VERIFY_ACTOR")}
    env["VERIFY_DATA_DIR"] = str(data_dir)
    if db:
        env["VERIFY_DB"] = db
    if actor:
        env["VERIFY_ACTOR"] = actor
    return procs.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, env=env, timeout=300)


def events(data_dir: Path, db: str | None) -> int:
    from verify.config import load_settings
    from verify.store import Store

    store = Store(load_settings(data_dir=data_dir, db_url=db).database_url)
    try:
        return store.chain_head()[1]
    finally:
        store.close()


def test_role_commands_and_refusals(tmp_path: Path, data_dir: Path, db_url: str | None) -> None:
    r = run("role", "list", data_dir=data_dir, db=db_url)
    assert r.returncode == 0 and "everyone who uses this desk is admin" in r.stdout
    r = run("role", "grant", "rita", "reporter", "--actor", "alice", "--reason", "new on the desk", data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    assert "alice is admin" in r.stdout and "rita is now reporter" in r.stdout
    r = run("role", "list", "--json", data_dir=data_dir, db=db_url)
    rows = {row["name"]: row for row in map(json.loads, r.stdout.splitlines())}
    assert rows["alice"]["role"] == "admin" and rows["rita"] == {**rows["rita"], "role": "reporter", "granted_by": "alice", "reason": "new on the desk"}

    before = events(data_dir, db_url)
    # A reporter cannot grant roles: one line naming her, her role and the role needed.
    r = run("role", "grant", "rita", "admin", "--actor", "rita", data_dir=data_dir, db=db_url)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0
    assert "rita is a reporter" in r.stderr and "admin role" in r.stderr
    # A viewer (anyone without a grant) cannot index, import hashes, run doctor or back up.
    pic = write(tmp_path / "in" / "a.jpg", jpeg_bytes(photo(5)))
    hashes = tmp_path / "list.txt"
    hashes.write_text("pdq " + "f" * 64 + "\n")
    for args in (("index", str(pic.parent)), ("import-hashes", str(hashes), "--bank", "partner"), ("doctor",),
                 ("backup", str(tmp_path / "bk"))):  # fmt: skip
        r = run(*args, data_dir=data_dir, db=db_url, actor="victor")
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "victor is a viewer" in r.stderr, (args, r.stderr)
    assert events(data_dir, db_url) == before
    assert not (tmp_path / "bk").exists()
    # The reporter may index.
    r = run("index", str(pic.parent), "--json", data_dir=data_dir, db=db_url, actor="rita")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["status"] == "added"
