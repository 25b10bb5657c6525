"""Time limits sized to the work: stills in seconds, videos by their length, the step named.

The work done in the worker here is ``exif_bombs.hold_step`` (sleep inside a named step), so the
limits are tested without depending on how fast this machine decodes; one end-to-end check
runs a real generated video through the sized limit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exif_bombs import hold_step
from verify.config import load_settings
from verify.errors import UnreadableMedia
from verify.sandbox import VIDEO_SECONDS_PER_SECOND, Sandbox, TimeLimits

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers are fresh interpreters: let them import ``exif_bombs`` by name."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))


def test_defaults_and_the_fixed_override() -> None:
    limits = TimeLimits()
    assert limits.for_kind("image") == 20 and limits.for_kind(None) == 20
    assert limits.for_kind("video") == 60  # a video starts at its floor until its length is known
    assert limits.for_video(None) == 60 and limits.for_video(10) == 60
    assert limits.for_video(600) == 600 * VIDEO_SECONDS_PER_SECOND
    assert limits.for_video(6 * 3600) == 3600
    fixed = TimeLimits(fixed_s=5)
    assert fixed.for_kind("image") == fixed.for_kind("video") == fixed.for_video(10_000) == 5


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("VERIFY_DECODE_TIMEOUT", "VERIFY_STILL_TIMEOUT", "VERIFY_VIDEO_TIMEOUT_MIN", "VERIFY_VIDEO_TIMEOUT_MAX"):
        monkeypatch.delenv(name, raising=False)
    assert TimeLimits.from_settings(load_settings(data_dir=tmp_path)) == TimeLimits()
    monkeypatch.setenv("VERIFY_STILL_TIMEOUT", "7")
    monkeypatch.setenv("VERIFY_VIDEO_TIMEOUT_MIN", "30")
    monkeypatch.setenv("VERIFY_VIDEO_TIMEOUT_MAX", "90")
    assert TimeLimits.from_settings(load_settings(data_dir=tmp_path)) == TimeLimits(7, 30, 90, None)
    monkeypatch.setenv("VERIFY_DECODE_TIMEOUT", "120")  # the setting as it was: one limit for all
    limits = TimeLimits.from_settings(load_settings(data_dir=tmp_path))
    assert limits.fixed_s == 120 and limits.for_kind("image") == 120 and limits.for_video(3600) == 120
    assert Sandbox.for_settings(load_settings(data_dir=tmp_path), workers=1).timeout_s == 120


def test_the_message_names_the_step_that_ran_out(importable_tests: None) -> None:
    box = Sandbox(limits=TimeLimits(still_s=1.0), workers=1)
    try:
        with pytest.raises(UnreadableMedia, match=r"^Reading the metadata took longer than 1 second and was stopped"):
            box.call(hold_step, "Reading the metadata", 30, kind="image")
        # the worker that overran was replaced; work inside the limit comes back
        assert box.call(hold_step, "Reading the metadata", 0.1, kind="image") == "done"
    finally:
        box.close()


def test_a_video_limit_grows_with_its_length_and_stops_at_the_ceiling(importable_tests: None) -> None:
    box = Sandbox(limits=TimeLimits(still_s=1.0, video_min_s=1.0, video_max_s=4.0), workers=1)
    try:
        # a 3-second video may take 3 s; work of 2 s inside it finishes (a still would have been stopped)
        assert box.call(hold_step, "Fingerprinting the video", 2.0, 3.0, kind="video") == "done"
        with pytest.raises(UnreadableMedia, match="^Fingerprinting the video took longer than 1 second"):
            box.call(hold_step, "Fingerprinting the video", 2.0, 0.5, kind="video")
        # a 2-hour video is capped by the ceiling
        with pytest.raises(UnreadableMedia, match="took longer than 4 seconds"):
            box.call(hold_step, "Fingerprinting the video", 30.0, 7200.0, kind="video")
    finally:
        box.close()


def test_a_fixed_limit_is_not_stretched_by_a_video_length(importable_tests: None) -> None:
    box = Sandbox(timeout_s=1.0, workers=1)
    try:
        with pytest.raises(UnreadableMedia, match="took longer than 1 second"):
            box.call(hold_step, "Fingerprinting the video", 3.0, 7200.0, kind="video")
    finally:
        box.close()


def test_a_real_video_and_a_real_still_go_through_the_sized_limits(tmp_path: Path) -> None:
    import factories as f
    from verify.config import Settings

    video = tmp_path / "clip.mp4"
    f.video(video, seconds=2.0)
    still = tmp_path / "still.jpg"
    f.photo(3, (320, 240)).save(still, "JPEG")
    settings = Settings(data_dir=tmp_path)
    box = Sandbox.for_settings(settings, workers=1)
    try:
        assert box.timeout_s is None
        assert box.analyse(video, settings).kind == "video"
        assert box.analyse(still, settings).kind == "image"
    finally:
        box.close()

