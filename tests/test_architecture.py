"""The core stays independent of the front ends (DESIGN.md's module map)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "verify"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_ui_imports_streamlit() -> None:
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "streamlit" in _imports(p) and "ui" not in p.relative_to(SRC).parts]
    assert offenders == []


def test_only_cli_imports_click() -> None:
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "click" in _imports(p) and p.name != "cli.py"]
    assert offenders == []


def test_core_does_not_import_front_ends() -> None:
    offenders = []
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC)
        if rel.parts[0] == "ui" or p.name in ("cli.py", "__main__.py"):
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods: list[str] = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(m.startswith(("verify.ui", "verify.cli")) for m in mods):
                offenders.append(str(rel))
    assert offenders == []
