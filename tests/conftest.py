"""Shared fixtures: temporary data dirs, both database backends, generated media.

Backends: SQLite always; PostgreSQL when ``VERIFY_TEST_PG_URL`` is set (CI sets it), each test in
a schema of its own that is dropped afterwards. With ``VERIFY_REQUIRE_ALL=1`` (CI), a test that
would skip because PostgreSQL, the browser or the corpus is missing fails instead.

Processes: tests start them with ``procs.start``/``procs.run`` (or the ``processes`` fixture), each
in its own process group, stopped as a group; at the end of the session ``leftovers`` kills and
names anything the run left running, and fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Text reading costs about a second a picture; the tests of text (tests/test_text.py) switch it on.
os.environ.setdefault("VERIFY_OCR", "0")

import procs
from leftovers import pytest_configure, pytest_sessionfinish  # noqa: F401 - the end-of-session process check
from verify.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VERIFY_CORPUS", ROOT.parent / "shared" / "corpus"))
PG_URL = os.environ.get("VERIFY_TEST_PG_URL")
REQUIRE_ALL = os.environ.get("VERIFY_REQUIRE_ALL") == "1"
CHROMIUM = Path(os.environ.get("VERIFY_CHROMIUM", "/usr/bin/chromium"))


def skip_or_fail(reason: str) -> None:
    """Skip where a part is truly absent; in CI (VERIFY_REQUIRE_ALL=1) that is a failure."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "manifest.csv").exists():
        skip_or_fail(f"the shared media corpus is not at {CORPUS} (it is only on development and CI machines)")
    return CORPUS


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        skip_or_fail(f"no browser at {CHROMIUM} (install Debian's chromium to run browser tests)")
    return CHROMIUM


def _pg_schema_url() -> Iterator[str]:
    import sqlalchemy as sa

    if not PG_URL:
        skip_or_fail("VERIFY_TEST_PG_URL is not set (no PostgreSQL to test against)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        skip_or_fail(f"PostgreSQL at VERIFY_TEST_PG_URL is not reachable: {str(exc.orig).splitlines()[0]}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """A database URL for each backend; ``None`` means the SQLite default in the data dir."""
    if request.param == "sqlite":
        yield None
    else:
        yield from _pg_schema_url()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def settings(data_dir: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on a temp data dir, for each backend."""
    monkeypatch.delenv("VERIFY_DB", raising=False)
    monkeypatch.setenv("VERIFY_DATA_DIR", str(data_dir))
    return load_settings(data_dir=data_dir, db_url=db_url)


@pytest.fixture
def sqlite_settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VERIFY_DB", raising=False)
    monkeypatch.setenv("VERIFY_DATA_DIR", str(data_dir))
    return load_settings(data_dir=data_dir)


@pytest.fixture
def services(settings: Settings) -> Iterator["object"]:
    from verify.services import Services

    s = Services(settings)
    yield s
    s.close()


@pytest.fixture
def sqlite_services(sqlite_settings: Settings) -> Iterator["object"]:
    from verify.services import Services

    s = Services(sqlite_settings)
    yield s
    s.close()


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    d = tmp_path / "media-in"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _no_user_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the real per-user data folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture
def processes() -> Iterator[procs.Processes]:
    """Start helper processes for one test (``processes.start(cmd, ...)``); the finalizer stops them."""
    group = procs.Processes()
    try:
        yield group
    finally:
        group.stop_all()
