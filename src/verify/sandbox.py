"""Decode untrusted files in a child process with a time limit and a memory ceiling.

Codecs (libjpeg, libpng, libwebp, libheif, FFmpeg) are C code fed by strangers. Pillow's pixel
limit stops the obvious bombs, but a codec can still loop, allocate without bound or crash. So
``analyse`` can run in a separate process started with ``spawn`` (no inherited threads, locks or
database connections), whose address space is capped with ``RLIMIT_AS`` and which is killed when
it overruns ``settings.decode_timeout_s``. A hang, a crash or an out-of-memory costs that one file
an ``UnreadableMedia``/``TooLarge`` message; the workbench or the CLI run carries on.

Time limits are sized to the work (``TimeLimits``): a still picture gets ``still_s`` (20 s by
default: a 12 MP photo takes well under a second here), a video gets ``VIDEO_SECONDS_PER_SECOND``
seconds per second of footage between ``video_min_s`` and ``video_max_s``, its length read by
the worker before the long part starts. ``VERIFY_DECODE_TIMEOUT``, when set, is one fixed limit
for every file instead, as before. The worker reports which step it is in (``verify.steps``), so
the message names the step that ran out ("Reading the metadata took longer than 20 seconds").

Workers are kept warm and reused (importing the codecs takes a second); one that timed out,
crashed or ran out of memory is discarded and replaced on the next call.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from verify import errors
from verify.config import Settings
from verify.errors import TooLarge, UnreadableMedia, VerifyError

#: Address-space ceiling per decoding process. Virtual size, not resident memory: the imported
#: codecs (PyAV, OpenCV) alone reserve about 0.6 GB of address space, so this is set generously;
#: a 150-megapixel image (the pixel limit) still decodes within it.
DEFAULT_MEMORY_BYTES = 4 * 1024**3
#: Startup (importing Pillow, PyAV, OpenCV) is not counted against the decode time limit.
STARTUP_TIMEOUT_S = 120.0
#: Recycle a worker after this many files, so slow leaks in a codec cannot accumulate.
MAX_CALLS_PER_WORKER = 500
#: Seconds of analysis allowed per second of video. Fingerprinting runs at 15-40x real time on
#: 720p here (docs/benchmarks.md), so this leaves room for 4K, slow codecs and a busy machine.
VIDEO_SECONDS_PER_SECOND = 1.0
#: The step named when a limit fires before any reader said what it was doing.
DEFAULT_STEP = {"image": "Decoding the picture", "video": "Decoding the video", None: "Decoding the file"}


@dataclass(frozen=True)
class TimeLimits:
    """How long one file's analysis may take; ``fixed_s`` (``VERIFY_DECODE_TIMEOUT``) overrides all."""

    still_s: float = 20.0
    video_min_s: float = 60.0
    video_max_s: float = 3600.0
    fixed_s: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TimeLimits:
        defaults = cls()
        return cls(
            still_s=getattr(settings, "still_timeout_s", None) or defaults.still_s,
            video_min_s=getattr(settings, "video_timeout_min_s", None) or defaults.video_min_s,
            video_max_s=getattr(settings, "video_timeout_max_s", None) or defaults.video_max_s,
            fixed_s=getattr(settings, "decode_timeout_s", None),
        )

    def for_kind(self, kind: str | None) -> float:
        """The limit before anything is known but the kind: a video starts at its floor."""
        if self.fixed_s is not None:
            return self.fixed_s
        return self.video_min_s if kind == "video" else self.still_s

    def for_video(self, duration_s: float | None) -> float:
        """A video's limit once its length is known (unknown length: the floor)."""
        if self.fixed_s is not None:
            return self.fixed_s
        if not duration_s or duration_s <= 0:
            return self.video_min_s
        return min(self.video_max_s, max(self.video_min_s, VIDEO_SECONDS_PER_SECOND * duration_s))


def limit_memory(max_bytes: int | None) -> None:
    """Cap this process's address space; allocations beyond it fail with ``MemoryError``."""
    if not max_bytes:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (``kill -9``, the OOM killer).

    Without it, worker processes of a killed ``verify index`` (and their decoders) linger forever,
    blocked on a queue whose other end is gone. A no-op where ``prctl`` does not exist.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        parent = os.getppid()
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    except Exception:
        pass


def _warm_up(light: bool = False) -> None:
    """Import everything ``analyse`` loads lazily (PyAV, OpenCV, the metadata readers), so the
    decode time limit measures decoding, not a second of imports on the first file.
    ``light``: only what hashing needs (``verify hash``: no store, no metadata readers)."""
    import importlib

    if light:
        import verify.batch  # noqa: F401
        import verify.fingerprints  # noqa: F401

    else:
        import verify.services  # noqa: F401

    for name in ("av", "cv2") if light else ("av", "cv2", "verify.metadata.image", "verify.metadata.video", "verify.metadata.c2pa", "verify.metadata.exiftool"):
        try:
            importlib.import_module(name)
        except Exception:  # optional parts: the call itself reports what is missing
            pass


