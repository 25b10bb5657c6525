"""Each findings rule, with the case that should fire and the one that should not."""

from __future__ import annotations

from datetime import UTC, date, datetime

from verify.findings import evaluate
from verify.models import GPS, Claim, Finding, Match, MediaItem, Metadata


def item(**kw: object) -> MediaItem:
    base: dict[str, object] = dict(id=1, sha256="a" * 64, kind="image", mime="image/jpeg", bytes=1000, width=100, height=100,
                                   duration_s=None, filename="x.jpg", origin="submission",
                                   ingested_at=datetime(2024, 5, 10, 12, 0, tzinfo=UTC), ingested_by="desk")  # fmt: skip
    base.update(kw)
    return MediaItem(**base)  # type: ignore[arg-type]


def camera(**kw: object) -> Metadata:
    """Metadata as a camera writes it; each test changes one thing."""
    base: dict[str, object] = dict(kind="image", mime="image/jpeg", make="Canon", model="EOS R5", software="Firmware 1.8",
                                   captured_at="2024-05-09T14:00:00+02:00", captured_at_has_offset=True,
                                   captured_at_source="EXIF DateTimeOriginal", sources=["EXIF"],
                                   dates={"EXIF DateTimeOriginal": "2024-05-09T14:00:00+02:00"})  # fmt: skip
    base.update(kw)
    return Metadata(**base)  # type: ignore[arg-type]


def codes(findings: list[Finding]) -> dict[str, Finding]:
    out = {f.code: f for f in findings}
    for f in findings:
        assert f.severity in ("info", "caution", "red_flag")
        assert f.title and f.evidence
    return out


def test_plain_camera_file_raises_nothing_but_c2pa_absent() -> None:
    found = codes(evaluate(None, camera()))
    assert set(found) == {"c2pa_absent"}
    assert found["c2pa_absent"].severity == "info"
    assert "provenance unknown" in found["c2pa_absent"].title


def test_metadata_stripped() -> None:
    found = codes(evaluate(None, Metadata(kind="image", mime="image/jpeg")))
    assert found["metadata_stripped"].severity == "info"
    assert "weak evidence" in found["metadata_stripped"].evidence
    assert "metadata_stripped" not in codes(evaluate(None, camera()))


def test_reader_failure_is_not_stripped() -> None:
    meta = Metadata(kind="image", mime="image/jpeg", errors=["EXIF could not be read: corrupt."])
    found = codes(evaluate(None, meta))
    assert "metadata_stripped" not in found
    assert found["metadata_unreadable"].severity == "caution" and "corrupt" in found["metadata_unreadable"].evidence


def test_stripped_video() -> None:
    assert "metadata_stripped" in codes(evaluate(None, Metadata(kind="video", mime="video/mp4", video_codec="h264")))
    assert "metadata_stripped" not in codes(evaluate(None, Metadata(kind="video", mime="video/mp4", captured_at="2020-01-01T10:00:00+00:00")))


def test_edited_with_named_software() -> None:
    for software, name in (("Adobe Photoshop 25.0 (Windows)", "Adobe Photoshop"), ("GIMP 2.10.34", "GIMP"),
                           ("Snapseed 2.0", "Snapseed"), ("Adobe Photoshop Lightroom Classic 13.0", "Adobe Lightroom")):  # fmt: skip
        found = codes(evaluate(None, camera(software=software)))
        assert found["edited_with_software"].severity == "caution"
        assert found["edited_with_software"].title == f"Edited with {name}"
        assert software in found["edited_with_software"].evidence
    history = {"xmpMM:History": [{"stEvt:action": "saved", "stEvt:softwareAgent": "Adobe Photoshop 24.1"}]}
    assert "Adobe Photoshop" in codes(evaluate(None, camera(xmp=history)))["edited_with_software"].title
    assert "edited_with_software" not in codes(evaluate(None, camera(software="HDR+ 1.0.540104231zd")))


def test_reencoded_video() -> None:
    meta = Metadata(kind="video", mime="video/mp4", encoder="Lavf58.76.100", captured_at="2024-05-09T10:00:00+00:00")
    assert codes(evaluate(None, meta))["reencoded"].severity == "info"
    assert "reencoded" not in codes(evaluate(None, Metadata(kind="video", mime="video/mp4", encoder="H.264", captured_at="2024-05-09T10:00:00+00:00")))


def test_capture_after_claimed_date() -> None:
    found = codes(evaluate(item(claimed_date=date(2024, 5, 1)), camera()))
    assert found["captured_after_claim"].severity == "red_flag"
    assert "8 days after" in found["captured_after_claim"].title


def test_capture_long_before_claimed_date() -> None:
    meta = camera(captured_at="2013-05-02T07:15:00", captured_at_has_offset=False)
    found = codes(evaluate(None, meta, claim=Claim(claimed_date=date(2024, 5, 9))))
    assert found["captured_long_before_claim"].severity == "red_flag"
    assert "11.0 years before" in found["captured_long_before_claim"].title
    assert "no time zone" in found["captured_long_before_claim"].evidence


