"""Filesystem source: walk directories (or read one file / stdin) and yield blobs."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tokenward.expand import looks_like_container
from tokenward.sources.interface import Blob, Origin, SkippedItem
from tokenward.sources.textdecode import SNIFF, as_is, is_binary, to_scannable

DEFAULT_MAX_SIZE = 25 * 1024 * 1024
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
ALWAYS_EXCLUDED_DIRS = frozenset({".git"})
BATCH_FILES = 96
# A PDF counts as this many files when batches are cut: its text extraction costs ~2 ms a page, a typical
# file's matching a fraction of a millisecond (10 PDFs of 74 pages formed one batch, read by one worker).
PDF_WEIGHT = 16


@dataclass(frozen=True)
class WalkOptions:
    """How the filesystem walk behaves."""

    exclude: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_SIZE
    follow_symlinks: bool = False
    respect_gitignore: bool = False


class GlobSet:
    """Compiled path globs (fnmatch syntax) tested against a relative path, its parents or its name."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        # One alternation regex instead of fnmatch per pattern per call; the walk tests every entry.
        globs = {p.rstrip("/") for p in patterns if p.rstrip("/")}
        self._regex = re.compile("|".join(fnmatch.translate(g) for g in sorted(globs))) if globs else None

    def entry(self, rel: str, name: str) -> bool:
        """True when an entry reached by the walk matches (its parents were already admitted)."""
        return self._regex is not None and bool(self._regex.match(rel) or self._regex.match(name))

    def path(self, rel: str) -> bool:
        """True when a relative path, any parent directory of it, or any of its names matches."""
        if self._regex is None:
            return False
        parts = rel.split("/")
        candidates = [rel, *("/".join(parts[:i]) for i in range(1, len(parts))), *parts]
        return any(self._regex.match(c) for c in candidates)


@functools.lru_cache(maxsize=32)
def _globset(patterns: tuple[str, ...]) -> GlobSet:
    return GlobSet(patterns)


def excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    """True when a relative posix path, or any of its parent directories, matches an exclude glob."""
    return bool(patterns) and _globset(patterns).path(rel)


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


def read_file(path: str | Path, display: str, root: str, max_size: int) -> Blob | SkippedItem:
    """Read one regular file into a Blob, or say why it was skipped."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        return SkippedItem(display, f"cannot open: {exc.strerror}", "error")
    try:
        read = _read_regular(fd, display, max_size)
    except OSError as exc:
        return SkippedItem(display, f"cannot read: {exc.strerror}", "error")
    finally:
        os.close(fd)
    if isinstance(read, SkippedItem):
        return read
    data, head, container = read
    return _blob_or_binary(data, display, root, container=container, head=head)


def _read_regular(fd: int, display: str, max_size: int) -> tuple[bytes, bytes, bool | None] | SkippedItem:
    """(data, its first SNIFF bytes, whether it is a container or None when not asked yet), or why not.
    A file of SNIFF bytes or more is read whole only once its head says it is not binary: binary
    files (compiled objects, images) are most of the bytes in a typical tree."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return SkippedItem(display, "not a regular file (device, FIFO or socket)")
    if st.st_size > max_size:
        return SkippedItem(display, f"too large ({st.st_size} bytes > {max_size})")
    if st.st_size < SNIFF:
        data = os.read(fd, st.st_size + 1)  # one read for a file of the size fstat gave
        if data and len(data) != st.st_size:  # changed since fstat (or a short read): read on to the end
            data += _read_rest(fd, max_size + 1 - len(data))
        return data, data if len(data) <= SNIFF else data[:SNIFF], None
    head = os.read(fd, SNIFF)
    container = looks_like_container(head, display)
    if not container and is_binary(head):
        return SkippedItem(display, "binary content")
    if len(head) < SNIFF:  # shrunk since fstat
        return head, head, container
    whole = os.pread(fd, st.st_size + 1, 0)  # one read, and no copy to join the head to the rest
    if len(whole) != st.st_size:  # changed since fstat (or a short read): read on to the end
        os.lseek(fd, len(whole), os.SEEK_SET)
        whole += _read_rest(fd, max_size + 1 - len(whole))
    return whole, head, container


def _read_rest(fd: int, limit: int) -> bytes:
    """The rest of the file from its position, at most limit bytes."""
    chunks = []
    while limit > 0 and (chunk := os.read(fd, min(limit, 1 << 20))):
        chunks.append(chunk)
        limit -= len(chunk)
    return b"".join(chunks)


def _blob_or_binary(data: bytes, display: str, root: str, kind: str = "file", container: bool | None = None,
                    head: bytes | None = None) -> Blob | SkippedItem:
    """The bytes as a Blob (UTF-16 recoded), or why not; head: data's first SNIFF bytes, when already cut."""
    head = data[:SNIFF] if head is None else head
    # Text as it is goes on without asking whether it is a container: a container's Blob is these same bytes.
    if container or as_is(head) or (container is None and looks_like_container(head, display)):
        return Blob(data, Origin(kind, root, display))  # a container: an expander opens it before matching
    text = to_scannable(data)
    if text is None:
        return SkippedItem(display, "binary content")
    return Blob(text, Origin(kind, root, display))


