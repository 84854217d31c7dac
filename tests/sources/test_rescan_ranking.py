"""A rescan ranks the recorded introductions by growing the last pass's reach masks with the new commits
(no whole-history walk) when it can, and walks the whole history when it cannot (a branch from an old
commit that was no tip, a rewritten ref, a blob introduced on two unrelated branches): either way its
findings and provenance are those a first pass over the grown repository gives."""

from __future__ import annotations

import itertools
import random
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line, of, scan
from tests.sources.test_git_provenance_walk import _provenance
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.sources import git as gitsource
from tokenward.sources import gitprov
from tokenward.sources.blobcache import cache_file

gh_matcher, git_env, tokens = fx.gh_matcher, fx.git_env, fx.tokens  # fixtures used here
_copies = itertools.count()


@dataclass
class Walks:
    """The whole-history walks a scan started: ranking() (rev-list) and log walks of every ref."""

    rankings: list[object] = field(default_factory=list)
    whole_logs: list[object] = field(default_factory=list)

    @property
    def whole(self) -> int:
        """How many whole-history walks ran."""
        return len(self.rankings) + len(self.whole_logs)


def _watch(monkeypatch: pytest.MonkeyPatch) -> Walks:
    walks = Walks()
    real_ranking, real_walk = gitprov.ranking, gitprov.HistoryWalk.__init__

    def ranking(*args: object) -> gitprov.Background:
        walks.rankings.append(args)
        return real_ranking(*args)  # type: ignore[arg-type]

    def walk(self: gitprov.HistoryWalk, repo: object, revs: list[str], all_refs: bool = False,
             **kinds: bool) -> None:
        if all_refs and not list(revs):
            walks.whole_logs.append(kinds)
        real_walk(self, repo, revs, all_refs, **kinds)  # type: ignore[arg-type]

    monkeypatch.setattr(gitprov, "ranking", ranking)
    monkeypatch.setattr(gitsource, "ranking", ranking)
    monkeypatch.setattr(gitprov.HistoryWalk, "__init__", walk)
    return walks


def _rescan(repo: Repo, matcher: Matcher, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[object, ...]], Walks]:
    """The provenance an incremental rescan gives, and the whole-history walks it ran."""
    with monkeypatch.context() as patch:
        walks = _watch(patch)
        again = scan(repo.path, matcher)
    assert again.source.counters.enumerated < 40  # incremental: only new commits' objects were listed
    return _provenance(again.findings), walks


def _first_pass(repo: Repo, matcher: Matcher) -> list[tuple[object, ...]]:
    """The provenance a first whole-history pass gives on a copy (no walk state, no cache: its own path)."""
    copy = repo.path.with_name(f"{repo.path.name}-copy{next(_copies)}")
    shutil.copytree(repo.path, copy)
    first = scan(copy, matcher)
    assert first.source.counters.cached == 0
    return _provenance(first.findings)


def _history(path: Path, tokens: TokenFactory) -> tuple[Repo, dict[str, str]]:
    """main with two tokens (one also re-added later), a tagged topic branch with a third, one merged."""
    repo, s = Repo(path), {name: tokens.github_classic() for name in ("a", "b", "t", "new", "other")}
    repo.commit({"a.py": line(s["a"]), **{f"m{i}.txt": f"{i}\n" for i in range(20)}}, "a")
    repo.commit({"a.py": "clean\n", "b.py": line(s["b"])}, "b")
    repo.git("tag", "before-topic")
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit({"t.py": line(s["t"])}, "t")
    repo.git("tag", "-a", "-m", "topic", "v-topic")
    repo.git("checkout", "-q", "main")
    repo.commit({"a.py": line(s["a"])}, "a again")  # the same blob, later on the same line of history
    repo.git("checkout", "-q", "-b", "merged")
    repo.commit({"side.txt": "side\n"}, "side")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "merged")  # main~1: no tip, no introduction
    repo.commit({"m0.txt": "zero\n"}, "tip")
    return repo, s


