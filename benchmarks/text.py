"""Text in pictures (issue 18): how well verify reads generated screenshots, captions, banners and
watermarks in English and Arabic, and how long it takes.

Pictures are drawn here (Pillow with raqm shaping for Arabic) at phone resolution, light and
dark, at several text sizes, in every Arabic-capable font installed (DejaVu Sans always; Noto
Sans/Naskh Arabic UI from Debian's fonts-noto-ui-core when present); Arabic dates are written with
Western digits, and in every third picture with Arabic-Indic ones (its own row). Styles: phone
screenshots, small screenshots (540 px wide, 17 px text: a forwarded thumbnail), a caption band
over a photo, an outlined meme caption (top or bottom), a handle in a random corner (solid or
half transparent, with or without a rim), and a handle tiled on a diagonal. The engine reads
them through ``verify.text.read_picture`` (the same path as ingest). Reported per language and
style: character accuracy (1 - CER against the drawn text, lines matched by best overlap), word
recall, handles and dates found, handles reported as a watermark, seconds per picture (one
engine process at a time, OMP_THREAD_LIMIT=1). The baseline in the same run is plain
``pytesseract.image_to_string`` on the same picture, unprepared.

    python benchmarks/text.py [--per-style N] [--styles screenshot,watermark]
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
from text_pictures import ARABIC_FONTS, ARABIC_INDIC, banner_over, caption_over, screenshot, tiled_watermark, watermark  # noqa: E402

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
    fonts = ARABIC_FONTS
    for lang in ("en", "ar"):
        for i in range(per_style):
            text = rng.choice(EN if lang == "en" else AR)
            handle = rng.choice(HANDLES)
            y, m, d = rng.randint(2011, 2025), rng.randint(1, 12), rng.randint(1, 28)
            hh, mm = rng.randint(0, 23), rng.randint(0, 59)
            if lang == "en":
                date_line = f"{d} {MONTHS_EN[m - 1]} {y} at {hh:02d}:{mm:02d}"
            else:
                date_line = f"{d} {MONTHS_AR[m - 1]} {y} الساعة {hh:02d}:{mm:02d}"
            indic = lang == "ar" and i % 3 == 2
            if indic:  # as many Arabic phones and sites write it
                date_line = date_line.translate(ARABIC_INDIC)
            when = (y, m, d)
            dark = i % 2 == 1
            size = rng.choice([28, 34, 40])
            font_path = fonts[i % len(fonts)] if lang == "ar" else None
            lines = [handle, text, date_line]
            shot = "screenshot, Arabic-Indic digits" if indic else "screenshot"
            yield lang, shot, lines, screenshot(lines, dark=dark, size=size, arabic_font=font_path), handle, when
            yield lang, "small " + shot, lines, screenshot(lines, dark=not dark, size=17, width=540, arabic_font=font_path), handle, when
            pic = photo(rng.randint(0, 10_000), (1080, 720))
            yield lang, "banner over photo", [text], banner_over(pic, text, size=size), None, None
            where = "top" if i % 2 else "bottom"
            yield lang, "outlined caption", [text], caption_over(pic, text, size=size + 6, where=where), None, None
            corner = rng.choice(["tl", "tr", "bl", "br"])
            opacity = rng.choice([1.0, 0.7, 0.5])
            marked = watermark(pic, handle, size=size - 4, corner=corner, opacity=opacity, outline=rng.random() < 0.5)
            yield lang, "corner watermark", [handle], marked, handle, None
            angle = rng.choice([25.0, 30.0, 35.0, -30.0])
            yield lang, "tiled watermark", [handle], tiled_watermark(pic, handle, size=size, angle=angle, opacity=0.45), handle, None


def _cpu() -> float:
    """CPU seconds of this process and of the engine processes it waited for: the cost on one
    core, whatever else the machine is doing (wall-clock seconds are also reported)."""
    import os

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=6)  # Arabic-Indic digits: every third
    ap.add_argument("--styles", default="", help="comma-separated styles to run (default: all)")
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
    wanted = {x.strip() for x in args.styles.split(",") if x.strip()}
    for lang, style, truth, pic, handle, when in cases(random.Random(18), args.per_style):
        if wanted and style not in wanted:
            continue
        t, cpu = time.perf_counter(), _cpu()
        reading = read_picture(pic, status)
        secs = time.perf_counter() - t
        cpu = _cpu() - cpu
        t = time.perf_counter()
        plain = [ln for ln in pytesseract.image_to_string(pic, lang="ara+eng").splitlines() if ln.strip()]
        base_secs = time.perf_counter() - t
        read = [ln.text for ln in reading.lines]
        acc, recall = accuracy(truth, read)
        base_acc, _ = accuracy(truth, plain)
        text = "\n".join(read)
        got_handle = None if handle is None else handle in handles(text)
        got_date = None if when is None else any((d.when.year, d.when.month, d.when.day) == when for d in dates(text))
        as_mark = None
        if "watermark" in style:
            as_mark = any(ln.kind == "watermark" and handle in handles(ln.text) for ln in reading.lines)
        rows.setdefault((lang, style), []).append((acc, recall, base_acc, got_handle, got_date, secs, base_secs, as_mark, cpu))
    fonts = ", ".join(p.stem for p in ARABIC_FONTS)
    print(f"## Text in pictures: {args.per_style} pictures per language and style, {status.reason}; Arabic fonts: {fonts}\n")
    print("| language | style | pictures | char accuracy | word recall | plain tesseract char accuracy | handles found | reported as watermark | dates found | s/picture (max) | CPU s/picture | plain s/picture |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def count(r, i):
        vals = [x[i] for x in r if x[i] is not None]
        return f"{sum(vals)}/{len(vals)}" if vals else "-"

    for (lang, style), r in rows.items():
        n = len(r)
        mean = lambda i: sum(x[i] for x in r) / n  # noqa: E731
        print(f"| {lang} | {style} | {n} | {mean(0):.3f} | {mean(1):.3f} | {mean(2):.3f} | {count(r, 3)} | {count(r, 7)} | "
              f"{count(r, 4)} | {mean(5):.2f} ({max(x[5] for x in r):.2f}) | {mean(8):.2f} | {mean(6):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
