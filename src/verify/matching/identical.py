"""The strongest match there is: the very same bytes, already stored.

A file whose SHA-256 is already in the store is not "no match": it is the archived item itself.
``Services.match_path`` puts it first, marked by its method, so the CLI, the workbench and any
later API say the same thing ("MATCH (identical file)").
"""

from __future__ import annotations

from verify.models import Match, MediaItem

#: What every identical-file match's ``method`` starts with (part of the CLI contract).
IDENTICAL_METHOD = "identical file (SHA-256)"


def identical_match(item: MediaItem) -> Match:
    """The stored item whose bytes are the query's own: score 1.0, distance 0, always confident."""
    return Match(item=item, score=1.0, distance=0, method=IDENTICAL_METHOD, confident=True, detail={"identical": True})


def is_identical(match: Match) -> bool:
    """Whether a match is the byte-for-byte same file, not a look-alike."""
    return match.method.startswith(IDENTICAL_METHOD)
