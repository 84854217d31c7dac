"""Git source: every unique blob of a repository's history scanned once, provenance attached after.

Blobs are listed once (the whole object store, only what commits newer than the last scan brought,
a rev-list range, or the index); blobs already scanned under the same rule set are not read again
(their findings are replayed from the cache). The rest are cut into batches of ~32 MB in pack order;
each batch streams through its own `git cat-file --batch`, so the scanner's worker processes inflate
and match in parallel. A whole-history listing also names each blob's delta base when a pack stores
the blob as a small delta: such a blob is matched only in the windows around what the delta changes
(gitpack.py), and revisit() matches it whole again when its base turns out to hold a match. After the
scan, annotate() places the blobs that produced findings in history: first introducing commit, paths,
refs, and whether the token is still at a branch tip.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Set
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tokenward.errors import SourceError
from tokenward.expand.detect import HEAD, by_magic
from tokenward.findings import Finding
from tokenward.sources.blobcache import BlobCache
from tokenward.sources.gitdelta import MAX_DELTA_SHARE, MIN_BLOB
from tokenward.sources.gitobjects import (
    Entry,
    Repo,
    Unreadable,
    all_blobs,
    close_readers,
    gitlinks,
    missing_objects,
    present_blobs,
    read_ahead,
    resolve,
    rev_blobs,
    shared_reader,
    staged_changes,
)
from tokenward.sources.gitpack import family_order
from tokenward.sources.gitprov import (
    BRANCH_PREFIXES,
    Background,
    BlobHistory,
    Growth,
    HistoryWalk,
    Ranking,
    Reach,
    WalkIndex,
    WalkState,
    at_tips,
    flat,
    histories,
    list_refs,
    merge_worktree,
    place,
    predictable,
    ranking,
    usable,
    whole_history,
)
from tokenward.sources.interface import Blob, Origin, SkippedItem, member_suffix
from tokenward.sources.textdecode import SNIFF, to_scannable

LFS_POINTER = b"version https://git-lfs.github.com/spec/"
LFS_POINTER_MAX = 1024
BATCH_BYTES = 32 * 1024 * 1024  # one worker's share of reading: large enough to amortise a cat-file start
BATCH_BLOBS = 8192
LIST_CHUNK = 4096  # listed objects planned at a time (the incremental cache is asked per chunk)
_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class GitScope:
    """Which blobs of a repository to scan."""

    every_ref: bool = True  # start from every ref (`--all`)
    revs: tuple[str, ...] = ()  # more rev-list arguments: branch names, ^REV exclusions
    staged: bool = False  # only blobs the index adds or changes relative to HEAD
    snapshot: bool = False  # only the trees of revs, not their history
    all_objects: bool = False  # also report blobs no ref reaches (dangling, reflog-only)

    @property
    def whole_history(self) -> bool:
        """True when every blob of every ref is in scope (the whole object store is read)."""
        return self.every_ref and not self.revs and not self.staged and not self.snapshot


@dataclass(frozen=True)
class GitOptions:
    """How a repository is scanned."""

    scope: GitScope = GitScope()
    max_size: int = 25 * 1024 * 1024
    exclude: tuple[str, ...] = ()
    cache_key: str = ""  # rule set (and fingerprint key) the incremental cache is keyed by
    use_cache: bool = True  # False (--full): read every blob again, still record the results
    delta_windows: bool = True  # match a small delta's blob only around what it changes (gitpack.py)
    # Read again the blobs the cache holds findings of, instead of replaying them: the cache keeps no
    # plaintext, and --show-secrets asks for it (they are few: a rescan stays a rescan).
    reread_found: bool = False


@dataclass
class GitCounters:
    """What one scan of a repository did (final once annotate() has run)."""

    enumerated: int = 0  # blobs in scope
    cached: int = 0  # not read: scanned before under the same rule set
    read: int = 0  # streamed from git and matched (or skipped as binary / LFS pointer)
    unreadable: int = 0  # missing or corrupt objects
    too_large: int = 0
    restarts: int = 0  # cat-file processes restarted past a corrupt object
    windowed: int = 0  # matched only around what their delta changes, the premise held
    revisited: int = 0  # matched around their changes first, then whole: their delta base held a match
    from_git: int = 0  # read through `git cat-file`: not in a pack the pack reader reads (loose, alternate, …)


@dataclass
class _Plan:
    oids: list[str] = field(default_factory=list)
    paths: list[str | None] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    cached: dict[str, str | None] = field(default_factory=dict)  # cached blob id → a path, when known
    bases: dict[str, str] = field(default_factory=dict)  # blob id → its delta base, for small deltas
    deltas: dict[str, str] = field(default_factory=dict)  # blob id → its delta base (first-pass listings)
    skipped: list[SkippedItem] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # every blob id listed


def _why(exc: Exception) -> str:
    """One line saying why provenance failed: git's message, the cache database's, or the OS's."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    first = next(iter(str(exc).splitlines()), "") or type(exc).__name__
    return f"walk cache: {first}" if isinstance(exc, sqlite3.Error) else first


