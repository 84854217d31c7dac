"""Plumbing over the git CLI: find a repository, enumerate its blobs, stream their contents."""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing.util
import os
import subprocess
import tempfile
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tokenward import readahead
from tokenward.errors import SourceError
from tokenward.sources.gitdelta import Windows
from tokenward.sources.gitpack import PackReader

READ_BUFFER = 1 << 20
PIPE_SIZE = 1 << 20
# Where a repository lives is decided by the path we pass, never by the caller's environment
# (a hook may run with GIT_DIR set); GIT_INDEX_FILE is kept so --staged sees the index being committed.
_LOCATION_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE",
                 "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CEILING_DIRECTORIES", "GIT_PREFIX")
# No transport is allowed: a partial clone must never lazily fetch a missing object from its remote.
_FIXED_ENV = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0",
              "LC_ALL": "C", "TZ": "UTC", "GIT_PAGER": "cat", "GIT_NO_LAZY_FETCH": "1",
              "GIT_ALLOW_PROTOCOL": "tokenward-never-fetches"}


def git_env() -> dict[str, str]:
    """The environment every git child runs with."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_ENV}
    env.update(_FIXED_ENV)
    return env


# Small pack windows: git maps packs 1 GiB at a time by default, which shows up as resident memory
# (hundreds of MB on a large repository) for no measurable speed-up when objects are read in pack order.
_CONFIG = ("-c", "core.quotePath=false", "-c", "core.packedGitWindowSize=16m", "-c", "core.packedGitLimit=64m")
# Listing every object's type and delta base reads each delta's chain down to its base, all over the pack: in
# 64 MiB of windows git/git's listing spent 1.9 s in the kernel mapping and unmapping them (3.7 s, against
# 1.65 s in 256 MiB, which peaks at ~310 MB resident: less than the scan's own largest process).
_LISTING_CONFIG = ("-c", "core.packedGitLimit=256m")


@dataclass(frozen=True)
class Repo:
    """A repository as the git CLI sees it."""

    path: Path  # the directory the user named
    git_dir: Path
    bare: bool  # no work tree to read (a bare repository, or the user named the .git directory)
    shallow: bool
    partial: bool  # a partial (promisor) clone: some objects are deliberately absent
    oid_len: int = 40

    def cmd(self, *args: str, config: tuple[str, ...] = ()) -> list[str]:
        """A git command line that runs in this repository (config: more `-c name=value` pairs)."""
        return ["git", "-C", str(self.path), *_CONFIG, *config, *args]


def git(repo: Repo, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
    """Run a git command to completion and return its stdout; SourceError when it fails."""
    try:
        proc = subprocess.run(repo.cmd(*args), input=stdin, capture_output=True, env=git_env(), timeout=3600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SourceError(f"{repo.path}: cannot run git: {exc}") from None
    if check and proc.returncode != 0:
        raise SourceError(f"{repo.path}: git {args[0]} failed: {first_line(proc.stderr)}")
    return proc.stdout


def first_line(stderr: bytes) -> str:
    """The most telling line of a git error output."""
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return (fatal or lines or ["no message"])[-1]


def _rev_parse(path: Path, *args: str) -> list[str] | None:
    try:
        proc = subprocess.run(["git", "-C", str(path), "rev-parse", *args], capture_output=True,
                              env=git_env(), timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        if _looks_like_repo(path):
            raise SourceError(f"{path}: cannot run git: {exc}") from None
        return None
    if proc.returncode != 0 and _looks_like_repo(path):
        # Scanning it as a plain directory would silently skip its history: say why git refused.
        raise SourceError(f"{path}: git cannot open this repository: {first_line(proc.stderr)}")
    return proc.stdout.decode("utf-8", "surrogateescape").splitlines() if proc.returncode == 0 else None


def _looks_like_repo(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def open_repo(path: Path) -> Repo | None:
    """The repository whose top level (work tree or git directory) is path, else None."""
    info = _rev_parse(path, "--is-bare-repository", "--is-shallow-repository", "--absolute-git-dir",
                      "--show-object-format")
    if info is None or len(info) < 4:
        return None
    bare, shallow, git_dir, fmt = info[0] == "true", info[1] == "true", Path(info[2]), info[3]
    here = path.resolve()
    if not bare and git_dir.resolve() != here:
        top = _rev_parse(path, "--show-toplevel")
        if not top or Path(top[0]).resolve() != here:
            return None
    repo = Repo(path, git_dir, bare or git_dir.resolve() == here, shallow, False,
                64 if fmt == "sha256" else 40)
    promisor = git(repo, "config", "--get-regexp", r"^(remote\..*\.promisor|extensions\.partialclone)$",
                   check=False)
    return Repo(repo.path, repo.git_dir, repo.bare, shallow, bool(promisor.strip()), repo.oid_len)


def _grow_pipe(stream: IO[bytes] | None) -> None:
    # Fewer, larger reads: a 1 MiB pipe lets git run ahead of us instead of blocking every 64 KiB.
    if stream is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)


def stream_lines(repo: Repo, *args: str, stdin: IO[bytes] | None = None, config: tuple[str, ...] = ()
                 ) -> Iterator[bytes]:
    """Stream a git command's output line by line (stdin: e.g. another git's output); SourceError on failure."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(repo.cmd(*args, config=config), stdin=stdin, stdout=subprocess.PIPE, stderr=err,
                                env=git_env())
        assert proc.stdout is not None
        _grow_pipe(proc.stdout)
        rest = b""
        try:
            while chunk := os.read(proc.stdout.fileno(), READ_BUFFER):
                parts = (rest + chunk).split(b"\n")
                rest = parts.pop()
                yield from parts
        finally:
            proc.stdout.close()
            code = proc.wait()
        if rest:
            yield rest
        if code != 0:
            err.seek(0)
            raise SourceError(f"{repo.path}: git {args[0]} failed: {first_line(err.read())}")


