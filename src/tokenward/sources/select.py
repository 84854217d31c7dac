"""Choose the sources for each path a user names on the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenward.codehash import incremental_key
from tokenward.errors import ConfigError
from tokenward.identity import load_key
from tokenward.settings import Settings
from tokenward.sources.blobcache import SqliteBlobCache, cache_file
from tokenward.sources.filesystem import FilesystemSource, StdinSource, WalkOptions
from tokenward.sources.git import GitOptions, GitScope, GitSource
from tokenward.sources.gitobjects import Repo, open_repo, resolve
from tokenward.sources.gitprov import WalkIndex
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
    whole_blobs: bool = False  # match every byte of every blob, not only what each small delta changes
    ruleset: str = ""  # the rule-set digest that keys the incremental cache
    detection: str = ""  # the scan options that change a blob's findings (Scanner.detection_options): the key too
    reread_found: bool = False  # read again the cached blobs that had findings (--show-secrets: no plaintext is cached)

    @property
    def git_only(self) -> bool:
        """True when an option makes sense only for a git repository."""
        return bool(self.branches or self.since_commit or self.staged or self.all_objects)


def walk_options(settings: Settings) -> WalkOptions:
    """Filesystem walk options from settings."""
    return WalkOptions(exclude=settings.exclude, max_file_size=settings.max_file_size,
                       follow_symlinks=settings.follow_symlinks,
                       respect_gitignore=settings.respect_gitignore)


def sources_for(path: str, settings: Settings, options: SourceOptions) -> list[Source]:
    """The sources that scan one command-line path ('-' is standard input)."""
    if path == "-":
        return [StdinSource(settings.max_file_size)]
    root = Path(path)
    repo = open_repo(root) if root.is_dir() else None
    if repo is None:
        if options.git_only:
            raise ConfigError(f"{path}: --branch, --since-commit, --staged and --all-objects need the top "
                              "directory of a git repository")
        return [FilesystemSource(root, walk_options(settings))]
    return _repo_sources(root, repo, settings, options)


def _check(options: SourceOptions) -> None:
    if options.staged and (options.branches or options.since_commit or options.all_objects):
        raise ConfigError("--staged scans the index only; it cannot be combined with --branch, "
                          "--since-commit or --all-objects")
    if options.all_objects and (options.branches or options.since_commit or not options.history):
        raise ConfigError("--all-objects scans the whole object store; drop --branch, --since-commit, --no-history")
    if not options.history and (options.branches or options.since_commit):
        raise ConfigError("--no-history cannot be combined with --branch or --since-commit")
    for rev in (*options.branches, options.since_commit or ""):
        if rev.startswith("-"):
            raise ConfigError(f"invalid revision {rev!r}")


def git_scope(repo: Repo, options: SourceOptions) -> GitScope | None:
    """The part of the repository's history the options select (None: work tree only)."""
    _check(options)
    for rev in (*options.branches, *([options.since_commit] if options.since_commit else [])):
        if resolve(repo, rev) is None:
            raise ConfigError(f"{repo.path}: no commit named {rev!r}")
    since = (f"^{options.since_commit}",) if options.since_commit else ()
    if options.staged:
        return GitScope(every_ref=False, staged=True)
    if not options.history:
        has_head = repo.bare and resolve(repo, "HEAD") is not None
        return GitScope(every_ref=False, revs=("HEAD",), snapshot=True) if has_head else None
    if options.branches:
        return GitScope(every_ref=False, revs=options.branches + since)
    return GitScope(revs=since, all_objects=options.all_objects)


def _repo_sources(root: Path, repo: Repo, settings: Settings, options: SourceOptions) -> list[Source]:
    scope = git_scope(repo, options)
    sources: list[Source] = []
    worktree = not repo.bare and (scope is None or scope.whole_history)
    if worktree:
        sources.append(FilesystemSource(root, walk_options(settings)))
    if scope is not None:
        key = incremental_key(options.ruleset, options.detection, load_key())
        git_options = GitOptions(scope=scope, max_size=settings.max_file_size, exclude=settings.exclude,
                                 cache_key=key, use_cache=not options.full, delta_windows=not options.whole_blobs,
                                 reread_found=options.reread_found)
        sources.append(GitSource(repo, str(root), git_options, SqliteBlobCache(cache_file(repo.git_dir)),
                                 WalkIndex(cache_file(repo.git_dir, "walk"))))
    return sources
