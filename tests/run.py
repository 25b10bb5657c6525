#!/usr/bin/env python3
"""The whole test suite in one command, from a fresh clone: ``python3 tests/run.py``.

Creates ``.venv`` (once), installs the project with its test extras, then runs pytest with any
arguments given here (``python3 tests/run.py -k store -x``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from verify._bootstrap import ensure_venv, exec_in_venv  # noqa: E402

if __name__ == "__main__":
    python = ensure_venv("test")
    exec_in_venv(python, ["-m", "pytest", *sys.argv[1:]])