Entry = tuple[str, int, str | None]
"""(object id, size or -1 when the object is missing or unreadable, a path it was seen under)."""

_CHECK_FORMAT = "--batch-check=%(objectname) %(objecttype) %(objectsize) %(deltabase) %(rest)"


def _entry(line: bytes, deltas: dict[str, str] | None) -> Entry | None:
    """Parse one `cat-file --batch-check` answer (a blob stored as a delta goes into deltas with its base);
    None for objects that are not blobs."""
    parts = line.split(b" ", 4)
    if len(parts) == 2 or (len(parts) > 2 and parts[1] == b"missing"):
        return parts[0].lstrip(b"?").decode("ascii", "replace"), -1, None
    if len(parts) < 4 or parts[1] != b"blob":
        return None
    path = parts[4].decode("utf-8", "surrogateescape") if len(parts) == 5 and parts[4] else None
    oid = parts[0].decode("ascii")
    if deltas is not None and parts[3].strip(b"0"):
        deltas[oid] = parts[3].decode("ascii")
    return oid, int(parts[2]), path


def all_blobs(repo: Repo, bases: dict[str, str] | None = None, least: int = 0, share: float = 0.0,
              deltas: dict[str, str] | None = None) -> Iterator[Entry]:
    """Every blob in the object store, reachable or not, in pack order (no paths). With `bases`, the
    blobs of at least `least` bytes that a pack stores as a delta taking at most `share` of their size
    on disk are recorded there with their delta base (see gitdelta.py); with `deltas`, every blob a pack
    stores as a delta is, with its base (see gitpack.family_order)."""
    # Type first: most objects are trees and commits, rejected by one prefix test.
    check = "--batch-check=%(objecttype) %(objectname) %(objectsize)"
    with_base = bases is not None or deltas is not None
    for line in stream_lines(repo, "cat-file", "--batch-all-objects", "--unordered",
                             check + (" %(objectsize:disk) %(deltabase)" if with_base else ""),
                             config=_LISTING_CONFIG if with_base else ()):
        if line.startswith(b"blob "):
            _, oid, size, *delta = line.split(b" ")
            name, length = oid.decode("ascii"), int(size)
            if with_base and delta[1].strip(b"0"):
                base = delta[1].decode("ascii")
                if deltas is not None:
                    deltas[name] = base
                if bases is not None and length >= least and int(delta[0]) <= length * share:
                    bases[name] = base
            yield name, length, None
        elif line.endswith(b" missing"):
            yield line.split(b" ", 1)[0].decode("ascii", "replace"), -1, None


AHEAD_CHUNK = 4096  # entries handed over at a time by read_ahead's thread


def read_ahead(entries: Iterator[Entry]) -> Iterator[Entry]:
    """entries, drained by a thread of their own as fast as git lists them. A scan consumes its listing only
    as fast as the workers take batches (the task pipe holds about one), and GitSource holds the deltas back
    until the listing ends (family order): consumed lazily, git/git's listing lasted 3.7 s instead of 3.4, the
    workers idle once the few blobs stored whole were read. Raises what the listing raised, after every entry
    listed before it."""
    return readahead.read_ahead(entries, "tokenward-listing", chunk=AHEAD_CHUNK)


