"""Place names an editor is likely to meet in this material, in both scripts.

A small gazetteer, not a geocoder: each place has its common English spellings and
transliterations and its Arabic forms, so "Halab" in a caption, "حلب" on a banner and "Aleppo" in
the claim are recognised as one place. Extend it with the desk's own beat (a tuple per place).
"""

from __future__ import annotations

import re
import unicodedata

# key, English forms and transliterations, Arabic forms
PLACES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Aleppo", ("aleppo", "halab", "haleb"), ("حلب",)),
    ("Damascus", ("damascus", "dimashq", "damas", "sham"), ("دمشق", "الشام")),
    ("Homs", ("homs", "hims"), ("حمص",)),
    ("Hama", ("hama", "hamah", "hamat"), ("حماة", "حماه")),
    ("Idlib", ("idlib", "idleb", "edlib"), ("إدلب", "ادلب")),
    ("Latakia", ("latakia", "lattakia", "ladhiqiyah", "al-ladhiqiyah"), ("اللاذقية",)),
    ("Tartus", ("tartus", "tartous"), ("طرطوس",)),
    ("Raqqa", ("raqqa", "raqqah", "ar-raqqah", "al-raqqa"), ("الرقة", "الرقه")),
    ("Deir ez-Zor", ("deir ez-zor", "deir ezzor", "deir el-zor", "deir al-zour", "deir ezzour", "dayr az-zawr"), ("دير الزور",)),
    ("Daraa", ("daraa", "deraa", "dar'a", "der'a"), ("درعا",)),
    ("Busra al-Sham", ("busra al-sham", "bosra", "busra", "bosra al-sham", "busra ash-sham"), ("بصرى الشام", "بصرى")),
    ("As-Suwayda", ("suwayda", "sweida", "as-suwayda", "al-suwayda"), ("السويداء",)),
    ("Quneitra", ("quneitra", "qunaytirah"), ("القنيطرة",)),
    ("Douma", ("douma", "duma"), ("دوما",)),
    ("Ghouta", ("ghouta", "eastern ghouta", "al-ghouta"), ("الغوطة",)),
    ("Khan Sheikhoun", ("khan sheikhoun", "khan shaykhun", "khan shaykhoun", "khan sheikhun"), ("خان شيخون",)),
    ("Maarat al-Numan", ("maarat al-numan", "maaret al-numan", "ma'arrat al-nu'man", "maarat"), ("معرة النعمان",)),
    ("Kobani", ("kobani", "kobane", "ain al-arab", "ayn al-arab"), ("كوباني", "عين العرب")),
    ("Qamishli", ("qamishli", "qamishlo", "al-qamishli"), ("القامشلي",)),
    ("Afrin", ("afrin", "efrin"), ("عفرين",)),
    ("Manbij", ("manbij", "menbij"), ("منبج",)),
    ("Palmyra", ("palmyra", "tadmur", "tadmor"), ("تدمر",)),
    ("Jisr al-Shughur", ("jisr al-shughur", "jisr ash-shughur"), ("جسر الشغور",)),
    ("Baghdad", ("baghdad",), ("بغداد",)),
    ("Mosul", ("mosul", "al-mawsil"), ("الموصل",)),
    ("Beirut", ("beirut", "bayrut"), ("بيروت",)),
    ("Amman", ("amman",), ("عمان",)),
    ("Gaza", ("gaza", "ghazza"), ("غزة",)),
    ("Cairo", ("cairo", "al-qahira"), ("القاهرة",)),
    ("Istanbul", ("istanbul",), ("إسطنبول", "اسطنبول")),
    ("Gaziantep", ("gaziantep", "antep", "aintab"), ("غازي عنتاب", "عنتاب")),
    ("Sanaa", ("sanaa", "sana'a"), ("صنعاء",)),
    ("Tripoli", ("tripoli", "tarabulus"), ("طرابلس",)),
    ("Benghazi", ("benghazi", "banghazi"), ("بنغازي",)),
    ("Khartoum", ("khartoum",), ("الخرطوم",)),
    ("Kyiv", ("kyiv", "kiev"), ("كييف",)),
    ("Kharkiv", ("kharkiv", "kharkov"), ("خاركيف",)),
    ("Mariupol", ("mariupol",), ("ماريوبول",)),
)


def _fold(text: str) -> str:
    """Lower case, no accents or tatweel, alef and ta marbuta forms unified, no Arabic diacritics."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u0640", "")  # tatweel
    text = re.sub("[\u0623\u0625\u0622\u0671]", "\u0627", text)  # alef forms -> bare alef
    text = text.replace("\u0629", "\u0647").replace("\u0649", "\u064a")  # ta marbuta, alef maqsura
    text = text.replace("\u2019", "'").replace("`", "'")
    return " ".join(re.sub(r"[^\w'\- ]+", " ", text).split())


def _pattern(form: str) -> re.Pattern[str]:
    folded = re.escape(_fold(form)).replace(r"\-", r"[\- ]?").replace(r"\ ", r"[\- ]?")
    # Arabic attaches prepositions and the article: "في حلب", "بحلب", "والرقة".
    if re.search(r"[\u0600-\u06ff]", form):
        return re.compile(rf"(?:^|[\s])(?:[وبلفك]|ال|وال|بال|لل)?{folded}(?=$|[\s])")
    return re.compile(rf"(?<![\w]){folded}(?![\w])")


_INDEX: list[tuple[str, re.Pattern[str]]] = [
    (key, _pattern(form)) for key, latin, arabic in PLACES for form in (*latin, *arabic, key)
]


def places_in(text: str) -> list[str]:
    """The gazetteer places named in ``text``, in order of first mention, once each.

    Overlapping names resolve to the longest ("Busra al-Sham" is not also "al-Sham", Damascus).
    """
    folded = _fold(text)
    spans: list[tuple[int, int, str]] = []
    for key, pattern in _INDEX:
        spans += [(m.start(), m.end(), key) for m in pattern.finditer(folded)]
    kept: list[tuple[int, int, str]] = []
    for start, end, key in sorted(spans, key=lambda s: s[0] - s[1]):
        if not any(start < e and s < end for s, e, _ in kept):
            kept.append((start, end, key))
    return list(dict.fromkeys(key for _s, _e, key in sorted(kept)))


def arabic_name(key: str) -> str | None:
    for k, _latin, arabic in PLACES:
        if k == key:
            return arabic[0]
    return None