@dataclass(frozen=True)
class FileBatch:
    """A picklable batch of files to read in a worker process."""

    root: str
    files: tuple[tuple[str, str], ...]  # (path, display path)
    max_size: int

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Read each file of the batch."""
        for path, display in self.files:
            yield read_file(path, display, self.root, self.max_size)


class FilesystemSource:
    """Yields every file under a root (or the root itself when it is a file)."""

    def __init__(self, root: Path, options: WalkOptions = WalkOptions()) -> None:
        self.root = root
        self.options = options
        self._seen_dirs: set[tuple[int, int]] = set()
        self._exclude = GlobSet(options.exclude)

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Yield blobs and skipped items for the whole tree, in walk order."""
        for unit in self.units():
            if isinstance(unit, SkippedItem):
                yield unit
            else:
                yield from unit

    def units(self) -> Iterator[FileBatch | SkippedItem]:
        """The walk, cut into batches of files for worker processes."""
        try:
            st = os.stat(self.root)
        except OSError as exc:
            yield SkippedItem(str(self.root), f"cannot access: {exc.strerror}", "error")
            return
        if not stat.S_ISDIR(st.st_mode):
            yield FileBatch(str(self.root.parent), ((str(self.root), str(self.root)),), self.options.max_file_size)
            return
        self._seen_dirs.add((st.st_dev, st.st_ino))
        yield from self._batches()

    def _batches(self) -> Iterator[FileBatch | SkippedItem]:
        batch: list[tuple[str, str]] = []
        weight = 0
        for item in self._files():
            if isinstance(item, SkippedItem):
                yield item
                continue
            batch.append(item)
            weight += PDF_WEIGHT if item[0][-4:].lower() == ".pdf" else 1
            if weight >= BATCH_FILES:
                yield FileBatch(str(self.root), tuple(batch), self.options.max_file_size)
                batch, weight = [], 0
        if batch:
            yield FileBatch(str(self.root), tuple(batch), self.options.max_file_size)

    def _files(self) -> Iterator[tuple[str, str] | SkippedItem]:
        """(path, relative path) of every regular file to read, or a SkippedItem, depth first."""
        tracked = _git_tracked(self.root) if self.options.respect_gitignore else None
        stack = [(str(self.root), "")]
        found = excluded_here = 0
        while stack:
            directory, rel = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                yield SkippedItem(rel or directory, f"cannot list directory: {exc.strerror}", "error")
                continue
            subdirs = []
            for entry in entries:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.name in ALWAYS_EXCLUDED_DIRS:
                    continue
                if self._exclude.entry(child, entry.name):
                    excluded_here += 1
                    continue
                kind = self._kind(entry, child)
                if kind == "dir":
                    subdirs.append((entry.path, child))
                elif kind == "file" and (tracked is None or child in tracked):
                    found += 1
                    yield (entry.path, child)
                elif isinstance(kind, SkippedItem):
                    yield kind
            stack.extend(reversed(subdirs))
        if excluded_here and not found:  # say why nothing was read
            yield SkippedItem(str(self.root), f"every entry ({excluded_here}) matches an exclude pattern "
                                              f"({', '.join(self.options.exclude)})")

    def _kind(self, entry: os.DirEntry[str], child: str) -> str | SkippedItem:
        """'dir', 'file', or why the entry is skipped (d_type answers most cases without a stat)."""
        if entry.is_symlink():
            return self._symlink_kind(entry, child)
        if entry.is_dir(follow_symlinks=False):
            if self.options.follow_symlinks:
                # Only when following links can a directory be reached twice; remember each one.
                st = entry.stat(follow_symlinks=False)
                self._seen_dirs.add((st.st_dev, st.st_ino))
            return "dir"
        if entry.is_file(follow_symlinks=False):
            return "file"
        return SkippedItem(child, "not a regular file (device, FIFO or socket)")

    def _symlink_kind(self, entry: os.DirEntry[str], child: str) -> str | SkippedItem:
        if not self.options.follow_symlinks:
            return SkippedItem(child, "symbolic link not followed (use --follow-symlinks)")
        try:
            st = os.stat(entry.path)
        except OSError:
            return SkippedItem(child, "broken symbolic link")
        if stat.S_ISREG(st.st_mode):
            return "file"
        if not stat.S_ISDIR(st.st_mode):
            return SkippedItem(child, "not a regular file (device, FIFO or socket)")
        key = (st.st_dev, st.st_ino)
        if key in self._seen_dirs:
            return SkippedItem(child, "symbolic link loop (directory already visited)")
        self._seen_dirs.add(key)
        return "dir"


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
