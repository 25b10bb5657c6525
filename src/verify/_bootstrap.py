"""Set up the project's virtual environment with the standard library only.

Used by the two commands in the README (``python3 app.py`` and ``python3 tests/run.py``) before
anything is installed, so it must import nothing outside the standard library.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("VERIFY_VENV", ROOT / ".venv"))


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(extras: str = "") -> Path:
    """Create ``.venv`` and install the project (editable) once per change of pyproject.toml."""
    if sys.version_info < (3, 11):
        sys.exit(f"verify needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    python = venv_python()
    if not python.exists():
        print(f"verify: creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    spec = f".[{extras}]" if extras else "."
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()
    stamp = VENV / f".verify-installed-{extras or 'base'}"
    if not stamp.exists() or stamp.read_text() != key:
        print(f"verify: installing dependencies ({spec}); the first time takes a few minutes ...", flush=True)
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], cwd=ROOT)
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", "-e", spec], cwd=ROOT)
        stamp.write_text(key)
    return python


def exec_in_venv(python: Path, args: list[str]) -> None:
    """Replace this process with ``python args`` (a child process on Windows)."""
    argv = [str(python), *args]
    if os.name == "nt":
        sys.exit(subprocess.call(argv, cwd=ROOT))
    os.chdir(ROOT)
    os.execv(argv[0], argv)
