"""Named steps of one file's analysis, so a time limit that fires can say which step ran out.

A reader wraps its work in ``with step("Reading the metadata"):``. Outside the decoding sandbox
that costs a list append and nothing is reported; inside a sandbox worker (``verify.sandbox``
installs a reporter) each change of step is sent to the parent, which names the step in its
message when the limit fires ("Reading the metadata took longer than 20 seconds ...") and can
size the limit to the work once the worker knows it (``report_duration`` for a video's length).

Standard library only, so any module may use it without depending on the sandbox.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()
_reporter: Callable[[tuple[str, object]], None] | None = None


def _stack() -> list[str]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def set_reporter(reporter: Callable[[tuple[str, object]], None] | None) -> None:
    """Send step changes to ``reporter`` (the sandbox worker's connection), or stop sending."""
    global _reporter
    _reporter = reporter


def current() -> str | None:
    """The innermost step running in this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


def _report(message: tuple[str, object]) -> None:
    if _reporter is not None:
        try:
            _reporter(message)
        except Exception:  # a report that cannot be sent must never fail the work itself
            pass


@contextmanager
def step(name: str) -> Iterator[None]:
    """Mark the enclosed work as ``name`` (plain words, capitalised, e.g. "Reading the metadata")."""
    stack = _stack()
    stack.append(name)
    _report(("step", name))
    try:
        yield
    finally:
        stack.pop()
        _report(("step", stack[-1] if stack else None))


def report_duration(seconds: float | None) -> None:
    """Tell the sandbox how long the video being analysed is, so its limit can grow with it."""
    _report(("duration", seconds))
