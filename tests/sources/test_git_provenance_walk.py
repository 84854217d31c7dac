"""A whole-history scan's log walk ranks the commits itself (`--topo-order`, parents in its headers): the
ranks and reach masks are rev-list's, to the commit, and the scan runs no `rev-list` of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line, of, scan
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.findings import Finding
from tokenward.sources import git as gitsource
from tokenward.sources import gitprov
from tokenward.sources.gitobjects import Repo as OpenRepo
from tokenward.sources.gitobjects import open_repo

gh_matcher, git_env, tokens = fx.gh_matcher, fx.git_env, fx.tokens  # fixtures used here


def _branchy(path: Path, secret: str) -> Repo:
    """Branches, merges (one an octopus), a second root, dates that run backwards, and the secret's blob
    introduced on two branches; one path holds a commit header's bytes ("\\x01" + a commit id)."""
    repo = Repo(path)
    base = repo.commit({"README": "base\n"}, "base")
    repo.git("checkout", "-q", "-b", "left")
    repo.commit({"l.txt": "l1\n"}, "l1")
    left = repo.commit({"conf/a.py": line(secret)}, "left adds the secret")
    repo.git("checkout", "-q", "-b", "right", base)
    repo.clock -= 5 * 3600  # committed "before" its parent: topological order is not date order
    repo.commit({"conf/b.py": line(secret)}, "right adds the same blob")
    repo.commit({b"odd\x01" + left.encode() + b" " + base.encode(): "looks like a header\n"}, "odd path")
    repo.git("tag", "-a", "-m", "tagged", "v1")
    repo.git("checkout", "-q", "-b", "third", base)
    repo.commit({"t.txt": "t\n"}, "t1")
    repo.git("checkout", "-q", "main")
    repo.commit({"m.txt": "m\n"}, "m1")
    repo.clock += 3600
    repo.git("merge", "-q", "--no-edit", "left", "right", "third")  # octopus
    repo.commit({"conf/a.py": "clean\n", "conf/b.py": None}, "clean")
    repo.git("checkout", "-q", "--orphan", "lonely")
    repo.commit({"README": "another root\n"}, "lonely root")
    repo.git("merge", "-q", "--no-edit", "--allow-unrelated-histories", "-X", "ours", "main")
    repo.git("checkout", "-q", "main")
    return repo


def _opened(repo: Repo) -> OpenRepo:
    opened = open_repo(repo.path)
    assert opened is not None
    return opened


def _rev_list(opened: OpenRepo) -> list[list[str]]:
    walk = gitprov.ranking(opened, True, [])
    try:
        return [ln.split() for ln in walk.output().read().decode("ascii").splitlines()]
    finally:
        walk.close()


@pytest.mark.parametrize("commit_graph", [False, True])  # git's two topological walks: limited, incremental
def test_the_ranked_walk_lists_the_commits_as_rev_list_does(
        tmp_path: Path, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch, commit_graph: bool) -> None:
    repo = _branchy(tmp_path / "r", tokens.github_classic())
    if commit_graph:
        repo.git("commit-graph", "write", "--reachable")
    opened = _opened(repo)
    expected = _rev_list(opened)
    assert len(expected) == int(repo.git("rev-list", "--all", "--count")) > 10
    assert sum(len(parents) > 2 for parents in expected) == 2  # the octopus (3 parents) and nothing else
    for chunk_size in (1, 7, 64, 1 << 20):  # headers cut anywhere between reads
        monkeypatch.setattr(gitprov, "READ_BUFFER", chunk_size)
        walk = gitprov.HistoryWalk(opened, [], all_refs=True, ranked=True)
        walk.introductions({"0" * 40})
        assert walk.ranking is not None
        assert [ln.split() for ln in walk.ranking.lines] == expected
        commits = {c for c, *_ in expected}
        assert (gitprov.reach(opened, True, [], commits, walk.ranking)
                == gitprov.reach(opened, True, [], commits, gitprov.ranking(opened, True, [])))


def test_only_a_whole_history_walk_ranks(tmp_path: Path, tokens: TokenFactory) -> None:
    opened = _opened(_branchy(tmp_path / "r", tokens.github_classic()))
    for walk in (gitprov.HistoryWalk(opened, [], all_refs=True),
                 gitprov.HistoryWalk(opened, [], all_refs=True, merges=True, ranked=True)):
        walk.introductions({"0" * 40})
        assert walk.ranking is None and not walk.ranked
    assert gitprov.log_order([]) == ()


def _provenance(findings: tuple[Finding, ...]) -> list[tuple[object, ...]]:
    out = []
    for f in findings:
        git = f.origin.git
        assert git is not None and git.first_commit is not None
        out.append((f.token_id, f.origin.path, f.origin.blob_id, f.location, git.first_commit, git.paths,
                     git.refs, git.ref_count, git.commit_count, git.in_head, git.locations))
    return sorted(out, key=repr)


def _count_rankings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record each ranking() (rev-list) walk started, wherever from."""
    started: list[object] = []
    real = gitprov.ranking

    def counted(*args: object) -> gitprov.Background:
        started.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(gitprov, "ranking", counted)
    monkeypatch.setattr(gitsource, "ranking", counted)
    return started


def test_a_whole_history_scan_places_blobs_as_with_rev_list_and_runs_none(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tokens.github_classic()
    repo = _branchy(tmp_path / "r", secret)
    started = _count_rankings(monkeypatch)
    logged = scan(repo.path, gh_matcher, full=True)
    assert started == []
    found = of(logged.findings, secret)
    git = found[0].origin.git
    assert len(found) == 1 and git is not None and git.first_commit is not None
    assert git.commit_count == 2 and set(git.paths) == {"conf/a.py", "conf/b.py"}
    assert set(git.refs) == {"refs/heads/left", "refs/heads/right", "refs/heads/main", "refs/heads/lonely",
                             "refs/tags/v1"}

    class Unranked(gitprov.HistoryWalk):  # the walk as it was: rev-list ranks the commits
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **{**kwargs, "ranked": False})  # type: ignore[arg-type]

    monkeypatch.setattr(gitprov, "HistoryWalk", Unranked)
    monkeypatch.setattr(gitsource, "HistoryWalk", Unranked)
    ranked_by_rev_list = scan(repo.path, gh_matcher, full=True)
    assert len(started) == 1
    assert _provenance(logged.findings) == _provenance(ranked_by_rev_list.findings)


def test_a_rescan_walks_only_new_commits_and_ranks_with_rev_list(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    secret, new = tokens.github_classic(), tokens.github_classic()
    repo = _branchy(tmp_path / "r", secret)
    scan(repo.path, gh_matcher)
    repo.git("checkout", "-q", "right")
    repo.commit({"conf/c.py": line(new)}, "right again")
    repo.git("checkout", "-q", "main")
    started = _count_rankings(monkeypatch)
    again = scan(repo.path, gh_matcher)
    assert again.source.counters.read == 1 and len(started) == 1  # started early, while the new blob is read
    full = scan(repo.path, gh_matcher, full=True)
    assert len(started) == 1  # the full scan's walk ranked the commits itself
    assert _provenance(again.findings) == _provenance(full.findings)
    assert of(again.findings, new) and of(again.findings, secret)
