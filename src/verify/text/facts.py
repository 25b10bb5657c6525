"""What the words in a picture point at: handles, web addresses, dates and places.

Pure functions from text to values, tested directly (hypothesis included). Digits in Arabic-Indic
and Persian forms are read as digits; month names in English, in the Levantine Arabic calendar
(كانون الثاني, شباط, آذار ...) and in the Egyptian/Gulf one (يناير, فبراير ...) are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from verify.text.places import places_in

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

EN_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
AR_MONTHS = {
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "اذار": 3, "نيسان": 4, "أيار": 5, "ايار": 5, "حزيران": 6,
    "تموز": 7, "آب": 8, "اب": 8, "أيلول": 9, "ايلول": 9, "تشرين الأول": 10, "تشرين الاول": 10,
    "تشرين الثاني": 11, "كانون الأول": 12, "كانون الاول": 12,
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "ابريل": 4, "إبريل": 4, "مايو": 5, "يونيو": 6,
    "يونيه": 6, "يوليو": 7, "يوليه": 7, "أغسطس": 8, "اغسطس": 8, "سبتمبر": 9, "أكتوبر": 10,
    "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
}  # fmt: skip

_EN = "|".join(sorted(EN_MONTHS, key=len, reverse=True))
_AR = "|".join(sorted(map(re.escape, AR_MONTHS), key=len, reverse=True))
_YEAR = r"(19[5-9]\d|20\d\d)"
_DAY = r"(0?[1-9]|[12]\d|3[01])"

_DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b{_YEAR}[-/.](0?[1-9]|1[0-2])[-/.]{_DAY}\b"), "ymd"),
    (re.compile(rf"\b{_DAY}[-/.](0?[1-9]|1[0-2])[-/.]{_YEAR}\b"), "dmy"),
    (re.compile(rf"\b{_DAY}(?:st|nd|rd|th)?\s+(?:of\s+)?({_EN})\.?,?\s+{_YEAR}\b", re.I), "d_mon_y"),
    (re.compile(rf"\b({_EN})\.?\s+{_DAY}(?:st|nd|rd|th)?,?\s+{_YEAR}\b", re.I), "mon_d_y"),
    (re.compile(rf"(?<!\w){_DAY}\s*(?:من\s+)?(?:شهر\s+)?({_AR})\s*(?:عام\s+|سنة\s+)?{_YEAR}(?!\d)"), "ar_d_mon_y"),
    (re.compile(rf"\b({_EN})\.?\s+{_YEAR}\b", re.I), "mon_y"),
    (re.compile(rf"(?<!\w)({_AR})\s*(?:عام\s+|سنة\s+)?{_YEAR}(?!\d)"), "ar_mon_y"),
]

HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)(?![\w@])")
URL = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"']+|\b(?:[a-z0-9-]+\.)+(?:com|net|org|tv|news|info|sy|iq|lb|me|co|io|uk|fm|ly|app|media)(?:/[^\s<>\"']*)?\b"
)


@dataclass(frozen=True)
class DateMention:
    """A date written in the text: the day (or the first of the month when no day is given)."""

    when: date
    text: str
    precision: str  # "day" or "month"


def normalise_digits(text: str) -> str:
    return text.translate(_DIGITS)


def handles(text: str) -> list[str]:
    """Account handles (``@name``), lower-cased, once each, in order."""
    return list(dict.fromkeys("@" + m.group(1).lower() for m in HANDLE.finditer(text)))


def urls(text: str) -> list[str]:
    """Web addresses and bare domains, once each, trailing punctuation removed."""
    found = []
    for m in URL.finditer(text):
        value = m.group(0).rstrip(".,;:!?)]}")
        if "@" in text[max(0, m.start() - 1) : m.start()]:
            continue  # the domain of an e-mail address or handle
        found.append(value)
    return list(dict.fromkeys(found))


def dates(text: str) -> list[DateMention]:
    """Dates written in the text, in any of the forms above; impossible dates are ignored."""
    text = normalise_digits(text)
    taken: list[tuple[int, int]] = []
    out: list[DateMention] = []
    for pattern, form in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue  # already read as part of a fuller date
            g = m.groups()
            try:
                if form == "ymd":
                    d, precision = date(int(g[0]), int(g[1]), int(g[2])), "day"
                elif form == "dmy":
                    d, precision = date(int(g[2]), int(g[1]), int(g[0])), "day"
                elif form == "d_mon_y":
                    d, precision = date(int(g[2]), EN_MONTHS[g[1].lower()], int(g[0])), "day"
                elif form == "mon_d_y":
                    d, precision = date(int(g[2]), EN_MONTHS[g[0].lower()], int(g[1])), "day"
                elif form == "ar_d_mon_y":
                    d, precision = date(int(g[2]), AR_MONTHS[g[1]], int(g[0])), "day"
                elif form == "mon_y":
                    if g[0].lower() in ("may", "mar", "jun", "jan") and not g[0][0].isupper():
                        continue  # "may 2013" in running text is rarely the month
                    d, precision = date(int(g[1]), EN_MONTHS[g[0].lower()], 1), "month"
                else:
                    d, precision = date(int(g[1]), AR_MONTHS[g[0]], 1), "month"
            except (ValueError, KeyError):
                continue
            taken.append((m.start(), m.end()))
            out.append(DateMention(d, m.group(0).strip(), precision))
    out.sort(key=lambda dm: text.find(dm.text))
    return out


_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])(?:\s*(am|pm|a\.m\.|p\.m\.|ص|م|صباحا|مساء|مساءً|صباحاً)(?!\w))?", re.I)
_PM = {"pm", "p.m.", "م", "مساء", "مساءً"}


@dataclass(frozen=True)
class TimeMention:
    """A clock time written in the text (24-hour), as written and normalised."""

    hour: int
    minute: int
    text: str

    @property
    def value(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def times(text: str) -> list[TimeMention]:
    """Clock times ("18:33", "٠٣:٥٨ م", "3:58 pm"), Arabic-Indic digits read as digits.

    The original text is kept in ``text``; only the values are normalised. Only a colon
    separates hours from minutes ("7.45" is more often a price than a time).
    """
    plain = normalise_digits(text)
    out = []
    for m in _TIME.finditer(plain):
        hour, minute, mark = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
        if mark and hour > 12:
            continue
        if mark in _PM and hour < 12:
            hour += 12
        elif mark and mark not in _PM and hour == 12:
            hour = 0
        out.append(TimeMention(hour, minute, text[m.start() : m.end()].strip()))
    return out


def numbers(text: str) -> list[str]:
    """Numbers in the text with Western digits ("١٢٣" -> "123"), for search and comparison."""
    return re.findall(r"\d+(?:[.,]\d+)?", normalise_digits(text))


@dataclass(frozen=True)
class TextFacts:
    handles: list[str]
    urls: list[str]
    dates: list[DateMention]
    places: list[str]
    times: list[TimeMention]


def facts(text: str) -> TextFacts:
    return TextFacts(handles(text), urls(text), dates(text), places_in(text), times(text))
