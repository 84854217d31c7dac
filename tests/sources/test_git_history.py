"""Git history: unique blobs scanned once, provenance, history-only tokens, bare repositories."""

from __future__ import annotations

import json
import subprocess
from io import StringIO
from pathlib import Path

import pytest

from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line, of, scan
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.report import REPORTERS
from tokenward.sources import git as gitsource
from tokenward.sources import gitprov

gh_matcher, git_env, tokens = fx.gh_matcher, fx.git_env, fx.tokens  # fixtures used here


def test_history_only_token_is_found_with_its_first_commit(tmp_path: Path, gh_matcher: Matcher,
                                                          tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"README.md": "hello\n"}, "start")
    first = repo.commit({"app/settings.py": "DEBUG = 1\n" + line(secret)}, "Add settings\n\nlong body",
                        author=("Grace Hopper", "grace@example.org"))
    repo.commit({"app/settings.py": "DEBUG = 1\n"}, "Remove the token")
    found = of(scan(repo.path, gh_matcher).findings, secret)
    assert len(found) == 1
    f = found[0]
    assert f.origin.kind == "git" and f.origin.path == "app/settings.py"
    assert f.location.line == 2
    assert f.origin.git is not None and f.origin.git.first_commit is not None
    info = f.origin.git.first_commit
    assert (info.commit, info.author, info.author_email, info.summary) == (
        first, "Grace Hopper", "grace@example.org", "Add settings")
    assert info.date == "2023-11-15T00:13:20Z"  # EPOCH + two commits of an hour
    assert f.origin.git.in_head is False
    assert f.origin.git.refs == ("refs/heads/main",) and f.origin.git.ref_count == 1


def test_token_at_head_is_reported_once_for_worktree_and_history(tmp_path: Path, gh_matcher: Matcher,
                                                                 tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"config.py": line(secret)})
    for i in range(5):
        repo.commit({f"other{i}.txt": f"{i}\n"})
    found = of(scan(repo.path, gh_matcher).findings, secret)
    assert len(found) == 1
    assert found[0].origin.kind == "git" and found[0].origin.git is not None
    assert found[0].origin.git.in_head is True


def test_uncommitted_token_in_worktree_is_a_file_finding(tmp_path: Path, gh_matcher: Matcher,
                                                         tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"a.txt": "a\n"})
    repo.write({"local.env": line(secret)})
    found = of(scan(repo.path, gh_matcher).findings, secret)
    assert [f.origin.kind for f in found] == ["file"]


def test_same_blob_in_many_commits_and_paths_is_read_once(tmp_path: Path, gh_matcher: Matcher,
                                                          tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"a/leak.py": line(secret)}, "first")
    for i in range(20):
        repo.commit({f"n{i % 3}.txt": f"{i}\n"})
    repo.commit({"b/copy.py": line(secret)}, "copy")
    s = scan(repo.path, gh_matcher, full=True)
    found = [f for f in of(s.findings, secret) if f.origin.kind == "git"]
    assert len(found) == 1
    git = found[0].origin.git
    assert git is not None and git.first_commit is not None
    assert git.first_commit.summary == "first"
    assert set(git.paths) == {"a/leak.py", "b/copy.py"} and git.paths[0] == "a/leak.py"
    assert git.commit_count == 2
    unique = len(set(repo.git("rev-list", "--objects", "--all", "--filter=object:type=blob").split()))
    assert s.source.counters.read <= unique  # every blob at most once, however many commits hold it


def test_bare_repository_history(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"x.py": line(secret)})
    repo.commit({"x.py": "clean\n"})
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(tmp_path / "b.git")], check=True)
    s = scan(tmp_path / "b.git", gh_matcher)
    found = of(s.findings, secret)
    assert len(found) == 1 and found[0].origin.git is not None and not found[0].origin.git.in_head
    assert [f.origin.kind for f in found] == ["git"]


def test_branch_only_token_names_its_ref(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"f.py": line(secret)})
    repo.git("checkout", "-q", "main")
    found = of(scan(repo.path, gh_matcher).findings, secret)
    assert len(found) == 1 and found[0].origin.git is not None
    assert found[0].origin.git.refs == ("refs/heads/feature",)
    assert found[0].origin.git.in_head is True  # at the tip of a branch, though not of main


def test_token_live_elsewhere_is_not_history_only(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"old.py": line(secret)})
    repo.commit({"old.py": None, "new.py": "# moved\n" + line(secret)})
    found = [f for f in of(scan(repo.path, gh_matcher).findings, secret) if f.origin.kind == "git"]
    assert len(found) == 2
    assert all(f.origin.git is not None and f.origin.git.in_head for f in found)


def test_json_report_carries_provenance(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"x.py": line(secret)})
    out = StringIO()
    REPORTERS["json"](scan(repo.path, gh_matcher).result, out)
    doc = json.loads(out.getvalue())
    assert secret not in out.getvalue()
    git = doc["findings"][0]["source"]["git"]
    assert git["first_commit"]["author"] == "Ada Lovelace" and git["in_head"] is True


def test_history_walk_starts_only_once_a_finding_exists(tmp_path: Path, gh_matcher: Matcher,
                                                        tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []

    class Counting(gitprov.HistoryWalk):
        def __init__(self, *args: object, **kwargs: object) -> None:
            started.append(args)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gitsource, "HistoryWalk", Counting)
    monkeypatch.setattr(gitprov, "HistoryWalk", Counting)
    clean = Repo(tmp_path / "clean")
    for i in range(5):
        clean.commit({f"f{i}.txt": f"{i}\n"})
    assert scan(clean.path, gh_matcher).findings == () and started == []
    leaky, secret = Repo(tmp_path / "leaky"), tokens.github_classic()
    leaky.commit({"a.py": line(secret)})
    leaky.commit({"a.py": "x = 1\n"})
    found = of(scan(leaky.path, gh_matcher).findings, secret)
    assert len(started) == 1 and found[0].origin.git is not None and found[0].origin.git.first_commit


