"""The Forensics section of the item page through AppTest, and the report that carries it."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import piexif
import pytest
from PIL import Image

from factories import jpeg_bytes, photo
from test_ui_pages import desk, start, texts  # noqa: F401  (fixture and helpers)
from verify.forensics import cache as fx_cache
from verify.models import Claim
from verify.report import build_report, to_html, to_markdown

pytestmark = pytest.mark.filterwarnings("ignore")


def _cloned_night_jpeg() -> bytes:
    im = photo(8, (1000, 700))
    im.paste(im.crop((60, 60, 360, 300)), (620, 400))
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS 7D"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2013:05:02 21:40:00", piexif.ExifIFD.OffsetTimeOriginal: b"+03:00"},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((36, 1), (12, 1), (0, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((37, 1), (8, 1), (0, 1))},
    })  # fmt: skip
    return jpeg_bytes(im, quality=88, exif=exif)


def _click(at, label: str):
    button = next(b for b in at.button if b.label == label)
    return button.click().run()


def test_forensics_section_on_demand_cached_and_in_the_report(desk):  # noqa: F811
    item = desk.ingest_bytes(_cloned_night_jpeg(), filename="night.jpg", actor="A",
                             claim=Claim(claimed_place="Aleppo", claimed_date=date(2013, 5, 2))).item
    at = start(page="item", item=item.id)
    page = texts(at)
    assert "Forensics" in page and "Error level analysis" not in page  # nothing computed until asked
    assert fx_cache.load(desk.settings.data_dir, item.sha256) is None
    at = _click(at, "Compute the forensic readings")
    assert not at.exception, at.exception
    page = texts(at)
    assert "appears copied elsewhere" in page
    assert "below the horizon" in page and "21:40" in page
    assert "Re-saved by software after the camera" in page and "Canon EOS 7D" in page
    assert "It CANNOT show manipulation by itself" in page  # the ELA caption says what it cannot show
    assert "Blurred: content warning." not in page
    stored = fx_cache.load(desk.settings.data_dir, item.sha256)
    assert stored and stored["clone"]["detected"] and stored["sun"]["elevation_deg"] < -12
    # The report carries the readings and their caution.
    report = build_report(desk.inspect(item.id, with_matches=False), forensics=stored)
    assert report["forensics"]["clone"]["pairs"] and "lenses, not verdicts" in report["forensics"]["caution"]
    assert "## Forensic readings" in to_markdown(report) and "Forensic readings" in to_html(report)


def test_forensics_lenses_blurred_for_flagged_item(desk):  # noqa: F811
    item = desk.ingest_bytes(jpeg_bytes(photo(30, (500, 400))), filename="flagged.jpg", actor="A").item
    desk.add_warning(item.id, "graphic_violence", actor="A")
    at = start(page="item", item=item.id)
    at = _click(at, "Compute the forensic readings")
    assert not at.exception, at.exception
    page = texts(at)
    assert "Blurred: content warning." in page and "Noise residual" in page
    # A second visit shows the stored readings before anything is computed again.
    at = start(page="item", item=item.id)
    assert "Readings computed earlier" in texts(at)
    assert any(b.label == "Show the lenses and pictures" for b in at.button)