def where(oid: str, path: str | None) -> str:
    """How a skipped object is named: its path when known, else its id."""
    return f"{path} ({oid[:12]})" if path else f"git blob {oid}"


def opened_in_history(head: bytes) -> bool:
    """Whether a binary blob is a container a history scan opens, told by its magic bytes: archives, compressed
    files, SQLite files, PDFs (read by PDFium: git/git's history, 85 PDF versions, costs no measurable time;
    with pypdf one 74-page PDF took 3.9 CPU-s). (By magic alone: such a blob is named by its id, see
    blob_item.)"""
    return by_magic(head) is not None


def blob_item(root: str, oid: str, path: str | None, data: bytes,
              windows: tuple[tuple[int, int], ...] | None = None) -> Blob | SkippedItem:
    """The Blob to match for one object's content (or why it is not matched); `windows` (around what
    its delta changes) stand only when the content is matched as read."""
    if data.startswith(LFS_POINTER) and len(data) < LFS_POINTER_MAX:
        return SkippedItem(where(oid, path), "git LFS pointer (content not fetched)")
    if data.startswith(_BOMS) or data.find(b"\0", 0, SNIFF) != -1:
        if opened_in_history(data[:HEAD]):  # an archive committed to history: opened like a file's
            # Named by its id: its members' paths are "<id>!/member" until placed (interface.member_suffix),
            # whatever "!/" the path of a rev-scoped listing may hold.
            return Blob(data, Origin("git", root, oid, blob_id=oid))
        text = to_scannable(data)
        if text is None:
            return SkippedItem(where(oid, path), "binary content")
        data, windows = text, None
    return Blob(data, Origin("git", root, path or oid, blob_id=oid), windows)


