"""Errors an editor can read.

Every failure that reaches a person (a CLI line, a message in the workbench) is a ``VerifyError``
whose ``str()`` is a plain sentence: no class names, no server paths, no tracebacks. Anything else
that escapes is a bug.
"""

from __future__ import annotations


class VerifyError(Exception):
    """Base class: the message is meant for an editor, not a developer."""


class UnsupportedMedia(VerifyError):
    """The bytes are not an image or video we can read (whatever the extension says)."""


class UnreadableMedia(VerifyError):
    """The file claims a supported type but cannot be decoded (truncated, corrupt, hostile)."""


class TooLarge(VerifyError):
    """The file or its pixel count is beyond the configured limits (decompression bombs land here)."""


class NotFound(VerifyError):
    """An item, file or record that was asked for does not exist."""


class Conflict(VerifyError):
    """Someone else changed the record meanwhile; the caller's change was not applied."""


class StoreError(VerifyError):
    """The evidence store could not complete an operation; nothing partial was kept."""


class NotAllowed(VerifyError):
    """The action needs an identified editor."""
