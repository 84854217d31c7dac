"""Incremental git scans: a rescan reads only new blobs, replays cached findings, keeps no plaintext."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line, of, scan
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.findings import Finding
from tokenward.sources import gitprov
from tokenward.sources.blobcache import SqliteBlobCache, cache_dir

gh_matcher, git_env, tokens = fx.gh_matcher, fx.git_env, fx.tokens  # fixtures used here


def _key(f: Finding) -> tuple[object, ...]:
    git = f.origin.git
    assert git is not None
    return (f.token_id, f.rule_id, f.origin.path, f.origin.blob_id, f.location, git.first_commit, git.paths,
            git.refs, git.in_head)


def _history(tmp_path: Path, tokens: TokenFactory) -> tuple[Repo, list[str]]:
    repo, secrets = Repo(tmp_path / "r"), [tokens.github_classic() for _ in range(3)]
    repo.commit({"a.py": line(secrets[0]), **{f"m{i}.txt": f"{i}\n" for i in range(30)}})
    repo.commit({"a.py": "clean\n", "b.py": line(secrets[1])})
    repo.commit({"c.py": line(secrets[2])})
    repo.git("branch", "old-topic", "HEAD~1")
    return repo, secrets


def test_rescan_after_one_commit_reads_only_the_new_blob(tmp_path: Path, gh_matcher: Matcher,
                                                         tokens: TokenFactory) -> None:
    repo, secrets = _history(tmp_path, tokens)
    first = scan(repo.path, gh_matcher, history=True)
    assert first.source.counters.cached == 0 and first.source.counters.read == first.source.counters.enumerated
    new = tokens.github_classic()
    commit = repo.commit({"d.py": line(new)}, "add d")
    second = scan(repo.path, gh_matcher)
    assert second.source.counters.read == 1
    assert second.source.counters.enumerated == 1  # only the new commit's objects are even listed
    found = of(second.findings, new)
    assert found[0].origin.git and found[0].origin.git.first_commit
    assert found[0].origin.git.first_commit.commit == commit
    full = scan(repo.path, gh_matcher, full=True)
    assert full.source.counters.read == full.source.counters.enumerated
    assert sorted(map(_key, second.findings)) == sorted(map(_key, full.findings))
    for secret in secrets:
        assert len(of(second.findings, secret)) == 1


def test_replayed_findings_follow_history(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secrets = _history(tmp_path, tokens)
    before = of(scan(repo.path, gh_matcher).findings, secrets[2])
    assert before[0].origin.git and before[0].origin.git.in_head
    repo.commit({"c.py": "clean\n"}, "remove the token")
    after = of(scan(repo.path, gh_matcher).findings, secrets[2])
    assert after[0].origin.git and not after[0].origin.git.in_head  # now history-only
    assert after[0].origin.git.first_commit == before[0].origin.git.first_commit


def test_rule_set_change_rescans_everything(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, _ = _history(tmp_path, tokens)
    first = scan(repo.path, gh_matcher)
    other = scan(repo.path, gh_matcher, ruleset="another rule set")
    assert other.source.counters.read == first.source.counters.read > 0


def test_detection_code_change_rescans_everything(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Findings recorded by other checks are not this version's: an upgrade reads every blob again."""
    from tokenward import codehash

    repo, _ = _history(tmp_path, tokens)
    first = scan(repo.path, gh_matcher)
    assert scan(repo.path, gh_matcher).source.counters.read == 0
    monkeypatch.setattr(codehash, "detection_digest", lambda: "code of another version")
    assert scan(repo.path, gh_matcher).source.counters.read == first.source.counters.read > 0


