"""Videos re-shared inside other videos (issue 12, item 5): picture-in-picture in a broadcast frame
or beside a presenter, a clip inside a compilation (found at its time offset), a clip re-filmed off
a screen; and a never-archived video in the same layouts matching nothing.

Clips are generated on the fly (``benchmarks/video_families.py``: Ken Burns pans over generated
photos, H.264), archived, and matched through the real ``Matcher``; the corpus variant uses real
photos and skips cleanly where the corpus is absent.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from factories import photo
from test_matching import Archive

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import video_families as vf  # noqa: E402  (the benchmark's generators)

from verify.matching.video_derived import changing_boxes, derive_videos, sample_frames  # noqa: E402

SRC = (640, 360)


def _source(seed: int, duration: float = 4.0):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    return vf.ken_burns([photo(seed, (1200, 800)), photo(seed + 100, (1200, 800))], rng, size=SRC, duration=duration, fps=25.0)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("video-families")
    a = Archive()
    clips = {}
    for seed in (41, 42, 43, 44):
        clip = _source(seed)
        clips[seed] = (a.add(vf.encode(clip, d / f"clip{seed}.mp4", crf=23)), clip)
    return a, clips, d


def _found(outcome, item_id: int):  # type: ignore[no-untyped-def]
    hits = [m for m in outcome.matches if m.item.id == item_id]
    assert hits, ([(m.item.id, m.method) for m in outcome.matches], [(m.item.id, m.method) for m in outcome.candidates])
    assert all(m.item.id == item_id for m in outcome.matches), [m.method for m in outcome.matches]
    return hits[0]


def test_inset_of_a_broadcast_is_found_as_the_changing_box(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, clips, _ = archive
    item, clip = clips[41]
    q, info = vf.broadcast(clip, photo(900, (1400, 900)), random.Random(5), side_by_side=False, size=(1280, 720))
    path = vf.encode(q, tmp_path / "pip.mp4", crf=28)
    frames, size = sample_frames(path)
    assert size == (1280, 720) and len(frames) >= 6
    boxes = changing_boxes([g for _, g in frames])
    W = 1280
    iw = int(W * float(info["scale"]))  # type: ignore[arg-type]
    assert boxes and abs(boxes[0][2] - iw) <= 0.1 * iw, (boxes, info)
    m = _found(a.match(path), item)
    assert m.detail["view"] == "region" and len(m.detail["region"]) == 4
    assert m.method.startswith("region ")


def test_clip_beside_a_presenter_is_found(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, clips, _ = archive
    item, clip = clips[42]
    q, _ = vf.broadcast(clip, photo(901, (1400, 900)), random.Random(6), side_by_side=True, size=(1280, 720))
    _found(a.match(vf.encode(q, tmp_path / "sbs.mp4", crf=26)), item)


def test_clip_inside_a_compilation_is_found_at_its_offset(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, clips, _ = archive
    item, clip = clips[43]
    rng = random.Random(7)
    others = [_source(700 + k, duration=4.0) for k in range(3)]
    q, info = vf.compilation(clip, others, rng, size=(854, 480))
    assert q.duration > 2 * info["length_s"]  # the archived clip is a minority of the query
    m = _found(a.match(vf.encode(q, tmp_path / "comp.mp4", crf=27)), item)
    d = m.detail
    assert abs(d["query_start_s"] - info["query_start_s"]) <= 0.6, (d, info)
    assert abs(d["archive_start_s"] - info["archive_start_s"]) <= 0.6, (d, info)
    assert d["query_end_s"] - d["query_start_s"] >= 0.6 * info["length_s"]
    assert abs(d["offset_s"] - (info["archive_start_s"] - info["query_start_s"])) <= 0.6


def test_clip_refilmed_off_a_screen_is_found(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, clips, _ = archive
    item, clip = clips[44]
    q, _ = vf.refilmed(clip, photo(902, (1400, 900)), random.Random(8), size=(960, 540))
    path = vf.encode(q, tmp_path / "refilmed.mp4", crf=25)
    frames, size = sample_frames(path)
    assert any(dv.view == "rectified" for dv in derive_videos(frames, size))
    _found(a.match(path), item)


@pytest.mark.parametrize("family", vf.FAMILIES)
def test_unrelated_video_in_each_layout_is_not_found(archive, tmp_path: Path, family: str) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = archive
    rng = random.Random(hash(family) % 1000)
    never = _source(77)
    others = [_source(780 + k) for k in range(2)] if family == "compilation" else []
    q, _ = vf.make_query(family, never, others, photo(903, (1400, 900)), rng)
    outcome = a.match(vf.encode(q, tmp_path / f"never-{family}.mp4", crf=26))
    assert not outcome.matches, [(m.item.id, m.method) for m in outcome.matches]


def test_corpus_clip_in_a_broadcast_is_found(corpus: Path, tmp_path: Path) -> None:
    photos = sorted((corpus / "photos").glob("*.jpg"))
    if len(photos) < 6:
        pytest.skip("too few corpus photos")
    rng = random.Random(12)
    a = Archive()
    clip = vf.ken_burns([photos[1], photos[2]], rng, size=SRC, duration=4.0, fps=25.0)
    item = a.add(vf.encode(clip, tmp_path / "corpus-clip.mp4"))
    a.add(vf.encode(vf.ken_burns([photos[3], photos[4]], rng, size=SRC, duration=4.0), tmp_path / "other.mp4"))
    q, _ = vf.broadcast(clip, photos[5], rng, side_by_side=False, size=(1280, 720))
    _found(a.match(vf.encode(q, tmp_path / "corpus-pip.mp4", crf=28)), item)


def test_match_json_carries_the_compilation_offsets(tmp_path: Path, data_dir: Path) -> None:
    """``verify match --json``: the matched stretch's start and end in ``detail`` (added keys only)."""
    from test_cli import MATCH_ENTRY_KEYS, jsonl, run

    clip = _source(45)
    folder = tmp_path / "archive"
    folder.mkdir()
    vf.encode(clip, folder / "clip45.mp4")
    q, info = vf.compilation(clip, [_source(790), _source(791)], random.Random(9), size=(640, 360))
    query = vf.encode(q, tmp_path / "compilation.mp4", crf=26)
    r = run("index", str(folder), data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    r = run("match", str(query), "--json", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    (rec,) = jsonl(r.stdout)
    assert rec["matches"], rec
    best = rec["matches"][0]
    assert set(best) == MATCH_ENTRY_KEYS and best["filename"] == "clip45.mp4"
    assert abs(best["detail"]["query_start_s"] - info["query_start_s"]) <= 0.6, (best, info)
    assert abs(best["detail"]["archive_start_s"] - info["archive_start_s"]) <= 0.6
    json.dumps(best)
    assert np.isfinite(best["detail"]["offset_s"])