def test_capture_date_consistent_and_no_claim() -> None:
    found = codes(evaluate(item(claimed_date=date(2024, 5, 9)), camera()))
    assert found["capture_date_consistent"].severity == "info"
    assert not {"captured_after_claim", "captured_long_before_claim", "captured_before_claim"} & set(found)
    assert not {"capture_date_consistent", "captured_after_claim"} & set(codes(evaluate(item(), camera())))


def test_clock_not_set() -> None:
    found = codes(evaluate(item(claimed_date=date(2024, 5, 9)), camera(captured_at="1970-01-01T00:00:00")))
    assert "clock_not_set" in found and "captured_long_before_claim" not in found
    assert "clock_not_set" in codes(evaluate(None, camera(captured_at="2000-01-01T00:02:10")))
    # A 1990s camera with its clock set is just old, not unset.
    assert "clock_not_set" not in codes(evaluate(None, camera(captured_at="1998-12-01T14:22:36")))


def test_captured_after_arrival() -> None:
    found = codes(evaluate(item(), camera(captured_at="2024-06-20T10:00:00+02:00")))
    assert found["captured_after_arrival"].severity == "caution" and "2024-05-10" in found["captured_after_arrival"].evidence
    assert "captured_after_arrival" not in codes(evaluate(item(), camera()))


def test_gps_far_from_claimed_place() -> None:
    meta = camera(gps=GPS(36.2021, 37.1343), gps_source="EXIF")  # Aleppo
    found = codes(evaluate(item(claimed_place="Homs", claimed_lat=34.7324, claimed_lon=36.7137), meta))
    assert found["gps_far_from_claim"].severity == "red_flag"
    assert found["gps_far_from_claim"].title == "GPS 168 km from the claimed place"
    near = codes(evaluate(item(claimed_lat=36.2, claimed_lon=37.13), meta))
    assert "gps_far_from_claim" not in near and near["gps_consistent"].severity == "info"
    assert not {"gps_far_from_claim", "gps_consistent"} & set(codes(evaluate(item(), meta)))


def test_gps_zero_is_a_placeholder() -> None:
    found = codes(evaluate(item(claimed_lat=10.0, claimed_lon=10.0), camera(gps=GPS(0.0, 0.0))))
    assert found["gps_placeholder"].severity == "caution" and "gps_far_from_claim" not in found


def test_thumbnail_differs() -> None:
    found = codes(evaluate(None, camera(has_thumbnail=True, thumbnail_distance=30, thumbnail_mismatch=True)))
    assert found["thumbnail_differs"].severity == "caution" and "30" in found["thumbnail_differs"].evidence
    found = codes(evaluate(None, camera(has_thumbnail=True, thumbnail_distance=34, thumbnail_mismatch=False, thumbnail_rotated=90)))
    assert "thumbnail_differs" not in found and found["thumbnail_rotated"].severity == "info"
    assert not {"thumbnail_differs", "thumbnail_rotated"} & set(codes(evaluate(None, camera(has_thumbnail=True, thumbnail_distance=2, thumbnail_mismatch=False))))


def test_dates_disagree() -> None:
    dates = {"EXIF DateTimeOriginal": "2024-05-09T14:00:00+02:00", "XMP CreateDate": "2021-03-01T09:00:00+01:00"}
    found = codes(evaluate(None, camera(dates=dates)))
    assert found["dates_disagree"].severity == "caution" and "XMP CreateDate" in found["dates_disagree"].evidence
    # GPS time is UTC, the camera clock local without an offset: a whole time-zone step is agreement.
    ok = {"EXIF DateTimeOriginal": "2024-05-09T14:00:00", "GPS time (UTC)": "2024-05-09T12:00:03+00:00",
          "XMP CreateDate": "2024-05-09T14:00:00+02:00"}  # fmt: skip
    assert "dates_disagree" not in codes(evaluate(None, camera(dates=ok)))
    drift = {"EXIF DateTimeOriginal": "2024-05-09T14:00:00", "GPS time (UTC)": "2024-05-09T10:37:00+00:00"}
    assert "dates_disagree" in codes(evaluate(None, camera(dates=drift)))


def test_modified_before_capture() -> None:
    dates = {"EXIF DateTimeOriginal": "2024-05-09T14:00:00+02:00", "EXIF ModifyDate": "2023-01-01T10:00:00+02:00"}
    assert codes(evaluate(None, camera(dates=dates)))["modified_before_capture"].severity == "caution"
    dates["EXIF ModifyDate"] = "2024-06-01T10:00:00+02:00"
    assert "modified_before_capture" not in codes(evaluate(None, camera(dates=dates)))


