"""Provenance of blobs in history: first introducing commit, paths, refs and presence at branch tips.

One streaming `git log --raw` pass (over all history, or only the commits new since the last pass)
maps the blobs that produced findings to the commits and paths that introduced them; the commits in
topological order with their parents then tell which refs reach each introduction. A whole-history
walk lists its commits in that order itself (`--topo-order`, parents in each header: on git/git the
walk costs ~0.5 CPU-s more, reading the headers 0.1 s, and a 2 CPU-s `rev-list` is spared); a walk over
a branch leaves the ranking to a commits-only `rev-list --parents`.

A rescan walks only the commits new since the last pass, in the same ranked form, and ranks without any
whole-history walk: the last pass kept, for each ref tip and each introducing commit, the mask of the
introducing commits it reaches (a Reach), and the new commits' masks follow from their parents'. Ranks
are then the number of introducing commits a commit reaches, which agree with git's topological order
wherever history fixes it: a blob's introductions are placed alike when each one descends from the one
before. When that fails (a blob introduced on two unrelated branches: git's walk of the grown history
decides which comes first), or a new commit or ref rests on an old commit whose mask is not known (a branch
from an old commit that was no tip, a rewritten ref), the rescan ranks with `rev-list` as before.

Merge commits are left out of that pass: a merge's diff against its first parent repeats every change
the merged branch's own commits already introduced (on git/git it doubles the log and costs a quarter of
the walk). A blob no ordinary commit introduced (a conflict resolution, an evil merge) is looked for in
the merges' first-parent diffs afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import sqlite3
import subprocess
import tempfile
import weakref
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from dataclasses import field as member
from pathlib import Path
from typing import IO

from tokenward.classify import where_it_lives
from tokenward.errors import SourceError
from tokenward.findings import Finding
from tokenward.sources.filesystem import excluded
from tokenward.sources.gitobjects import READ_BUFFER, Repo, first_line, git, git_env
from tokenward.sources.interface import CommitInfo, GitLocation, GitProvenance, member_suffix

MAX_LISTED = 20  # paths and refs listed per blob (the counts are exact)
FEW_WANTED = 8  # up to this many blobs, a log is searched for their ids (each a pass over it) rather than parsed
MAX_LOCATIONS = 500  # (path, commit) introductions recorded per blob, oldest first
BRANCH_PREFIXES = ("refs/heads/", "refs/remotes/")
Intros = dict[str, list[tuple[str, str]]]
"""blob id → [(commit, path)] of every commit that added or changed a path to that blob."""

_LOG = ("log", "--raw", "-z", "--no-abbrev", "--no-renames", "--root", "--no-color", "--no-show-signature", "--stdin")
_ORDINARY, _MERGES = ("--diff-merges=off",), ("--merges", "--diff-merges=first-parent")
# A commit's header is "\x01commit\0\x02" ("\x01commit parent…\0\x02" in a ranked walk): what follows a path
# field starts with ':' (the next entry) or "\x01" (the next commit), never "\x02", so no path (any byte but
# NUL, "\x01" too) reads as a header.
_PLAIN = ("--format=%x01%H%x00%x02",)
_RANKED = ("--topo-order", "--format=%x01%H %P%x00%x02")
_HEADER = re.compile(rb"\x01([0-9a-f ]+)\0\x02")
_END = b"\x01 \0\x02"  # a header no commit has: the end of the log, for _search_log
_PARTIAL_HEADER = re.compile(rb"\x01[0-9a-f ]*\0?")  # a header cut by the end of a read


class Background:
    """A git command run in the background into a temporary file, read once it is needed: long history
    walks start while the scan still runs."""

    def __init__(self, repo: Repo, args: list[str], stdin: bytes) -> None:
        self.repo, self.name = repo, args[0]
        self.out = tempfile.TemporaryFile()  # noqa: SIM115 (lives until output() is done with, or close())
        self.err = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(repo.cmd(*args), stdin=subprocess.PIPE, stdout=self.out, stderr=self.err,
                                     env=git_env())
        weakref.finalize(self, _kill, self.proc)  # a scan that stops early leaves no git behind
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(stdin)
            self.proc.stdin.close()

    def output(self) -> IO[bytes]:
        """The command's whole output, from its start; SourceError when git failed."""
        if self.proc.wait() != 0:
            self.err.seek(0)
            raise SourceError(f"{self.repo.path}: git {self.name} failed: {first_line(self.err.read())}")
        self.out.seek(0)
        return self.out

    def close(self) -> None:
        """Stop git (if still running) and drop the temporary files."""
        _kill(self.proc)
        self.out.close()
        self.err.close()


