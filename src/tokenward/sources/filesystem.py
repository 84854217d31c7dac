"""Filesystem source: walk directories (or read one file / stdin) and yield blobs."""

from __future__ import annotations

import fnmatch
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tokenward.sources.interface import Blob, Origin, SkippedItem
from tokenward.sources.textdecode import to_scannable

DEFAULT_MAX_SIZE = 25 * 1024 * 1024
ALWAYS_EXCLUDED_DIRS = frozenset({".git"})


@dataclass(frozen=True)
class WalkOptions:
    """How the filesystem walk behaves."""

    exclude: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_SIZE
    follow_symlinks: bool = False
    respect_gitignore: bool = False


def excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    """True when a relative posix path, or any of its parent directories, matches an exclude glob."""
    parts = rel.split("/")
    candidates = [rel] + ["/".join(parts[:i]) for i in range(1, len(parts))] + parts
    return any(fnmatch.fnmatchcase(c, p) or fnmatch.fnmatchcase(c, p.rstrip("/"))
               for p in patterns for c in candidates)


def _git_tracked(root: Path) -> set[str] | None:
    # `git ls-files --exclude-standard` applies .gitignore exactly as git does (nested files,
    # negations, global excludes), which a hand-written matcher would only approximate.
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "-co", "--exclude-standard"],
            capture_output=True, check=True, timeout=600,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def read_file(path: Path, display: str, root: str, max_size: int) -> Blob | SkippedItem:
    """Read one regular file into a Blob, or say why it was skipped."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return SkippedItem(display, f"cannot open: {exc.strerror}", "error")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return SkippedItem(display, "not a regular file (device, FIFO or socket)")
        if st.st_size > max_size:
            return SkippedItem(display, f"too large ({st.st_size} bytes > {max_size})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_size + 1)
    except OSError as exc:
        return SkippedItem(display, f"cannot read: {exc.strerror}", "error")
    finally:
        os.close(fd)
    return _blob_or_binary(data, display, root)


def _blob_or_binary(data: bytes, display: str, root: str, kind: str = "file") -> Blob | SkippedItem:
    text = to_scannable(data)
    if text is None:
        return SkippedItem(display, "binary content")
    return Blob(text, Origin(kind, root, display))


class FilesystemSource:
    """Yields every file under a root (or the root itself when it is a file)."""

    def __init__(self, root: Path, options: WalkOptions = WalkOptions()) -> None:
        self.root = root
        self.options = options
        self._seen_dirs: set[tuple[int, int]] = set()

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Yield blobs and skipped items for the whole tree, in sorted order."""
        try:
            st = os.stat(self.root)
        except OSError as exc:
            yield SkippedItem(str(self.root), f"cannot access: {exc.strerror}", "error")
            return
        if not stat.S_ISDIR(st.st_mode):
            yield read_file(self.root, str(self.root), str(self.root.parent), self.options.max_file_size)
            return
        tracked = _git_tracked(self.root) if self.options.respect_gitignore else None
        self._seen_dirs.add((st.st_dev, st.st_ino))
        yield from self._walk(self.root, "", tracked)

    def _walk(self, directory: Path, rel: str, tracked: set[str] | None) -> Iterator[Blob | SkippedItem]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield SkippedItem(rel or str(directory), f"cannot list directory: {exc.strerror}", "error")
            return
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.name in ALWAYS_EXCLUDED_DIRS or excluded(child, self.options.exclude):
                continue
            yield from self._entry(entry, child, tracked)

    def _entry(self, entry: os.DirEntry[str], child: str,
               tracked: set[str] | None) -> Iterator[Blob | SkippedItem]:
        path = Path(entry.path)
        if entry.is_symlink() and not self.options.follow_symlinks:
            yield SkippedItem(child, "symbolic link not followed (use --follow-symlinks)")
            return
        try:
            st = os.stat(path)
        except OSError as exc:
            reason = "broken symbolic link" if entry.is_symlink() else f"cannot stat: {exc.strerror}"
            yield SkippedItem(child, reason, "error" if not entry.is_symlink() else "policy")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._directory(path, child, (st.st_dev, st.st_ino), tracked)
        elif tracked is not None and child not in tracked:
            return
        elif stat.S_ISREG(st.st_mode):
            yield read_file(path, child, str(self.root), self.options.max_file_size)
        else:
            yield SkippedItem(child, "not a regular file (device, FIFO or socket)")

    def _directory(self, path: Path, child: str, key: tuple[int, int],
                   tracked: set[str] | None) -> Iterator[Blob | SkippedItem]:
        if key in self._seen_dirs:
            yield SkippedItem(child, "symbolic link loop (directory already visited)")
            return
        self._seen_dirs.add(key)
        yield from self._walk(path, child, tracked)


class StdinSource:
    """Reads standard input as one blob."""

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.max_size = max_size

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Yield standard input as a single blob (or a skip when too large or binary)."""
        data = sys.stdin.buffer.read(self.max_size + 1)
        if len(data) > self.max_size:
            yield SkippedItem("-", f"too large (> {self.max_size} bytes)")
            return
        yield _blob_or_binary(data, "-", "-", "stdin")
