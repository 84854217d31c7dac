"""Git scan modes: --staged, --since-commit, --branch, --all-objects, --no-history, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line, of, scan
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.errors import ConfigError, SourceError

gh_matcher, git_env, tokens = fx.gh_matcher, fx.git_env, fx.tokens  # fixtures used here

ROOT = REPO


def test_staged_scans_only_what_the_index_adds(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo = Repo(tmp_path / "r")
    committed, staged, unstaged = tokens.github_classic(), tokens.github_classic(), tokens.github_classic()
    repo.commit({"old.py": line(committed), "tracked.py": "x = 1\n"})
    repo.write({"new.py": line(staged)})
    repo.git("add", "new.py")
    repo.write({"tracked.py": line(unstaged)})  # modified but not staged
    s = scan(repo.path, gh_matcher, staged=True)
    assert of(s.findings, staged) and not of(s.findings, unstaged) and not of(s.findings, committed)
    f = of(s.findings, staged)[0]
    assert f.origin.path == "new.py" and f.origin.git is not None
    assert f.origin.git.first_commit is None and f.origin.git.in_head
    assert s.source.counters.read == 1


def test_staged_in_a_repository_without_commits(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.write({"first.py": line(secret)})
    repo.git("add", "first.py")
    assert len(of(scan(repo.path, gh_matcher, staged=True).findings, secret)) == 1


def test_since_commit_reads_only_newer_blobs(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, old, new = Repo(tmp_path / "r"), tokens.github_classic(), tokens.github_classic()
    base = repo.commit({"a.py": line(old), **{f"f{i}.txt": f"{i}\n" for i in range(10)}})
    introduced = repo.commit({"b.py": line(new)}, "add b")
    s = scan(repo.path, gh_matcher, since_commit=base)
    assert not of(s.findings, old)
    found = of(s.findings, new)
    assert len(found) == 1 and found[0].origin.kind == "git"
    assert found[0].origin.git and found[0].origin.git.first_commit
    assert found[0].origin.git.first_commit.commit == introduced
    assert s.source.counters.enumerated == 1  # no work tree walk, no old blob listed


def test_branch_limits_history_to_that_ref(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, on_main, on_topic = Repo(tmp_path / "r"), tokens.github_classic(), tokens.github_classic()
    live = tokens.github_classic()
    repo.commit({"m.py": line(on_main), "live.py": line(live)})
    repo.git("checkout", "-q", "-b", "topic", "HEAD")
    repo.commit({"t.py": line(on_topic)})
    repo.git("checkout", "-q", "main")
    repo.commit({"m.py": "clean\n"})
    s = scan(repo.path, gh_matcher, branches=("main",))
    assert not of(s.findings, on_topic)
    found = of(s.findings, on_main)
    assert len(found) == 1 and found[0].origin.git and found[0].origin.git.refs == ("main",)
    assert found[0].origin.git.in_head is False
    still = of(s.findings, live)
    assert len(still) == 1 and still[0].origin.git and still[0].origin.git.in_head is True


def test_all_objects_finds_a_dangling_blob(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secret = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"a.txt": "a\n"})
    oid = repo.git("hash-object", "-w", "--stdin", stdin=line(secret).encode())
    assert not of(scan(repo.path, gh_matcher).findings, secret)
    found = of(scan(repo.path, gh_matcher, all_objects=True).findings, secret)
    assert len(found) == 1 and found[0].origin.blob_id == oid
    assert found[0].origin.git is not None and found[0].origin.git.first_commit is None


def test_no_history_on_a_bare_repository_scans_head(tmp_path: Path, gh_matcher: Matcher,
                                                    tokens: TokenFactory) -> None:
    repo, gone, live = Repo(tmp_path / "r"), tokens.github_classic(), tokens.github_classic()
    repo.commit({"a.py": line(gone)})
    repo.commit({"a.py": "clean\n", "b.py": line(live)})
    repo.git("clone", "-q", "--bare", ".", str(tmp_path / "b.git"))
    s = scan(tmp_path / "b.git", gh_matcher, history=False)
    assert not of(s.findings, gone) and len(of(s.findings, live)) == 1


def test_no_history_on_a_work_tree_reads_files_only(tmp_path: Path, gh_matcher: Matcher,
                                                    tokens: TokenFactory) -> None:
    repo, gone = Repo(tmp_path / "r"), tokens.github_classic()
    repo.commit({"a.py": line(gone)})
    repo.commit({"a.py": "clean\n"})
    s = scan(repo.path, gh_matcher, history=False)
    assert s.git == [] and not of(s.findings, gone)


@pytest.mark.parametrize("options", [
    {"staged": True, "since_commit": "HEAD"},
    {"all_objects": True, "branches": ("main",)},
    {"history": False, "branches": ("main",)},
    {"branches": ("--output=x",)},
    {"branches": ("no-such-branch",)},
])
def test_conflicting_or_bad_options_are_config_errors(tmp_path: Path, gh_matcher: Matcher,
                                                      options: dict[str, object]) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit({"a.txt": "a\n"})
    with pytest.raises(ConfigError):
        scan(repo.path, gh_matcher, **options)


def test_git_options_on_a_plain_directory_are_config_errors(tmp_path: Path, gh_matcher: Matcher) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError, match="git repository"):
        scan(tmp_path / "plain", gh_matcher, staged=True)


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    hook = by_id["tokenward"]
    assert "--staged" in hook["entry"] and hook["pass_filenames"] is False
    assert hook["language"] == "python"


def test_a_repository_git_cannot_open_is_an_error_not_a_plain_directory(tmp_path: Path,
                                                                         gh_matcher: Matcher) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit({"a.txt": "a\n"})
    (repo.path / ".git" / "HEAD").write_text("garbage\n")
    with pytest.raises(SourceError, match="git cannot open"):
        scan(repo.path, gh_matcher)
