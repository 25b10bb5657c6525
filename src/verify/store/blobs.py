"""The media folder: originals stored byte-exact, content-addressed by SHA-256, write-once.

Layout: ``media/ab/cd/abcdef...`` (no extension: the bytes decide the type). A file is first
written to ``media/.incoming/`` while its hash is computed, fsynced, then hard-linked into place
(which fails instead of overwriting if the name exists), and made read-only. A crash leaves at
worst a stray file in ``.incoming`` or an orphan original without a row; ``verify doctor`` clears
both without touching any referenced original.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from verify.errors import StoreError, TooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Staged:
    """An upload written to the incoming folder, hashed, not yet part of the store."""

    path: Path
    sha256: str
    size: int


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StoreError("Not a SHA-256 digest.")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def stage_stream(self, stream: BinaryIO, max_bytes: int) -> Staged:
        """Copy a stream into the incoming folder while hashing it, refusing oversize input."""
        tmp = self.incoming / f"{uuid.uuid4().hex}.part"
        h = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "xb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"The file is larger than the limit of {max_bytes / 1024**2:,.0f} MB.")
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Staged(tmp, h.hexdigest(), size)

    def stage_file(self, path: Path, max_bytes: int) -> Staged:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise StoreError(f"The file cannot be read: {exc.strerror or 'access denied'}.") from exc
        if size > max_bytes:
            raise TooLarge(f"The file is larger than the limit of {max_bytes / 1024**2:,.0f} MB.")
        try:
            with open(path, "rb") as fh:
                return self.stage_stream(fh, max_bytes)
        except OSError as exc:
            raise StoreError(f"The file cannot be read: {exc.strerror or 'access denied'}.") from exc

    def stage_bytes(self, data: bytes, max_bytes: int) -> Staged:
        import io

        return self.stage_stream(io.BytesIO(data), max_bytes)

    def commit(self, staged: Staged) -> bool:
        """Move a staged file into place; returns False if the same bytes were already stored."""
        final = self.path_for(staged.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(staged.path, final)
            created = True
        except FileExistsError:
            created = False
        except OSError:
            # Filesystems without hard links (exFAT drives, some network shares): copy under a
            # temporary name next to the final one, then rename. A crash mid-copy then leaves a
            # ``.tmp`` file (doctor removes it), never a partial file under a SHA-256 name that a
            # rerun would adopt as the original.
            tmp = final.with_name(f"{final.name}.{uuid.uuid4().hex}.tmp")
            try:
                with open(tmp, "xb") as out, open(staged.path, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                if final.exists():
                    created = False
                else:
                    os.replace(tmp, final)  # same bytes if two writers race: either copy is the original
                    created = True
            finally:
                tmp.unlink(missing_ok=True)
        if created:
            os.chmod(final, 0o444)
            _fsync_dir(final.parent)
        staged.path.unlink(missing_ok=True)
        return created

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    def remove_uncommitted(self, sha256: str) -> None:
        """Undo a ``commit`` whose database transaction failed (only ever for a blob just created)."""
        path = self.path_for(sha256)
        try:
            os.chmod(path, 0o644)
            path.unlink()
        except FileNotFoundError:
            pass

    def iter_shas(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if path.is_file() and len(path.name) == 64:
                yield path.name

    def iter_incoming(self) -> Iterator[Path]:
        yield from self.incoming.glob("*")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
