"""Text in pictures (issue 18): how well verify reads generated screenshots, captions, banners and
watermarks in English and Arabic, and how long it takes.

Pictures are drawn here (Pillow with raqm shaping for Arabic; DejaVu Sans) at phone resolution,
light and dark, at several text sizes; the engine reads them through ``verify.text.read_picture``
(the same path as ingest). Reported per language and style: character accuracy (1 - CER against
the drawn text, lines matched by best overlap), word recall, handles and dates found, seconds per
picture (one engine process at a time, OMP_THREAD_LIMIT=1). The baseline in the same run is plain
``pytesseract.image_to_string`` on the same picture, unprepared.

    python benchmarks/text.py [--per-style N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from factories import photo  # noqa: E402
from text_pictures import banner_over, caption_over, screenshot, watermark  # noqa: E402

EN = [
    "Huge crowds in the streets of Busra al-Sham today", "Shelling reported near the old market",
    "Share before it is deleted", "Rescue teams are still searching the rubble", "The people have not forgotten",
    "Breaking news from Idlib this morning", "Families flee the fighting in Aleppo",
]  # fmt: skip
AR = [
    "مظاهرة حاشدة في بصرى الشام اليوم", "قصف على مدينة إدلب صباح اليوم", "الحرية للمعتقلين في سجون النظام",
    "عاجل انفجار في حلب", "فرق الإنقاذ تبحث تحت الأنقاض", "نزوح العائلات من ريف حماة",
]  # fmt: skip
HANDLES = ["@syria_now24", "@aleppo24", "@idlib_news", "@freesyria", "@daraa_media"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
MONTHS_AR = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def accuracy(truth: list[str], read: list[str]) -> tuple[float, float]:
    """(1 - CER, word recall) of the drawn lines against the lines read."""
    errors = chars = found = words = 0
    for line in truth:
        best = min(read, key=lambda r: levenshtein(line, r), default="")
        errors += min(len(line), levenshtein(line, best))
        chars += len(line)
        have = set(" ".join(read).split())
        words += len(line.split())
        found += sum(w in have for w in line.split())
    return 1 - errors / max(1, chars), found / max(1, words)


def cases(rng: random.Random, per_style: int):
    for lang in ("en", "ar"):
        for i in range(per_style):
            text = rng.choice(EN if lang == "en" else AR)
            handle = rng.choice(HANDLES)
            y, m, d = rng.randint(2011, 2025), rng.randint(1, 12), rng.randint(1, 28)
            date_line = f"{d} {MONTHS_EN[m - 1]} {y}" if lang == "en" else f"{d} {MONTHS_AR[m - 1]} {y}"
            when = (y, m, d)
            dark = i % 2 == 1
            size = rng.choice([28, 34, 40])
            lines = [handle, text, date_line]
            yield lang, "screenshot", lines, screenshot(lines, dark=dark, size=size), handle, when
            pic = photo(rng.randint(0, 10_000), (1080, 720))
            yield lang, "banner over photo", [text], banner_over(pic, text, size=size), None, None
            yield lang, "outlined caption", [text], caption_over(pic, text, size=size + 6), None, None
            yield lang, "watermark", [handle], watermark(pic, handle, size=size - 4), handle, None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=6)
    args = ap.parse_args()
    import os

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    import pytesseract

    from verify.text import engine_status, read_picture
    from verify.text.facts import dates, handles

    status = engine_status(None, "ara+eng")
    if not status.available:
        sys.exit(status.reason)
    rows: dict[tuple[str, str], list[tuple[float, float, float, bool | None, bool | None, float]]] = {}
    for lang, style, truth, pic, handle, when in cases(random.Random(18), args.per_style):
        t = time.perf_counter()
        reading = read_picture(pic, status)
        secs = time.perf_counter() - t
        t = time.perf_counter()
        plain = [ln for ln in pytesseract.image_to_string(pic, lang="ara+eng").splitlines() if ln.strip()]
        base_secs = time.perf_counter() - t
        read = [ln.text for ln in reading.lines]
        acc, recall = accuracy(truth, read)
        base_acc, _ = accuracy(truth, plain)
        text = "\n".join(read)
        got_handle = None if handle is None else handle in handles(text)
        got_date = None if when is None else any((d.when.year, d.when.month, d.when.day) == when for d in dates(text))
        rows.setdefault((lang, style), []).append((acc, recall, base_acc, got_handle, got_date, secs, base_secs))
    print(f"## Text in pictures: {args.per_style} pictures per language and style, {status.reason}\n")
    print("| language | style | pictures | char accuracy | word recall | plain tesseract char accuracy | handles found | dates found | s/picture | plain s/picture |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (lang, style), r in rows.items():
        n = len(r)
        mean = lambda i: sum(x[i] for x in r) / n  # noqa: E731
        hs = [x[3] for x in r if x[3] is not None]
        ds = [x[4] for x in r if x[4] is not None]
        print(f"| {lang} | {style} | {n} | {mean(0):.3f} | {mean(1):.3f} | {mean(2):.3f} | "
              f"{(f'{sum(hs)}/{len(hs)}') if hs else '-'} | {(f'{sum(ds)}/{len(ds)}') if ds else '-'} | {mean(5):.2f} | {mean(6):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
