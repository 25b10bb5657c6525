"""Matching: re-posted copies are found and confirmed, unrelated and blank pictures are not.

The archive here is real ``Matcher`` machinery (index, ORB confirmation) over files on disk, with
the store replaced by dictionaries; the end-to-end tests at the bottom go through ``Services`` on
both database backends.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import jpeg_bytes, photo, video, write
from PIL import Image, ImageDraw, ImageFont, ImageOps

from verify.config import Settings
from verify.fingerprints import compute
from verify import matching
from verify.matching import Matcher, MatchOutcome
from verify.media import sniff_file, video_frame_at
from verify.models import MediaItem

SETTINGS = Settings(data_dir=Path("/nonexistent"))


class Archive:
    def __init__(self) -> None:
        self.items: dict[int, MediaItem] = {}
        self.paths: dict[str, Path] = {}
        self.matcher = Matcher(list, lambda ids: {i: self.items[i] for i in ids if i in self.items}, self.paths.__getitem__)

    def add(self, path: Path) -> int:
        s = sniff_file(path)
        item_id = len(self.items) + 1
        sha = f"{item_id:064x}"
        self.items[item_id] = MediaItem(item_id, sha, s.kind, s.mime, 0, None, None, None, path.name, "archive", datetime.now(UTC), "test")
        self.paths[sha] = path
        self.matcher.add(item_id, compute(path, s, SETTINGS, for_archive=True))
        return item_id

    def match(self, path: Path, exclude: int | None = None) -> MatchOutcome:
        fps = compute(path, sniff_file(path), SETTINGS, for_archive=False)
        return self.matcher.match(fps, query_path=path, exclude_item_id=exclude)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, dict[int, int], Path]:
    d = tmp_path_factory.mktemp("archive")
    a = Archive()
    ids = {seed: a.add(write(d / f"p{seed}.jpg", jpeg_bytes(photo(seed, (960, 720))))) for seed in range(1, 13)}
    a.add(write(d / "grey.jpg", jpeg_bytes(Image.new("RGB", (960, 720), (120, 120, 120)))))
    a.add(write(d / "black.jpg", jpeg_bytes(Image.new("RGB", (960, 720), (0, 0, 0)))))
    return a, ids, d


def _query(tmp_path: Path, im: Image.Image, name: str = "q.jpg") -> Path:
    return write(tmp_path / name, jpeg_bytes(im, quality=80))


def _top(outcome: MatchOutcome) -> int | None:
    return outcome.matches[0].item.id if outcome.matches else None


def test_mirrored_and_cropped_copy_matches(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = archive
    im = ImageOps.mirror(photo(3, (960, 720))).crop((150, 60, 900, 660))  # mirrored, ~65% of the area, off centre
    outcome = a.match(_query(tmp_path, im))
    assert _top(outcome) == ids[3]
    m = outcome.matches[0]
    assert m.confident and 0.5 <= m.score <= 1.0
    assert m.detail.get("mirrored") is True
    assert "orb" in m.method
    assert all(x.item.id == ids[3] for x in outcome.matches)


def test_letterboxed_copy_matches(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = archive
    canvas = Image.new("RGB", (960, 960), (255, 255, 255))
    canvas.paste(photo(5, (960, 720)), (0, 120))
    assert _top(a.match(_query(tmp_path, canvas))) == ids[5]


def test_captioned_copy_with_logo_matches(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = archive
    canvas = Image.new("RGB", (960, 900), (255, 255, 255))
    canvas.paste(photo(7, (960, 720)), (0, 180))
    d = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=40)
    d.text((20, 30), "BREAKING: footage from today", fill=(0, 0, 0), font=font)
    d.text((20, 100), "shared 20k times #news", fill=(0, 0, 0), font=font)
    d.rectangle([820, 200, 940, 250], fill=(200, 0, 0))
    assert _top(a.match(_query(tmp_path, canvas))) == ids[7]


def test_rotated_four_degrees_matches(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = archive
    rotated = photo(9, (960, 720)).rotate(4, resample=Image.Resampling.BILINEAR, expand=True)
    assert _top(a.match(_query(tmp_path, rotated))) == ids[9]
    # and with the black corners cropped away
    w, h = 960, 720
    f = 1 / (math.cos(math.radians(4)) + (w / h) * math.sin(math.radians(4)))
    r = photo(9, (960, 720)).rotate(4, resample=Image.Resampling.BILINEAR)
    cropped = r.crop((int(w * (1 - f) / 2), int(h * (1 - f) / 2), int(w * (1 + f) / 2), int(h * (1 + f) / 2)))
    assert _top(a.match(_query(tmp_path, cropped, "q2.jpg"))) == ids[9]


def _screenshot_of_rotated_crop(im: Image.Image, dark: bool = True) -> Image.Image:
    """What hashes cannot rank: an off-centre crop, rotated 4 degrees, corners cut, in a phone post."""
    w, h = im.size
    im = im.crop((int(w * 0.15), int(h * 0.05), int(w * 0.95), int(h * 0.85)))
    w, h = im.size
    f = 1 / (math.cos(math.radians(4)) + (w / h) * math.sin(math.radians(4)))
    r = im.rotate(-4, resample=Image.Resampling.BILINEAR)
    im = r.crop((int(w * (1 - f) / 2), int(h * (1 - f) / 2), int(w * (1 + f) / 2), int(h * (1 + f) / 2)))
    W = 540
    photo_h = int(im.height * W / im.width)
    bg, fg = ((18, 18, 18), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = Image.new("RGB", (W, photo_h + 420), bg)
    d = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=22)
    d.text((15, 10), "12:41   5G 87%", fill=fg, font=font)
    d.text((80, 70), "@eyewitness_now  2h", fill=fg, font=font)
    canvas.paste(im.resize((W, photo_h)), (0, 140))
    d.text((15, 160 + photo_h), "Happening right now, share before it is deleted", fill=fg, font=font)
    d.text((15, 200 + photo_h), "#breaking #news", fill=fg, font=font)
    return canvas


def test_screenshot_of_a_rotated_crop_is_found_through_keypoint_words(archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = archive
    q = _query(tmp_path, _screenshot_of_rotated_crop(photo(4, (960, 720))))
    assert _top(a.match(q)) == ids[4]  # the whole pipeline, whichever way in
    # With the hash shortlist switched off, only the keypoint words can bring the original in.
    monkeypatch.setattr(matching, "SHORTLIST_DISTANCE", -1)
    outcome = a.match(q)
    assert _top(outcome) == ids[4]
    m = outcome.matches[0]
    assert m.detail["shortlist"] == "keypoints" and m.method.startswith("keypoint words")
    assert m.confident and m.detail["inliers"] >= 25 and 0 <= m.distance <= 64
    assert [x.item.id for x in outcome.matches] == [ids[4]]
    # ...and they bring in nothing for a screenshot of a photo never archived
    unrelated = a.match(_query(tmp_path, _screenshot_of_rotated_crop(photo(104, (960, 720)), dark=False), "u.jpg"))
    assert unrelated.matches == []


def test_unrelated_photo_does_not_match(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = archive
    for seed in (101, 102, 103):
        assert a.match(_query(tmp_path, photo(seed, (960, 720)), f"u{seed}.jpg")).matches == []


def test_flat_pictures_match_nothing_and_are_matched_by_nothing(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = archive
    for colour in ((120, 120, 120), (0, 0, 0), (250, 250, 250)):
        outcome = a.match(_query(tmp_path, Image.new("RGB", (800, 600), colour)))
        assert outcome.matches == [] and outcome.candidates == []
    # a photo query never lands on the flat archive items
    outcome = a.match(_query(tmp_path, photo(2, (960, 720)), "p.jpg"))
    assert {m.item.filename for m in outcome.matches + outcome.candidates}.isdisjoint({"grey.jpg", "black.jpg"})
    assert _top(outcome) == ids[2]


def test_video_frame_matches_its_clip_at_the_right_time(tmp_path: Path) -> None:
    a = Archive()
    clip = video(tmp_path / "clip.mp4", seconds=5.0, fps=25, seed=4, gop=125)
    other = video(tmp_path / "other.mp4", seconds=3.0, fps=25, seed=9)
    clip_id, _ = a.add(clip), a.add(other)
    for t in (1.3, 3.7):
        still = video_frame_at(clip, t)
        outcome = a.match(_query(tmp_path, still, f"still{t}.jpg"))
        assert _top(outcome) == clip_id
        m = outcome.matches[0]
        assert m.match_time_s is not None and abs(m.match_time_s - t) <= 2.0
        assert m.query_time_s is None


def test_video_frame_matches_an_archived_still_with_its_time(tmp_path: Path) -> None:
    a = Archive()
    # factories.video shows scene k (photo seed*100+k) during second k
    still = photo(6 * 100 + 2, (320 + 64, 240 + 64)).crop((0, 0, 320, 240))
    p = tmp_path / "still.png"
    still.resize((640, 480)).save(p)
    still_id = a.add(p)
    clip = video(tmp_path / "q.mp4", seconds=4.0, fps=25, seed=6)
    outcome = a.match(clip)
    assert _top(outcome) == still_id
    m = outcome.matches[0]
    assert m.query_time_s is not None and 1.5 <= m.query_time_s <= 3.0


def test_video_against_archived_video_reports_share_and_offset(tmp_path: Path) -> None:
    import av

    a = Archive()
    clip = video(tmp_path / "clip.mp4", seconds=5.0, fps=25, seed=8)
    clip_id = a.add(clip)
    a.add(video(tmp_path / "other.mp4", seconds=4.0, fps=25, seed=12))
    # the re-post: the last 3 seconds, scaled down, re-encoded
    repost = tmp_path / "repost.mp4"
    with av.open(str(clip)) as src, av.open(str(repost), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 240, 180, "yuv420p"
        for frame in src.decode(video=0):
            if frame.time is not None and frame.time >= 2.0:
                img = frame.to_image().resize((240, 180))
                for pkt in s.encode(av.VideoFrame.from_image(img)):
                    out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    outcome = a.match(repost)
    assert _top(outcome) == clip_id
    m = outcome.matches[0]
    assert m.detail["share"] >= 0.5
    assert abs(m.detail["offset_s"] - 2.0) <= 0.5
    assert len(outcome.matches) == 1


# -- end to end through Services, on both backends ----------------------------------------------


def test_ingest_then_match_path(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from verify.services import Services

    originals = [write(tmp_path / f"o{s}.jpg", jpeg_bytes(photo(s, (960, 720)))) for s in (21, 22, 23)]
    ingested = [services.ingest_path(p, actor="desk").item for p in originals]
    q = _query(tmp_path, ImageOps.mirror(photo(22, (960, 720))).crop((100, 80, 860, 700)))
    report = services.match_path(q)
    assert [m.item.sha256 for m in report.outcome.matches] == [ingested[1].sha256]
    m = report.outcome.matches[0]
    assert m.confident and m.distance >= 0 and m.method
    # the stored item, matched against the rest of the archive, finds nothing else
    assert services.match_item(ingested[0].id).matches == []
    # a fresh desk loads the index from the store and finds the same
    fresh = Services(services.settings)
    try:
        again = fresh.match_path(q)
        assert [x.item.sha256 for x in again.outcome.matches] == [ingested[1].sha256]
    finally:
        fresh.close()


def test_keypoint_words_survive_the_store(services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from verify.services import Services

    originals = [write(tmp_path / f"o{s}.jpg", jpeg_bytes(photo(s, (960, 720)))) for s in (31, 32, 33)]
    ingested = [services.ingest_path(p, actor="desk").item for p in originals]
    q = _query(tmp_path, _screenshot_of_rotated_crop(photo(33, (960, 720))))
    monkeypatch.setattr(matching, "SHORTLIST_DISTANCE", -1)  # keypoint words only
    fresh = Services(services.settings)  # loads hashes and words from the database
    try:
        outcome = fresh.match_path(q).outcome
        assert [m.item.sha256 for m in outcome.matches] == [ingested[2].sha256]
        assert outcome.matches[0].detail["shortlist"] == "keypoints"
    finally:
        fresh.close()


def _forget_keypoint_words(services) -> None:  # type: ignore[no-untyped-def]
    """Make the store look like one written before keypoint words existed."""
    from sqlalchemy import delete

    from verify.store import schema

    with services.store.write() as conn:
        conn.execute(delete(schema.fingerprint).where(schema.fingerprint.c.algorithm == "orb-lsh-v1"))


def test_pictures_stored_before_keypoint_words_get_them_once(services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from verify.services import Services

    originals = [write(tmp_path / f"o{s}.jpg", jpeg_bytes(photo(s, (960, 720)))) for s in (41, 42, 43)]
    items = [services.ingest_path(p, actor="desk").item for p in originals]
    flat = services.ingest_path(write(tmp_path / "flat.jpg", jpeg_bytes(Image.new("RGB", (800, 600), (90, 90, 90)))), actor="desk").item
    gone = services.ingest_path(write(tmp_path / "gone.jpg", jpeg_bytes(photo(44, (960, 720)))), actor="desk").item
    video_item = services.ingest_path(video(tmp_path / "clip.mp4", seconds=1, seed=5), actor="desk").item
    _forget_keypoint_words(services)
    gone_path = services.original_path(gone)
    gone_path.chmod(0o600)
    gone_path.unlink()  # an original lost from the media folder: reported, the others go on
    before = {i.sha256: services.original_path(i).read_bytes() for i in items}
    lacking = {i for i, _ in services.store.items_lacking("orb-lsh-v1")}
    assert lacking == {i.id for i in items} | {flat.id, gone.id}  # stills only, never the video
    assert video_item.id not in lacking

    seen: list[tuple[int, str | None]] = []
    updated, failed = services.refresh_fingerprints(lambda i, err: seen.append((i, err)))
    assert (updated, failed) == (4, 1)
    assert [i for i, err in seen if err] == [gone.id]
    # a second run has nothing left but the lost original; the flat picture is not decoded again
    assert services.refresh_fingerprints() == (0, 1)
    assert [fp.value for fp in services.store.fingerprints(flat.id) if fp.algorithm == "orb-lsh-v1"] == [b""]
    # originals are only read
    assert all(services.original_path(i).read_bytes() == data for i, data in ((i, before[i.sha256]) for i in items))

    monkeypatch.setattr(matching, "SHORTLIST_DISTANCE", -1)  # keypoint words only
    q = _query(tmp_path, _screenshot_of_rotated_crop(photo(42, (960, 720))))
    assert [m.item.sha256 for m in services.match_path(q).outcome.matches] == [items[1].sha256]
    fresh = Services(services.settings)
    try:
        assert [m.item.sha256 for m in fresh.match_path(q).outcome.matches] == [items[1].sha256]
    finally:
        fresh.close()
