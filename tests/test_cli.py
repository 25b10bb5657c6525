"""The `verify` command as scripts see it: a real subprocess, JSON Lines, exit codes, summaries."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import procs
from factories import jpeg_bytes, photo, png_bytes, video, write

MATCH_KEYS = {"path", "sha256", "kind", "error", "matches", "candidates"}
MATCH_ENTRY_KEYS = {"sha256", "item_id", "filename", "score", "distance", "method", "query_time_s", "match_time_s", "first_seen_at", "source", "detail"}
META_KEYS = {"path", "sha256", "kind", "mime", "width", "height", "captured_at", "make", "model", "software",
             "orientation", "gps", "duration_s", "fps", "video_codec", "rotation", "c2pa", "error", "raw"}  # fmt: skip


def run(*args: str, data_dir: Path, db: str | None = None, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DB",)}
    env["VERIFY_DATA_DIR"] = str(data_dir)
    if db:
        env["VERIFY_DB"] = db
    cmd = [*prefix, sys.executable, "-m", "verify", *args]
    return procs.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "archive"
    for seed in range(4):
        write(d / f"photo{seed}.jpg", jpeg_bytes(photo(seed)))
    write(d / "sub" / "scan.png", png_bytes(photo(10, (400, 300))))
    video(d / "sub" / "clip.mp4", seconds=2, seed=3)
    write(d / "notes.txt", b"list of sources\n")
    return d


def test_index_then_match_end_to_end(folder: Path, data_dir: Path, db_url: str | None, tmp_path: Path) -> None:
    r = run("index", str(folder), "--source", "Aleppo Media Centre", "--first-seen", "2013-05-02", "--workers", "2", data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    assert "6 added, 0 already in the archive, 0 unreadable" in r.stdout
    assert "1 skipped" in r.stdout  # notes.txt: not media, not an error
    assert "Traceback" not in r.stderr

    query = write(tmp_path / "repost.jpg", jpeg_bytes(photo(2).resize((640, 480)), quality=60))
    r = run("match", str(query), "--json", data_dir=data_dir, db=db_url)
    assert r.returncode == 0, r.stderr
    (rec,) = jsonl(r.stdout)
    assert set(rec) == MATCH_KEYS
    assert rec["error"] is None and rec["kind"] == "image"
    assert rec["matches"], rec
    best = rec["matches"][0]
    assert set(best) == MATCH_ENTRY_KEYS
    assert best["filename"] == "photo2.jpg"
    assert best["source"] == "Aleppo Media Centre"
    assert best["first_seen_at"].startswith("2013-05-02")
    assert 0 < best["score"] <= 1


def test_index_is_resumable_and_idempotent(folder: Path, data_dir: Path) -> None:
    assert run("index", str(folder / "sub"), data_dir=data_dir).returncode == 0
    r = run("index", str(folder), data_dir=data_dir)
    assert r.returncode == 0
    assert "4 added, 2 already in the archive, 0 unreadable" in r.stdout
    r = run("index", str(folder), "--json", data_dir=data_dir)
    statuses = sorted(rec["status"] for rec in jsonl(r.stdout))
    assert statuses == ["present"] * 6 + ["skipped"]


def test_index_gives_pictures_from_an_earlier_version_their_keypoint_words(folder: Path, data_dir: Path) -> None:
    import sqlite3

    assert run("index", str(folder), data_dir=data_dir).returncode == 0
    db = sqlite3.connect(data_dir / "verify.sqlite3")
    count = "SELECT count(*) FROM fingerprint WHERE algorithm = 'orb-lsh-v1'"
    assert db.execute(count).fetchone()[0] == 5  # the five stills, not the video
    with db:
        db.execute("DELETE FROM fingerprint WHERE algorithm = 'orb-lsh-v1'")  # as an earlier version left it
    r = run("index", str(folder), data_dir=data_dir)
    assert r.returncode == 0
    assert "5 stored pictures given keypoint words" in r.stderr
    assert db.execute(count).fetchone()[0] == 5
    r = run("index", str(folder), data_dir=data_dir)
    assert "keypoint words" not in r.stderr  # once only
    db.close()


def test_match_json_for_unmatched_and_unreadable(folder: Path, data_dir: Path, tmp_path: Path) -> None:
    run("index", str(folder), data_dir=data_dir)
    other = write(tmp_path / "q" / "unrelated.jpg", jpeg_bytes(photo(99)))
    broken = write(tmp_path / "q" / "broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    r = run("match", str(other), str(broken), "--json", data_dir=data_dir)
    assert r.returncode == 0
    recs = {Path(rec["path"]).name: rec for rec in jsonl(r.stdout)}
    assert recs["unrelated.jpg"]["matches"] == [] and recs["unrelated.jpg"]["error"] is None
    assert recs["broken.jpg"]["error"] and recs["broken.jpg"]["matches"] == []
    assert "Traceback" not in r.stderr


def test_meta_json_has_the_contract_keys(tmp_path: Path, data_dir: Path) -> None:
    from factories import exif_bytes

    exif = exif_bytes(make="Canon", model="EOS 5D", datetime_original="2013:05:02 14:33:39", offset="+03:00", gps=(36.2021, 37.1343))
    f = write(tmp_path / "cam.jpg", jpeg_bytes(photo(1), exif=exif))
    clip = video(tmp_path / "clip.mp4", seconds=1)
    r = run("meta", str(f), str(clip), "--json", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    img, vid = jsonl(r.stdout)
    assert META_KEYS <= set(img) and META_KEYS <= set(vid)
    assert img["make"] == "Canon" and img["model"] == "EOS 5D"
    assert img["captured_at"] == "2013-05-02T14:33:39+03:00"
    assert abs(img["gps"]["lat"] - 36.2021) < 1e-4 and abs(img["gps"]["lon"] - 37.1343) < 1e-4
    assert vid["kind"] == "video" and vid["video_codec"] == "h264" and vid["width"] == 320
    assert 0.9 < vid["duration_s"] < 1.2


def test_hash_prints_fingerprints_and_stores_nothing(tmp_path: Path, data_dir: Path) -> None:
    f = write(tmp_path / "a.jpg", jpeg_bytes(photo(1)))
    r = run("hash", str(f), "--json", data_dir=data_dir)
    (rec,) = jsonl(r.stdout)
    assert rec["error"] is None and rec["fingerprints"]
    assert all(len(fp["hex"]) >= 16 for fp in rec["fingerprints"])
    assert not (data_dir / "verify.sqlite3").exists()


# -- bad input (issue 2): each a clear message, a non-crashing run, nothing partial stored ----------


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    d = tmp_path / "bad"
    good = jpeg_bytes(photo(1))
    write(d / "good.jpg", good)
    write(d / "zero.jpg", b"")
    write(d / "text.jpg", b"This is a press release, not a photo.\n" * 20)
    write(d / "truncated.jpg", good[: len(good) // 2])
    write(d / "truncated.png", png_bytes(photo(2))[:3000])
    clip = video(tmp_path / "clip.mp4", seconds=2)
    write(d / "truncated.mp4", clip.read_bytes()[:2000])
    write(d / "bomb.png", png_claiming(100_000, 100_000))
    write(d / "evil\x1b[2J\nname.jpg", b"\x00\x01junk")
    (d / "loop").mkdir()
    os.symlink(d, d / "loop" / "back")  # a directory symlink loop
    os.mkfifo(d / "pipe.jpg")  # opening this would block forever
    return d


def test_index_survives_every_bad_input(bad_folder: Path, data_dir: Path) -> None:
    r = run("index", str(bad_folder), data_dir=data_dir)
    assert r.returncode == 0, r.stderr  # something could be done: the good file
    assert "1 added" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    text = r.stdout
    assert "zero.jpg: The file is empty (0 bytes)." in text
    assert "text.jpg: This is a text file" in text
    assert "truncated.jpg:" in text and "truncated.png:" in text and "truncated.mp4:" in text
    assert "bomb.png: The image claims too many pixels" in text
    assert "pipe.jpg: is not a regular file" in text
    assert "evil\\x1b[2J\\x0aname.jpg" in text  # control characters escaped, never echoed raw
    assert "\x1b" not in r.stdout + r.stderr
    assert "back: is a symbolic link to a folder" in text or "back" not in text
    # nothing partial: exactly one row, one original, nothing in .incoming
    from verify.config import load_settings
    from verify.services import Services

    s = Services(load_settings(data_dir=data_dir))
    assert s.store.count_items() == 1
    assert len(list(s.blobs.iter_shas())) == 1
    assert list(s.blobs.iter_incoming()) == []
    s.close()


def test_index_exits_nonzero_only_when_nothing_could_be_done(tmp_path: Path, data_dir: Path) -> None:
    d = tmp_path / "allbad"
    write(d / "zero.jpg", b"")
    write(d / "text.jpg", b"not an image")
    r = run("index", str(d), data_dir=data_dir)
    assert r.returncode == 1
    assert "0 added" in r.stdout and "2 unreadable" in r.stdout
    r = run("index", str(tmp_path / "missing"), data_dir=data_dir)
    assert r.returncode == 1 and "does not exist" in r.stderr + r.stdout


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_permissions(tmp_path: Path) -> None:
    d = tmp_path / "perm"
    write(d / "good.jpg", jpeg_bytes(photo(1)))
    secret = write(d / "secret.jpg", jpeg_bytes(photo(2)))
    secret.chmod(0o000)
    data = tmp_path / "pdata"
    data.mkdir()
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root reads everything: drop the capabilities that bypass file modes
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")
    r = run("index", str(d), data_dir=data, prefix=prefix)
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout
    assert "secret.jpg: cannot be read: Permission denied" in r.stdout
    assert "Traceback" not in r.stderr


def test_upload_filename_with_traversal_and_control_characters(sqlite_services) -> None:
    res = sqlite_services.ingest_bytes(jpeg_bytes(photo(3)), filename="../../etc/passwd\x1b[31m\r\n.jpg", actor="amal")
    assert res.item.filename == "passwd_[31m__.jpg"
    stored = sqlite_services.original_path(res.item)
    assert stored.parent.parent.parent == sqlite_services.blobs.root
