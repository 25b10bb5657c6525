"""Batch work for the CLI on every core: ``verify hash`` and ``verify match`` over many files.

Decoding runs in sandboxed worker processes (``sandbox.py``: a time limit and a memory ceiling per
file), one per core, fed by as many threads; results come back in the order the files were given,
so the output is the same as one file after the other, only sooner. ``verify hash`` workers import
only the codecs and the fingerprinting (no store, no metadata readers): they start faster and
each file costs only what its fingerprints need.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from verify.config import Settings
from verify.errors import TooLarge, UnreadableMedia, VerifyError

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map`` on ``workers`` threads, at most ``2 x workers`` in flight, results in input order."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        running: deque[Future[R]] = deque()
        for item in items:
            running.append(pool.submit(fn, item))
            if len(running) >= 2 * workers:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()


def hash_file(path: Path, settings: Settings) -> dict[str, Any]:
    """What ``verify hash`` prints for one file: SHA-256, kind and fingerprints. Runs in a sandbox worker.

    The same checks and the same fingerprints as ``services.analyse(..., for_archive=False)``,
    without reading metadata.
    """
    from verify.fingerprints import compute
    from verify.media import checked_size, open_image, probe_video, sniff_file
    from verify.store.blobs import sha256_file

    size = checked_size(path, settings.max_file_bytes)
    try:
        sniffed = sniff_file(path)
        if sniffed.kind == "image":
            with open_image(path, settings.max_image_pixels):
                pass
        else:
            probe_video(path, settings.max_video_pixels, settings.max_video_seconds)
        fps = compute(path, sniffed, settings, for_archive=False)
        digest = sha256_file(path)
    except VerifyError:
        raise
    except MemoryError as exc:
        raise TooLarge("The file needs more memory to decode than is safe.") from exc
    except PermissionError as exc:
        raise UnreadableMedia("The file cannot be read: permission denied.") from exc
    except Exception as exc:
        raise UnreadableMedia(f"The file is damaged and cannot be read ({type(exc).__name__}).") from exc
    return {
        "sha256": digest,
        "kind": sniffed.kind,
        "fingerprints": [{"algorithm": f.algorithm, "variant": f.variant, "frame_time_s": f.frame_time_s, "hex": f.hex} for f in fps],
    }


def hash_many(
    files: Iterable[tuple[Path, str | None]], settings: Settings, workers: int | None = None
) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """(path, hashed, error) per file, in input order; ``files`` as ``cli._walk`` yields them."""
    from verify.sandbox import DEFAULT_MEMORY_BYTES, Sandbox, TimeLimits

    n = workers or cores()
    memory = getattr(settings, "decode_memory_bytes", None) or DEFAULT_MEMORY_BYTES
    limits = TimeLimits.from_settings(settings)
    box = Sandbox(limits.fixed_s, memory, workers=n, light=True, limits=limits)

    def one(item: tuple[Path, str | None]) -> tuple[str, dict[str, Any] | None, str | None]:
        path, problem = item
        if problem:
            return str(path), None, problem
        try:
            return str(path), box.call(hash_file, Path(path), settings), None
        except VerifyError as exc:
            return str(path), None, str(exc)
        except Exception as exc:
            return str(path), None, f"could not be processed ({type(exc).__name__})"

    try:
        yield from ordered_map(one, files, n)
    finally:
        box.close()


def widen_sandbox(services: Any) -> int:
    """Give a CLI desk one sandboxed decoder per core (the workbench keeps its two); returns the count."""
    from verify.sandbox import Sandbox

    n = cores()
    if services.sandbox is not None and n > 2:
        services.sandbox.close()
        services.sandbox = Sandbox.for_settings(services.settings, workers=n)
    return n
