"""Pictures inside pictures, photos of screens, memes, tight crops and quarter turns (issue 12).

Each family is made by the quality benchmark's generators (``benchmarks/families.py``) from
generated photos and from real corpus photos (skipped where the corpus is absent), matched through
the real ``Matcher``; each family also has a never-archived negative that must match nothing.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from factories import photo
from test_matching import Archive, _query, _top
from verify.fingerprints.regions import find_regions, iou, quads, rectify
from verify.fingerprints.views import caption_text_mask

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import families  # noqa: E402  (the benchmark's generators)

SIZE = (960, 720)
ARCHIVED = range(21, 33)


def _others(seed: int):  # type: ignore[no-untyped-def]
    """Never-archived pictures for the rest of a collage or page."""
    rng = random.Random(seed)
    return lambda: photo(500 + rng.randrange(40), (800, 600))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, dict[int, int]]:
    from factories import jpeg_bytes, write

    d = tmp_path_factory.mktemp("families")
    a = Archive()
    return a, {s: a.add(write(d / f"p{s}.jpg", jpeg_bytes(photo(s, SIZE)))) for s in ARCHIVED}


# -- the parts, on their own -------------------------------------------------------------------------


def test_regions_of_a_grid_with_gutters_and_of_one_without() -> None:
    tiles = [photo(s, (400, 300)) for s in range(4)]
    for gutter, colour in ((12, (255, 255, 255)), (0, (0, 0, 0))):
        canvas = Image.new("RGB", (800 + gutter, 600 + gutter), colour)
        for i, t in enumerate(tiles):
            canvas.paste(t, ((i % 2) * (400 + gutter), (i // 2) * (300 + gutter)))
        boxes = find_regions(np.asarray(canvas.convert("L")))
        for i in range(4):
            want = ((i % 2) * (400 + gutter), (i // 2) * (300 + gutter), 400, 300)
            # a tile whose own edge is one flat colour may lose that strip to the gutter
            assert any(iou(box, want) >= 0.85 for box in boxes), (gutter, want, boxes)


def test_one_photo_has_no_regions_worth_a_query() -> None:
    # a single photo may split at a straight edge of its own, but never into many pieces
    assert len(find_regions(np.asarray(photo(7, SIZE).convert("L")))) <= 6


def test_a_tilted_screen_is_found_and_made_upright() -> None:
    import cv2

    pic = np.asarray(photo(8, (800, 600)).convert("L"))
    framed = cv2.copyMakeBorder(pic, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=10)
    corners = np.float32([[180, 140], [1080, 200], [1040, 860], [220, 800]])
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [860, 0], [860, 660], [0, 660]]), corners)
    shot = cv2.warpPerspective(framed, M, (1280, 960), borderValue=150)
    found = quads(shot)
    assert found, "no quadrilateral"
    assert np.abs(found[0] - corners).max() < 25
    upright = rectify(shot, found[0])
    assert abs(upright.shape[1] / upright.shape[0] - 860 / 660) < 0.12


def test_meme_text_is_found_and_a_plain_photo_has_none() -> None:
    im = families.meme(photo(9, SIZE), random.Random(1), _others(1))
    mask = caption_text_mask(np.asarray(im.convert("L")))
    assert mask is not None
    h = mask.shape[0]
    rows = mask.any(axis=1)
    assert rows[: h // 3].any() or rows[-h // 3 :].any()
    assert not rows[int(h * 0.45) : int(h * 0.55)].any()  # the middle of the picture is left alone
    assert caption_text_mask(np.asarray(photo(9, SIZE).convert("L"))) is None


# -- the whole pipeline, generated photos -------------------------------------------------------------

FAMILY_CASES = ["grid", "mosaic", "side-by-side", "web-page", "screen-photo", "meme", "crop-40", "turn-90", "turn-270"]


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_each_family_finds_its_original_and_a_never_archived_one_matches_nothing(archive, tmp_path: Path, family: str) -> None:  # type: ignore[no-untyped-def]
    a, ids = archive
    make = families.FAMILIES[family]
    found = []
    seeds = list(ARCHIVED)[:3]
    for k, seed in enumerate(seeds):
        q = _query(tmp_path, make(photo(seed, SIZE), random.Random(f"{family}/{k}"), _others(k)), f"q{k}.jpg")
        outcome = a.match(q)
        found.append(_top(outcome) == ids[seed])
        assert all(m.item.id == ids[seed] for m in outcome.matches), [m.method for m in outcome.matches]
    assert sum(found) >= len(seeds) - 1, f"{family}: {found}"
    # the same family made only of pictures never archived: no match at all
    neg = _query(tmp_path, make(photo(900, SIZE), random.Random(f"neg/{family}"), _others(99)), "neg.jpg")
    assert a.match(neg).matches == []


def test_a_grid_match_says_which_tile_it_was(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids = archive
    tiles = [photo(600 + i, (480, 360)) for i in range(4)]
    tiles[3] = photo(24, SIZE).resize((480, 360))
    canvas = Image.new("RGB", (980, 740), (255, 255, 255))
    for i, t in enumerate(tiles):
        canvas.paste(t, (10 + (i % 2) * 490, 10 + (i // 2) * 370))
    outcome = a.match(_query(tmp_path, canvas))
    assert _top(outcome) == ids[24]
    m = outcome.matches[0]
    assert m.detail["view"] == "region"
    x, y, w, h = m.detail["region"]
    assert abs(x - 500) <= 12 and abs(y - 380) <= 12 and abs(w - 480) <= 16 and abs(h - 360) <= 16
    assert m.method.startswith("region ")


def test_a_turned_picture_says_how_it_was_turned(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, ids = archive
    q = _query(tmp_path, photo(25, SIZE).transpose(Image.Transpose.ROTATE_90))
    outcome = a.match(q)
    assert _top(outcome) == ids[25]


# -- corpus photos -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_archive(request: pytest.FixtureRequest) -> tuple[Archive, dict[Path, int], list[Path]]:
    from conftest import CORPUS, skip_or_fail

    if not (CORPUS / "manifest.csv").exists():
        skip_or_fail(f"the shared media corpus is not at {CORPUS} (it is only on development and CI machines)")
    photos = sorted(p for p in (CORPUS / "photos").iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[1::9]
    archived, held_out = photos[: len(photos) * 2 // 3], photos[len(photos) * 2 // 3 :]
    a = Archive()
    return a, {p: a.add(p) for p in archived}, held_out


def _load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (1600, 1600))
        im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((1600, 1600))
    return im


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_each_family_on_real_photos(corpus_archive, tmp_path: Path, family: str) -> None:  # type: ignore[no-untyped-def]
    a, ids, held_out = corpus_archive
    fillers = [_load(p) for p in held_out[:4]]
    rng = random.Random(family)
    others = lambda: rng.choice(fillers)  # noqa: E731
    make = families.FAMILIES[family]
    sources = list(ids)[::4][:3]
    found = []
    for k, src in enumerate(sources):
        q = _query(tmp_path, make(_load(src), random.Random(f"corpus/{family}/{k}"), others), f"c{k}.jpg")
        outcome = a.match(q)
        found.append(_top(outcome) == ids[src])
        assert all(m.item.id == ids[src] for m in outcome.matches), [m.method for m in outcome.matches]
    assert sum(found) >= len(sources) - 1, f"{family}: {found}"
    neg = _query(tmp_path, make(_load(held_out[-1]), random.Random(f"corpus-neg/{family}"), others), "cn.jpg")
    assert a.match(neg).matches == []


@pytest.mark.parametrize("corner", ["tl", "tr", "bl", "br"])
def test_a_tight_crop_at_any_corner_finds_its_original(archive, tmp_path: Path, corner: str) -> None:  # type: ignore[no-untyped-def]
    """40% of the area, in a corner (not the centre the archive's crop views cover), shown at 640 px:
    the keypoint words rank the original behind others, the quick check screens it in."""
    a, ids = archive
    seed = {"tl": 26, "tr": 27, "bl": 28, "br": 29}[corner]
    w, h = SIZE
    cw, ch = round(w * 0.63), round(h * 0.63)
    x = 0 if corner[1] == "l" else w - cw
    y = 0 if corner[0] == "t" else h - ch
    crop = photo(seed, SIZE).crop((x, y, x + cw, y + ch))
    crop.thumbnail((640, 640))
    outcome = a.match(_query(tmp_path, crop, f"tight-{corner}.jpg"))
    assert _top(outcome) == ids[seed], [m.method for m in outcome.matches + outcome.candidates]
    assert all(m.item.id == ids[seed] for m in outcome.matches)
    never = photo(950 + seed, SIZE).crop((x, y, x + cw, y + ch))
    never.thumbnail((640, 640))
    assert a.match(_query(tmp_path, never, f"never-{corner}.jpg")).matches == []
