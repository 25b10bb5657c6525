"""Processes the tests start: each in its own process group, stopped as a group.

A Streamlit server starts sandbox workers; ``verify index`` starts a worker pool, and each worker
a decoder. Killing only the process the test started leaves those running, reparented to init,
for hours (issue 11, point 6). So every process a test starts runs in a new session
(``start_new_session=True``: its own process group, no controlling terminal), and stopping it
means ``os.killpg`` on that group: SIGTERM, a grace period, then SIGKILL, also when the test
failed or timed out (callers stop in a ``finally`` or a fixture finalizer).

``leftovers`` (with the hook in ``conftest.py``) is the net under all of this: at the end of the
session it lists what is still alive, kills it and fails the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any


def start(cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` in a process group of its own (stop it with ``stop``)."""
    kwargs.pop("start_new_session", None)
    return subprocess.Popen(list(cmd), start_new_session=True, **kwargs)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process of it is left."""
    if pgid == os.getpgrp():  # never our own group (a process not started by ``start``)
        return False
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a group we cannot signal is not ours
        return False
    return True


def _group_alive(pgid: int) -> bool:
    return _signal_group(pgid, 0)


def stop(proc: subprocess.Popen[Any], grace_s: float = 15.0) -> None:
    """End ``proc`` and everything in its process group: SIGTERM, up to ``grace_s``, then SIGKILL.

    The group outlives its leader while any member runs, so the group is signalled (and waited
    for) even when the leader has already exited.
    """
    pgid = proc.pid  # a session leader's group id is its pid
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None or _group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


class Processes:
    """Processes one test starts (the ``processes`` fixture); all stopped, by group, when it ends."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def start(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc = start(cmd, **kwargs)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            stop(proc)


def run(cmd: Sequence[str], *, timeout: float, input: str | bytes | None = None, capture_output: bool = False,
        check: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` whose whole process group ends with it, also on a timeout.

    ``subprocess.run`` kills only the direct child when the timeout fires; worker pools and
    decoders it started would live on.
    """
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    proc = start(cmd, **kwargs)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stop(proc, grace_s=2)
        raise subprocess.TimeoutExpired(exc.cmd, timeout) from None
    finally:
        if proc.poll() is None or _group_alive(proc.pid):
            stop(proc, grace_s=5)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done
