"""The inventory's keys: which source a finding belongs to and the ids derived from it.

Pure functions of what a finding says (origin kind and root), shared by the writer and by the
inventory-backed blob cache, so neither needs the other.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from tokenward.sources.interface import Origin
from tokenward.store.records import SourceRecord

LOG_KINDS = frozenset({"log", "ci-log", "build-log", "syslog", "journal", "access-log"})
EXPORT_KINDS = frozenset({"slack", "teams", "discord", "jira", "confluence", "github-issues", "zendesk",
                          "notion", "export", "chat", "tickets"})
def source_kind(origin_kind: str) -> str:
    """repo | file | log | export for a source's origin kind."""
    if origin_kind.startswith("git"):
        return "repo"
    if origin_kind in LOG_KINDS or origin_kind.endswith("-log"):
        return "log"
    if origin_kind in EXPORT_KINDS or origin_kind.endswith("-export"):
        return "export"
    return "file"


def digest(*parts: str, size: int = 32) -> str:
    """A hex SHA-256 of the parts joined by NUL, cut to size: the form of every inventory id."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:size]


def source_of(origin: Origin) -> SourceRecord:
    """The repository, directory, log or export an origin belongs to (absolute, so ids are stable)."""
    return source_for(origin.kind, origin.root)


def source_of_repo(root: str) -> SourceRecord:
    """The inventory source of a git repository scanned at root (as its history findings name it)."""
    return source_for("git", root)


@lru_cache(maxsize=1024)
def source_for(origin_kind: str, root: str) -> SourceRecord:
    """The source record of an origin kind and root (cached: a scan asks once per finding)."""
    kind = source_kind(origin_kind)
    locator = "stdin" if root in ("-", "") else root if "://" in root else os.path.abspath(root)
    return SourceRecord(digest("source", kind, locator), kind, locator)