def test_cache_holds_no_plaintext(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, secrets = _history(tmp_path, tokens)
    scan(repo.path, gh_matcher)
    files = [p for p in cache_dir().rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data and secret[4:].encode() not in data


def test_blob_cache_round_trip(tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory) -> None:
    repo, _ = _history(tmp_path, tokens)
    findings = [f for f in scan(repo.path, gh_matcher, full=True).findings if f.origin.blob_id]
    cache = SqliteBlobCache(tmp_path / "c.sqlite")
    ids = [f"{i:040x}" for i in range(600)] + [f.origin.blob_id or "" for f in findings]  # > FEW: bulk lookup
    for _ in range(40):  # many scans: rows are compacted, findings replaced rather than repeated
        cache.record("rs", ids, findings)
    assert cache.scanned("rs", ids) == set(ids) and cache.scanned("other", ids) == set()
    assert cache.scanned("rs", [ids[3], "f" * 40]) == {ids[3]}  # few ids: looked up one by one
    replayed = cache.findings("rs")
    assert sum(map(len, replayed.values())) == len(findings)
    for f in findings:
        back = next(r for r in replayed[f.origin.blob_id or ""] if r.location == f.location)
        assert (back.token_id, back.preview, back.public_ids, back.secret) == (f.token_id, f.preview,
                                                                              f.public_ids, None)



def test_a_repository_cloned_again_at_the_same_path_is_rescanned_without_a_whole_history_walk(
        tmp_path: Path, gh_matcher: Matcher, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    old, secrets = _history(tmp_path, tokens)
    assert of(scan(old.path, gh_matcher).findings, secrets[0])
    shutil.rmtree(old.path)
    repo = Repo(tmp_path / "r")  # another project at the same path (the cache file is keyed by the path)
    repo.commit({"x.py": "clean\n"})
    scan(repo.path, gh_matcher, full=True)
    new = tokens.github_classic()
    repo.commit({"y.py": line(new)}, "add y")
    walks: list[list[str]] = []
    real = gitprov.HistoryWalk.__init__

    def recorded(self: gitprov.HistoryWalk, repo: object, revs: list[str], all_refs: bool = False,
                 **kinds: bool) -> None:
        walks.append(list(revs))
        real(self, repo, revs, all_refs, **kinds)  # type: ignore[arg-type]

    monkeypatch.setattr(gitprov.HistoryWalk, "__init__", recorded)
    again = scan(repo.path, gh_matcher)
    assert again.source.counters.read == 1  # incremental: only the new blob was read
    assert len(again.findings) == len(of(again.findings, new)) == 1
    # The old project's cached blobs are not in this repository: nothing to place, so only new commits are walked.
    assert walks and all(revs and all(r.startswith("^") for r in revs) for revs in walks)


def test_rescan_places_a_token_only_a_new_merge_introduced(tmp_path: Path, gh_matcher: Matcher,
                                                           tokens: TokenFactory) -> None:
    """The rescan walks only the new commits; a conflict resolved with a token in a new merge is still placed
    there (the merges' diffs are looked at when no ordinary commit introduced a blob), as a full scan does."""
    repo, _ = _history(tmp_path, tokens)
    scan(repo.path, gh_matcher, history=True)
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"c.py": "side\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"c.py": "main\n"})
    repo.git("merge", "-q", "-s", "ours", "--no-commit", "side")
    new = tokens.github_classic()
    repo.write({"c.py": line(new)})
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-edit", "-m", "merge side")
    merge = repo.git("rev-parse", "HEAD")
    second = scan(repo.path, gh_matcher)
    found = of(second.findings, new)
    assert len(found) == 1 and found[0].origin.git and found[0].origin.git.first_commit
    assert found[0].origin.git.first_commit.commit == merge
    full = scan(repo.path, gh_matcher, full=True)
    assert sorted(map(_key, second.findings)) == sorted(map(_key, full.findings))


def test_history_findings_live_where_their_path_says(tmp_path: Path, gh_matcher: Matcher,
                                                     tokens: TokenFactory) -> None:
    """A whole-history listing names no path: the finding's `where` follows the path it is placed at, on the
    first pass and on a replay alike (a .env file was 'source-code' before)."""
    repo, secrets = Repo(tmp_path / "r"), [tokens.github_classic() for _ in range(3)]
    repo.commit({".env": f"GITHUB_TOKEN={secrets[0]}\n", "tests/fixtures/conf.py": line(secrets[1]),
                 "app.py": line(secrets[2])})
    repo.commit({".env": None, "tests/fixtures/conf.py": None}, "remove the leaked files")
    for _ in range(2):  # the first pass, then a replay from the cache
        found = scan(repo.path, gh_matcher).findings
        assert [f.where for f in of(found, secrets[0])] == ["env-file"]
        assert [f.where for f in of(found, secrets[1])] == ["test-fixture"]
        assert {f.where for f in of(found, secrets[2])} == {"source-code"}


def test_options_that_change_findings_rescan_everything(tmp_path: Path, gh_matcher: Matcher,
                                                        tokens: TokenFactory) -> None:
    """Look-alikes (--min-confidence low), decoding and expansion depths, a forced source type: a blob's
    findings under other options are not this scan's, so they are part of the cache's key."""
    from tokenward.expand import ExpandOptions, Limits
    from tokenward.identity import Fingerprinter
    from tokenward.scanner import Scanner

    def options(**kw: object) -> str:
        return Scanner(gh_matcher, Fingerprinter(b"k" * 32), **kw).detection_options  # type: ignore[arg-type]

    tags = {options(), options(min_confidence="medium"), options(expand_options=ExpandOptions(limits=Limits(
        max_depth=2))), options(expand_options=ExpandOptions(limits=Limits(decode_depth=0)))}
    assert len(tags) == 4
    assert options(min_confidence="medium") == options(min_confidence="high")  # filtered after the cache
    repo, _ = _history(tmp_path, tokens)
    first = scan(repo.path, gh_matcher, detection=options())
    assert scan(repo.path, gh_matcher, detection=options()).source.counters.read == 0
    again = scan(repo.path, gh_matcher, detection=options(min_confidence="medium"))
    assert again.source.counters.read == first.source.counters.read > 0