def _serve(conn: Connection, memory_bytes: int | None, light: bool = False) -> None:
    """The child's loop: run each requested call, send back a tagged result, never a traceback.

    No ``die_with_parent`` here: Linux ties that to the *thread* that started the child, and the
    workbench starts decoders from short-lived script threads. The child exits instead when its
    socket reports end-of-file, which happens when the parent process goes, however it goes.
    """
    _warm_up(light)
    limit_memory(memory_bytes)
    from verify import steps

    steps.set_reporter(conn.send)  # step changes travel to the parent ahead of the reply
    conn.send(("ready",))
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        try:
            result = fn(*args, **kwargs)
            reply: tuple[Any, ...] = ("ok", result)
        except VerifyError as exc:
            reply = ("verify", type(exc).__name__, str(exc))
        except MemoryError:
            reply = ("memory",)
        except BaseException as exc:  # a codec bug costs this file only
            reply = ("error", type(exc).__name__)
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory",))
        except Exception as exc:  # unpicklable result
            conn.send(("error", type(exc).__name__))


class _Worker:
    """One decoding process, started as ``python -m verify.sandbox FD MEMORY``.

    A plain subprocess rather than ``multiprocessing`` spawn: spawn re-imports the parent's main
    module, which under Streamlit is the app runner itself. Requests and replies travel as pickles
    over a socket pair, so whatever a codec prints on stdout or stderr cannot corrupt them.
    """

    def __init__(self, memory_bytes: int | None, light: bool = False) -> None:
        import socket
        import subprocess
        import sys

        parent_sock, child_sock = socket.socketpair()
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "verify.sandbox", str(child_sock.fileno()), str(memory_bytes or 0), *(["light"] if light else [])],
                pass_fds=[child_sock.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.calls = 0
        if not self.conn.poll(STARTUP_TIMEOUT_S):
            self.kill()
            raise UnreadableMedia("The decoder could not be started in time; try again.")
        try:
            self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise UnreadableMedia("The decoder could not be started (out of memory?); try again.") from exc

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(5)
        except Exception:
            pass
        try:
            self.conn.close()
        except Exception:
            pass


class Sandbox:
    """A small pool of decoding processes with a per-call time limit and a memory ceiling.

    Thread-safe: the workbench serves several sessions from threads of one process; each call
    takes an idle worker (starting one if fewer than ``workers`` exist) or waits for one.
    ``timeout_s`` set: one fixed limit for every call. ``None``: limits sized by ``limits``.
    """

    def __init__(
        self, timeout_s: float | None = None, memory_bytes: int | None = DEFAULT_MEMORY_BYTES, workers: int = 2,
        *, limits: TimeLimits | None = None, light: bool = False,
    ) -> None:  # fmt: skip
        self.light = light
        self.timeout_s = timeout_s
        self.limits = limits or TimeLimits()
        self.memory_bytes = memory_bytes
        self._slots = threading.BoundedSemaphore(max(1, workers))
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        atexit.register(self.close)

    @classmethod
    def for_settings(cls, settings: Settings, workers: int = 2) -> Sandbox:
        memory = getattr(settings, "decode_memory_bytes", None) or DEFAULT_MEMORY_BYTES
        limits = TimeLimits.from_settings(settings)
        return cls(limits.fixed_s, memory, workers, limits=limits)

    def call(
        self, fn: Callable[..., Any], *args: Any, timeout_s: float | None = None, kind: str | None = None, **kwargs: Any
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` in a worker; ``fn`` must be importable (a module-level function).

        The limit: ``timeout_s`` if given, else this sandbox's fixed limit, else the one for ``kind``
        ("image", "video"; a still picture's when unknown). A video's grows once the worker
        reports its length (``verify.steps.report_duration``).
        """
        fixed = timeout_s if timeout_s is not None else self.timeout_s
        limit = fixed if fixed is not None else self.limits.for_kind(kind)
        with self._slots:
            worker = self._take()
            keep = False
            try:
                worker.calls += 1
                try:
                    worker.conn.send((fn, args, kwargs))
                except OSError:  # it died while idle (killed from outside): one retry on a fresh one
                    worker.kill()
                    worker = self._take(fresh=True)
                    worker.calls += 1
                    worker.conn.send((fn, args, kwargs))
                started = time.monotonic()
                step: str | None = None
                while True:
                    remaining = started + limit - time.monotonic()
                    if remaining <= 0 or not worker.conn.poll(remaining):
                        what = step or DEFAULT_STEP.get(kind, DEFAULT_STEP[None])
                        raise UnreadableMedia(
                            f"{what} took longer than {limit:g} second{'' if limit == 1 else 's'} and was stopped "
                            "(a damaged or hostile file, or too big to check here)."
                        )
                    try:
                        reply = worker.conn.recv()
                    except (EOFError, OSError):
                        raise UnreadableMedia(
                            "The file crashed the decoder (a damaged or hostile file); it was stopped safely."
                        ) from None
                    if reply[0] == "step":
                        step = reply[1]
                        continue
                    if reply[0] == "duration":
                        if fixed is None:
                            limit = self.limits.for_video(reply[1])
                        continue
                    break
                tag = reply[0]
                if tag == "ok":
                    keep = True
                    return reply[1]
                if tag == "verify":
                    keep = True
                    cls = getattr(errors, reply[1], None)
                    if not (isinstance(cls, type) and issubclass(cls, VerifyError)):
                        cls = VerifyError
                    raise cls(reply[2])
                if tag == "memory":
                    raise TooLarge("Decoding the file needs more memory than is safe; it was stopped.")
                keep = True
                raise UnreadableMedia(f"The file is damaged and cannot be read ({reply[1]}).")
            finally:
                self._give_back(worker, keep)

    def analyse(self, path: Path, settings: Settings, *, sha256: str | None = None, for_archive: bool = True) -> Any:
        """``services.analyse`` in a worker: same result or the same kind of error, but bounded."""
        return self.call(analyse_sized, Path(path), settings, sha256=sha256, for_archive=for_archive, kind=_kind(Path(path)))

    def _take(self, fresh: bool = False) -> _Worker:
        if fresh:
            return _Worker(self.memory_bytes, self.light)
        with self._lock:
            if self._closed:
                raise VerifyError("The decoder has been shut down.")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker(self.memory_bytes, self.light)

    def _give_back(self, worker: _Worker, keep: bool) -> None:
        if keep and worker.alive() and worker.calls < MAX_CALLS_PER_WORKER:
            with self._lock:
                if not self._closed:
                    self._idle.append(worker)
                    return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


def _kind(path: Path) -> str | None:
    """"image" or "video" from the file's first bytes (cheap, no decoding), else ``None``."""
    from verify.media import sniff_file

    try:
        return sniff_file(path).kind
    except Exception:  # unreadable or unsupported: the worker reports it properly
        return None


def analyse_sized(path: Path, settings: Settings, *, sha256: str | None = None, for_archive: bool = True) -> Any:
    """``services.analyse``, run in a worker: first, for a video, its length (so the parent can size
    the time limit to it), then the analysis with each step named."""
    from verify import steps
    from verify.media import probe_video
    from verify.services import analyse

    kind = _kind(path)
    if kind == "video":
        duration = None
        with steps.step("Reading the video's length"):
            try:
                duration = probe_video(path, settings.max_video_pixels, settings.max_video_seconds).duration_s
            except VerifyError:
                pass  # analyse reports the real problem
        steps.report_duration(duration)
    with steps.step(DEFAULT_STEP.get(kind, DEFAULT_STEP[None])):
        return analyse(path, settings, sha256=sha256, for_archive=for_archive)


_default: dict[tuple[int, TimeLimits, int | None], Sandbox] = {}
_default_lock = threading.Lock()


def default_sandbox(settings: Settings) -> Sandbox:
    """One shared sandbox per process (and per limits), for callers without a ``Services``."""
    memory = getattr(settings, "decode_memory_bytes", None) or DEFAULT_MEMORY_BYTES
    limits = TimeLimits.from_settings(settings)
    key = (os.getpid(), limits, memory)
    with _default_lock:
        box = _default.get(key)
        if box is None:
            box = _default[key] = Sandbox(limits.fixed_s, memory, workers=2, limits=limits)
        return box


def analyse_isolated(path: Path, settings: Settings, *, sha256: str | None = None, for_archive: bool = True) -> Any:
    """``services.analyse`` with a time limit and memory ceiling, in a disposable process."""
    return default_sandbox(settings).analyse(path, settings, sha256=sha256, for_archive=for_archive)


__all__ = [
    "DEFAULT_MEMORY_BYTES", "Sandbox", "TimeLimits", "analyse_isolated", "analyse_sized", "default_sandbox",
    "die_with_parent", "limit_memory",
]  # fmt: skip


def _child_main(argv: list[str]) -> None:
    fd, memory = int(argv[0]), int(argv[1])
    _serve(Connection(fd), memory or None, light=argv[2:3] == ["light"])


if __name__ == "__main__":
    _child_main(sys.argv[1:])