def test_a_branch_token_is_placed_at_its_own_commit_not_at_the_merge(tmp_path: Path, gh_matcher: Matcher,
                                                                     tokens: TokenFactory) -> None:
    """A merge's diff repeats what the merged branch introduced: the branch's commit is the introduction."""
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature")
    introduced = repo.commit({"f.py": line(secret)}, "add f")
    repo.git("checkout", "-q", "main")
    repo.commit({"b.txt": "b\n"})
    repo.clock += 3600
    repo.git("merge", "-q", "--no-ff", "--no-edit", "feature")
    repo.commit({"f.py": "clean\n"}, "clean f")
    found = of(scan(repo.path, gh_matcher, full=True).findings, secret)
    git = found[0].origin.git
    assert len(found) == 1 and git is not None and git.first_commit is not None
    assert git.first_commit.commit == introduced and git.commit_count == 1
    assert [loc.commit.commit for loc in git.locations if loc.commit] == [introduced]
    assert set(git.refs) == {"refs/heads/feature", "refs/heads/main"}


def test_a_token_only_a_merge_introduced_is_placed_at_the_merge(tmp_path: Path, gh_matcher: Matcher,
                                                                tokens: TokenFactory) -> None:
    """A conflict resolved by writing a token (no ordinary commit holds that blob): the merge introduced it."""
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"c.py": "base\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"c.py": "side\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"c.py": "main\n"})
    repo.clock += 3600
    repo.git("merge", "-q", "-s", "ours", "--no-commit", "side")
    repo.write({"c.py": "resolved\n" + line(secret)})
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-edit", "-m", "merge side")
    merge = repo.git("rev-parse", "HEAD")
    repo.commit({"c.py": "clean\n"}, "clean")
    found = of(scan(repo.path, gh_matcher, full=True).findings, secret)
    git = found[0].origin.git
    assert len(found) == 1 and git is not None and git.first_commit is not None
    assert git.first_commit.commit == merge and git.first_commit.summary == "merge side"
    assert found[0].origin.path == "c.py" and git.in_head is False


def test_a_committed_archive_still_in_the_work_tree_is_reported_once(tmp_path: Path, gh_matcher: Matcher,
                                                                    tokens: TokenFactory) -> None:
    import io
    import zipfile

    buf, secret = io.BytesIO(), tokens.github_classic()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("conf/app.env", line(secret))
    repo = Repo(tmp_path / "r")
    repo.commit({"dist/app.zip": buf.getvalue()}, "add the archive")
    found = of(scan(repo.path, gh_matcher).findings, secret)
    assert [(f.origin.kind, f.origin.path) for f in found] == [("git", "dist/app.zip!/conf/app.env")]
    assert found[0].origin.git is not None and found[0].origin.git.in_head is True


def test_which_binary_blobs_history_opens() -> None:
    tar = bytearray(512)
    tar[257:262] = b"ustar"
    opened = {name: gitsource.opened_in_history(head) for name, head in [
        ("zip", b"PK\x03\x04\x14\x00" + bytes(40)), ("gzip", b"\x1f\x8b\x08\x00" + bytes(20)), ("tar", bytes(tar)),
        ("sqlite", b"SQLite format 3\x00" + bytes(84)), ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00"),
        ("elf", b"\x7fELF\x02\x01\x01\x00")]}
    assert opened == {"zip": True, "gzip": True, "tar": True, "sqlite": True, "pdf": True, "elf": False}


def test_paths_holding_the_member_separator_stay_as_they_are(tmp_path: Path, gh_matcher: Matcher,
                                                              tokens: TokenFactory) -> None:
    """A directory named "v1!" is no archive: its file keeps its path, and an archive inside it its members'."""
    import io
    import zipfile

    buf, plain, inner = io.BytesIO(), tokens.github_classic(), tokens.github_classic()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("m.env", line(inner))
    repo = Repo(tmp_path / "r")
    repo.commit({"v1!/app.env": line(plain), "v1!/pack.zip": buf.getvalue()}, "odd names")
    for scope in ({}, {"branches": ("main",)}):  # a whole-history listing names blobs by id, a branch's by path
        found = scan(repo.path, gh_matcher, **scope).findings
        assert [f.origin.path for f in of(found, plain)] == ["v1!/app.env"], scope
        assert [f.origin.path for f in of(found, inner)] == ["v1!/pack.zip!/m.env"], scope


def test_a_pdf_committed_once_and_deleted_is_read_in_history(tmp_path: Path, gh_matcher: Matcher,
                                                            tokens: TokenFactory) -> None:
    from tests.samples_archives import pdf_bytes

    secret = tokens.github_classic()
    repo = Repo(tmp_path / "r")
    added = repo.commit({"docs/runbook.pdf": pdf_bytes(["setup", f"token {secret}"])}, "add the runbook")
    repo.commit({"docs/runbook.pdf": None}, "remove it")
    found = of(scan(repo.path, gh_matcher).findings, secret)
    git = found[0].origin.git
    assert [(f.origin.path, f.origin.details) for f in found] == [
        ("docs/runbook.pdf", (("format", "document"), ("document", "pdf"), ("page", "2")))]
    assert git is not None and git.first_commit is not None and git.first_commit.commit == added
    assert git.in_head is False
