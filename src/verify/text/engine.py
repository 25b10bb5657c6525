"""The one seam to the OCR engine: Tesseract 5, run as its own process through pytesseract.

A separate process is the right shape for an engine reading hostile pictures: a crash or a hang
costs one call (``timeout``), never the workbench. When Tesseract or a language's data is
missing the feature is off and ``status`` says why, like the optional ExifTool.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

from verify.text.layout import Word

NAME = "tesseract"


@dataclass(frozen=True)
class EngineStatus:
    available: bool
    reason: str
    version: str | None = None
    languages: tuple[str, ...] = ()
    binary: str | None = None


@lru_cache(maxsize=8)
def status(binary: str | None, langs: str) -> EngineStatus:
    """Whether text can be read here, with the languages asked for (``ara+eng``)."""
    path = binary or shutil.which("tesseract")
    if not path or not os.path.exists(path):
        return EngineStatus(False, "Text reading is off: Tesseract is not installed (Debian: apt install tesseract-ocr tesseract-ocr-eng tesseract-ocr-ara).")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20)
        version = (out.stdout or out.stderr).split()[1] if (out.stdout or out.stderr).split()[1:] else None
        listed = subprocess.run([path, "--list-langs"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return EngineStatus(False, f"Text reading is off: Tesseract at {path} does not run ({type(exc).__name__}).")
    have = {ln.strip() for ln in listed.stdout.splitlines()[1:] if ln.strip()}
    wanted = tuple(lang for lang in langs.split("+") if lang)
    missing = [lang for lang in wanted if lang not in have]
    if version is None or not version.lstrip("v").split(".")[0].isdigit() or int(version.lstrip("v").split(".")[0]) < 4:
        return EngineStatus(False, f"Text reading is off: Tesseract {version or '?'} is too old (4 or newer is needed).")
    if not wanted:
        return EngineStatus(False, "Text reading is off: no languages are configured (VERIFY_OCR_LANGS).")
    if missing:
        pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
        return EngineStatus(False, f"Text reading is off: Tesseract has no data for {', '.join(missing)} (Debian: apt install {pkgs}).", version)
    return EngineStatus(True, f"Tesseract {version} ({'+'.join(wanted)})", version, wanted, path)


def recognise(picture: Image.Image, engine: EngineStatus, timeout_s: float, *, psm: int = 3) -> list[Word]:
    """Words with boxes in ``picture``'s pixels. Raises ``RuntimeError`` on a crash or time-out."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = engine.binary
    # One core per picture: parallelism comes from reading several files at once, and Tesseract's
    # own threads only fight each other on a busy machine.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(
        picture, lang="+".join(engine.languages), config=f"--oem 1 --psm {psm}", timeout=timeout_s,
        output_type=pytesseract.Output.DICT,
    )  # fmt: skip
    words: list[Word] = []
    for i, text in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if conf < 0 or not str(text).strip():
            continue
        key = (int(data["page_num"][i]), int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        words.append(Word(str(text), conf / 100.0, int(data["left"][i]), int(data["top"][i]), int(data["width"][i]), int(data["height"][i]), key))
    return words
