"""Expanders: turn one blob into the blobs inside it (archives, exports, documents, encodings).

The scan pipeline passes every blob through `expand` before matching, whatever source it came
from (a file on disk, a git blob, stdin), so an archive committed to history is opened too.
"""

from __future__ import annotations

from collections.abc import Iterator

from tokenward.sources.interface import Blob, SkippedItem


def looks_like_container(head: bytes, path: str) -> bool:
    """True when a binary-looking file is a format an expander opens (so it is not skipped as binary)."""
    return False


def expand(blob: Blob) -> Iterator[Blob | SkippedItem]:
    """The blobs to match for one input blob (the blob itself when no expander applies)."""
    yield blob
