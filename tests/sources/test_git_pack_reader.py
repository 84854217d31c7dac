"""Blobs read straight from the packs (issue 13): byte for byte what `git cat-file` gives, whatever the
pack holds (deep OFS_DELTA and REF_DELTA chains, several packs, SHA-256 names), and git asked for
everything else (loose objects, corrupt streams, no compiled delta applier)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import tokenward.sources.git as git
import tokenward.sources.gitobjects as gitobjects
import tokenward.sources.gitpack as gitpack
from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, scan
from tokenward.engine import Matcher
from tokenward.errors import SourceError
from tokenward.sources.gitobjects import BlobReader, Entry, Unreadable, open_repo

gh_matcher, git_env = fx.gh_matcher, fx.git_env  # fixtures used here


def _versions(repo: Repo, seed: int, commits: int = 30) -> None:
    """Files edited commit after commit (inserts, deletions, appends), so that a repack stores most
    versions as deltas of one another; plus one incompressible file per commit."""
    rnd = random.Random(seed)
    words = [f"w{rnd.randrange(10**6)}" for _ in range(400)]
    files = {f"src/f{i}.txt": [" ".join(rnd.choices(words, k=12)) for _ in range(300)] for i in range(3)}
    for n in range(commits):
        for lines in files.values():
            for _ in range(rnd.randint(1, 6)):
                at = rnd.randrange(len(lines))
                if rnd.random() < 0.3:
                    del lines[at]
                else:
                    lines.insert(at, " ".join(rnd.choices(words, k=rnd.randint(1, 15))))
        changed: dict[str | bytes, str | bytes | None] = {name: "\n".join(body) + "\n" for name, body in files.items()}
        changed[f"bin/r{n}.bin"] = rnd.randbytes(rnd.randint(0, 5000))
        repo.commit(changed)


def _blobs(repo: Repo) -> list[str]:
    out = repo.git("cat-file", "--batch-all-objects", "--unordered", "--batch-check=%(objecttype) %(objectname)")
    return [line.split()[1] for line in out.splitlines() if line.startswith("blob ")]


def _git_blob(repo: Repo, oid: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo.path), "cat-file", "blob", oid], capture_output=True,
                          check=True).stdout


def _reader(repo: Repo) -> BlobReader:
    opened = open_repo(repo.path)
    assert opened is not None
    return BlobReader(opened)


def _delta_kinds(repo: Repo) -> list[int]:
    """The pack type of every object the repository's one pack stores as a delta (6: OFS_DELTA, 7:
    REF_DELTA), from the first byte at each offset git verify-pack lists with a chain depth."""
    idx = next((repo.path / ".git" / "objects" / "pack").glob("*.idx"))
    pack = idx.with_suffix(".pack").read_bytes()
    lines = [line.split() for line in repo.git("verify-pack", "-v", str(idx)).splitlines()]
    return [(pack[int(f[4])] >> 4) & 7 for f in lines if len(f) == 7]


@pytest.mark.parametrize(("sort_after", "unsorted_most"), [(0, 4 << 20), (10**9, 4 << 20), (10**9, 100)],
                         ids=["sorted-offsets", "bounded-reads", "sorted-for-large-objects"])
@pytest.mark.parametrize("offsets", [True, False], ids=["ofs-delta", "ref-delta"])
def test_every_blob_read_from_the_pack_is_what_git_gives(tmp_path: Path, offsets: bool, sort_after: int,
                                                         unsorted_most: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # An object's end is the next object's offset once they are sorted, else the most its stream can take
    # (unless that is more than UNSORTED_MOST: then the offsets are sorted after all).
    monkeypatch.setattr(gitpack, "SORT_AFTER", sort_after)
    monkeypatch.setattr(gitpack, "UNSORTED_MOST", unsorted_most)
    repo = Repo(tmp_path / "r")
    _versions(repo, seed=1 if offsets else 2)
    repo.git("-c", f"repack.useDeltaBaseOffset={str(offsets).lower()}", "repack", "-a", "-d", "-f", "--depth=250",
             "--window=50", "-q")
    kinds = _delta_kinds(repo)
    assert len(kinds) > 60 and set(kinds) == {6 if offsets else 7}  # most text versions are deltas, in chains
    reader, oids = _reader(repo), _blobs(repo)
    for oid in oids:
        got = reader.packs.read(oid)
        assert got is not None, oid  # read here, not handed to git
        assert got[0] == _git_blob(repo, oid)
    reader.close()


def test_several_packs_loose_objects_and_a_small_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gitpack, "BASE_CACHE", 20_000)  # bases evicted all the time: chains are walked again
    repo = Repo(tmp_path / "r")
    _versions(repo, seed=3, commits=12)
    repo.git("repack", "-a", "-d", "-q")
    _versions(repo, seed=4, commits=8)
    repo.git("repack", "-d", "-q")  # a second pack with the newer objects
    repo.commit({"loose.txt": "written after the last repack\n"})
    assert len(list((repo.path / ".git" / "objects" / "pack").glob("*.pack"))) == 2
    reader, oids = _reader(repo), _blobs(repo)
    got = {oids[i]: (data, windows) for i, data, windows in reader.blobs(oids)}
    assert {oid: data for oid, (data, _) in got.items()} == {oid: _git_blob(repo, oid) for oid in oids}
    loose = repo.git("rev-parse", "HEAD:loose.txt")
    assert reader.packs.read(loose) is None  # not in a pack: git read it
    assert sum(1 for oid in oids if reader.packs.read(oid) is not None) == len(oids) - 1
    assert reader.packs._cached <= 20_000
    assert reader.from_git == 1
    reader.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_summary_counts_blobs_read_through_git(tmp_path: Path, gh_matcher: Matcher, jobs: int) -> None:
    """Blobs no pack holds (here two loose ones) are read by git, and the scan's summary says how many."""
    repo = Repo(tmp_path / "r")
    _versions(repo, seed=5, commits=6)
    repo.git("repack", "-a", "-d", "-q")
    repo.commit({"loose.txt": "written after the repack\n", "loose2.txt": "so was this\n"})
    history = scan(repo.path, gh_matcher, jobs=jobs, full=True).result.summary.history
    assert history["from_git"] == 2 and history["read"] == history["enumerated"] == len(_blobs(repo))


