"""Seconds per hostile-EXIF file, against clean files of the same size in the same run.

The 50 files of ``tests/exif_bombs.hostile_set`` (count bombs in every directory, offsets past
the end, 65,535-entry directories, loops; JPEG, PNG, WebP, TIFF) are read three ways:

1. ``metadata.read`` in this process (the readers alone), per file;
2. ``services.analyse`` in this process (sniff, decode, fingerprints, metadata), per file;
3. ``verify meta FOLDER --json`` end to end (one process, the decoding sandbox, start-up included).

The baseline is the same structure without the lies (``exif_bombs.full()`` in the same
containers), read the same way, so the ratio says what the hostility costs. For reference the
unguarded exifread is run once on the billion-byte maker note, with a cut-off.

    python benchmarks/hostile_meta.py            # prints a Markdown table for docs/benchmarks.md
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 - puts tests/ on the path

import exif_bombs as bombs
from verify import metadata
from verify.config import Settings
from verify.media import sniff_file
from verify.services import analyse

ROOT = Path(__file__).resolve().parents[1]


def _clean_set(folder: Path, like: dict[str, Path]) -> dict[str, Path]:
    """One clean file per hostile one, same container and picture size."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, path) in enumerate(sorted(like.items()), start=1):
        ext = path.suffix
        spec = bombs.full()
        data = {
            ".jpg": lambda: bombs.jpeg_with_exif(bombs.layout(spec), i),
            ".png": lambda: bombs.png_with_exif(bombs.layout(spec), i),
            ".webp": lambda: bombs.webp_with_exif(bombs.layout(spec), i),
            ".tif": lambda: bombs.tiff_file(spec, i),
        }[ext]()
        clean = folder / f"clean-{i:02d}{ext}"
        clean.write_bytes(data)
        out[clean.name] = clean
    return out


def _per_file(paths: list[Path], fn) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for p in paths:
        started = time.perf_counter()
        fn(p)
        times.append(time.perf_counter() - started)
    return times


def _cli(folder: Path, data_dir: Path) -> tuple[float, int]:
    env = dict(os.environ, VERIFY_DATA_DIR=str(data_dir))
    env.pop("VERIFY_DECODE_TIMEOUT", None)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "verify", "meta", str(folder), "--json"], capture_output=True, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    records = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.startswith("{")]
    return elapsed, sum(1 for r in records if r["error"] is None)


def _unguarded_exifread(tmp: Path, cutoff: float = 10.0) -> str:
    path = tmp / "makernote-bomb.jpg"
    path.write_bytes(bombs.jpeg_with_exif(bombs.layout(bombs.hostile_tiffs()["count-exif-makernote"])))
    code = "import exifread, sys; exifread.process_file(open(sys.argv[1], 'rb'), details=True, extract_thumbnail=False)"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], start_new_session=True)
    try:
        proc.wait(cutoff)
        return f"{time.perf_counter() - started:.1f} s"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        return f"still walking after {cutoff:.0f} s (stopped)"


def main() -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="hostile-bench-")))
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        hostile = bombs.hostile_set(tmp_path / "hostile", 50)
        clean = _clean_set(tmp_path / "clean", hostile)
        sets = {"hostile": sorted(hostile.values()), "clean": sorted(clean.values())}
        for paths in sets.values():  # warm the imports and caches once
            metadata.read(paths[0], sniff_file(paths[0]), settings)
            analyse(paths[0], settings)
        rows = []
        results: dict[str, dict[str, float]] = {}
        for label, paths in sets.items():
            meta_t = _per_file(paths, lambda p: metadata.read(p, sniff_file(p), settings))
            full_t = _per_file(paths, lambda p: analyse(p, settings))
            cli_s, ok = _cli(paths[0].parent, tmp_path / f"data-{label}")
            results[label] = {
                "meta_median": statistics.median(meta_t), "meta_max": max(meta_t),
                "full_median": statistics.median(full_t), "full_max": max(full_t),
                "cli_per_file": cli_s / len(paths), "cli_total": cli_s, "ok": ok,
            }
        worst = max(zip(_per_file(sets["hostile"], lambda p: metadata.read(p, sniff_file(p), settings)), sets["hostile"]))
        for label in ("hostile", "clean"):
            r = results[label]
            rows.append([f"{label} ({len(sets[label])} files)", f"{r['meta_median'] * 1000:.1f} ms", f"{r['meta_max'] * 1000:.0f} ms",
                         f"{r['full_median'] * 1000:.0f} ms", f"{r['full_max'] * 1000:.0f} ms",
                         f"{r['cli_total']:.1f} s ({r['cli_per_file']:.2f} s/file)", f"{r['ok']}/{len(sets[label])}"])  # fmt: skip
        h, c = results["hostile"], results["clean"]
        rows.append(["ratio hostile / clean", f"{h['meta_median'] / c['meta_median']:.2f}x", "", f"{h['full_median'] / c['full_median']:.2f}x", "",
                     f"{h['cli_total'] / c['cli_total']:.2f}x", ""])  # fmt: skip
        print(_common.table(["files", "metadata median", "metadata max", "analysis median", "analysis max", "verify meta (whole folder)", "read"], rows))
        print(f"\nslowest hostile file (metadata): {worst[1].name}, {worst[0] * 1000:.0f} ms")
        print(f"unguarded exifread 3.5 on the billion-byte maker note: {_unguarded_exifread(tmp_path)}")


if __name__ == "__main__":
    main()
