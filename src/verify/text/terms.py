"""What of an item's text goes into the store for search and for "shares text with" links.

Pure and dependency-free, so the store can call it in the ingest transaction. Terms are the
distinctive things two posts of the same picture share: account handles, web addresses, and whole
sentences of four words or more (hashed, so one long caption is one term). Short common words are
not terms: they would link everything to everything.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from verify.text.facts import handles, urls

MIN_SENTENCE_WORDS = 4
MIN_SENTENCE_CHARS = 20


def body(text: dict[str, Any] | None) -> str:
    """All recognised lines as one searchable string (lower case)."""
    if not text:
        return ""
    return "\n".join(str(line.get("text", "")) for line in text.get("lines", [])).lower()


def _sentence_key(line: str) -> str | None:
    for found in (*handles(line), *urls(line)):
        line = re.sub(re.escape(found), " ", line, flags=re.I)
    folded = unicodedata.normalize("NFKC", line).casefold()
    words = re.findall(r"\w+", folded)
    if len(words) < MIN_SENTENCE_WORDS or sum(map(len, words)) < MIN_SENTENCE_CHARS:
        return None
    return "line:" + hashlib.sha256(" ".join(words).encode()).hexdigest()[:24]


def _url_key(url: str) -> str:
    u = re.sub(r"(?i)^https?://", "", url).lower()
    u = re.sub(r"^www\.", "", u).rstrip("/")
    return "url:" + u[:200]


def index_terms(text: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(kind, term) pairs, once each: ``handle``, ``url`` and ``line`` terms."""
    if not text:
        return []
    out: dict[str, str] = {}
    for line in text.get("lines", []):
        value = str(line.get("text", ""))
        for h in handles(value):
            out.setdefault("handle:" + h, "handle")
        for u in urls(value):
            out.setdefault(_url_key(u), "url")
        key = _sentence_key(value)
        if key:
            out.setdefault(key, "line")
    return [(kind, term) for term, kind in out.items()]


def describe(term: str) -> str:
    """How a term is shown to an editor (sentences by their hash are not shown as a hash)."""
    kind, _, value = term.partition(":")
    if kind == "handle":
        return f"the handle '{value}'"
    if kind == "url":
        return f"the address '{value}'"
    return "a sentence of its text"
