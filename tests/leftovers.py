"""The end-of-session check: no process the test run started may outlive it.

Two ways to recognise a process of this run, read from ``/proc``:

* its parent chain leads to the pytest process (a child or grandchild still attached);
* its environment carries ``PYTEST_VERIFY_RUN=<this run's id>``. Set in ``os.environ`` when the
  session starts, it is inherited by everything started afterwards (Streamlit servers, sandbox
  workers, worker pools, browsers), and it stays readable in ``/proc/PID/environ`` after the
  process was reparented to init: that is how an orphan of a killed server is still found. The
  name does not start with ``VERIFY_`` on purpose: several tests drop every ``VERIFY_`` setting
  from the environment they give the workbench.

Processes started during a test also carry pytest's own ``PYTEST_CURRENT_TEST``, so the report
names the test that started each leftover.

Helpers that legitimately live as long as the pytest process are released first (the
per-process default sandbox, Streamlit's cached desks with their sandboxes) and multiprocessing's
resource tracker is ignored (it ends with its parent). Whatever is left is killed, named, and the
run fails.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

MARK = "PYTEST_VERIFY_RUN"
PROC = Path("/proc")
#: Helper processes that end with their parent by design.
IGNORED_CMDLINES = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
_GRACE_S = 10.0


@dataclass(frozen=True)
class Leftover:
    pid: int
    cmdline: str
    started_by: str | None  # the test running when it was started (PYTEST_CURRENT_TEST)
    how: str  # "child" (parent chain) or "orphan" (environment marker only)

    def describe(self) -> str:
        who = f", started during {self.started_by}" if self.started_by else ""
        return f"pid {self.pid} ({self.how}{who}): {self.cmdline[:300]}"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (OSError, ValueError):  # gone meanwhile, another user's process, a kernel thread
        return None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from /proc/PID/stat (the command name may contain spaces and parens)."""
    raw = _read(PROC / str(pid) / "stat")
    if not raw:
        return None
    text = raw.decode(errors="replace")
    rest = text[text.rfind(")") + 2 :].split()
    try:
        return rest[0], int(rest[1])
    except (IndexError, ValueError):
        return None


def _environ(pid: int) -> dict[str, str]:
    raw = _read(PROC / str(pid) / "environ") or b""
    env: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def _cmdline(pid: int) -> str:
    raw = _read(PROC / str(pid) / "cmdline") or b""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def find(run_id: str, root_pid: int) -> list[Leftover]:
    """Live processes (not zombies) that descend from ``root_pid`` or carry ``run_id``; not ``root_pid``
    itself nor its ancestors."""
    stats: dict[int, tuple[str, int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                stats[int(entry.name)] = st
    ancestors = {root_pid}
    pid = root_pid
    while pid in stats and stats[pid][1] > 0:
        pid = stats[pid][1]
        ancestors.add(pid)

    def descends(p: int) -> bool:
        seen = 0
        while p in stats and seen < 1000:
            p = stats[p][1]
            if p == root_pid:
                return True
            seen += 1
        return False

    found: list[Leftover] = []
    for pid, (state, _ppid) in sorted(stats.items()):
        if pid in ancestors or state in ("Z", "X"):
            continue
        child = descends(pid)
        env = _environ(pid)
        marked = env.get(MARK) == run_id
        if not (child or marked):
            continue
        cmd = _cmdline(pid)
        if any(name in cmd for name in IGNORED_CMDLINES):
            continue
        found.append(Leftover(pid, cmd or f"[{pid}]", env.get("PYTEST_CURRENT_TEST"), "child" if child else "orphan"))
    return found


def kill(leftovers: list[Leftover]) -> None:
    """SIGKILL each leftover by its pid (never by name, never our own group)."""
    for lo in leftovers:
        try:
            os.kill(lo.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _release_session_helpers() -> None:
    """Close what rightly lives as long as the pytest process, before looking for leftovers."""
    sandbox = sys.modules.get("verify.sandbox")
    if sandbox is not None:
        for box in list(getattr(sandbox, "_default", {}).values()):
            try:
                box.close()
            except Exception:
                pass
    if "streamlit" in sys.modules:
        try:
            import streamlit as st

            st.cache_resource.clear()  # releases cached desks, which close their sandboxes
        except Exception:
            pass


# -- the hooks (imported into tests/conftest.py) ------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    run_id = uuid.uuid4().hex
    os.environ[MARK] = run_id  # inherited by every process started from here on
    config.stash[_RUN_KEY] = run_id


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run_id = session.config.stash.get(_RUN_KEY, None)
    if run_id is None:
        return
    _release_session_helpers()
    me = os.getpid()
    deadline = time.monotonic() + _GRACE_S
    left = find(run_id, me)
    while left and time.monotonic() < deadline:  # a process that is shutting down gets a moment
        time.sleep(0.2)
        left = find(run_id, me)
    if not left:
        return
    kill(left)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests were still running at the end of the session "
             "(now killed); every test must stop what it starts, in its own process group:"]
    lines += ["  " + lo.describe() for lo in left]
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", "processes left running", red=True)
        for line in lines:
            reporter.write_line(line, red=True)
    else:  # pragma: no cover - run without the terminal plugin
        print("\n".join(lines), file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_RUN_KEY = pytest.StashKey[str]()
