"""The test suite cleans up after itself (issue 11, point 6).

``procs`` stops a process with everything in its group, also on a timeout; ``leftovers`` finds what
a run left behind (children still attached, and orphans reparented to init by the environment
marker), and a whole pytest run that leaks a process fails, naming the test and the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import leftovers
import procs

TESTS = Path(__file__).resolve().parent


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture
def strays() -> Iterator[list[int]]:
    """Pids a test deliberately leaves running; killed at the end whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _orphan(env: dict[str, str], strays: list[int]) -> int:
    """A `sleep` whose parent shell has exited: reparented to init (or the nearest subreaper)."""
    out = subprocess.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"], env=env, capture_output=True, text=True,
                         timeout=30, start_new_session=True)  # fmt: skip
    pid = int(out.stdout.strip())
    strays.append(pid)
    return pid


def test_an_orphan_is_found_by_its_marker_and_another_runs_is_not(strays: list[int]) -> None:
    mine, theirs = "run-mine-" + os.urandom(4).hex(), "run-theirs-" + os.urandom(4).hex()
    env = dict(os.environ, **{leftovers.MARK: mine}, PYTEST_CURRENT_TEST="tests/x.py::test_leaky (call)")
    orphan = _orphan(env, strays)
    other = _orphan(dict(os.environ, **{leftovers.MARK: theirs}), strays)
    found = {lo.pid: lo for lo in leftovers.find(mine, os.getpid())}
    assert orphan in found and other not in found
    assert found[orphan].how == "orphan" and found[orphan].started_by == "tests/x.py::test_leaky (call)"
    assert "sleep 300" in found[orphan].describe()
    leftovers.kill([found[orphan]])
    assert _wait_gone(orphan)


def test_a_child_without_the_marker_is_found_by_its_parent_chain(strays: list[int]) -> None:
    env = {k: v for k, v in os.environ.items() if k != leftovers.MARK}
    child = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    strays.append(child.pid)
    try:
        found = {lo.pid: lo for lo in leftovers.find("no-such-run", os.getpid())}
        assert found[child.pid].how == "child"
    finally:
        procs.stop(child)
    assert child.pid not in {lo.pid for lo in leftovers.find("no-such-run", os.getpid())}


def test_stop_ends_the_whole_group_even_when_the_leader_ignores_sigterm(strays: list[int], tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    leader = procs.start(["sh", "-c", f"trap '' TERM; sleep 300 & echo $! > {pidfile}; wait"])
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    strays.append(grandchild)
    procs.stop(leader, grace_s=1)
    assert leader.returncode is not None
    assert _wait_gone(grandchild)


def test_run_with_a_timeout_ends_the_grandchildren_too(strays: list[int], tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["sh", "-c", f"sleep 300 & echo $! > {pidfile}; sleep 300"], timeout=1)
    grandchild = int(pidfile.read_text())
    strays.append(grandchild)
    assert _wait_gone(grandchild)  # subprocess.run would have left this one running


def test_sandbox_workers_carry_the_marker_and_end_with_close() -> None:
    from verify.sandbox import Sandbox

    run_id = os.environ[leftovers.MARK]
    box = Sandbox(timeout_s=60, memory_bytes=None, workers=1)
    try:
        worker_pid = box.call(os.getpid)
        found = {lo.pid: lo for lo in leftovers.find(run_id, os.getpid())}
        assert worker_pid in found  # a child now, and an orphan with the marker if this process died
        assert leftovers._environ(worker_pid).get(leftovers.MARK) == run_id
    finally:
        box.close()
    assert _wait_gone(worker_pid)


INNER_CONFTEST = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(TESTS)!r})
    from leftovers import pytest_configure, pytest_sessionfinish  # noqa: F401
    """
)

INNER_TESTS = textwrap.dedent(
    """
    import subprocess
    from pathlib import Path

    import procs


    def test_tidy(tmp_path):
        proc = procs.start(["sleep", "300"])
        procs.stop(proc)


    def test_leaky():
        proc = subprocess.Popen(["sleep", "301"], start_new_session=True)  # never stopped
        Path("leaked.pid").write_text(str(proc.pid))


    def test_leaky_sandbox():
        from verify.sandbox import Sandbox
        import os

        box = Sandbox(timeout_s=60, memory_bytes=None, workers=1)
        Path("worker.pid").write_text(str(box.call(os.getpid)))  # never closed
    """
)


def _inner_run(tmp_path: Path, tests: str, strays: list[int]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
    (tmp_path / "test_inner.py").write_text(tests)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent / "src"), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    try:
        return procs.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
                         timeout=300, capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip
    finally:
        for name in ("leaked.pid", "worker.pid"):
            if (tmp_path / name).exists():
                strays.append(int((tmp_path / name).read_text()))


def test_a_run_that_leaks_a_process_fails_and_names_it(tmp_path: Path, strays: list[int]) -> None:
    done = _inner_run(tmp_path, INNER_TESTS, strays)
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "3 passed" in out, out  # every test passed; the run fails for what it left behind
    assert "processes left running" in out, out
    assert "test_inner.py::test_leaky (call)" in out and "sleep 301" in out, out
    assert "test_inner.py::test_leaky_sandbox (call)" in out and "verify.sandbox" in out, out
    assert "test_tidy" not in out.split("processes left running", 1)[1], out
    leaked, worker = int((tmp_path / "leaked.pid").read_text()), int((tmp_path / "worker.pid").read_text())
    assert _wait_gone(leaked) and _wait_gone(worker)  # and the check killed them


def test_a_tidy_run_passes(tmp_path: Path, strays: list[int]) -> None:
    done = _inner_run(tmp_path, INNER_TESTS.split("def test_leaky():")[0], strays)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "processes left running" not in out
