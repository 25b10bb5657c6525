"""What a web page says about itself, and which photos and videos it carries.

Our own extractor over the standard library's ``html.parser`` (no HTML is ever rendered or run):
``og:image``/``og:video``, ``twitter:image``/``twitter:player:stream``, JSON-LD ``ImageObject``/
``VideoObject`` (also nested in an ``Article``), ``<video>``/``<source>`` and the ``<img>`` of the
main content (``<article>`` or ``<main>``; the whole body only when the page has neither), the
title, the author and ``article:published_time`` (or JSON-LD ``datePublished``/``uploadDate``).
Everything read is plain text: a title full of tags stays a string the front ends show as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_TEXT = 2000
_SPACE = re.compile(r"\s+")
_SKIP_IMG = re.compile(r"(sprite|logo|icon|avatar|pixel|spacer|badge|emoji)", re.I)


@dataclass(frozen=True)
class PageMedia:
    url: str
    kind: str  # "image" | "video" | "unknown"
    via: str  # where on the page it was found: og:video, json-ld, img, ...


@dataclass
class PageFacts:
    title: str | None = None
    author: str | None = None
    description: str | None = None
    published_raw: str | None = None
    published_at: datetime | None = None
    published_via: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    media: list[PageMedia] = field(default_factory=list)


def clean_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in value)
    text = _SPACE.sub(" ", text).strip()
    return text[:limit] or None


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time as the page states it; a bare date is taken at 00:00 UTC."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", text)
        if not m:
            return None
        try:
            when = datetime(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not 1990 <= when.year <= 2200:
        return None
    return when


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.title_parts: list[str] = []
        self.in_title = False
        self.in_script_ld = False
        self.ld_parts: list[str] = []
        self.ld_blocks: list[str] = []
        self.skip_depth = 0  # inside <script>/<style> (not JSON-LD)
        self.main_depth = 0
        self.saw_main = False
        self.main_imgs: list[str] = []
        self.body_imgs: list[str] = []
        self.videos: list[str] = []
        self.in_video = 0
        self.canonical: str | None = None
        self.time_datetime: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").strip().lower()
            if key and "content" in a:
                self.meta.setdefault(key, []).append(a["content"])
        elif tag == "title":
            self.in_title = True
        elif tag == "script":
            if "ld+json" in a.get("type", "").lower():
                self.in_script_ld = True
                self.ld_parts = []
            else:
                self.skip_depth += 1
        elif tag in ("style", "noscript", "template"):
            self.skip_depth += 1
        elif tag in ("article", "main"):
            self.main_depth += 1
            self.saw_main = True
        elif tag == "link" and "canonical" in a.get("rel", "").lower() and a.get("href"):
            self.canonical = a["href"]
        elif tag == "img":
            src = a.get("src") or a.get("data-src") or ""
            if src:
                (self.main_imgs if self.main_depth else self.body_imgs).append(src)
        elif tag == "video":
            self.in_video += 1
            if a.get("src"):
                self.videos.append(a["src"])
        elif tag == "source" and self.in_video and a.get("src"):
            self.videos.append(a["src"])
        elif tag == "time" and a.get("datetime") and self.time_datetime is None and self.main_depth:
            self.time_datetime = a["datetime"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "script":
            if self.in_script_ld:
                self.in_script_ld = False
                self.ld_blocks.append("".join(self.ld_parts))
            elif self.skip_depth:
                self.skip_depth -= 1
        elif tag in ("style", "noscript", "template") and self.skip_depth:
            self.skip_depth -= 1
        elif tag in ("article", "main") and self.main_depth:
            self.main_depth -= 1
        elif tag == "video" and self.in_video:
            self.in_video -= 1

    def handle_data(self, data: str) -> None:
        if self.in_script_ld:
            self.ld_parts.append(data)
        elif self.in_title and not self.skip_depth:
            self.title_parts.append(data)


def _ld_objects(blocks: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 6 or len(out) > 200:
            return
        if isinstance(node, list):
            for n in node:
                walk(n, depth + 1)
        elif isinstance(node, dict):
            out.append(node)
            for key in ("@graph", "video", "image", "associatedMedia", "mainEntity", "mainEntityOfPage", "hasPart"):
                if key in node:
                    walk(node[key], depth + 1)

    for block in blocks[:20]:
        try:
            walk(json.loads(block[:1_000_000]))
        except (ValueError, RecursionError):
            continue
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    return {str(x) for x in t} if isinstance(t, list) else {str(t)} if t else set()


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return clean_text(value, 300) if isinstance(value, str) else None


def _usable(url: str | None, base: str) -> str | None:
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if url.startswith(("data:", "javascript:", "blob:", "about:")):
        return None
    full = urljoin(base, url)
    if urlsplit(full).scheme not in ("http", "https"):
        return None
    return full


def extract(html: str, base_url: str) -> PageFacts:
    """The facts and the media a page states, in the order a desk trusts them (declared media first)."""
    p = _Parser()
    try:
        p.feed(html)
        p.close()
    except Exception:  # noqa: BLE001 - a broken page still gives what was read before the break
        pass
    facts = PageFacts()

    def meta(*keys: str) -> str | None:
        for k in keys:
            for v in p.meta.get(k, []):
                if v and v.strip():
                    return v
        return None

    lds = _ld_objects(p.ld_blocks)
    facts.title = clean_text(meta("og:title", "twitter:title"), 500) or clean_text("".join(p.title_parts), 500)
    facts.description = clean_text(meta("og:description", "description", "twitter:description"))
    facts.site_name = clean_text(meta("og:site_name"), 200)
    facts.author = clean_text(meta("article:author", "author", "twitter:creator"), 300)
    facts.canonical_url = _usable(meta("og:url") or p.canonical, base_url)
    for key in ("article:published_time", "og:published_time", "datepublished", "date", "pubdate"):
        raw = meta(key)
        when = parse_time(raw)
        if when is not None:
            facts.published_raw, facts.published_at, facts.published_via = clean_text(raw, 100), when, key
            break
    for obj in lds:
        if facts.author is None and obj.get("author"):
            facts.author = _name(obj.get("author"))
        if facts.published_at is None:
            for key in ("datePublished", "uploadDate"):
                raw = obj.get(key)
                when = parse_time(raw) if isinstance(raw, str) else None
                if when is not None:
                    facts.published_raw, facts.published_at, facts.published_via = clean_text(raw, 100), when, f"json-ld {key}"
                    break
        if facts.title is None and isinstance(obj.get("headline") or obj.get("name"), str):
            facts.title = clean_text(obj.get("headline") or obj.get("name"), 500)

    found: list[PageMedia] = []
    seen: set[str] = set()

    def add(url: Any, kind: str, via: str) -> None:
        full = _usable(url if isinstance(url, str) else None, base_url)
        if full and full not in seen:
            seen.add(full)
            found.append(PageMedia(full, kind, via))

    for key in ("og:video:secure_url", "og:video:url", "og:video"):
        for v in p.meta.get(key, []):
            add(v, "video", key)
    for v in p.meta.get("twitter:player:stream", []):
        add(v, "video", "twitter:player:stream")
    for obj in lds:
        types = _types(obj)
        if "VideoObject" in types:
            add(obj.get("contentUrl"), "video", "json-ld VideoObject")
        elif "ImageObject" in types:
            add(obj.get("contentUrl") or obj.get("url"), "image", "json-ld ImageObject")
    for v in p.videos:
        add(v, "video", "video")
    imgs = p.main_imgs if p.saw_main else p.body_imgs
    for v in imgs:
        if not _SKIP_IMG.search(v):
            add(v, "image", "img")
    for key in ("og:image:secure_url", "og:image:url", "og:image", "twitter:image", "twitter:image:src"):
        for v in p.meta.get(key, []):
            add(v, "image", key)
    facts.media = found
    return facts


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page's text: the charset the server or the page names, else UTF-8 with replacements."""
    charset = None
    if content_type and "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=")[-1].split(";")[0].strip().strip('"')
    if charset is None:
        m = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", body[:4096], re.I)
        if m:
            charset = m.group(1).decode("ascii", "replace")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