@dataclass(frozen=True)
class Ranking:
    """Commits as `rev-list --parents --topo-order --reverse` lists them ("commit parent…", parents before
    children), read by a ranked HistoryWalk from its own log."""

    lines: tuple[str, ...]

    def close(self) -> None:
        """Nothing runs any more (as a ranking() walk's close, for reach()'s callers)."""


class HistoryWalk(Background):
    """A `git log --raw` over revs, run in the background, parsed on demand. Merges' diffs are read by a
    second walk, only for blobs the first one does not place: started with the first one when `both`
    (a walk of a few new commits costs little), else only once needed (a whole history's merges cost
    seconds). A `ranked` walk also reads its commits' Ranking (into .ranking), so that reach() needs no
    rev-list of the same revs."""

    def __init__(self, repo: Repo, revs: Iterable[str], all_refs: bool = False, merges: bool = False,
                 both: bool = False, ranked: bool = False) -> None:
        self.revs, self.all_refs, self.merges = tuple(revs), all_refs, merges
        self.ranked = ranked and not merges  # the merges-only walk lists too few commits to rank
        self.ranking: Ranking | None = None
        self._merges: HistoryWalk | None = None
        scope = ["--all"] if all_refs else []
        kind = _MERGES if merges else _ORDINARY
        super().__init__(repo, [*_LOG, *(_RANKED if self.ranked else _PLAIN), *kind, *scope],
                         _rev_input(self.revs))
        if both and not merges:
            self._merges = HistoryWalk(repo, self.revs, all_refs, merges=True)

    def introductions(self, wanted: Collection[str], placed: Collection[str] = ()) -> Intros:
        """Where each wanted blob was introduced (by ordinary commits; by merges only when no ordinary
        commit introduced it, here or, for the `placed` blobs, in commits walked before); SourceError
        when git failed."""
        try:
            out = self.output()
            found = parse_log(_chunks(out), {w.encode("ascii") for w in wanted}, self.repo.oid_len)
            if self.ranked:
                out.seek(0)  # read again for the headers alone: one regex, in C (the search above skips them)
                self.ranking = Ranking(log_order(_chunks(out)))
        except BaseException:
            self.close()  # both walks
            raise
        super().close()  # this walk only: the merges walk may still be read
        merges, self._merges = self._merges, None
        unplaced = set(wanted) - found.keys() - set(placed)
        if unplaced and not self.merges:
            found.update((merges or HistoryWalk(self.repo, self.revs, self.all_refs, merges=True))
                         .introductions(unplaced))
        elif merges is not None:
            merges.close()
        return found

    def close(self) -> None:
        """Stop git (both walks, if still running) and drop the temporary files."""
        super().close()
        if self._merges is not None:
            self._merges.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _chunks(fh: object) -> Iterator[bytes]:
    while chunk := fh.read(READ_BUFFER):  # type: ignore[attr-defined]
        yield chunk


def parse_log(chunks: Iterable[bytes], wanted: set[bytes], oid_len: int) -> Intros:
    """Parse `git log --raw -z --format=%x01%H…` output, keeping entries whose new blob is wanted."""
    if len(wanted) <= FEW_WANTED:
        return _search_log(chunks, wanted, oid_len)
    found: Intros = {}
    commit, rest, hit, expect_path = "", b"", b"", False
    for chunk in chunks:
        fields = (rest + chunk).split(b"\0")
        rest = fields.pop()
        for field in fields:
            if expect_path:  # the path field that follows every ':' entry
                if hit:
                    found.setdefault(hit.decode("ascii"), []).append(
                        (commit, field.decode("utf-8", "surrogateescape")))
                expect_path = False
                continue
            field = field.lstrip(b"\n")
            if field[:1] == b"\x01":
                commit = field[1:1 + oid_len].decode("ascii")  # a ranked walk's parents follow
            elif field[:1] == b":":
                hit, expect_path = field[-(oid_len + 2):-2], True
                hit = hit if hit in wanted else b""
    return found