def test_sha256_repository(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r", init=False)
    repo.path.mkdir()
    if subprocess.run(["git", "-C", str(repo.path), "init", "-q", "--object-format=sha256"]).returncode:
        pytest.skip("this git cannot create SHA-256 repositories")
    _versions(repo, seed=5, commits=10)
    repo.git("repack", "-a", "-d", "-f", "-q")
    reader, oids = _reader(repo), _blobs(repo)
    assert oids and all(len(oid) == 64 for oid in oids)
    assert all((got := reader.packs.read(oid)) is not None and got[0] == _git_blob(repo, oid) for oid in oids)
    reader.close()


def test_a_corrupt_object_in_a_pack_is_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    _versions(repo, seed=6, commits=5)
    repo.commit({"victim.bin": random.Random(7).randbytes(20_000)})  # incompressible: stored whole, no delta
    repo.git("repack", "-a", "-d", "-f", "-q")
    victim = repo.git("rev-parse", "HEAD:victim.bin")
    idx = next((repo.path / ".git" / "objects" / "pack").glob("*.idx"))
    offset = next(int(line.split()[4]) for line in repo.git("verify-pack", "-v", str(idx)).splitlines()
                  if line.startswith(victim))
    pack = idx.with_suffix(".pack")
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    for at in range(offset + 100, offset + 140):
        data[at] ^= 0x5A  # inside its deflate stream
    pack.write_bytes(bytes(data))
    reader, oids = _reader(repo), _blobs(repo)
    assert reader.packs.read(victim) is None  # handed to git, which reports it
    got = {oids[i]: data for i, data, _ in reader.blobs(oids)}
    assert isinstance(got.pop(victim), Unreadable)
    assert got == {oid: _git_blob(repo, oid) for oid in got}
    reader.close()


def test_without_the_compiled_delta_applier_git_reads_every_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 gh_matcher: Matcher) -> None:
    monkeypatch.setitem(sys.modules, "dulwich._pack", None)  # import fails, as where no wheel is built
    repo = Repo(tmp_path / "r")
    _versions(repo, seed=8, commits=6)
    repo.git("repack", "-a", "-d", "-q")
    reader, oids = _reader(repo), _blobs(repo)
    assert all(reader.packs.read(oid) is None for oid in oids)
    assert {oids[i]: data for i, data, _ in reader.blobs(oids)} == {oid: _git_blob(repo, oid) for oid in oids}
    reader.close()
    s = scan(repo.path, gh_matcher)
    assert s.result.summary.errors == 0 and s.source.counters.enumerated == len(oids)


def test_only_version_2_and_3_packs_are_read(tmp_path: Path) -> None:
    for version, readable in ((2, True), (3, True), (4, False)):
        path = tmp_path / f"v{version}.pack"
        path.write_bytes(b"PACK" + version.to_bytes(4, "big") + bytes(4 + 20))
        if readable:
            os.close(gitpack._open_pack(path))
        else:
            with pytest.raises(ValueError, match="version-2 or -3"):
                gitpack._open_pack(path)
    (tmp_path / "other.pack").write_bytes(b"NOPE" + bytes(28))
    with pytest.raises(ValueError):
        gitpack._open_pack(tmp_path / "other.pack")


