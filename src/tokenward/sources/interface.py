"""The source interface: what every input source yields to the scan pipeline."""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

SkipSeverity = Literal["error", "policy"]
"""'error': the input could not be read (permission, corruption) and changes the exit code to 3;
'policy': deliberately not scanned (binary, too large, excluded)."""


@dataclass(frozen=True)
class CommitInfo:
    """A git commit, as shown next to a finding."""

    commit: str
    author: str
    author_email: str
    date: str  # ISO 8601, UTC
    summary: str


@dataclass(frozen=True)
class GitLocation:
    """One place a blob was put in history: the path, by the commit that added or changed it to the blob."""

    path: str
    commit: CommitInfo | None


@dataclass(frozen=True)
class GitProvenance:
    """Where a blob lives in a repository's history."""

    first_commit: CommitInfo | None
    paths: tuple[str, ...] = ()  # bounded list of paths the blob appears under
    refs: tuple[str, ...] = ()  # bounded list of refs it is reachable from
    ref_count: int = 0
    commit_count: int = 0
    in_head: bool = False  # present at the tip of at least one branch
    locations: tuple[GitLocation, ...] = ()  # every (path, commit) that introduced it, first first (bounded)


def member_suffix(path: str, blob_id: str | None) -> str:
    """The "!/member" tail of the path of something a git blob holds (an archive's member), "" for the blob
    itself: until a history finding is placed, an archive blob is named by its id (sources.git.blob_item)."""
    return path[len(blob_id):] if blob_id and path.startswith(f"{blob_id}!/") else ""


@dataclass(frozen=True)
class Origin:
    """Where a blob came from: the source kind, its root, the display path and format details."""

    kind: str  # "file", "stdin", "git", "slack", "archive", ...
    root: str  # the scanned root (directory, repository, export)
    path: str  # display path within root (archive chains as a!/b!/c)
    blob_id: str | None = None  # git object id when the content is a git blob
    details: tuple[tuple[str, str], ...] = ()  # format-specific provenance (channel, cell, layer…)
    git: GitProvenance | None = None
    line_offset: int = 0  # lines of the enclosing file before this blob's first line (decoded values)


@dataclass(frozen=True)
class Blob:
    """Bytes to scan plus their origin. Text is UTF-8 or raw bytes (decoded from UTF-16 upstream)."""

    data: bytes
    origin: Origin
    # The byte ranges to match when the rest is a match-free blob's, copied with all the context a
    # match depends on (a git delta's base; see sources/gitpack.py). None: every byte is matched.
    windows: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class SkippedItem:
    """An input not scanned, with why."""

    location: str
    reason: str
    severity: SkipSeverity = "policy"


class Source(Protocol):
    """Anything that yields Blobs and SkippedItems."""

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Yield every blob to scan and every item skipped, in a stable order."""
        ...


class WorkUnit(Protocol):
    """A picklable slice of a source that a worker process turns into blobs."""

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Read this slice: yield its blobs and skipped items."""
        ...


@runtime_checkable
class SplittableSource(Source, Protocol):
    """A source whose reading can be spread over worker processes (e.g. batches of files)."""

    def units(self) -> Iterator[WorkUnit | SkippedItem]:
        """Yield work units (and items skipped while enumerating), cheaply, in a stable order."""
        ...


@runtime_checkable
class RevisitingSource(SplittableSource, Protocol):
    """A source some of whose blobs were matched only in their Blob.windows (around what a delta changes), on the
    premise that the base they were copied from holds no match; the premise is checked after the
    scan, and the blobs it fails for are matched again, whole."""

    root: str

    def revisit(self, matched: Set[str], windowed: Set[str]) -> tuple[set[str], list[WorkUnit]]:
        """Given the blob ids that had a match (inline-suppressed ones included) and those matched
        only around their changes so far: the ids to match again whole, and the units that read
        them. Called until it returns no unit."""
        ...
