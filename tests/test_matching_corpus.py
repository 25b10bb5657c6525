"""Matching on real photos from the shared corpus (skipped where the corpus is absent, as on a
user's fresh clone): the hardest re-post in the quality benchmark, a screenshot of a rotated
crop, must be found, and by the keypoint words alone when the hashes cannot place it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from verify import matching
from test_matching import Archive, _query, _screenshot_of_rotated_crop, _top

WORK_SIDE = 1600


def _photos(corpus: Path) -> list[Path]:
    photos = sorted(p for p in (corpus / "photos").iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    return photos[::6]  # a spread of cameras and subjects, small enough for a test


def _load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (WORK_SIDE, WORK_SIDE))
        im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((WORK_SIDE, WORK_SIDE))
    return im


@pytest.fixture(scope="module")
def corpus_archive(request: pytest.FixtureRequest) -> tuple[Archive, dict[Path, int], list[Path]]:
    corpus = request.getfixturevalue("corpus_module")
    photos = _photos(corpus)
    archived, held_out = photos[: len(photos) * 3 // 4], photos[len(photos) * 3 // 4 :]
    a = Archive()
    return a, {p: a.add(p) for p in archived}, held_out


@pytest.fixture(scope="module")
def corpus_module() -> Path:
    from conftest import CORPUS, skip_or_fail

    if not (CORPUS / "manifest.csv").exists():
        skip_or_fail(f"the shared media corpus is not at {CORPUS} (it is only on development and CI machines)")
    return CORPUS


def test_screenshots_of_rotated_crops_of_real_photos_are_found(corpus_archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    a, ids, _ = corpus_archive
    sources = list(ids)[::3]
    assert len(sources) >= 6
    queries = {p: _query(tmp_path, _screenshot_of_rotated_crop(_load(p), dark=i % 2 == 0), f"q{i}.jpg") for i, p in enumerate(sources)}
    found = [p.name for p, q in queries.items() if _top(a.match(q)) == ids[p]]
    assert len(found) >= len(sources) - 1, f"found {found} of {[p.name for p in sources]}"
    # the keypoint words alone, with the hash shortlist switched off
    monkeypatch.setattr(matching, "SHORTLIST_DISTANCE", -1)
    by_words = [p.name for p, q in queries.items() if _top(a.match(q)) == ids[p]]
    assert len(by_words) >= len(sources) - 2, f"found {by_words} of {[p.name for p in sources]}"


def test_screenshots_of_photos_never_archived_match_nothing(corpus_archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, _, held_out = corpus_archive
    assert len(held_out) >= 4
    for i, p in enumerate(held_out):
        outcome = a.match(_query(tmp_path, _screenshot_of_rotated_crop(_load(p), dark=i % 2 == 1), f"n{i}.jpg"))
        assert outcome.matches == [], (p.name, [m.method for m in outcome.matches])
