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
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
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
    subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", "-e", "signal=none", "-o", str(log), sys.executable, "-c", code], timeout=60)
    assert any("192.0.2.1" in line for line in _connects(log.read_text()))
