"""Access and privacy: identified editors only, no outbound network by default, no leaky errors.

The browser half (untrusted strings never rendered as HTML or markdown, error pages without server
paths) is in tests/test_security_browser.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import factories as f
import procs
from verify.errors import NotAllowed
from verify.services import Services, require_actor

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("anonymous", [None, "", "   ", "\t\n"])
def test_only_identified_editors_change_warnings_and_verdicts(services: Services, anonymous: str | None) -> None:
    item = services.ingest_bytes(f.jpeg_bytes(f.photo(1, (96, 72))), filename="a.jpg", actor="alice").item
    before = len(services.store.events())
    with pytest.raises(NotAllowed, match="Say who you are"):
        services.add_warning(item.id, "graphic_violence", actor=anonymous)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        services.remove_warning(item.id, "graphic_violence", actor=anonymous)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        services.record_verdict(item.id, "false", "Because.", actor=anonymous)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        services.ingest_bytes(f.jpeg_bytes(f.photo(2, (96, 72))), filename="b.jpg", actor=anonymous)  # type: ignore[arg-type]
    if hasattr(services, "add_note"):
        with pytest.raises(NotAllowed):
            services.add_note(item.id, "note", actor=anonymous)  # type: ignore[arg-type]
    assert len(services.store.events()) == before  # nothing was recorded
    state = services.add_warning(item.id, "graphic_violence", actor="bob")
    assert state.warnings[0].added_by == "bob" and services.store.events()[-1].actor == "bob"


def test_editor_names_are_recorded_as_plain_text(sqlite_services: Services) -> None:
    assert require_actor("  ann\x1b[31m\r\nsmith ") == "ann [31m  smith"
    assert len(require_actor("x" * 10_000)) == 200
    item = sqlite_services.ingest_bytes(f.jpeg_bytes(f.photo(3, (96, 72))), filename="c.jpg", actor="alice").item
    sqlite_services.record_verdict(item.id, "verified", "ok", actor="eve\nverdict_set by admin")
    assert "\n" not in sqlite_services.store.events()[-1].actor


def test_workbench_config_hides_errors_and_sends_nothing_home() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks or server paths in the browser
    assert config["browser"]["gatherUsageStats"] is False  # no usage statistics to Streamlit's servers
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 4096


def _connects(trace: str) -> list[str]:
    """Outbound connect() calls in an strace log, other than local sockets and loopback."""
    bad = []
    for line in trace.splitlines():
        if "connect(" not in line or "AF_UNIX" in line or "AF_NETLINK" in line:
            continue
        if re.search(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|"::ffff:127\.', line):
            continue
        bad.append(line.strip())
    return bad


def test_cli_makes_no_outbound_connections(tmp_path: Path) -> None:
    """index, meta (including the C2PA reader), match and audit, traced at the system-call level."""
    strace = shutil.which("strace")
    folder = tmp_path / "in"
    f.write(folder / "a.jpg", f.jpeg_bytes(f.photo(1), exif=f.exif_bytes(make="Canon", gps=(48.85, 2.35))))
    f.write(folder / "b.png", f.png_bytes(f.photo(2, (200, 150))))
    f.video(folder / "c.mp4", seconds=1, fps=5, size=(96, 64), seed=3, gop=5, metadata={"location": "+48.85+002.35/"})
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DB", "VERIFY_MAP_TILES")}
    env.update(VERIFY_DATA_DIR=str(tmp_path / "data"), VERIFY_ACTOR="net-test")
    commands = [["index", str(folder)], ["meta", str(folder), "--json"], ["match", str(folder), "--json"], ["audit"]]
    for args in commands:
        log = tmp_path / f"trace-{args[0]}.txt"
        if strace:
            cmd = [strace, "-f", "-qq", "-e", "trace=connect", "-e", "signal=none", "-o", str(log), sys.executable, "-m", "verify", *args]
        else:  # fall back to Python's audit hooks (sees Python-level sockets only)
            hook = (
                "import sys\n"
                f"log = open({str(log)!r}, 'w')\n"
                "def h(event, a):\n"
                "    if event == 'socket.connect': log.write(f'connect({a[1]!r})\\n'); log.flush()\n"
                "sys.addaudithook(h)\n"
                f"sys.argv = ['verify', *{args!r}]\n"
                "from verify.cli import main; main()\n"
            )
            cmd = [sys.executable, "-c", hook]
        proc = procs.run(cmd, capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        trace = log.read_text() if log.exists() else ""
        if not strace:
            trace = "\n".join(line for line in trace.splitlines() if "('127." not in line and "'/" not in line)
        assert _connects(trace) == [], f"verify {args[0]} reached out: {_connects(trace)[:5]}"


def test_the_trace_would_see_a_connection(tmp_path: Path) -> None:
    """Control: the same tracing catches a process that does reach out (so the test above can fail)."""
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("strace is not installed; the audit-hook fallback is used above")
    log = tmp_path / "trace.txt"
    code = "import socket; s = socket.socket(); s.settimeout(0.1)\ntry: s.connect(('192.0.2.1', 80))\nexcept OSError: pass"
    procs.run([strace, "-f", "-qq", "-e", "trace=connect", "-e", "signal=none", "-o", str(log), sys.executable, "-c", code], timeout=60)
    assert any("192.0.2.1" in line for line in _connects(log.read_text()))


def _exiftool_tags(path: Path) -> dict[str, object]:
    import json as _json

    out = subprocess.run(["exiftool", "-j", "-a", "-G1", "-n", str(path)], capture_output=True, text=True, timeout=60)
    return _json.loads(out.stdout)[0]


PRIVATE = re.compile(r"GPS|Make|Model|Serial|Software|Artist|Creator|Owner|Location|Author|Comment|(?<!Handler)Description", re.I)


def test_exports_strip_gps_and_device_data_per_exiftool(tmp_path: Path) -> None:
    """An independent reader (ExifTool) finds no location or device data in exported media."""
    if not shutil.which("exiftool"):
        pytest.skip("exiftool is not installed")
    from PIL import PngImagePlugin

    from verify.report import stripped_media

    exif = f.exif_bytes(make="Canon", model="EOS R5", software="Lightroom", gps=(50.45, 30.52), datetime_original="2024:01:02 03:04:05")
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           b'exif:GPSLatitude="50,27.0N" exif:GPSLongitude="30,31.2E"><dc:creator>Source Name</dc:creator>'
           b"</rdf:Description></rdf:RDF></x:xmpmeta>")  # fmt: skip
    im = f.photo(8, (320, 240))
    jpeg = tmp_path / "in.jpg"
    im.save(jpeg, "JPEG", exif=exif, xmp=xmp)
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Source Name")
    info.add_text("Comment", "taken at 50.45, 30.52")
    png = tmp_path / "in.png"
    im.save(png, "PNG", pnginfo=info, exif=exif)
    mp4 = f.video(tmp_path / "in.mp4", seconds=1, fps=5, size=(96, 64), seed=2, gop=5,
                  metadata={"location": "+50.4500+030.5200/", "make": "Apple", "model": "iPhone 15", "comment": "secret"})  # fmt: skip
    for src, kind in ((jpeg, "image"), (png, "image"), (mp4, "video")):
        before = [k for k in _exiftool_tags(src) if PRIVATE.search(k.split(":")[-1])]
        assert before, f"the {src.suffix} fixture should carry private tags"
        data, ext, _ = stripped_media(src, kind)
        out = tmp_path / f"out-{src.stem}.{ext}"
        out.write_bytes(data)
        tags = _exiftool_tags(out)
        leaked = {k: v for k, v in tags.items() if PRIVATE.search(k.split(":")[-1]) and not k.startswith(("System:", "ExifTool:", "File:"))}
        assert leaked == {}, f"{src.name}: exported copy still carries {leaked}"
        assert b"Source Name" not in data and b"Canon" not in data and b"iPhone" not in data
