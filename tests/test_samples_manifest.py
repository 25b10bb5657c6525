"""The manifest reader (verify.manifest) that seeding and ``verify index --manifest`` share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from verify.errors import VerifyError
from verify.manifest import read_manifest, read_manifest_rows

HEADER = "file,source,source_url,source_contact,first_seen,claimed_place,lat,lon,claimed_date,note,content_warning,warning_note\n"


def write(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "manifest.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_reads_every_column_and_keys_by_resolved_path(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + 'sub/a.jpg,Council page,https://x.example/1,tip line,2013-05-02,"Busra al-Sham, square",32.5167,36.4814,2013-05-03,a note,injury_blood,blur it\n', bom=True)
    [row] = read_manifest_rows(path)
    assert row.path == (tmp_path / "sub" / "a.jpg").resolve()
    c = row.claim
    assert (c.source, c.source_url, c.source_contact) == ("Council page", "https://x.example/1", "tip line")
    assert c.first_seen_at == datetime(2013, 5, 2, tzinfo=UTC)
    assert (c.claimed_place, c.claimed_lat, c.claimed_lon, c.claimed_date) == ("Busra al-Sham, square", 32.5167, 36.4814, date(2013, 5, 3))
    assert (row.content_warning, row.warning_note) == ("injury_blood", "blur it")
    assert read_manifest(path) == {str((tmp_path / "sub" / "a.jpg").resolve()): c}


def test_empty_cells_are_none_and_times_keep_their_offset(tmp_path: Path) -> None:
    path = write(tmp_path, "file,first_seen\nb.png,2016-09-20T07:42:10+03:00\nc.png,\n")
    b, c = read_manifest_rows(path)
    assert b.claim.first_seen_at is not None and b.claim.first_seen_at.utcoffset().total_seconds() == 3 * 3600  # type: ignore[union-attr]
    assert c.claim.first_seen_at is None and c.claim.source is None and c.content_warning is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",src,,,,,,,,,,\n", "Manifest line 2 has no 'file' column value."),
        ("a.jpg,,,,last spring,,,,,,,\n", "Manifest line 2: 'last spring' is not a date"),
        ("a.jpg,,,,,,north,,,,,\n", "Manifest line 2:"),
        ("a.jpg,,,,,,,,2024-13-01,,,\n", "Manifest line 2:"),
        ("a.jpg,,,,,,,,,,gory,\n", "Manifest line 2: unknown content warning 'gory'"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(VerifyError) as err:
        read_manifest_rows(write(tmp_path, HEADER + line))
    assert str(err.value).startswith(message)


def test_unreadable_manifest_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match="cannot be read"):
        read_manifest_rows(tmp_path / "missing.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"file,source\na.jpg,Caf\xe9\n")
    with pytest.raises(VerifyError, match="not a UTF-8 CSV"):
        read_manifest_rows(bad)