@dataclass(frozen=True)
class BlobBatch:
    """A picklable slice of a repository's blobs, read through its own `git cat-file --batch`.

    Batches may run in worker processes; what went wrong is written to a small report file that
    the source reads back after the scan (the blobs read are recorded in the incremental cache).
    """

    repo: Repo
    root: str
    oids: tuple[str, ...]
    paths: tuple[str | None, ...]
    max_size: int
    report: str  # file this batch writes its failures to
    bases: tuple[str | None, ...] = ()  # each blob's delta base, when it is a small delta (else None)

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Yield each blob of the batch (or why it was skipped)."""
        reader, failed = shared_reader(self.repo), []
        restarts, from_git = reader.restarts, reader.from_git
        for index, got, windows in reader.blobs(self.oids, self.bases):
            oid, path = self.oids[index], self.paths[index]
            if isinstance(got, Unreadable):
                failed.append(f"unreadable {oid}")
                yield SkippedItem(where(oid, path), f"unreadable object: {got.reason}", "error")
            elif len(got) > self.max_size:
                failed.append(f"large {oid}")
                yield SkippedItem(where(oid, path), f"too large ({len(got)} bytes > {self.max_size})")
            else:
                item = blob_item(self.root, oid, path, got, windows)
                if isinstance(item, SkippedItem):
                    failed.append(f"unmatched {oid}")  # a delta's base that is not matched vouches for nothing
                yield item
        if failed or reader.restarts > restarts or reader.from_git > from_git:
            counts = [f"restarts {reader.restarts - restarts}", f"git {reader.from_git - from_git}"]
            Path(self.report).write_text("\n".join([*failed, *counts]) + "\n")


class GitSource:
    """Yields each unique blob of a repository (history, range, snapshot or index) once."""

    def __init__(self, repo: Repo, root: str, options: GitOptions, cache: BlobCache | None = None,
                 walk_index: WalkIndex | None = None) -> None:
        self.repo = repo
        self.root = root
        self.options = options
        self.cache = cache if options.cache_key else None
        self.walk_index = walk_index if options.scope.whole_history else None
        self.counters = GitCounters()
        self._plan = _Plan()
        self._state = WalkState()  # the last whole-history pass, when it can be built on
        self._incremental = False  # list only the objects of commits newer than self._state.tips
        self._refs_at_start: list[tuple[str, str]] = []
        self._walk: HistoryWalk | None = None
        self._ranked: Background | None = None  # the commits' ranking (reach), started early by a rescan
        self._lost: list[SkippedItem] = []  # what the last annotate() could not attach
        self._walk_pending = False  # a whole-history walk is to start at the first finding
        self._reports = ""
        self._cache_ok = False
        self._report_sets: tuple[set[str], set[str]] | None = None
        self._revisited: set[str] = set()  # blobs matched whole again after a windowed pass
        self._vouchers: set[str] | None = None
        self._found_ids: set[str] | None = None  # blobs with cached findings (reread_found)

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """Yield notes about the repository, skipped objects, then every blob to scan."""
        for unit in self.units():
            yield from unit if isinstance(unit, BlobBatch) else [unit]

    def units(self) -> Iterator[BlobBatch | SkippedItem]:
        """Notes, batches of blobs that worker processes can read (cut while git lists them), then the
        objects skipped."""
        try:
            yield from self._notes()
            self._begin()
            yield from self._cut(self._planned(), windowed=True)
        except SourceError as exc:
            yield SkippedItem(self.root, str(exc), "error")
        yield from self._plan.skipped

    def _notes(self) -> Iterator[SkippedItem]:
        scope = self.options.scope
        if self.repo.shallow and not scope.staged:
            yield SkippedItem(self.root, "shallow clone: history beyond the shallow boundary is absent")
        if self.repo.partial and scope.whole_history:
            for oid in missing_objects(self.repo):
                self.counters.unreadable += 1
                yield SkippedItem(where(oid, None), "missing object (partial clone, not fetched)", "error")
        if not scope.staged:
            for path, commit in gitlinks(self.repo, "HEAD"):
                yield SkippedItem(path, f"submodule at {commit[:12]} (not scanned)")

    def _begin(self) -> None:
        scope = self.options.scope
        if not (scope.staged or scope.snapshot):
            self._refs_at_start = self._refs()
        self._walk_pending = self.walk_index is not None  # unless a usable last pass is built on (below)
        # Re-reading found blobs (reread_found) lists everything, as a first pass does: a rescan's short
        # listing of the new commits would not name them.
        if self.walk_index is None or not self.options.use_cache or self.options.reread_found:
            return
        try:
            self._state = self.walk_index.load()
        except (sqlite3.Error, OSError):
            return
        if not usable(self.repo, self._state):
            return
        self._walk_pending = False
        # Every blob reachable from the last pass's tips was scanned under this cache key: list only
        # what newer commits bring (dangling objects are not reported without --all-objects anyway).
        self._incremental = (self.cache is not None and not scope.all_objects
                             and self._state.key == self.options.cache_key)
        if self._incremental and not predictable(self._state):
            # Recorded findings are placed again at the end, and so is any new one. Growing the last pass's
            # masks by the new commits ranks them when it can (gitprov.grown_ranks); when the state says it
            # cannot, the commits' ranking walks the whole history (0.13 s on redis, seconds on git/git): it
            # starts now, while the new objects are listed and read. Without any finding it is stopped unread.
            self._ranked = ranking(self.repo, scope.every_ref, scope.revs)

    def _entries(self) -> Iterable[Entry]:
        scope = self.options.scope
        if scope.staged:
            return self._staged()
        if self._incremental:
            return rev_blobs(self.repo, True, [f"^{t}" for t in self._state.tips])
        if scope.whole_history or scope.all_objects:
            bases = self._plan.bases if self.options.delta_windows else None
            return read_ahead(all_blobs(self.repo, bases, MIN_BLOB, MAX_DELTA_SHARE, self._plan.deltas))
        return read_ahead(rev_blobs(self.repo, scope.every_ref, scope.revs, not scope.snapshot, self._plan.deltas))

    def _staged(self) -> Iterator[Entry]:
        for mode, oid, path in staged_changes(self.repo):
            if mode == "160000":
                self._plan.skipped.append(SkippedItem(path, f"submodule at {oid[:12]} (not scanned)"))
            else:
                yield oid, 0, path  # size checked when read

    def _planned(self) -> Iterator[int]:
        """Plan indices of the blobs to read, as the listing reaches them: the workers start on the first
        batches while git is still listing (whole-history listings take seconds on large repositories).
        Blobs a pack stores as deltas wait for the end of the listing, to be read in gitpack.family_order."""
        plan, deltas, waiting = self._plan, self._plan.deltas, []
        for entries, scanned in self._listed():
            before = len(plan.oids)
            self._make_plan(entries, scanned)
            for i in range(before, len(plan.oids)):
                if plan.oids[i] in deltas:
                    waiting.append(i)
                else:
                    yield i
        oids = [plan.oids[i] for i in waiting]
        yield from (waiting[j] for j in family_order(oids, deltas))

    def _listed(self) -> Iterator[tuple[list[Entry], Set[str]]]:
        """The listing in chunks, each with those of its blobs the incremental cache has seen scanned."""
        if self._incremental:  # only newer commits' objects: one short list
            entries = list(self._entries())
            scanned = self._scanned([oid for oid, _, _ in entries])
            if self.cache is None:  # the cache broke: list everything after all
                self._incremental = False
                entries = list(self._entries())
            yield entries, scanned
            return
        listing = iter(self._entries())
        while chunk := list(itertools.islice(listing, LIST_CHUNK)):
            yield chunk, self._scanned([oid for oid, _, _ in chunk])

    def _scanned(self, oids: list[str]) -> set[str]:
        if self.cache is None or not self.options.use_cache:
            return set()
        try:
            scanned = self.cache.scanned(self.options.cache_key, oids)
            return scanned - self._found() if self.options.reread_found else scanned
        except (sqlite3.Error, OSError) as exc:
            self._plan.skipped.append(SkippedItem(self.root, f"incremental cache unreadable, scanning all: {exc}"))
            self.cache = None
            return set()

    def _found(self) -> set[str]:
        """The blobs the cache holds findings of (read once per scan)."""
        if self._found_ids is None:
            assert self.cache is not None
            self._found_ids = set(self.cache.findings(self.options.cache_key))
        return self._found_ids

    def _make_plan(self, entries: Iterable[Entry], scanned: Set[str]) -> _Plan:
        plan, seen = self._plan, self._plan.seen
        limit, c = self.options.max_size, self.counters
        for oid, size, path in entries:
            if oid in seen:
                continue
            seen.add(oid)
            c.enumerated += 1
            if size == -1:
                c.unreadable += 1
                plan.skipped.append(SkippedItem(where(oid, path), self._missing_reason(), "error"))
            elif oid in scanned:
                c.cached += 1
                plan.cached[oid] = path
            elif size > limit:
                c.too_large += 1
                plan.skipped.append(SkippedItem(where(oid, path), f"too large ({size} bytes > {limit})"))
            else:
                plan.oids.append(oid)
                plan.paths.append(path)
                plan.sizes.append(size)
        return plan

    def _missing_reason(self) -> str:
        if self.repo.partial:
            return "missing object (partial clone, not fetched)"
        return "missing or corrupt object"

    def observe(self, findings: list[Finding]) -> None:
        """Start the provenance walk of a first whole-history scan at this repository's first finding,
        so that it overlaps the rest of the blob reading (its output waits in a temporary file); a
        history without findings is never walked, and rescans walk only new commits. The walk covers
        every ref: it also ranks the commits (no rev-list of its own)."""
        if self._walk_pending and any(f.origin.kind == "git" and f.origin.root == self.root for f in findings):
            self._walk_pending = False
            self._walk = HistoryWalk(self.repo, [], all_refs=True, ranked=True)

    def _cut(self, indices: Iterable[int], windowed: bool) -> Iterator[BlobBatch]:
        """The planned blobs at indices (in plan order) in batches of ~BATCH_BYTES, at most BATCH_BLOBS."""
        chunk: list[int] = []
        size = 0
        for i in indices:
            chunk.append(i)
            size += self._plan.sizes[i]
            if size >= BATCH_BYTES or len(chunk) >= BATCH_BLOBS:
                yield self._batch(chunk, windowed)
                chunk, size = [], 0
        if chunk:
            yield self._batch(chunk, windowed)

    def _batch(self, chunk: list[int], windowed: bool) -> BlobBatch:
        """Windowed batches carry the delta bases and write reports; the others match every blob whole."""
        plan = self._plan
        if windowed and not self._reports:
            self._reports = tempfile.mkdtemp(prefix="tokenward-git-")
            weakref.finalize(self, shutil.rmtree, self._reports, True)
        oids = tuple(plan.oids[j] for j in chunk)
        bases = tuple(plan.bases.get(o) for o in oids) if windowed and plan.bases else ()
        report = os.path.join(self._reports, f"{chunk[0]}.txt") if windowed else os.devnull
        return BlobBatch(self.repo, self.root, oids, tuple(plan.paths[j] for j in chunk), self.options.max_size,
                         report, bases)

    def revisit(self, matched: Set[str], windowed: Set[str]) -> tuple[set[str], list[BlobBatch]]:
        """The blobs matched only around their changes whose delta base held a match, or was not matched
        whole-or-windowed in this scan, as batches that match them whole (see RevisitingSource)."""
        vouching, bases = self._vouching(), self._plan.bases
        mine = {oid for oid in windowed if oid in bases and oid not in self._revisited}
        redo = {oid for oid in mine if bases[oid] in matched or bases[oid] not in vouching}
        self._revisited |= redo
        self.counters.revisited += len(redo)
        self.counters.windowed = len(mine - redo)
        return redo, list(self._cut([i for i, oid in enumerate(self._plan.oids) if oid in redo], windowed=False))

    def _vouching(self) -> set[str]:
        """The blobs read in full and matched as they are in this scan: those a delta can rest on (when
        they had no match)."""
        if self._vouchers is None:
            failed, unmatched = self._read_reports()
            self._vouchers = set(self._plan.oids) - failed - unmatched
        return self._vouchers

    def _read_reports(self) -> tuple[set[str], set[str]]:
        """(blobs not read in full, blobs read but not matched: binary, LFS pointers) per the batches'
        reports; read once, after the scan's batches are all done."""
        if self._report_sets is None:
            failed, unmatched, restarts = set(), set(), 0
            for report in Path(self._reports).glob("*.txt") if self._reports else ():
                for entry in report.read_text().splitlines():
                    kind, _, value = entry.partition(" ")
                    if kind == "restarts":
                        restarts += int(value)
                    elif kind == "git":
                        self.counters.from_git += int(value)
                    elif kind == "unmatched":
                        unmatched.add(value)
                    else:
                        failed.add(value)
                        self.counters.unreadable += kind == "unreadable"
                        self.counters.too_large += kind == "large"
            self.counters.restarts += restarts
            self._report_sets = failed, unmatched
        return self._report_sets

    def _settle(self) -> set[str]:
        """Read the batches' reports back: final counters, and the ids of blobs not read in full."""
        close_readers()  # the batches read in this process (inline scans) are done
        failed = self._read_reports()[0]
        self.counters.read = len(self._plan.oids) - len(failed)
        if self._reports:
            shutil.rmtree(self._reports, ignore_errors=True)
        return failed

    # -- after the scan ----------------------------------------------------------------------

    def annotate(self, findings: list[Finding]) -> list[Finding]:
        """Attach provenance to this repository's findings, replay cached ones, merge the work tree's."""
        mine = [f for f in findings if f.origin.kind == "git" and f.origin.root == self.root]
        files = [f for f in findings if f.origin.kind == "file" and f.origin.root == self.root]
        others = [f for f in findings if f.origin.root != self.root or f.origin.kind not in ("git", "file")]
        failed = self._settle()
        mine += self._recorded(mine, [o for o in self._plan.oids if o not in failed])
        history: dict[str, BlobHistory] | None
        self._lost = []
        try:
            history = self._histories({f.origin.blob_id for f in mine if f.origin.blob_id})
        except (SourceError, sqlite3.Error, OSError) as exc:
            history = None  # provenance is lost, findings are not
            why = _why(exc).removeprefix(f"{self.repo.path}: ")  # the item's location names the repository
            self._lost.append(SkippedItem(self.root, f"history provenance lost: {why}", "error"))
            for started in (self._walk, self._ranked):
                if started is not None:
                    started.close()
        scope = self.options.scope
        placed = [p for f in mine if (p := place(f, history, scope.all_objects, self.options.exclude))]
        return others + merge_worktree(placed, files)

    def unannotated(self) -> list[SkippedItem]:
        """Why the last annotate() left this repository's findings without commits, paths and refs."""
        return list(self._lost)

    def counts(self) -> dict[str, int]:
        """The scan's history counters (blobs listed, cached, read, read through git, windowed, …)."""
        return asdict(self.counters)

    def _recorded(self, new: list[Finding], done: list[str]) -> list[Finding]:
        """Record this scan in the cache; the cached findings of blobs not read again."""
        if self.cache is None:
            return []
        try:
            self.cache.record(self.options.cache_key, done, new)
            # Re-reading found blobs (reread_found), no blob left cached has findings: nothing to replay, and
            # _found() has read the cache's findings once already.
            recorded = {} if self.options.reread_found else self.cache.findings(self.options.cache_key)
        except (sqlite3.Error, OSError):
            return []
        self._cache_ok = True
        replayed = [o for o in recorded if o in self._plan.cached or (self._incremental and o not in self._plan.seen)]
        if self._incremental:
            # The cache is kept per repository path: a repository cloned again at the same path, or history
            # rewritten and pruned, leaves blobs there that this repository does not hold.
            present = present_blobs(self.repo, [o for o in replayed if o not in self._plan.cached])
            replayed = [o for o in replayed if o in self._plan.cached or o in present]
        out = []
        for oid in replayed:
            path = self._plan.cached.get(oid) or oid
            # The recorded origin keeps what the blob's content gave (format details, line offset); an archive's
            # member keeps "<id>!/member", as read, for place() to put the blob's path before it.
            out += [replace(f, origin=replace(f.origin, root=self.root,
                                              path=f.origin.path if member_suffix(f.origin.path, oid) else path))
                    for f in recorded[oid]]
        return out

    def _histories(self, wanted: set[str]) -> dict[str, BlobHistory]:
        scope, refs = self.options.scope, self._refs_at_start
        if scope.staged or scope.snapshot:
            paths = {o: p for o, p in zip(self._plan.oids, self._plan.paths, strict=True) if p}
            paths.update({o: p for o, p in self._plan.cached.items() if p})
            return {oid: flat(paths.get(oid, oid), "index" if scope.staged else "HEAD") for oid in wanted}
        tips = [c for name, c in refs if not scope.every_ref or name.startswith(BRANCH_PREFIXES) or name == "HEAD"]
        logged: Ranking | Growth | None = None  # what whole_history() ranks with (else self._ranked, or rev-list)
        state: WalkState | None = None
        if scope.whole_history:
            intros, state, logged = whole_history(self.repo, wanted, self._state, self._walk)
        else:
            intros = HistoryWalk(self.repo, scope.revs, all_refs=scope.every_ref).introductions(wanted)
        reach: Reach | None = None  # None if placing fails: the next rescan then ranks with a whole-history walk
        try:
            tip_blobs = at_tips(self.repo, tips, {oid: {p for _, p in found} for oid, found in intros.items()})
            ranked, self._ranked = self._ranked, None
            out, reach = histories(self.repo, intros, refs, scope.every_ref, scope.revs, tip_blobs, ranked or logged)
        finally:
            if state is not None:
                self._save(replace(state, reach=reach))
        return out

    def _save(self, state: WalkState) -> None:
        if self.walk_index is None:
            return
        # The next scan may list only newer objects if this one read every blob it listed.
        complete = self._cache_ok and self.counters.unreadable == 0
        key = self.options.cache_key if complete else ""
        self.walk_index.save(replace(state, tips=tuple(sorted({c for _, c in self._refs_at_start})), key=key))

    def _refs(self) -> list[tuple[str, str]]:
        scope = self.options.scope
        if scope.every_ref:
            refs = list_refs(self.repo)
        else:
            refs = [(r, c) for r in scope.revs if not r.startswith("^") and (c := resolve(self.repo, r))]
        head = resolve(self.repo, "HEAD")
        if head and scope.every_ref and head not in {c for _, c in refs}:
            refs.append(("HEAD", head))  # a detached HEAD counts as a tip
        return refs


