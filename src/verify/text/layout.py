"""From the words an OCR engine found to lines of text in reading (logical) order.

Pure functions over plain tuples, so they are tested without an engine. Tesseract reports each
word with its box; within a right-to-left line (Arabic) the order it reports a run of Latin
words or numbers in is not reliably the reading order, so the words of each line are put in
order here from their positions: right to left for a line that is mostly Arabic, left to right
otherwise, with runs of Latin words inside an Arabic line kept left to right (as the Unicode
bidirectional algorithm would show them).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Marks an engine may put around right-to-left runs; they carry no text.
_BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True)
class Word:
    """One recognised word: its text, confidence (0-1), box and the line the engine put it on."""

    text: str
    confidence: float
    x: int
    y: int
    w: int
    h: int
    line_key: tuple[int, ...]


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    box: tuple[int, int, int, int]


def clean(text: str) -> str:
    """NFC, no bidi marks or control characters, single spaces."""
    text = unicodedata.normalize("NFC", text.translate(_BIDI_MARKS))
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())


def direction(text: str) -> str:
    """``rtl`` for Arabic letters, ``ltr`` for Latin ones, ``neutral`` for digits and marks."""
    if _ARABIC.search(text):
        return "rtl"
    if _LATIN.search(text):
        return "ltr"
    return "neutral"


def order_words(words: list[Word]) -> list[Word]:
    """The words of one line in reading order (see the module docstring)."""
    dirs = [direction(w.text) for w in words]
    rtl = sum(len(w.text) for w, d in zip(words, dirs) if d == "rtl")
    ltr = sum(len(w.text) for w, d in zip(words, dirs) if d == "ltr")
    if rtl <= ltr:
        return sorted(words, key=lambda w: w.x)
    visual = sorted(words, key=lambda w: -(w.x + w.w))  # right to left
    out: list[Word] = []
    run: list[Word] = []
    for w in visual:
        if direction(w.text) == "ltr":
            run.append(w)
            continue
        out.extend(reversed(run))
        run = []
        out.append(w)
    out.extend(reversed(run))
    return out


def _plausible(text: str, confidence: float) -> bool:
    """Drop what an engine "reads" in texture: no letters or digits, or one low-confidence glyph."""
    letters = sum(ch.isalnum() for ch in text)
    if letters == 0:
        return False
    if letters < 2 and confidence < 0.8:
        return False
    return True


_SPLIT_HANDLE = re.compile(r"^@\w*_$")


def _join(words: list[Word]) -> str:
    """Words joined by spaces, except after a handle cut at its underscore ("@idlib_ news" is
    "@idlib_news": the engine reads the underscore's gap as a space; a handle has no spaces)."""
    out = ""
    for i, w in enumerate(words):
        out += w.text if i == 0 or _SPLIT_HANDLE.match(words[i - 1].text) else " " + w.text
    return out


def assemble(words: list[Word], *, min_confidence: float = 0.5) -> list[Line]:
    """Group words into lines, order them, drop the implausible ones; top to bottom."""
    groups: dict[tuple[int, ...], list[Word]] = {}
    for w in words:
        text = clean(w.text)
        if not text:
            continue
        groups.setdefault(w.line_key, []).append(Word(text, w.confidence, w.x, w.y, w.w, w.h, w.line_key))
    lines: list[Line] = []
    for group in groups.values():
        ordered = order_words(group)
        text = _join(ordered)
        weight = sum(len(w.text) for w in ordered)
        conf = sum(w.confidence * len(w.text) for w in ordered) / weight
        if conf < min_confidence or not _plausible(text, conf):
            continue
        x0 = min(w.x for w in ordered)
        y0 = min(w.y for w in ordered)
        x1 = max(w.x + w.w for w in ordered)
        y1 = max(w.y + w.h for w in ordered)
        lines.append(Line(text, round(conf, 3), (x0, y0, x1 - x0, y1 - y0)))
    lines.sort(key=lambda ln: (ln.box[1], ln.box[0]))
    return lines