def _start(tmp_path: Path, matcher: Matcher, tokens: TokenFactory) -> tuple[Repo, dict[str, str]]:
    repo, s = _history(tmp_path / "r", tokens)
    first = scan(repo.path, matcher)
    assert of(first.findings, s["a"]) and of(first.findings, s["t"])
    state = gitprov.WalkIndex(cache_file(repo.path / ".git", "walk")).load()
    assert state.reach is not None and state.reach.masks  # the pass kept its masks for the next one
    return repo, s


def _same_as_first_pass(repo: Repo, matcher: Matcher, monkeypatch: pytest.MonkeyPatch, whole: int) -> None:
    got, walks = _rescan(repo, matcher, monkeypatch)
    assert walks.whole == whole, walks
    assert got == _first_pass(repo, matcher)


def test_new_commits_on_a_branch_are_ranked_without_a_whole_history_walk(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, s = _start(tmp_path, gh_matcher, tokens)
    new = repo.commit({"n.py": line(s["new"]), "b.py": line(s["b"]) + "# moved on\n"}, "new")
    repo.commit({"again.py": line(s["a"])}, "the old blob under a new path")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=0)
    again = scan(repo.path, gh_matcher)  # nothing new: the saved (grown) masks serve as they are
    found = of(again.findings, s["new"])
    assert found and found[0].origin.git and found[0].origin.git.first_commit
    assert found[0].origin.git.first_commit.commit == new


def test_rescan_after_rescan_and_a_new_branch_from_a_tag(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, s = _start(tmp_path, gh_matcher, tokens)
    repo.commit({"n.py": line(s["new"])}, "new")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=0)
    repo.git("checkout", "-q", "-b", "from-tag", "v-topic")  # an old tip (through an annotated tag)
    repo.commit({"o.py": line(s["other"]), "t2.py": line(s["t"])}, "on the tag")
    repo.git("checkout", "-q", "main")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=0)


def test_a_merge_of_old_branches_changes_their_refs(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, s = _start(tmp_path, gh_matcher, tokens)
    repo.git("checkout", "-q", "-b", "side2")
    repo.commit({"n.py": line(s["new"])}, "new on a side branch")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "topic", "side2")  # main now reaches topic's and side2's tokens
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=0)
    found = of(scan(repo.path, gh_matcher).findings, s["t"])
    assert found[0].origin.git and "refs/heads/main" in found[0].origin.git.refs


def test_deleted_and_moved_back_refs(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo, s = _start(tmp_path, gh_matcher, tokens)
    repo.git("branch", "-D", "topic")
    repo.git("tag", "-d", "v-topic")  # the topic's token is now in no ref's history
    repo.git("branch", "-f", "merged", "before-topic")  # back to an old tip
    repo.git("branch", "-f", "again", "main~2")  # a new ref at an old commit that introduced a blob
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=0)
    assert not of(scan(repo.path, gh_matcher).findings, s["t"])


@pytest.mark.parametrize("change", ["branch from an old commit", "amended tip", "reset to an old commit"])
def test_rewritten_or_unknown_ancestry_walks_the_whole_history(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch,
        change: str) -> None:
    repo, s = _start(tmp_path, gh_matcher, tokens)
    if change == "branch from an old commit":
        repo.git("checkout", "-q", "-b", "hotfix", "main~1")  # no ref pointed there: its masks are unknown
        repo.commit({"n.py": line(s["new"])}, "hotfix")
    elif change == "amended tip":
        repo.write({"n.py": line(s["new"])})
        repo.git("add", "-A")
        repo.git("commit", "-q", "--amend", "--no-edit")
    else:
        repo.git("reset", "-q", "--hard", "main~1")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=1)


