"""Choose the sources for each path a user names on the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenward.settings import Settings
from tokenward.sources.filesystem import FilesystemSource, StdinSource, WalkOptions
from tokenward.sources.interface import Source


@dataclass(frozen=True)
class SourceOptions:
    """Command-line choices that decide which sources a path becomes."""

    history: bool = True  # scan the full history of all refs when the path is a repository
    branches: tuple[str, ...] = ()  # restrict history to these refs
    since_commit: str | None = None  # only commits after this one (REV..branches)
    staged: bool = False  # only what is staged in the index (pre-commit)
    all_objects: bool = False  # also unreachable / dangling objects in the object store
    full: bool = False  # ignore the incremental cache of already-scanned blobs
    ruleset: str = ""  # the rule-set digest that keys the incremental cache


def walk_options(settings: Settings) -> WalkOptions:
    """Filesystem walk options from settings."""
    return WalkOptions(exclude=settings.exclude, max_file_size=settings.max_file_size,
                       follow_symlinks=settings.follow_symlinks,
                       respect_gitignore=settings.respect_gitignore)


def sources_for(path: str, settings: Settings, options: SourceOptions) -> list[Source]:
    """The sources that scan one command-line path ('-' is standard input)."""
    if path == "-":
        return [StdinSource(settings.max_file_size)]
    return [FilesystemSource(Path(path), walk_options(settings))]
