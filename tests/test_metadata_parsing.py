"""The pure value parsers: known values exactly, and properties over generated ones."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.metadata.parsing import (
    clean_text,
    dms_to_decimal,
    haversine_km,
    parse_exif_datetime,
    parse_iso6709,
    raw_text,
    xmp_gps_to_decimal,
)


def test_iso6709_forms() -> None:
    g = parse_iso6709("+27.5916+086.5640+8850/")
    assert (g.lat, g.lon, g.alt) == (27.5916, 86.564, 8850.0)
    g = parse_iso6709("+51.4169-000.0806/")
    assert (g.lat, g.lon, g.alt) == (51.4169, -0.0806, None)
    g = parse_iso6709("+32.0929+034.8620+028.516/")
    assert g.alt == pytest.approx(28.516)
    g = parse_iso6709("+4852.5+00220.3/")  # degrees and minutes
    assert g.lat == pytest.approx(48 + 52.5 / 60) and g.lon == pytest.approx(2 + 20.3 / 60)
    g = parse_iso6709("-335130.5+1511230.0/")  # degrees, minutes, seconds
    assert g.lat == pytest.approx(-(33 + 51 / 60 + 30.5 / 3600)) and g.lon == pytest.approx(151 + 12 / 60 + 30 / 3600)
    g = parse_iso6709("+40.7128-074.0060+10.5CRSWGS_84/")
    assert (g.lat, g.lon, g.alt) == (40.7128, -74.006, 10.5)
    for bad in ("", "hello", "+95.0+010.0/", "+10.0/", "+10.0+200.0/", "<script>+1+2/"):
        with pytest.raises(ValueError):
            parse_iso6709(bad)


@given(st.floats(-90, 90), st.floats(-180, 180), st.one_of(st.none(), st.floats(-500, 9000)))
def test_iso6709_round_trip(lat: float, lon: float, alt: float | None) -> None:
    text = f"{lat:+09.5f}{lon:+010.5f}" + (f"{alt:+.3f}" if alt is not None else "") + "/"
    g = parse_iso6709(text)
    assert abs(g.lat - lat) <= 1e-5 and abs(g.lon - lon) <= 1e-5
    if alt is not None:
        assert g.alt == pytest.approx(alt, abs=1e-3)


@given(st.text(max_size=60))
def test_iso6709_never_crashes_otherwise(text: str) -> None:
    try:
        g = parse_iso6709(text)
    except ValueError:
        return
    assert abs(g.lat) <= 90 and abs(g.lon) <= 180


def test_dms_to_decimal_known() -> None:
    assert dms_to_decimal((48, 51, 29.6), "N", is_lat=True) == pytest.approx(48.858222, abs=1e-6)
    assert dms_to_decimal(((2, 1), (17, 1), (4019, 100)), "W", is_lat=False) == pytest.approx(-2.2944972, abs=1e-6)
    assert dms_to_decimal((33.5,), "S", is_lat=True) == -33.5
    with pytest.raises(ValueError):
        dms_to_decimal(((1, 0), (0, 1), (0, 1)), "N", is_lat=True)  # zero denominator
    with pytest.raises(ValueError):
        dms_to_decimal((95, 0, 0), "N", is_lat=True)
    with pytest.raises(ValueError):
        dms_to_decimal((10, 0, 0), "Q", is_lat=True)


@given(st.integers(0, 89), st.integers(0, 59), st.integers(0, 5999), st.sampled_from("NS"))
def test_dms_round_trip(d: int, m: int, centi_s: int, ref: str) -> None:
    value = dms_to_decimal(((d, 1), (m, 1), (centi_s, 100)), ref, is_lat=True)
    expected = (d + m / 60 + centi_s / 360000) * (-1 if ref == "S" else 1)
    assert math.isclose(value, expected, abs_tol=1e-9)


def test_xmp_gps() -> None:
    assert xmp_gps_to_decimal("53,21.5679N", is_lat=True) == pytest.approx(53.359465)
    assert xmp_gps_to_decimal("6,15.2W", is_lat=False) == pytest.approx(-6.2533333)


def test_exif_datetime_known() -> None:
    assert parse_exif_datetime("2021:05:16 12:27:36", "107", "-07:00") == ("2021-05-16T12:27:36.107-07:00", True)
    assert parse_exif_datetime("2019:04:24 22:24:00") == ("2019-04-24T22:24:00", False)
    assert parse_exif_datetime(b"2019:04:24 22:24:00\x00") == ("2019-04-24T22:24:00", False)
    assert parse_exif_datetime("2010-12-12T12:41:35.00+01:00") == ("2010-12-12T12:41:35+01:00", True)
    assert parse_exif_datetime("2008:05:25 19:31:26.0+1:00") == ("2008-05-25T19:31:26+01:00", True)
    assert parse_exif_datetime("2013:07:05 03:18:27Z") == ("2013-07-05T03:18:27+00:00", True)
    assert parse_exif_datetime("2019-07-24T11:25:40+0300") == ("2019-07-24T11:25:40+03:00", True)
    assert parse_exif_datetime("0000:00:00 00:00:00") is None
    assert parse_exif_datetime("    :  :     :  :  ") is None
    for bad in ("2019:02:30 10:00:00", "yesterday", "2019:13:01 00:00:00", "2019:01:01 25:00:00"):
        with pytest.raises(ValueError):
            parse_exif_datetime(bad)
    with pytest.raises(ValueError):
        parse_exif_datetime("2019:01:01 10:00:00", None, "+99:00")


@given(st.datetimes(min_value=datetime(1000, 1, 1)), st.one_of(st.none(), st.integers(0, 999)), st.one_of(st.none(), st.integers(-12 * 4, 14 * 4)))
def test_exif_datetime_round_trip(when, subsec, quarter_hours) -> None:  # type: ignore[no-untyped-def]
    offset = None
    if quarter_hours is not None:
        sign = "-" if quarter_hours < 0 else "+"
        offset = f"{sign}{abs(quarter_hours) // 4:02d}:{abs(quarter_hours) % 4 * 15:02d}"
    text = when.strftime("%Y:%m:%d %H:%M:%S")
    result = parse_exif_datetime(text, None if subsec is None else f"{subsec:03d}", offset)
    if when.year == 0:
        return
    assert result is not None
    iso, has_offset = result
    assert iso.startswith(when.strftime("%Y-%m-%dT%H:%M:%S"))
    assert has_offset == (offset is not None)
    if offset:
        assert iso.endswith(offset)
    if subsec:
        assert f".{subsec:03d}" in iso


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_date_parser_total(value) -> None:  # type: ignore[no-untyped-def]
    try:
        parse_exif_datetime(value)
    except ValueError:
        pass


@given(st.one_of(st.text(), st.binary(), st.lists(st.integers(), max_size=100)))
def test_text_helpers_total(value) -> None:  # type: ignore[no-untyped-def]
    cleaned = clean_text(value)
    assert cleaned is None or ("\x00" not in cleaned and len(cleaned) <= 2001)
    dumped = raw_text(value)
    assert isinstance(dumped, str) and len(dumped) <= 2001


def test_raw_text_keeps_markup_as_text_and_summarises_binary() -> None:
    assert raw_text("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert raw_text(bytes(range(256)) * 4) == "<1024 bytes of binary data>"
    assert clean_text(b"MAVICA\x003ghx7y") == "MAVICA"


def test_haversine() -> None:
    assert haversine_km(48.8584, 2.2945, 51.5007, -0.1246) == pytest.approx(341, abs=2)  # Eiffel Tower - Big Ben
    assert haversine_km(10, 10, 10, 10) == 0


@settings(max_examples=50)
@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180))
def test_haversine_symmetric_and_bounded(a: float, b: float, c: float, d: float) -> None:
    x, y = haversine_km(a, b, c, d), haversine_km(c, d, a, b)
    assert math.isclose(x, y, abs_tol=1e-6) and 0 <= x <= 20016