def test_a_blob_introduced_again_on_an_unrelated_branch_is_ranked_by_git(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which of two unrelated introductions git lists first depends on its walk of the whole grown history:
    the rescan walks it (once; the next rescan starts that walk early, as before)."""
    repo, s = _start(tmp_path, gh_matcher, tokens)
    repo.git("checkout", "-q", "topic")
    repo.commit({"a.py": line(s["a"])}, "a on the topic too")  # topic does not hold main's "a again"
    repo.git("checkout", "-q", "main")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=1)
    state = gitprov.WalkIndex(cache_file(repo.path / ".git", "walk")).load()
    assert not gitprov.predictable(state)
    repo.commit({"n.py": line(s["new"])}, "new")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=1)


def test_a_state_without_masks_ranks_with_rev_list(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk state saved before masks were kept (or by a pass whose provenance failed) still serves."""
    repo, s = _start(tmp_path, gh_matcher, tokens)
    with sqlite3.connect(cache_file(repo.path / ".git", "walk")) as db:
        db.execute("DROP TABLE reach_masks")
        db.execute("DROP TABLE reach_targets")
    repo.commit({"n.py": line(s["new"])}, "new")
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=1)
    repo.commit({"n2.py": line(s["other"])}, "next")  # that rescan kept masks again
    _same_as_first_pass(repo, gh_matcher, monkeypatch, whole=0)


def test_the_walk_state_holds_commit_ids_and_masks_only(tmp_path: Path, gh_matcher: Matcher,
                                                        tokens: TokenFactory) -> None:
    repo, s = _start(tmp_path, gh_matcher, tokens)
    repo.commit({"n.py": line(s["new"])}, "new")
    scan(repo.path, gh_matcher)
    with sqlite3.connect(cache_file(repo.path / ".git", "walk")) as db:
        targets = [c for (c,) in db.execute("SELECT git_commit FROM reach_targets")]
        masks = db.execute("SELECT git_commit, mask FROM reach_masks").fetchall()
    assert targets and masks
    assert all(re.fullmatch("[0-9a-f]{40}", c) for c in targets + [c for c, _ in masks])
    assert all(re.fullmatch("[0-9a-f]+", m) for _, m in masks)
    data = cache_file(repo.path / ".git", "walk").read_bytes()
    assert not any(secret.encode() in data or secret[4:].encode() in data for secret in s.values())


def _random_step(repo: Repo, rnd: random.Random, secrets: list[str], step: int) -> None:
    """One random change: commits on a branch (new or old tip, or an old commit), a merge, a deleted or
    moved ref; the files take tokens, old ones too (the same blob again, unrelated or not)."""
    branches = repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split()
    roll = rnd.random()
    if roll < 0.1 and len(branches) > 2:
        doomed = rnd.choice([b for b in branches if b != "main"])
        repo.git("checkout", "-q", "main")
        repo.git("branch", "-D", doomed)
        return
    if roll < 0.2:
        commits = repo.git("rev-list", "--all").split()
        repo.git("branch", "-f", f"moved{step}", rnd.choice(commits))
        return
    branch = rnd.choice(branches)
    repo.git("checkout", "-q", branch)
    if roll < 0.35 and len(branches) > 1:
        repo.git("merge", "-q", "--no-edit", "-X", "theirs", "--allow-unrelated-histories",
                 rnd.choice([b for b in branches if b != branch]))
        return
    if roll < 0.5:
        repo.git("checkout", "-q", "-b", f"b{step}")
    for _ in range(rnd.randint(1, 3)):
        name = f"f{rnd.randint(0, 4)}.py"
        repo.commit({name: line(rnd.choice(secrets)) if rnd.random() < 0.6 else f"{rnd.random()}\n"})


def test_random_histories_rescan_as_a_first_pass_would(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    ranked_by: dict[bool, int] = {True: 0, False: 0}  # grown masks (no whole-history walk), or a whole walk
    for seed in range(6):
        rnd = random.Random(seed)
        secrets = [tokens.github_classic() for _ in range(12)]
        repo = Repo(tmp_path / f"r{seed}")
        repo.commit({"f0.py": line(secrets[0])})
        for step in range(4):
            _random_step(repo, rnd, secrets, step)
        scan(repo.path, gh_matcher)
        for step in range(4, 12):
            _random_step(repo, rnd, secrets, step)
            got, walks = _rescan(repo, gh_matcher, monkeypatch)
            ranked_by[walks.whole == 0] += 1
            assert got == _first_pass(repo, gh_matcher), (seed, step)
    assert ranked_by[True] >= 10 and ranked_by[False] >= 5, ranked_by  # both ways were taken, and agreed
