"""Git robustness: partial, shallow and empty repositories, corrupt objects, submodules, LFS, sizes, names."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import zlib
from io import StringIO
from pathlib import Path

import pytest

from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line, of, scan
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.report import REPORTERS
from tokenward.settings import Settings
from tokenward.sources import git as git_source

gh_matcher, git_env, tokens = fx.gh_matcher, fx.git_env, fx.tokens  # fixtures used here


def _clone(src: Path, dst: Path, *args: str) -> Repo:
    subprocess.run(["git", "clone", "-q", *args, f"file://{src}", str(dst)], check=True, capture_output=True)
    return Repo(dst, init=False)


def test_partial_clone_counts_missing_blobs_and_never_fetches(tmp_path: Path, gh_matcher: Matcher,
                                                              tokens: TokenFactory) -> None:
    origin, secret = Repo(tmp_path / "origin"), tokens.github_classic()
    origin.git("config", "uploadpack.allowFilter", "true")
    origin.commit({"big.txt": "x" * 5000 + "\n", "small.py": line(secret)})
    origin.commit({"big.txt": "y" * 5000 + "\n"})
    clone = _clone(origin.path, tmp_path / "clone", "--filter=blob:limit=1000", "--no-checkout")
    s = scan(clone.path, gh_matcher)
    assert len(of(s.findings, secret)) == 1
    missing = [x for x in s.result.skipped if x.reason.startswith("missing object (partial clone")]
    assert len(missing) == 2 and all(x.severity == "error" for x in missing)
    still_missing = clone.git(  # the origin is still there to fetch from, yet nothing was fetched
"rev-list", "--objects", "--all", "--missing=print").split()
    assert sum(1 for x in still_missing if x.startswith("?")) == 2


def test_shallow_clone_is_scanned_and_noted(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    origin, old, new = Repo(tmp_path / "origin"), tokens.github_classic(), tokens.github_classic()
    origin.commit({"a.py": line(old)})
    origin.commit({"a.py": "clean\n"})
    tip = origin.commit({"b.py": line(new)}, "tip")
    clone = _clone(origin.path, tmp_path / "clone", "--depth", "1")
    s = scan(clone.path, gh_matcher)
    assert not of(s.findings, old)  # beyond the shallow boundary: not in the repository
    found = [f for f in of(s.findings, new) if f.origin.kind == "git"]
    assert len(found) == 1 and found[0].origin.git and found[0].origin.git.first_commit
    assert found[0].origin.git.first_commit.commit == tip
    assert any(r.startswith("shallow clone") for r in s.reasons())
    assert s.result.summary.errors == 0


def _loose_path(repo: Repo, oid: str) -> Path:
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


def test_corrupt_loose_object_is_skipped_and_the_scan_goes_on(tmp_path: Path, gh_matcher: Matcher,
                                                              tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    rng = random.Random(5)
    body = "".join(f"{rng.getrandbits(64):016x}\n" for _ in range(4000)).encode()
    repo.commit({"broken.txt": body, "bad-header.txt": "zap\n"})
    repo.commit({"leak.py": line(secret)})
    body_oid, header_oid = repo.git("rev-parse", "HEAD:broken.txt"), repo.git("rev-parse", "HEAD:bad-header.txt")
    raw = zlib.compress(f"blob {len(body)}\0".encode() + body)  # header intact, body broken mid-way
    for oid, data in ((body_oid, raw[:1000] + b"\0" * 64 + raw[1064:]), (header_oid, b"garbage")):
        os.chmod(_loose_path(repo, oid), 0o644)
        _loose_path(repo, oid).write_bytes(data)
    shutil.rmtree(repo.path / "broken.txt", ignore_errors=True)
    s = scan(repo.path, gh_matcher, history=True)
    assert len(of(s.findings, secret)) == 1
    errors = {x.location: x.reason for x in s.result.skipped if x.severity == "error" and "git blob" in x.location}
    assert any(body_oid in loc and "corrupt object" in r for loc, r in errors.items())
    assert any(header_oid in loc and "missing or corrupt" in r for loc, r in errors.items())
    assert s.source.counters.restarts == 1


def test_worker_processes_report_failures_back(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_source, "BATCH_BLOBS", 2)  # several batches, read by two forked workers
    repo, secret = Repo(tmp_path / "r", bare=False), tokens.github_classic()
    rng = random.Random(6)
    body = "".join(f"{rng.getrandbits(64):016x}\n" for _ in range(4000)).encode()
    repo.commit({"broken.txt": body, **{f"f{i}.txt": f"{i}\n" for i in range(9)}})
    repo.commit({"leak.py": line(secret)})
    oid = repo.git("rev-parse", "HEAD:broken.txt")
    raw = zlib.compress(f"blob {len(body)}\0".encode() + body)
    os.chmod(_loose_path(repo, oid), 0o644)
    _loose_path(repo, oid).write_bytes(raw[:1000] + b"\0" * 64 + raw[1064:])
    (repo.path / "broken.txt").unlink()
    s = scan(repo.path, gh_matcher, jobs=2)
    assert len(of(s.findings, secret)) == 1
    c = s.source.counters
    assert (c.unreadable, c.restarts, c.read) == (1, 1, c.enumerated - 1)
    again = scan(repo.path, gh_matcher, jobs=2)  # the broken blob is tried (and reported) again
    assert (again.source.counters.read, again.source.counters.unreadable) == (0, 1)
    assert len(of(again.findings, secret)) == 1


def test_submodule_is_recorded_not_recursed(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    sub, secret = Repo(tmp_path / "sub"), tokens.github_classic()
    sub.commit({"s.py": line(secret)})
    sub_tip = sub.commit({"s.py": "clean\n"})
    main = Repo(tmp_path / "main")
    main.commit({"a.txt": "a\n"})
    main.git("submodule", "add", "-q", f"file://{sub.path}", "vendor/sub")
    main.commit({}, "add submodule")
    s = scan(main.path, gh_matcher)
    assert not of(s.findings, secret)  # the submodule's own history is not scanned
    notes = [x for x in s.result.skipped if x.location == "vendor/sub"]
    assert len(notes) == 1 and notes[0].reason == f"submodule at {sub_tip[:12]} (not scanned)"


def test_lfs_pointer_is_recognised_not_fetched(tmp_path: Path, gh_matcher: Matcher) -> None:
    repo = Repo(tmp_path / "r", bare=False)
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 12345\n"
    repo.commit({"model.bin": pointer})
    s = scan(repo.path, gh_matcher, history=True)
    assert "git LFS pointer (content not fetched)" in s.reasons()


def test_huge_blob_is_a_counted_skip(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"dump.sql": "-- filler\n" * 500 + line(secret)})
    repo.commit({"dump.sql": None})
    s = scan(repo.path, gh_matcher, Settings(max_file_size=2000))
    assert not of(s.findings, secret)
    assert s.source.counters.too_large == 1
    assert f"too large ({5000 + len(line(secret))} bytes > 2000)" in s.reasons()


def test_non_utf8_path_names(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    name = b"caf\xe9/r\xe9sum\xe9.py"
    repo.commit({name: line(secret)})
    s = scan(repo.path, gh_matcher)
    found = of(s.findings, secret)
    assert len(found) == 1 and found[0].origin.kind == "git"
    assert found[0].origin.path == os.fsdecode(name)
    out = StringIO()
    REPORTERS["json"](s.result, out)
    assert json.loads(out.getvalue())["findings"][0]["source"]["path"] == os.fsdecode(name)


def test_repository_without_commits(tmp_path: Path, gh_matcher: Matcher) -> None:
    for bare in (False, True):
        repo = Repo(tmp_path / f"empty{bare}", bare=bare)
        s = scan(repo.path, gh_matcher)
        assert s.findings == () and s.result.summary.errors == 0, s.result.skipped
        assert s.source.counters.enumerated == 0


def test_one_cat_file_serves_every_batch_of_a_process(tmp_path: Path, tokens: TokenFactory) -> None:
    from tokenward.sources.git import BlobBatch
    from tokenward.sources.gitobjects import close_readers, open_repo, shared_reader

    repo = Repo(tmp_path / "r")
    repo.commit({f"f{i}.txt": f"{i} {tokens.github_classic()}\n" for i in range(6)})
    oids = repo.git("rev-list", "--objects", "--all").split()
    blobs = [o for o in oids if len(o) == 40 and repo.git("cat-file", "-t", o) == "blob"]
    git_repo = open_repo(repo.path)
    assert git_repo is not None

    def batch(ids: list[str]) -> BlobBatch:
        return BlobBatch(git_repo, str(repo.path), tuple(ids), (None,) * len(ids), 1 << 20, str(tmp_path / "rep.txt"))

    assert len(list(batch(blobs[:3]))) == 3
    proc = shared_reader(git_repo)._proc
    assert proc is not None and proc.poll() is None  # kept for the next batch
    assert [b.data for b in batch(blobs[3:])] == [repo.git("cat-file", "blob", o).encode() + b"\n" for o in blobs[3:]]
    assert shared_reader(git_repo)._proc is proc
    partial = iter(batch(blobs))
    next(partial)
    del partial  # stopped early: answers left in the pipe, so that process cannot be reused
    assert proc.poll() is not None or shared_reader(git_repo)._proc is None
    assert len(list(batch(blobs))) == len(blobs)  # a fresh process reads them all
    close_readers()
    assert shared_reader(git_repo)._proc is None


def test_lost_provenance_keeps_the_finding_and_says_why(tmp_path: Path, gh_matcher: Matcher,
                                                        tokens: TokenFactory) -> None:
    """A history walk git cannot finish (a tree of an older commit is missing) loses the commits, paths and
    refs of the findings, not the findings: the scan reports why, as an error, in its skipped items."""
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"leak.py": line(secret), "docs/a.txt": "a\n"})
    repo.commit({"leak.py": "clean\n", "docs/a.txt": "b\n"})
    repo.commit({"docs/a.txt": "c\n"})
    gone = repo.git("rev-parse", "HEAD~1:docs")  # a tree the walk must read, the blob scan need not
    _loose_path(repo, gone).unlink()
    s = scan(repo.path, gh_matcher, history=True)
    found = of(s.findings, secret)
    assert len(found) == 1 and found[0].origin.git is not None and found[0].origin.git.first_commit is None
    lost = [x for x in s.result.skipped if "provenance" in x.reason]
    assert len(lost) == 1 and lost[0].severity == "error" and lost[0].location == str(repo.path)
    assert "history provenance lost" in lost[0].reason and "git log failed" in lost[0].reason, lost[0].reason
    assert s.result.summary.errors >= 1 and s.result.summary.skipped.get("history provenance lost") == 1