def _search_log(chunks: Iterable[bytes], wanted: set[bytes], oid_len: int) -> Intros:
    """parse_log for a few wanted blobs: find their ids in the text instead of splitting every field (a
    whole-history log of git/git is hundreds of MB), a commit's records at a time."""
    hits: list[tuple[int, bytes, str, str]] = []  # (position, blob, commit, path) in log order
    rest, done = b"", 0
    for chunk in itertools.chain(chunks, [_END]):
        text = rest + chunk
        cut = _header_before(text, len(text))  # the commits before it are whole
        if cut <= 0:
            rest = text
            continue
        region, rest = text[:cut], text[cut:]
        for blob in wanted:
            at = region.find(blob)
            while at >= 0:
                entry = _entry_at(region, at, oid_len)
                if entry is not None:
                    hits.append((done + at, blob, *entry))
                at = region.find(blob, at + 1)
        done += cut
    found: Intros = {}
    for _, blob, commit, path in sorted(hits):
        found.setdefault(blob.decode("ascii"), []).append((commit, path))
    return found


def log_order(chunks: Iterable[bytes]) -> tuple[str, ...]:
    """The Ranking lines of a ranked walk's log: its headers, last first (git log lists children first)."""
    heads: list[bytes] = []
    rest = b""
    for chunk in chunks:
        text = rest + chunk
        heads += _HEADER.findall(text)
        cut = text.rfind(b"\x01")
        # Only a header the read cut short is kept for the next read (not a long run of entries).
        rest = text[cut:] if cut >= 0 and _PARTIAL_HEADER.fullmatch(text, cut) else b""
    heads.reverse()
    return tuple(b"\n".join(heads).decode("ascii").split("\n")) if heads else ()


def _entry_at(region: bytes, at: int, oid_len: int) -> tuple[str, str] | None:
    """(commit, path) when the id at `at` is the new blob of a raw entry (`:mode mode old new X`, then
    the path), not the old one nor text in a path."""
    field = start = region.rfind(b"\0", 0, at) + 1
    end = at + oid_len
    while region[start:start + 1] == b"\n":
        start += 1
    if region[start:start + 1] != b":" or region[end:end + 1] != b" " or region[end + 2:end + 3] != b"\0":
        return None
    head = _header_before(region, start)
    path_end = region.find(b"\0", end + 3)
    if head < 0 or path_end < 0 or not _entry_field(region, head, field):
        return None
    commit = region[head + 1:head + 1 + oid_len].decode("ascii")
    return commit, region[end + 3:path_end].decode("utf-8", "surrogateescape")


def _entry_field(region: bytes, head: int, field: int) -> bool:
    """Whether the NUL-separated field starting at `field` is a raw entry, not a path made to look like one:
    after the commit header at `head` and its `\x02` field, fields alternate entry, path, entry, path."""
    at = region.find(b"\0", region.find(b"\0", head) + 1) + 1  # past the header and the \x02 field
    entry = True
    while 0 < at < field:
        at = region.find(b"\0", at) + 1
        entry = not entry
    return at == field and entry


def _header_before(text: bytes, at: int) -> int:
    """Where the last commit header that starts before `at` starts (-1: none), passing over "\x01" in paths."""
    head = text.rfind(b"\x01", 0, at)
    while head >= 0 and not _HEADER.match(text, head):
        head = text.rfind(b"\x01", 0, head)
    return head


def _rev_input(revs: Iterable[str]) -> bytes:
    return "".join(f"{r}\n" for r in revs).encode("utf-8", "surrogateescape")