def rev_blobs(repo: Repo, every_ref: bool, revs: Sequence[str], walk: bool = True,
              deltas: dict[str, str] | None = None) -> Iterator[Entry]:
    """Blobs reachable from revs (and every ref), with the path rev-list first saw each under; with
    `deltas`, every blob a pack stores as a delta is recorded there with its base (see all_blobs)."""
    args = ["rev-list", "--objects", "--missing=print", *(["--all"] if every_ref else []),
            *([] if walk else ["--no-walk"]), "--stdin"]
    with tempfile.TemporaryFile() as err:
        lister = subprocess.Popen(repo.cmd(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                  env=git_env())
        assert lister.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            lister.stdin.write("".join(f"{r}\n" for r in revs).encode("utf-8", "surrogateescape"))
            lister.stdin.close()
        try:
            for line in stream_lines(repo, "cat-file", _CHECK_FORMAT, stdin=lister.stdout, config=_LISTING_CONFIG):
                entry = _entry(line, deltas)
                if entry is not None:
                    yield entry
        finally:
            if lister.stdout is not None:
                lister.stdout.close()
            code = lister.wait()
        if code != 0:
            err.seek(0)
            raise SourceError(f"{repo.path}: git rev-list failed: {first_line(err.read())}")


def missing_objects(repo: Repo) -> Iterator[str]:
    """Objects that history refers to but the store lacks (partial clones), without fetching them."""
    for line in stream_lines(repo, "rev-list", "--objects", "--all", "--missing=print"):
        if line.startswith(b"?"):
            yield line[1:].decode("ascii", "replace")


def present_blobs(repo: Repo, oids: Sequence[str]) -> set[str]:
    """The oids that name a blob in this repository (one `cat-file --batch-check` answers them all)."""
    if not oids:
        return set()
    query = "".join(f"{oid}\n" for oid in oids).encode("ascii")
    answers = git(repo, "cat-file", "--batch-check=%(objectname) %(objecttype)", stdin=query, check=False)
    return {name for name, _, kind in (line.decode("ascii", "replace").partition(" ")
                                       for line in answers.splitlines()) if kind == "blob"}


def empty_tree(repo: Repo) -> str:
    """The id of the empty tree in this repository's hash."""
    return git(repo, "hash-object", "-t", "tree", "--stdin", stdin=b"").decode().strip()


def resolve(repo: Repo, rev: str) -> str | None:
    """The commit id rev names, or None."""
    out = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    return out.decode().strip() or None


def staged_changes(repo: Repo) -> Iterator[tuple[str, str, str]]:
    """(mode, object id, path) of every entry the index adds or changes relative to HEAD."""
    base = resolve(repo, "HEAD") or empty_tree(repo)
    fields = git(repo, "diff-index", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", base).split(b"\0")
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.lstrip(b":").split(b" ")
        if len(parts) == 5 and parts[4][:1] != b"D":
            yield parts[1].decode(), parts[3].decode(), path.decode("utf-8", "surrogateescape")


def gitlinks(repo: Repo, rev: str = "HEAD") -> list[tuple[str, str]]:
    """(path, commit) of every submodule recorded in rev's tree."""
    if resolve(repo, rev) is None:
        return []
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev, check=False)
    links = []
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        if meta.startswith(b"160000 commit "):
            links.append((path.decode("utf-8", "surrogateescape"), meta.split(b" ")[2].decode()))
    return links


@dataclass(frozen=True)
class Unreadable:
    """An object cat-file could not return (missing or corrupt), with git's reason."""

    reason: str


class BlobReader:
    """Streams object contents from one long-lived `git cat-file --batch`, kept across read() calls.

    Requests are written by a feeder thread while answers are read in large buffered chunks. When
    git dies on a corrupt object, that object is reported Unreadable and a new process resumes after it.
    One process serves every batch a worker reads (see shared_reader): a cat-file per batch re-read
    the pack indexes, re-mapped pack windows and re-inflated delta bases each time (on redis' history,
    175 processes cost 1.6M page faults and 5 s of system time the single `git cat-file` floor does not pay).
    """

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.restarts = 0
        self.from_git = 0  # blobs the packs did not answer, read through git
        self.packs = PackReader(repo.git_dir, repo.oid_len)  # blobs read straight from the packs (gitpack.py)
        self._proc: subprocess.Popen[bytes] | None = None
        self._err: IO[bytes] | None = None
        self._reason = ""

    def blobs(self, oids: Sequence[str], bases: Sequence[str | None] = ()
              ) -> Iterator[tuple[int, bytes | Unreadable, Windows | None]]:
        """(index in oids, content or Unreadable, changed windows) for every requested id: straight from
        the packs where they can be read there (with windows for a small delta against bases[index]),
        then the rest from git."""
        rest: list[int] = []
        for index, oid in enumerate(oids):
            got = self.packs.read(oid, bases[index] if bases else None)
            if got is None:
                rest.append(index)
            else:
                yield index, got[0], got[1]
        self.from_git += len(rest)
        for at, answer in self.read([oids[i] for i in rest]):
            yield rest[at], answer, None

    def read(self, oids: Sequence[str]) -> Iterator[tuple[int, bytes | Unreadable]]:
        """(index in oids, content or Unreadable) for every requested id, in request order, from git."""
        start = 0
        while start < len(oids):
            start = yield from self._session(oids, start)

    def close(self) -> None:
        """Stop the cat-file process (the next read starts a new one)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)
        if self._err is not None:
            self._err.close()
            self._err = None

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            self._err = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process; closed in close())
            # No --buffer: the process outlives each batch, so every answer must be flushed as written.
            self._proc = subprocess.Popen(self.repo.cmd("cat-file", "--batch"), stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._err, env=git_env(),
                                          bufsize=READ_BUFFER)
            _grow_pipe(self._proc.stdout)
        return self._proc

    def _session(self, oids: Sequence[str], start: int) -> Generator[tuple[int, bytes | Unreadable], None, int]:
        proc = self._process()
        feeder = threading.Thread(target=_feed, args=(proc.stdin, oids, start), daemon=True)
        feeder.start()
        complete = False
        try:
            index = yield from _answers(proc, oids, start)
            complete = index == len(oids)
        finally:
            if not complete:  # git died, or the reader stopped early with answers still in the pipe
                self._reason = self._stderr()
                self.close()
            feeder.join(timeout=5)
        if index < len(oids):  # git died on oids[index]: report it and resume after it
            self.restarts += 1
            yield index, Unreadable(f"corrupt object: {self._reason}")
            return index + 1
        return index

    def _stderr(self) -> str:
        if self._err is None:
            return ""
        with contextlib.suppress(OSError):
            self._err.seek(0)
            return first_line(self._err.read())
        return ""


_READERS: dict[tuple[int, str], BlobReader] = {}


def shared_reader(repo: Repo) -> BlobReader:
    """This process's reader of repo (a forked worker never uses its parent's: the key holds the pid)."""
    key = (os.getpid(), str(repo.git_dir))
    reader = _READERS.get(key)
    if reader is None:
        for stale in [k for k in _READERS if k[0] != key[0]]:
            del _READERS[stale]  # inherited through fork: the parent's process, not ours to stop
        if not any(k[0] == key[0] for k in _READERS):
            # A pool worker that exits cleanly (parallel.fork_map joins its pool) runs this on the way out.
            multiprocessing.util.Finalize(None, close_readers, exitpriority=10)
        reader = _READERS[key] = BlobReader(repo)
    return reader


def close_readers() -> None:
    """Stop this process's shared cat-file processes and close the packs they read deltas from (the end
    of a scan)."""
    for key in [k for k in _READERS if k[0] == os.getpid()]:
        reader = _READERS.pop(key)
        reader.close()
        reader.packs.close()


def _feed(stdin: IO[bytes] | None, oids: Sequence[str], start: int) -> None:
    assert stdin is not None
    try:
        for i in range(start, len(oids), 4096):
            stdin.write(("\n".join(oids[i:i + 4096]) + "\n").encode("ascii"))
        stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass  # git died (corrupt object) or the reader stopped early; the reader handles both


def _answers(proc: subprocess.Popen[bytes], oids: Sequence[str],
             start: int) -> Generator[tuple[int, bytes | Unreadable], None, int]:
    """Read answers for oids[start:]; returns the index of the first one git failed to answer."""
    out = proc.stdout
    assert out is not None
    for index in range(start, len(oids)):
        header = out.readline()
        parts = header.split()
        if len(parts) == 2 and parts[1] in (b"missing", b"ambiguous"):
            yield index, Unreadable(f"{parts[1].decode()} object")
            continue
        if len(parts) != 3 or parts[0].decode("ascii", "replace") != oids[index]:
            return index
        size = int(parts[2])
        data = out.read(size)
        if len(data) < size or out.read(1) != b"\n":
            return index
        yield index, data
    return len(oids)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdout, proc.stdin):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