def test_c2pa_states() -> None:
    valid = {"present": True, "valid": True, "state": "Valid", "claim_generator": "Leica M11-P", "signer": "Leica Camera AG",
             "actions": [{"action": "c2pa.created", "digital_source_type": "digitalCapture"}]}  # fmt: skip
    found = codes(evaluate(None, camera(c2pa=valid)))
    assert found["c2pa_valid"].severity == "info" and "Leica Camera AG" in found["c2pa_valid"].evidence
    assert "c2pa_absent" not in found and "c2pa_ai_generated" not in found
    invalid = dict(valid, valid=False, state="Invalid", failures=[{"code": "assertion.dataHash.mismatch"}])
    found = codes(evaluate(None, camera(c2pa=invalid)))
    assert found["c2pa_invalid"].severity == "red_flag" and "assertion.dataHash.mismatch" in found["c2pa_invalid"].evidence
    ai = dict(valid, actions=[{"action": "c2pa.created", "digital_source_type": "trainedAlgorithmicMedia"}])
    assert codes(evaluate(None, camera(c2pa=ai)))["c2pa_ai_generated"].severity == "red_flag"
    unreadable = codes(evaluate(None, camera(errors=["Content Credentials could not be checked: damaged."])))
    assert "c2pa_unreadable" in unreadable and "c2pa_absent" not in unreadable


def _match(first_seen: datetime | None, confident: bool = True, item_id: int = 7) -> Match:
    archived = item(id=item_id, sha256=str(item_id) * 64, origin="archive", filename="aleppo-2013.jpg", source="Wire archive",
                    first_seen_at=first_seen)  # fmt: skip
    return Match(item=archived, score=0.93, distance=4, method="phash+orb", confident=confident)


def test_seen_in_archive_before_the_claim() -> None:
    matches = [_match(datetime(2016, 1, 1, tzinfo=UTC), item_id=8), _match(datetime(2013, 5, 2, tzinfo=UTC))]
    found = codes(evaluate(item(claimed_date=date(2024, 5, 9)), camera(), matches))
    f = found["seen_in_archive_earlier"]
    assert f.severity == "red_flag" and f.title == "Seen in the archive on 2013-05-02"
    assert "aleppo-2013.jpg" in f.evidence and "Wire archive" in f.evidence


def test_seen_in_archive_before_upload_without_claim() -> None:
    found = codes(evaluate(item(), camera(), [_match(datetime(2020, 1, 1, tzinfo=UTC))]))
    assert found["seen_in_archive_earlier"].severity == "red_flag"


def test_archive_negative_cases() -> None:
    later = codes(evaluate(item(claimed_date=date(2024, 5, 9)), camera(), [_match(datetime(2024, 5, 11, tzinfo=UTC))]))
    # every copy arrived after this file: it is the earlier material, not a recycled copy
    assert later["reposted_later"].severity == "info" and not {"seen_in_archive", "seen_in_archive_earlier"} & set(later)
    assert "2024-05-11" in later["reposted_later"].evidence
    unstored = codes(evaluate(None, camera(), [_match(datetime(2024, 5, 30, tzinfo=UTC))]))
    assert unstored["seen_in_archive"].severity == "caution" and "seen_in_archive_earlier" not in unstored
    weak = codes(evaluate(item(claimed_date=date(2024, 5, 9)), camera(), [_match(datetime(2013, 5, 2, tzinfo=UTC), confident=False)]))
    assert not {"seen_in_archive", "seen_in_archive_earlier"} & set(weak)
    itself = codes(evaluate(item(), camera(), [_match(datetime(2013, 5, 2, tzinfo=UTC), item_id=1)]))
    assert not {"seen_in_archive", "seen_in_archive_earlier"} & set(itself)
    undated = codes(evaluate(item(), camera(), [_match(None)]))
    assert undated["seen_in_archive"].title == "Seen in the archive (date unknown)"


def test_order_most_serious_first() -> None:
    found = evaluate(item(claimed_date=date(2024, 5, 1)), camera(software="GIMP 2.10"))
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key={"red_flag": 0, "caution": 1, "info": 2}.get)
    assert severities[0] == "red_flag"


def test_camera_line_names_the_camera_once() -> None:
    """The item page showed "Canon Canon EOS 7D": the model alone when it already names the make."""
    from verify.findings import camera_line

    assert camera_line("Canon", "Canon EOS 7D") == "Canon EOS 7D"
    assert camera_line("NIKON CORPORATION", "NIKON D750") == "NIKON D750"
    assert camera_line("HUAWEI", "huawei P30") == "huawei P30"
    assert camera_line("Apple", "iPhone 12") == "Apple iPhone 12"
    assert camera_line("samsung", "SM-G991B") == "samsung SM-G991B"
    assert camera_line("Canon", None) == "Canon" and camera_line(None, "Pixel 7") == "Pixel 7"
    assert camera_line(None, None) is None and camera_line(" ", "") is None