def list_refs(repo: Repo) -> list[tuple[str, str]]:
    """(ref name, commit) of every ref that points (directly or through a tag) at a commit."""
    fmt = "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)"
    out = []
    for line in git(repo, "for-each-ref", fmt).decode("utf-8", "surrogateescape").splitlines():
        name, kind, oid, peeled_kind, peeled = line.split("\0")
        if kind == "commit" or peeled_kind == "commit":
            out.append((name, oid if kind == "commit" else peeled))
    return out


def ranking(repo: Repo, every_ref: bool, revs: Iterable[str]) -> Background:
    """Start the commits-only walk reach() reads (on a long history it takes seconds: start it early)."""
    args = ["rev-list", "--parents", "--topo-order", "--reverse", *(["--all"] if every_ref else []), "--stdin"]
    return Background(repo, args, _rev_input(revs))


def reach(repo: Repo, every_ref: bool, revs: Iterable[str], targets: Collection[str],
          started: Background | Ranking | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """(topological rank of each target commit, bitmask of the targets each reaching commit reaches), from
    the ranking walk started earlier for the same refs and revs (or the Ranking a ranked HistoryWalk of
    them read), or one started now.

    Bit i of a mask stands for sorted(targets)[i]; commits that reach no target are left out.
    """
    ranks, bits, _ = _walk_masks(_ranked_lines(started or ranking(repo, every_ref, revs)), targets, ())
    return ranks, bits


def _walk_masks(lines: Sequence[str], targets: Collection[str],
                keep: Collection[str]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """reach() over ranked lines, and the masks of the `keep` commits the lines list (zero masks too: a
    commit that reaches no target is then known to, not just not seen)."""
    index = {c: i for i, c in enumerate(sorted(targets))}
    keep = set(keep)
    ranks: dict[str, int] = {}
    bits: dict[str, int] = {}
    kept: dict[str, int] = {}
    for n, line in enumerate(lines):
        commit, *parents = line.split()  # split(): a root commit's log header ends with a space
        mask = 0
        for parent in parents:
            mask |= bits.get(parent, 0)
        if commit in index:
            ranks[commit] = n
            mask |= 1 << index[commit]
        if mask:
            bits[commit] = mask
        if commit in keep:
            kept[commit] = mask
    return ranks, bits, kept


@dataclass(frozen=True)
class Reach:
    """Which targets (commits that introduced a tracked blob) each known commit reaches, as a pass learned
    it: bit i of a mask stands for targets[i]; masks are kept for the ref tips and the targets the pass walked."""

    targets: tuple[str, ...] = ()
    masks: dict[str, int] = member(default_factory=dict)

    @functools.cached_property
    def bit(self) -> dict[str, int]:
        """The bit of each target in a mask."""
        return {c: i for i, c in enumerate(self.targets)}

    def in_line(self, commits: Collection[str]) -> bool:
        """Whether each of commits (known ones) is an ancestor of the next, ordered by how many targets they
        reach (per their masks)."""
        ordered = sorted(commits, key=lambda c: self.masks[c].bit_count())
        return all(self.masks[newer] >> self.bit[older] & 1 for older, newer in itertools.pairwise(ordered))

    def kept(self, commits: Collection[str]) -> Reach:
        """This Reach with the masks of those commits only (the ones a later pass can build on)."""
        return Reach(self.targets, {c: self.masks[c] for c in commits if c in self.masks})


@dataclass(frozen=True)
class Growth:
    """What a rescan can rank with instead of a whole-history walk: the last pass's Reach, and the Ranking
    of the commits added since (all of them reach only old commits through that pass's tips)."""

    known: Reach
    new: Ranking

    def close(self) -> None:
        """Nothing runs (as a ranking() walk's close)."""


def grow(known: Reach, new: Ranking, targets: Collection[str], tips: Collection[str]) -> Reach | None:
    """The Reach of the grown history over known's targets and the new ones: the new commits' masks from
    their parents' (parents come first in a Ranking). None when a new commit's parent or a tip is an old
    commit of unknown mask (a branch from an old commit that was no tip, a rewritten ref), or a target is an
    old commit the last pass did not know: only a whole-history walk can tell then."""
    fresh = sorted(set(targets) - set(known.targets))
    index = {c: i for i, c in enumerate((*known.targets, *fresh))}
    masks: dict[str, int] = {}
    for line in new.lines:
        commit, *parents = line.split()
        mask = 1 << index[commit] if commit in index else 0
        for parent in parents:
            got = masks[parent] if parent in masks else known.masks.get(parent)
            if got is None:
                return None
            mask |= got
        masks[commit] = mask
    masks = {**known.masks, **masks}
    if any(c not in masks for c in fresh) or any(t not in masks for t in tips):
        return None
    return Reach(tuple(index), masks)


def grown_ranks(reach: Reach, intros: Intros, tips: Collection[str]) -> dict[str, int] | None:
    """A rank for each live introducing commit (one a tip reaches), from the grown Reach: how many targets it
    reaches, which grows from each commit to its descendants. None unless each blob's live introductions
    follow one another in history: any topological order then lists them alike, git's over the grown history
    too; of two unrelated ones, which one git lists first depends on its walk."""
    live = 0
    for tip in tips:
        live |= reach.masks[tip]
    ranks: dict[str, int] = {}
    for found in intros.values():
        commits = {c for c, _ in found if live >> reach.bit[c] & 1}
        if not commits <= reach.masks.keys():
            return None  # cannot be: a commit some tip reaches was walked, by this pass or one before
        if not reach.in_line(commits):
            return None
        ranks.update((c, reach.masks[c].bit_count()) for c in commits)
    return ranks


def _ranked_lines(ranked: Background | Ranking) -> Sequence[str]:
    """The "commit parent…" lines of a Ranking, or of a ranking() walk's output (the walk is then closed)."""
    if isinstance(ranked, Ranking):
        return ranked.lines
    try:
        return ranked.output().read().decode("ascii").splitlines()
    finally:
        ranked.close()


def at_tips(repo: Repo, tips: Collection[str], paths: dict[str, set[str]]) -> set[str]:
    """The blobs present, under one of the given paths, in the tree of at least one tip commit.

    One `cat-file --batch-check` answers every `tip:path` probe: no tree is listed in full.
    """
    probes = [(oid, f"{tip}:{path}") for oid, where in paths.items() for path in sorted(where)
              for tip in sorted(set(tips)) if "\n" not in path]
    if not probes:
        return set()
    query = "".join(f"{probe}\n" for _, probe in probes).encode("utf-8", "surrogateescape")
    answers = git(repo, "cat-file", "--batch-check=%(objectname)", stdin=query).decode("ascii", "replace")
    return {oid for (oid, _), answer in zip(probes, answers.split("\n"), strict=False) if answer == oid}


def commit_infos(repo: Repo, commits: Collection[str]) -> dict[str, CommitInfo]:
    """Author, date and summary of each commit (dates in UTC)."""
    if not commits:
        return {}
    out = git(repo, "log", "--no-walk=unsorted", "--stdin", "--no-show-signature",
              "--date=format-local:%Y-%m-%dT%H:%M:%SZ", "--format=%x01%H%x00%an%x00%ae%x00%ad%x00%s",
              stdin=_rev_input(sorted(commits)))
    infos = {}
    for record in out.decode("utf-8", "replace").split("\x01")[1:]:
        commit, author, email, date, summary = record.rstrip("\n").split("\0", 4)
        infos[commit] = CommitInfo(commit, author, email, date, summary)
    return infos


@dataclass(frozen=True)
class BlobHistory:
    """A blob's provenance, the path it was first introduced under and every path it appeared under."""

    provenance: GitProvenance
    path: str
    all_paths: tuple[str, ...]


def histories(repo: Repo, intros: Intros, refs: list[tuple[str, str]], every_ref: bool, revs: Iterable[str],
              tip_blobs: set[str], ranked: Background | Ranking | Growth | None = None
              ) -> tuple[dict[str, BlobHistory], Reach]:
    """BlobHistory of every blob with at least one introduction reachable from the walked revs (ranked:
    the ranking() of the same refs and revs when started earlier, the Ranking a walk of them read, or what a
    rescan can grow the last pass's Reach with), and the Reach of the refs' tips and the introducing commits."""
    tips = {c for _, c in refs}
    if not intros:  # nothing to place: the ranking is not needed, and no commit reaches a target
        if ranked is not None:
            ranked.close()
        return {}, Reach((), dict.fromkeys(tips, 0))
    ranks, known = _ranked(repo, intros, tips, every_ref, revs, ranked)
    index = known.bit
    firsts: dict[str, tuple[str, str]] = {}
    for oid, found in intros.items():
        live = sorted((ranks[c], c, p) for c, p in set(found) if c in ranks)
        if live:
            firsts[oid] = (live[0][1], live[0][2])
    located = {oid: sorted((ranks[c], p, c) for c, p in set(intros[oid]) if c in ranks)[:MAX_LOCATIONS]
               for oid in firsts}
    infos = commit_infos(repo, {c for c, _ in firsts.values()} | {c for found in located.values() for _, _, c in found})
    out = {}
    for oid, (first, path) in firsts.items():
        live_intros = {(c, p) for c, p in intros[oid] if c in ranks}
        mask = sum(1 << index[c] for c in {c for c, _ in live_intros})
        ref_names = [name for name, tip in refs if known.masks.get(tip, 0) & mask]
        paths = [path, *sorted({p for _, p in live_intros} - {path})]
        prov = GitProvenance(first_commit=infos.get(first), paths=tuple(paths[:MAX_LISTED]),
                             refs=tuple(ref_names[:MAX_LISTED]), ref_count=len(ref_names),
                             commit_count=len({c for c, _ in live_intros}), in_head=oid in tip_blobs,
                             locations=_locations(first, path, located[oid], infos))
        out[oid] = BlobHistory(prov, path, tuple(paths))
    return out, known.kept(tips | set(known.targets))


def _ranked(repo: Repo, intros: Intros, tips: set[str], every_ref: bool, revs: Iterable[str],
            ranked: Background | Ranking | Growth | None) -> tuple[dict[str, int], Reach]:
    """(a rank for each live introducing commit, the Reach of the tips and of those commits): grown from the
    last pass's when the rescan's new commits allow it, else from a ranking walk (the one given, or a new one)."""
    targets = {c for found in intros.values() for c, _ in found}
    if isinstance(ranked, Growth):
        grown = grow(ranked.known, ranked.new, targets, tips)
        ranks = grown_ranks(grown, intros, tips) if grown is not None else None
        if grown is not None and ranks is not None:
            return ranks, grown
        ranked = None  # history was rewritten, or a blob has unrelated introductions: walk it all
    lines = _ranked_lines(ranked or ranking(repo, every_ref, revs))
    ranks, _, kept = _walk_masks(lines, targets, tips | targets)
    return ranks, Reach(tuple(sorted(targets)), kept)


def _locations(first: str, path: str, found: list[tuple[int, str, str]],
               infos: dict[str, CommitInfo]) -> tuple[GitLocation, ...]:
    """The blob's (path, commit) introductions, the first one (the blob's own path and first commit) first."""
    rest = [GitLocation(p, infos.get(c)) for _, p, c in found if (c, p) != (first, path)]
    return (GitLocation(path, infos.get(first)), *rest)


@dataclass(frozen=True)
class WalkState:
    """What the last whole-history pass learned: the tips it walked, where tracked blobs came from, and which
    of the commits that introduced them each tip (and each of them) reaches."""

    tips: tuple[str, ...] = ()
    tracked: frozenset[str] = frozenset()
    intros: tuple[tuple[str, str, str], ...] = ()  # (blob, commit, path)
    key: str = ""  # every blob reachable from tips is in the blob cache under this key ("" = unknown)
    reach: Reach | None = None  # None: unknown (a state saved before masks were kept, or provenance failed)


class WalkIndex:
    """A WalkState kept in a small SQLite file, so a rescan walks only the commits added since."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        db.executescript("CREATE TABLE IF NOT EXISTS tips (git_commit TEXT);"
                         "CREATE TABLE IF NOT EXISTS cache_key (key TEXT);"
                         "CREATE TABLE IF NOT EXISTS tracked (blob TEXT);"
                         "CREATE TABLE IF NOT EXISTS intros (blob TEXT, git_commit TEXT, path BLOB);"
                         "CREATE TABLE IF NOT EXISTS reach_targets (bit INTEGER, git_commit TEXT);"
                         "CREATE TABLE IF NOT EXISTS reach_masks (git_commit TEXT, mask TEXT);")
        return db

    def load(self) -> WalkState:
        """The saved state (empty when there is none)."""
        with closing(self._connect()) as db:
            tips = tuple(r[0] for r in db.execute("SELECT git_commit FROM tips"))
            key = "".join(r[0] for r in db.execute("SELECT key FROM cache_key"))
            tracked = frozenset(r[0] for r in db.execute("SELECT blob FROM tracked"))
            intros = tuple((b, c, bytes(p).decode("utf-8", "surrogateescape"))
                           for b, c, p in db.execute("SELECT blob, git_commit, path FROM intros"))
            targets = tuple(r[0] for r in db.execute("SELECT git_commit FROM reach_targets ORDER BY bit"))
            masks = {c: int(m, 16) for c, m in db.execute("SELECT git_commit, mask FROM reach_masks")}
        return WalkState(tips, tracked, intros, key, Reach(targets, masks) if masks else None)

    def save(self, state: WalkState) -> None:
        """Replace the saved state."""
        reach = state.reach or Reach()
        with closing(self._connect()) as db, db:
            for table in ("tips", "tracked", "intros", "cache_key", "reach_targets", "reach_masks"):
                db.execute(f"DELETE FROM {table}")
            db.execute("INSERT INTO cache_key VALUES (?)", (state.key,))
            db.executemany("INSERT INTO tips VALUES (?)", [(t,) for t in state.tips])
            db.executemany("INSERT INTO tracked VALUES (?)", [(b,) for b in state.tracked])
            db.executemany("INSERT INTO intros VALUES (?, ?, ?)",  # paths as bytes: names need not be UTF-8
                           [(b, c, p.encode("utf-8", "surrogateescape")) for b, c, p in state.intros])
            db.executemany("INSERT INTO reach_targets VALUES (?, ?)", list(enumerate(reach.targets)))
            db.executemany("INSERT INTO reach_masks VALUES (?, ?)",  # hex: a mask outgrows SQLite's integers
                           [(c, format(m, "x")) for c, m in reach.masks.items()])


def usable(repo: Repo, state: WalkState) -> bool:
    """True when every tip the state was walked to still exists (history was not pruned)."""
    if not state.tips:
        return False
    out = git(repo, "cat-file", "--batch-check=%(objecttype)", stdin=_rev_input(state.tips), check=False)
    return out.split() == [b"commit"] * len(state.tips)


def _merge(into: Intros, found: Intros) -> None:
    for oid, entries in found.items():
        into.setdefault(oid, []).extend(entries)


def whole_history(repo: Repo, wanted: set[str], state: WalkState,
                  walk: HistoryWalk | None) -> tuple[Intros, WalkState, Ranking | Growth | None]:
    """Introductions of wanted blobs over all refs (walking only commits newer than a usable state), the
    state to save next (tips, key and reach are the caller's to fill in), and what to rank the commits with:
    the Ranking of all refs when a ranked walk of the whole history read it, else, when only newer commits
    were walked, the Growth of the last pass's Reach by them (when that pass kept one)."""
    intros: Intros = {}
    ranked: Ranking | Growth | None = None
    if wanted and usable(repo, state):
        if walk is not None:
            walk.close()
        for blob, commit, path in state.intros:
            intros.setdefault(blob, []).append((commit, path))
        newer = HistoryWalk(repo, [f"^{t}" for t in state.tips], all_refs=True, both=True, ranked=True)
        _merge(intros, newer.introductions(wanted, placed=set(intros)))
        if state.reach is not None and newer.ranking is not None:
            ranked = Growth(state.reach, newer.ranking)
        # A blob never tracked and not introduced by a new commit: only a full walk can place it (and rank).
        unplaced = {w for w in wanted if w not in state.tracked and w not in intros}
        if unplaced:
            walk = HistoryWalk(repo, [], all_refs=True, ranked=True)
            _merge(intros, walk.introductions(unplaced))
            ranked = walk.ranking
    elif wanted:
        walk = walk or HistoryWalk(repo, [], all_refs=True, ranked=True)
        intros, ranked = walk.introductions(wanted), walk.ranking
    elif walk is not None:
        walk.close()
    tracked = state.tracked | wanted
    rows = {(b, c, p) for b, found in intros.items() if b in tracked for c, p in found}
    found = {w: intros[w] for w in wanted if w in intros}
    return found, WalkState((), frozenset(tracked), tuple(sorted(rows))), ranked


def predictable(state: WalkState) -> bool:
    """Whether a rescan may rank by growing the state's Reach (see grown_ranks): the state kept one, and each
    tracked blob's introductions it knows follow one another in history (a blob introduced on two unrelated
    branches needs a whole-history ranking every time: start that early)."""
    if state.reach is None:
        return False
    reach = state.reach
    by_blob: dict[str, set[str]] = {}
    for blob, commit, _ in state.intros:
        if commit in reach.masks and commit in reach.bit:
            by_blob.setdefault(blob, set()).add(commit)
    return all(reach.in_line(commits) for commits in by_blob.values())


def flat(path: str, where: str) -> BlobHistory:
    """The history of a blob that is not (yet) in any commit: staged, or a snapshot's."""
    return BlobHistory(GitProvenance(None, (path,), (where,), 1, 0, in_head=True), path, (path,))


def place(f: Finding, history: dict[str, BlobHistory] | None, all_objects: bool,
          exclude: tuple[str, ...]) -> Finding | None:
    """f with its blob's provenance and first path; None when no ref reaches it or its paths are excluded."""
    h = history.get(f.origin.blob_id or "") if history is not None else None
    if h is None:
        if history is not None and not all_objects:
            return None  # reachable from no ref (dangling, reflog-only): --all-objects reports it
        return replace(f, origin=replace(f.origin, git=GitProvenance(None)))
    if exclude and all(excluded(p, exclude) for p in h.all_paths):
        return None
    # Where it lives follows the path it is placed at: a whole-history listing names no path, so the scan
    # classified the blob by its id (".env" and "tests/" in history read as source code until placed).
    path = h.path + member_suffix(f.origin.path, f.origin.blob_id)  # an archive's member keeps its name after it
    return replace(f, origin=replace(f.origin, path=path, git=h.provenance), where=where_it_lives(f.origin.kind, path))


def _member(f: Finding) -> str:
    """The "!/member" tail of a placed finding's path (placed at its blob's first path)."""
    assert f.origin.git is not None
    first = f.origin.git.paths[0] if f.origin.git.paths else ""
    return f.origin.path[len(first):] if first and f.origin.path.startswith(f"{first}!/") else ""


def merge_worktree(placed: list[Finding], files: list[Finding]) -> list[Finding]:
    """Git findings with in_head set per token, plus the work tree findings no commit explains.

    "Still present" is a property of the token: if any blob at a branch tip (or the work tree) holds
    it, every occurrence is marked in_head, and only tokens nowhere live are history-only.
    """
    live = {f.token_id for f in placed if f.origin.git and f.origin.git.in_head}
    committed = {(f.token_id, p + _member(f)) for f in placed if f.origin.git for p in f.origin.git.paths}
    kept_files = [f for f in files if (f.token_id, f.origin.path) not in committed]
    live |= {f.token_id for f in files}
    out = []
    for f in placed:
        if f.origin.git and not f.origin.git.in_head and f.token_id in live:
            f = replace(f, origin=replace(f.origin, git=replace(f.origin.git, in_head=True)))
        out.append(f)
    return out + kept_files