def test_family_order_reads_every_delta_right_after_its_base() -> None:
    # a ← b ← c, a ← d, e alone, f ← g where f is not among the oids, and h ↔ i (a corrupt cycle)
    oids = ["c", "a", "g", "d", "h", "b", "e", "i"]
    deltas = {"b": "a", "c": "b", "d": "a", "g": "f", "h": "i", "i": "h"}
    order = [oids[i] for i in gitpack.family_order(oids, deltas)]
    assert order == ["a", "d", "b", "c", "g", "e", "h", "i"]  # a's deltas in the order of oids: d, then b
    assert gitpack.family_order([], deltas) == []
    assert gitpack.family_order(["x"], {"x": "x"}) == [0]  # a blob its own base (corrupt): read once all the same


@pytest.mark.parametrize("scope", [{}, {"branches": ("main",)}], ids=["whole-history", "branch"])
def test_a_history_scan_inflates_each_packed_object_about_once(tmp_path: Path, gh_matcher: Matcher,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               scope: dict[str, object]) -> None:
    """Deltas are read in family order: each packed object is inflated about once, a family's first blob
    twice (read alone while git lists, and again under its first delta), with a base cache far smaller than
    the history. Read in the listing's order (pack order; a branch's rev-list order), chains are walked down
    again and again (here over 3× the blobs)."""
    repo = Repo(tmp_path / "r")
    _versions(repo, seed=9, commits=40)
    repo.git("repack", "-a", "-d", "-f", "--depth=250", "--window=50", "-q")
    listing = repo.git("cat-file", "--batch-all-objects", "--unordered",
                       "--batch-check=%(objecttype) %(objectname) %(deltabase)").splitlines()
    bases = {f[2] for f in (line.split() for line in listing) if f[0] == "blob" and f[2].strip("0")}
    blobs = _blobs(repo)
    inflated: list[int] = []
    read = gitpack._object

    def counted(pack: gitpack._Pack, at: int) -> tuple[int, bytes, int]:
        inflated.append(at)
        return read(pack, at)

    monkeypatch.setattr(gitpack, "_object", counted)
    monkeypatch.setattr(gitpack, "BASE_CACHE", 200_000)  # a dozen versions: the history is larger
    s = scan(repo.path, gh_matcher, full=True, **scope)
    assert s.result.summary.history["read"] == len(blobs) and s.result.summary.errors == 0
    roots = {oid for oid in bases if oid in blobs} - {f[1] for f in (line.split() for line in listing)
                                                      if f[0] == "blob" and f[2].strip("0")}
    assert len(bases) > 20 and len(inflated) <= 1.1 * (len(blobs) + len(roots))  # a few ancestors evicted
    monkeypatch.setattr(git, "family_order", lambda oids, deltas: list(range(len(oids))))  # pack order
    inflated.clear()
    scan(repo.path, gh_matcher, full=True, **scope)
    assert len(inflated) > 3 * len(blobs)


def test_the_listing_is_read_ahead_in_order_and_its_failure_raised_where_it_happened() -> None:
    def listing(fail_after: int | None) -> Iterator[Entry]:
        for n in range(3 * gitobjects.AHEAD_CHUNK + 5):
            if n == fail_after:
                raise SourceError("git cat-file failed: bad object")
            yield f"{n:040x}", n, None

    assert list(gitobjects.read_ahead(listing(None))) == list(listing(None))
    got: list[Entry] = []
    with pytest.raises(SourceError, match="bad object"):
        got.extend(gitobjects.read_ahead(listing(gitobjects.AHEAD_CHUNK + 7)))
    assert got == list(listing(None))[:gitobjects.AHEAD_CHUNK + 7]  # every entry before the failure, then it


def test_an_objects_stream_never_takes_more_than_the_bounded_read() -> None:
    rnd = random.Random(11)
    for length in (0, 1, 100, 65_535, 65_536, 200_000, 1 << 20):
        data = rnd.randbytes(length)  # incompressible: stored blocks, the longest stream zlib writes
        longest = max(len(zlib.compress(data, level)) for level in (0, 1, 6, 9))
        assert longest + 32 <= gitpack._most(length)  # + the longest header: size varint and a SHA-256 base


def test_an_object_whose_header_claims_a_huge_size_is_not_inflated(tmp_path: Path) -> None:
    """A corrupt header's size is never handed to the inflater as a buffer size (2^40 bytes: MemoryError):
    no stream of n bytes inflates to more than ~1032 n."""
    size, header = 1 << 40, bytearray([0x80 | (gitpack._BLOB << 4)])  # type, low 4 bits 0, more follow
    rest = size >> 4
    while rest:
        header.append((0x80 if rest >> 7 else 0) | (rest & 0x7F))
        rest >>= 7
    body = bytes(12) + bytes(header) + zlib.compress(b"x" * 100)
    path = tmp_path / "fake.pack"
    path.write_bytes(body + bytes(20))

    class Pack:
        pack, end = os.open(path, os.O_RDONLY), len(body)

        def span(self, offset: int, sort: bool = False) -> int:
            return self.end

    with pytest.raises(gitpack._Unreadable, match="beyond what its stream"):
        gitpack._object(Pack(), 12)  # type: ignore[arg-type]
    os.close(Pack.pack)
