"""The provenance walk's two readers of `git log --raw -z` agree: the field-by-field parse (many wanted
blobs) and the search for a few wanted ids (issue 13: a whole-history log is hundreds of MB)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

import tokenward.sources.gitprov as gitprov
from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo
from tokenward.sources.gitobjects import open_repo

git_env = fx.git_env  # fixture used here

# "\x01" starts a commit's header in the log: the last two paths hold one (the first looks like a header and
# sorts before the other paths of its commits; the second has non-ASCII bytes after it)
AWKWARD = ["plain.txt", "with space.txt", "ünïcode/ß.txt", ":colon-first.txt", "tab\there.txt", "deep/a/b/c.cfg",
           "\x01" + "ab" * 20, "ctl\x01ÿ.txt"]


def _history(path: Path) -> Repo:
    """Files added, changed back and forth (one blob introduced twice), deleted, on two merged branches."""
    rnd = random.Random(11)
    repo = Repo(path)
    repo.commit({name: f"{name} v0\n" for name in AWKWARD})
    repo.git("checkout", "-q", "-b", "side")
    for n in range(6):
        repo.commit({rnd.choice(AWKWARD): f"side {n % 3}\n", f"only-side-{n}.txt": "same text\n"})
    repo.git("checkout", "-q", "main")
    for n in range(6):
        repo.commit({rnd.choice(AWKWARD): f"main {n % 2}\n", "deep/a/b/c.cfg": None if n == 3 else f"cfg {n}\n"})
    repo.git("merge", "-q", "--no-edit", "-X", "theirs", "side")
    repo.commit({"plain.txt": "changed\n"})
    repo.commit({"plain.txt": "plain.txt v0\n"})  # back to the first version: introduced again
    return repo


def test_searching_for_a_few_ids_reads_the_log_as_parsing_it_does(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _history(tmp_path / "r")
    opened = open_repo(repo.path)
    assert opened is not None
    raw = repo.git("log", "--all", "--format=", "--raw", "--no-abbrev").splitlines()
    blobs = {oid for line in raw for oid in line.split()[2:4]} - {"0" * 40}
    assert len(blobs) > 15
    every: list[dict[str, list[tuple[str, str]]]] = []
    # records cut anywhere between reads; a ranked walk's headers (in another order) carry the parents too
    for chunk_size, ranked in itertools.product((7, 64, 1 << 20), (False, True)):
        monkeypatch.setattr(gitprov, "READ_BUFFER", chunk_size)
        monkeypatch.setattr(gitprov, "FEW_WANTED", 0)
        parsed = gitprov.HistoryWalk(opened, [], all_refs=True, ranked=ranked).introductions(blobs)
        monkeypatch.setattr(gitprov, "FEW_WANTED", len(blobs))
        searched = gitprov.HistoryWalk(opened, [], all_refs=True, ranked=ranked).introductions(blobs)
        assert searched == parsed and list(searched) == list(parsed)
        assert sum(len(v) for v in parsed.values()) > len(blobs)  # some blobs were introduced more than once
        plain = repo.git("rev-parse", "main:plain.txt")
        assert len(parsed[plain]) == 2
        every.append({oid: sorted(found) for oid, found in parsed.items()})
    assert all(found == every[0] for found in every)
    commits = set(repo.git("rev-list", "--all").split())
    assert {c for found in every[0].values() for c, _ in found} <= commits
    assert {p for found in every[0].values() for _, p in found} >= set(AWKWARD)


def test_a_failed_background_walk_is_a_source_error_naming_the_command(tmp_path: Path) -> None:
    from tokenward.errors import SourceError

    repo = _history(tmp_path / "r")
    opened = open_repo(repo.path)
    assert opened is not None
    walk = gitprov.Background(opened, ["rev-list", "--no-such-option"], b"")
    with pytest.raises(SourceError, match="git rev-list failed"):
        walk.output()
    walk.close()
    ranked = gitprov.ranking(opened, True, [])
    ranks, bits = gitprov.reach(opened, True, [], {repo.git("rev-parse", "main")}, ranked)
    assert list(ranks) == [repo.git("rev-parse", "main")] and bits
    assert ranked.proc.poll() is not None and ranked.out.closed  # read once, then closed


def test_a_path_made_to_look_like_a_raw_entry_is_not_read_as_one(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A file named like the raw-diff entry that introduces a wanted blob (mode, mode, ids, status): the
    search must not take that name for an entry, and the field after it for the blob's path."""
    repo = Repo(tmp_path / "r")
    repo.commit({"secret.env": "TOKEN=one\n"})
    wanted = repo.git("rev-parse", "main:secret.env")
    lure = f":100644 100644 {'0' * 40} {wanted} M"
    repo.commit({lure: "innocent\n", "zzz-next.txt": "after the lure\n"})
    opened = open_repo(repo.path)
    assert opened is not None
    monkeypatch.setattr(gitprov, "FEW_WANTED", 1)  # the search, not the field-by-field parse
    searched = gitprov.HistoryWalk(opened, [], all_refs=True).introductions({wanted})
    monkeypatch.setattr(gitprov, "FEW_WANTED", 0)
    parsed = gitprov.HistoryWalk(opened, [], all_refs=True).introductions({wanted})
    first = repo.git("rev-list", "--max-parents=0", "main")
    assert searched == parsed == {wanted: [(first, "secret.env")]}
