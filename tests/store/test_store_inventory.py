"""The inventory on both backends: idempotent rescans, the key check, triage and its audit trail,
re-opening, prefixes, filters, exports, the blob cache and the absence of plaintext."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO
from tests.sources import test_git_fixtures as fx
from tests.tokens import TokenFactory, provider_tokens
from tokenward.engine import Matcher
from tokenward.errors import StoreError
from tokenward.findings import Finding, Location
from tokenward.identity import Fingerprinter, github_hashed_token, preview
from tokenward.scanner import Scanner
from tokenward.sources.blobcache import BlobCache
from tokenward.sources.filesystem import FilesystemSource
from tokenward.sources.interface import CommitInfo, GitProvenance, Origin
from tokenward.store import Inventory, ScanRecorder
from tokenward.store import migrate as inv_module
from tokenward.store.blobcache import InventoryBlobCache
from tokenward.store.keys import source_kind
from tokenward.store.records import TokenFilter

gh_matcher, git_env = fx.gh_matcher, fx.git_env  # fixtures used here

pytest_plugins = ["tests.conftest_pg"]
Planter = Callable[..., list[str]]

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def scan(url: str, roots: Sequence[Path], matcher: Matcher, key: bytes = KEY) -> ScanRecorder:
    """Scan roots with the real scanner and record the result; returns the (closed) recorder."""
    scanner = Scanner(matcher, Fingerprinter(key))
    result = scanner.run([FilesystemSource(r) for r in roots])
    recorder = ScanRecorder.open(url, key, [str(r) for r in roots], matcher.ruleset.digest, 1)
    recorder.record(result)
    return recorder


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    """Raw rows, read outside the code under test."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    """Rows per table."""
    tables = ("token", "token_rule", "token_public_id", "source", "occurrence", "scan", "event", "scanned_blob")
    return {t: int(rows(url, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


def git_finding(fp: Fingerprinter, secret: str, root: str, blob: str, in_head: bool, offset: int = 10) -> Finding:
    """A finding as the git-history source reports it (provenance attached)."""
    commit = CommitInfo("c" * 40, "Dev One", "dev@example.test", "2024-05-01T10:00:00+00:00", "add config")
    raw = secret.encode()
    return Finding(
        rule_id="github.pat-classic", rule_name="GitHub PAT", provider="github", kind="pat-classic",
        confidence="high", token_id=fp.token_id(raw), preview=preview(raw), public_id=None,
        public_ids=(("github_hashed_token", github_hashed_token(raw)),),
        origin=Origin("git", root, "config/app.env", blob_id=blob,
                      git=GitProvenance(commit, ("config/app.env",), ("refs/heads/main",), 1, 1, in_head)),
        location=Location(2, 14, 2, 54, offset, 40),
    )


def test_rescan_adds_only_a_scan_record(plant: Planter, db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    secrets = plant(tmp_path / "tree", 12, 5, seed=1)
    shared = TokenFactory(2).github_classic()
    (tmp_path / "tree" / "twice.env").write_text(f"A={shared}\nB={shared}\n")
    scan(db_url, [tmp_path / "tree"], matcher)
    first = table_counts(db_url)
    assert first["token"] == len(secrets) + 1
    assert first["occurrence"] == len(secrets) + 2  # the same token twice in one file: two occurrences
    assert first["scan"] == 1
    scan(db_url, [tmp_path / "tree"], matcher)
    second = table_counts(db_url)
    assert second == {**first, "scan": 2}
    statuses = rows(db_url, "SELECT status, new_tokens, new_occurrences FROM scan ORDER BY started_at")
    assert statuses == [("complete", len(secrets) + 1, len(secrets) + 2), ("complete", 0, 0)]
    with Inventory.open(db_url) as inv:
        twice = inv.list_tokens()
        assert sum(t.occurrences for t in twice) == len(secrets) + 2
        assert {t.occurrences for t in twice} == {1, 2}


def test_a_writer_with_another_key_is_refused(plant: Planter, db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    plant(tmp_path / "tree", 1, 2, seed=3)
    scan(db_url, [tmp_path / "tree"], matcher)
    before = table_counts(db_url)
    with pytest.raises(StoreError, match="different fingerprint key"):
        scan(db_url, [tmp_path / "tree"], matcher, key=OTHER_KEY)
    assert table_counts(db_url) == before
    scan(db_url, [tmp_path / "tree"], matcher)  # the right key still writes
    assert table_counts(db_url)["scan"] == before["scan"] + 1


def test_sources_and_aggregates(db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    secret = TokenFactory(4).github_classic()
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.env").write_text(f"T={secret}\n")
    scan(db_url, [tmp_path / "one", tmp_path / "two"], matcher)
    with Inventory.open(db_url) as inv:
        (token,) = inv.list_tokens()
        assert (token.occurrences, token.sources, token.source_kinds, token.current) == (2, 2, ("file",), True)
        detail = inv.token_detail(token.token_id)
    assert {o.source for o in detail.occurrences} == {str(tmp_path / "one"), str(tmp_path / "two")}
    assert {(o.path, o.line) for o in detail.occurrences} == {("a.env", 1)}
    assert detail.public_ids == (("github_hashed_token", github_hashed_token(secret.encode())),)
    assert detail.rule_ids == ("github.pat-classic",)


def test_single_file_and_directory_scans_name_the_same_occurrence(plant: Planter, db_url: str, tmp_path: Path,
                                                                  matcher: Matcher) -> None:
    plant(tmp_path / "tree", 1, 1, seed=5)
    (nested,) = (tmp_path / "tree").rglob("*.env")
    top = tmp_path / "tree" / "top.env"
    top.write_text(nested.read_text())
    scan(db_url, [tmp_path / "tree"], matcher)
    assert table_counts(db_url)["occurrence"] == 2
    scan(db_url, [top], matcher)  # one file: its source is its directory, its path its name
    assert table_counts(db_url)["occurrence"] == 2
    paths = sorted(str(r[0]) for r in rows(db_url, "SELECT path FROM occurrence"))
    assert paths == sorted([nested.relative_to(tmp_path / "tree").as_posix(), "top.env"])


def test_triage_is_audited_and_the_trail_is_append_only(plant: Planter, db_url: str, tmp_path: Path,
                                                        matcher: Matcher) -> None:
    plant(tmp_path / "tree", 1, 1, seed=6)
    scan(db_url, [tmp_path / "tree"], matcher)
    with Inventory.open(db_url) as inv:
        (token,) = inv.list_tokens()
        now = datetime.now(UTC)
        first = inv.triage(token.token_id, "false-positive", "test fixture", "alice", now)
        second = inv.triage(token.token_id, "accepted-risk", None, "bob", now)
        with pytest.raises(StoreError, match="unknown status"):
            inv.triage(token.token_id, "ignored", None, "bob", now)
        detail = inv.token_detail(token.token_id)
    assert (first.old_status, first.new_status, second.old_status) == ("open", "false-positive", "false-positive")
    assert [(e.actor, e.action, e.old_status, e.new_status, e.note) for e in detail.events] == [
        ("alice", "triage", "open", "false-positive", "test fixture"),
        ("bob", "triage", "false-positive", "accepted-risk", None)]
    assert detail.token.status == "accepted-risk"
    engine = sa.create_engine(db_url)
    for statement in ("UPDATE event SET note = 'rewritten'", "DELETE FROM event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()
    assert len(rows(db_url, "SELECT * FROM event")) == 2


def test_triage_to_the_same_status_writes_no_event(plant: Planter, db_url: str, tmp_path: Path,
                                                   matcher: Matcher) -> None:
    plant(tmp_path / "tree", 1, 1, seed=6)
    scan(db_url, [tmp_path / "tree"], matcher)
    with Inventory.open(db_url) as inv:
        (token,) = inv.list_tokens()
        now = datetime.now(UTC)
        assert inv.triage(token.token_id, "revoked", "revoked at GitHub", "alice", now) is not None
        assert inv.triage(token.token_id, "revoked", "again", "bob", now) is None
        assert inv.triage(token.token_id, "open", None, "bob", now) is not None
        detail = inv.token_detail(token.token_id)
    assert [(e.old_status, e.new_status) for e in detail.events] == [("open", "revoked"), ("revoked", "open")]


def test_token_found_again_after_revocation_reopens(db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    secret = TokenFactory(7).github_classic()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "old.env").write_text(f"T={secret}\n")
    scan(db_url, [tmp_path / "a"], matcher)
    with Inventory.open(db_url) as inv:
        token_id = inv.list_tokens()[0].token_id
        inv.triage(token_id, "revoked", "revoked at GitHub", "alice", datetime.now(UTC))
    scan(db_url, [tmp_path / "a"], matcher)  # the same, known leak: still revoked
    assert rows(db_url, "SELECT status FROM token") == [("revoked",)]
    (tmp_path / "a" / "new.env").write_text(f"AGAIN={secret}\n")
    scan(db_url, [tmp_path / "a"], matcher)
    with Inventory.open(db_url) as inv:
        detail = inv.token_detail(token_id)
    assert detail.token.status == "open"
    last = detail.events[-1]
    assert (last.action, last.old_status, last.new_status) == ("reopened", "revoked", "open")
    assert last.note is not None and last.note.startswith("seen after revocation") and "new.env:1" in last.note
    assert last.scan_id is not None


def test_prefix_resolution(db_url: str, matcher: Matcher) -> None:
    base = git_finding(Fingerprinter(KEY), TokenFactory(8).github_classic(), "/repo", "a" * 40, in_head=True)
    ids = ["abcd" + "0" * 60, "abcd" + "1" * 60, "abce" + "f" * 60]
    findings = [replace(base, token_id=i, origin=replace(base.origin, blob_id=f"{n:040x}")) for n, i in enumerate(ids)]
    recorder = ScanRecorder.open(db_url, KEY, ["/repo"], matcher.ruleset.digest, 1)
    recorder.write(findings)
    recorder.inventory.close()
    with Inventory.open(db_url) as inv:
        assert inv.resolve("ABCE") == ids[2]
        assert inv.resolve("abcd1") == ids[1]
        assert inv.resolve(ids[0]) == ids[0]
        with pytest.raises(StoreError, match="ambiguous"):
            inv.resolve("abcd")
        with pytest.raises(StoreError, match="not a token id prefix"):
            inv.resolve("xyz!")
        with pytest.raises(StoreError, match="not a token id prefix"):
            inv.resolve("abc")
        with pytest.raises(StoreError, match="no token id starts with"):
            inv.resolve("abcf")


def test_filters_and_history_only(db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    fp = Fingerprinter(KEY)
    f = TokenFactory(9)
    gone, still, both = f.github_classic(), f.github_classic(), f.github_classic()
    repo = str(tmp_path / "repo")
    findings = [git_finding(fp, gone, repo, "a" * 40, in_head=False),
                git_finding(fp, still, repo, "b" * 40, in_head=True),
                git_finding(fp, both, repo, "d" * 40, in_head=False)]
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "x.env").write_text(f"T={both}\n")
    file_findings = Scanner(matcher, fp).run([FilesystemSource(tmp_path / "files")]).findings
    recorder = ScanRecorder.open(db_url, KEY, [repo], matcher.ruleset.digest, 1)
    recorder.write([*findings, *file_findings])
    recorder.inventory.close()
    with Inventory.open(db_url) as inv:
        history = inv.list_tokens(TokenFilter(history_only=True))
        assert [t.token_id for t in history] == [fp.token_id(gone.encode())]
        assert len(inv.list_tokens(TokenFilter(source_kind="repo"))) == 3
        assert [t.token_id for t in inv.list_tokens(TokenFilter(source_kind="file"))] == [fp.token_id(both.encode())]
        assert inv.list_tokens(TokenFilter(source_kind="log")) == []
        assert len(inv.list_tokens(TokenFilter(provider="GitHub", status="open"))) == 3
        assert inv.list_tokens(TokenFilter(provider="aws")) == []
        detail = inv.token_detail(fp.token_id(gone.encode()))
    (occ,) = detail.occurrences
    assert (occ.source_kind, occ.blob_id, occ.commit_id, occ.author, occ.in_head) == (
        "repo", "a" * 40, "c" * 40, "Dev One", False)
    assert occ.committed_at is not None and occ.committed_at.isoformat() == "2024-05-01T10:00:00+00:00"
    assert detail.token.source_kinds == ("repo",) and not detail.token.current


def test_source_kinds() -> None:
    assert [source_kind(k) for k in ("git", "file", "stdin", "archive", "ci-log", "slack", "jira")] == [
        "repo", "file", "file", "file", "log", "export", "export"]


def test_export_streams_every_occurrence(plant: Planter, db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    secrets = plant(tmp_path / "tree", 30, 40, seed=10)
    scan(db_url, [tmp_path / "tree"], matcher)
    with Inventory.open(db_url) as inv:
        exported = list(inv.export(page=100))
        github = list(inv.export(TokenFilter(provider="github", status="revoked")))
    assert len(exported) == len(secrets) == 1200
    assert [t.token_id for t, _ in exported] == sorted(t.token_id for t, _ in exported)
    assert all(len(occ) == 1 and occ[0].token_id == t.token_id for t, occ in exported)
    assert github == []


def test_blob_cache_round_trip_per_repository(db_url: str) -> None:
    fp = Fingerprinter(KEY)
    secret = TokenFactory(11).github_classic()
    finding = git_finding(fp, secret, "/repo", "e" * 40, in_head=True)
    with Inventory.open(db_url) as inv:
        cache: BlobCache = InventoryBlobCache(inv, "scan1", "/repo")
        other: BlobCache = InventoryBlobCache(inv, "scan1", "/fork")
        cache.record("rules-v1:kcv", ["e" * 40, "f" * 40], [finding])
        cache.record("rules-v1:kcv", ["f" * 40], [])  # recording again is harmless
        assert cache.scanned("rules-v1:kcv", ["e" * 40, "f" * 40, "0" * 40]) == {"e" * 40, "f" * 40}
        assert cache.scanned("rules-v2:kcv", ["e" * 40]) == set()
        assert other.scanned("rules-v1:kcv", ["e" * 40]) == set() and other.findings("rules-v1:kcv") == {}
        (replayed,) = cache.findings("rules-v1:kcv")["e" * 40]
    assert replayed.token_id == finding.token_id and replayed.location == finding.location
    assert replayed.origin.blob_id == "e" * 40 and replayed.secret is None
    assert secret not in str(rows(db_url, "SELECT * FROM scanned_blob"))


def _database_bytes(url: str, tmp_path: Path) -> bytes:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    bindir = subprocess.run(["bash", "scripts/pg.sh", "bindir"], capture_output=True, text=True, check=True,
                            cwd=REPO).stdout.strip()
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run([os.path.join(bindir, "pg_dump"), "--data-only", plain], capture_output=True, check=True)
    return dump.stdout


def test_no_plaintext_in_the_database(plant: Planter, db_url: str, tmp_path: Path, matcher: Matcher) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    lines = provider_tokens(seed=21)
    for i, line in enumerate(lines.values()):
        (tree / f"conf{i}.env").write_text(f"# settings\n{line}\n")
    secrets = plant(tree, 3, 3, seed=22)
    scan(db_url, [tree], matcher)
    found = table_counts(db_url)["token"]
    assert found >= len(secrets) + 25
    data = _database_bytes(db_url, tmp_path)
    assert len(data) > 1000
    for secret in secrets:
        assert secret.encode() not in data
        assert secret[4:24].encode() not in data  # not even a long fragment
    for line in lines.values():
        value = line.split("=", 1)[-1].split(": ", 1)[-1].strip("'\" ")
        if len(value) >= 24:
            assert value[-20:].encode() not in data, line.split("=")[0]


def test_stale_running_scan_is_marked_interrupted(plant: Planter, db_url: str, tmp_path: Path,
                                                  matcher: Matcher) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    plant(tmp_path / "tree", 1, 1, seed=12)
    recorder = ScanRecorder.open(db_url, KEY, [str(tmp_path)], matcher.ruleset.digest, 1)
    recorder.inventory.close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE scan SET pid = :pid"), {"pid": dead.pid})
    engine.dispose()
    scan(db_url, [tmp_path / "tree"], matcher)
    assert sorted(r[0] for r in rows(db_url, "SELECT status FROM scan")) == ["complete", "interrupted"]


# -- git locations: every (blob, path, commit) is an occurrence; a revert re-opens a revoked token --------

def _record_git(url: str, repo: fx.Repo, gh: Matcher, **options: object) -> None:
    result = fx.scan(repo.path, gh, **options).result
    recorder = ScanRecorder.open(url, bytes.fromhex(fx.KEY_HEX), [str(repo.path)], gh.ruleset.digest, 1)
    recorder.record(result)


def _token_of(secret: str) -> str:
    return Fingerprinter(bytes.fromhex(fx.KEY_HEX)).token_id(secret.encode())


def test_every_path_and_commit_of_a_blob_is_an_occurrence(db_url: str, tmp_path: Path, gh_matcher: Matcher,
                                                          git_env: None) -> None:
    secret = TokenFactory(41).github_classic()
    repo = fx.Repo(tmp_path / "r")
    names = [f"svc{i}/config.env" for i in range(6)]
    first = repo.commit({name: fx.line(secret) for name in names}, "six copies")
    repo.commit({"svc0/config.env": "clean\n"}, "remove one")
    again = repo.commit({"svc0/config.env": fx.line(secret)}, "put it back")
    _record_git(db_url, repo, gh_matcher)
    with Inventory.open(db_url) as inv:
        detail = inv.token_detail(_token_of(secret))
    places = sorted((o.path, o.commit_id) for o in detail.occurrences)
    assert places == sorted([*((n, first) for n in names), ("svc0/config.env", again)])
    assert detail.token.occurrences == 7
    _record_git(db_url, repo, gh_matcher, full=True)  # a rescan names the same locations: nothing new
    assert table_counts(db_url)["occurrence"] == 7


@pytest.mark.parametrize("full", [False, True])
def test_a_revoked_token_put_back_in_the_same_blob_reopens(db_url: str, tmp_path: Path, gh_matcher: Matcher,
                                                           git_env: None, full: bool) -> None:
    secret = TokenFactory(42).github_classic()
    repo = fx.Repo(tmp_path / "r")
    repo.commit({"app.env": fx.line(secret), "README": "hi\n"}, "add the token")
    _record_git(db_url, repo, gh_matcher)
    token_id = _token_of(secret)
    repo.commit({"app.env": None}, "remove the token")
    _record_git(db_url, repo, gh_matcher, full=full)
    with Inventory.open(db_url) as inv:
        inv.triage(token_id, "revoked", "revoked at GitHub", "alice", datetime.fromtimestamp(repo.clock + 60, UTC))
    repo.commit({"notes.txt": "x\n"}, "unrelated")
    _record_git(db_url, repo, gh_matcher, full=full)  # history only: still revoked
    assert rows(db_url, "SELECT status FROM token") == [("revoked",)]
    repo.clock += 3600
    repo.git("revert", "--no-edit", "HEAD~1")  # the removal is reverted: the same blob is back in HEAD
    _record_git(db_url, repo, gh_matcher, full=full)
    with Inventory.open(db_url) as inv:
        detail = inv.token_detail(token_id)
    assert detail.token.status == "open" and detail.token.current
    last = detail.events[-1]
    assert (last.action, last.old_status) == ("reopened", "revoked")
    assert last.note is not None and "seen after revocation" in last.note and "app.env" in last.note


def test_older_commits_of_a_known_blob_do_not_reopen(db_url: str, tmp_path: Path, gh_matcher: Matcher,
                                                     git_env: None) -> None:
    secret = TokenFactory(43).github_classic()
    repo = fx.Repo(tmp_path / "r")
    repo.commit({"README": "hi\n"}, "start")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"copy/app.env": fx.line(secret)}, "a copy on a side branch")
    repo.git("checkout", "-q", "-")
    repo.commit({"app.env": fx.line(secret)}, "add the token")
    _record_git(db_url, repo, gh_matcher, branches=(repo.git("branch", "--show-current"),))
    token_id = _token_of(secret)
    with Inventory.open(db_url) as inv:
        inv.triage(token_id, "revoked", None, "alice", datetime.fromtimestamp(repo.clock + 60, UTC))
    _record_git(db_url, repo, gh_matcher)  # every ref: the side branch's older copy is history, not a new leak
    with Inventory.open(db_url) as inv:
        detail = inv.token_detail(token_id)
    assert detail.token.status == "revoked"
    assert {o.path for o in detail.occurrences} == {"app.env", "copy/app.env"}


def test_upgrading_an_old_inventory_rekeys_git_occurrences_losslessly(db_url: str, tmp_path: Path,
                                                                       gh_matcher: Matcher, git_env: None) -> None:
    from alembic import command

    from tokenward.store.migrate import alembic_config as _alembic_config
    from tokenward.store.records import ScanStart
    from tokenward.store.writer import batches

    secret = TokenFactory(44).github_classic()
    repo = fx.Repo(tmp_path / "r")
    repo.commit({"a/app.env": fx.line(secret), "b/app.env": fx.line(secret)}, "two copies")
    found = fx.scan(repo.path, gh_matcher).result.findings
    legacy = [replace(f, origin=replace(f.origin, git=replace(f.origin.git, locations=())))  # as 0001 wrote them
              for f in found if f.origin.git]
    old = Inventory.open(db_url, migrate=False)
    with old.engine.begin() as conn:  # an inventory written by the previous release, at revision 0001
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    start = ScanStart("0" * 32, datetime.now(UTC), "old", "host", 1, (str(repo.path),), "r", 1, "0.0")
    for batch in batches(legacy):
        old.write_batch(start, start.started_at, batch)
    old.close()
    before = table_counts(db_url)
    (first_path,) = rows(db_url, "SELECT path FROM occurrence")
    with Inventory.open(db_url) as inv:  # migrates: nothing lost, the old row re-keyed to its own location
        assert inv.revision() == inv_module.SCHEMA_HEAD
        token_id = _token_of(secret)
        inv.triage(token_id, "revoked", None, "alice", datetime.now(UTC))
    assert {k: v for k, v in table_counts(db_url).items() if k != "event"} == \
        {k: v for k, v in before.items() if k != "event"}
    _record_git(db_url, repo, gh_matcher)
    with Inventory.open(db_url) as inv:
        detail = inv.token_detail(token_id)
    assert sorted(o.path for o in detail.occurrences) == ["a/app.env", "b/app.env"]  # the first one kept, not doubled
    kept = next(o for o in detail.occurrences if o.path == first_path[0])
    assert rows(db_url, f"SELECT first_scan_id FROM occurrence WHERE occurrence_id = '{kept.occurrence_id}'") == \
        [("0" * 32,)]
    assert detail.token.status == "revoked"  # an old commit's second path is history, not a new leak
