from __future__ import annotations

from pathlib import Path

import pytest

from verify.config import default_data_dir, load_settings
from verify.errors import VerifyError


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VERIFY_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("VERIFY_DB", "postgresql+psycopg://u@h/db")
    s = load_settings()
    assert s.data_dir == tmp_path / "env" and s.database_url == "postgresql+psycopg://u@h/db"
    s = load_settings(data_dir=tmp_path / "flag", db_url=None)
    assert s.data_dir == tmp_path / "flag"
    monkeypatch.delenv("VERIFY_DB")
    assert load_settings(data_dir=tmp_path).database_url == f"sqlite:///{tmp_path / 'verify.sqlite3'}"


def test_default_data_dir_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VERIFY_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "verify"
    assert load_settings().data_dir == tmp_path / "verify"


def test_bad_number_in_environment_is_a_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_MAX_FILE_BYTES", "lots")
    with pytest.raises(VerifyError, match="VERIFY_MAX_FILE_BYTES"):
        load_settings()
