"""Real `tokenward scan --db` processes: killed midway and resumed, and four writing at once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import env_for
from tokenward.identity import Fingerprinter

pytest_plugins = ["tests.conftest_pg"]
Planter = Callable[..., list[str]]
KEY_HEX = "5a" * 32
STATE = {
    "token": "SELECT token_id, provider, kind, preview, public_id, severity, status, occurrences, sources, "
             "source_kinds, current FROM token ORDER BY token_id",
    "occurrence": "SELECT o.occurrence_id, o.token_id, s.locator, o.path, o.line, o.col, o.byte_offset, o.rule_id "
                  "FROM occurrence o JOIN source s ON s.source_id = o.source_id ORDER BY o.occurrence_id",
    "token_rule": "SELECT token_id, rule_id FROM token_rule ORDER BY token_id, rule_id",
    "token_public_id": "SELECT token_id, name, value FROM token_public_id ORDER BY token_id, name",
    "source": "SELECT source_id, kind, locator FROM source ORDER BY source_id",
}
CONSISTENT = {
    "orphan occurrences": "SELECT count(*) FROM occurrence o LEFT JOIN token t ON t.token_id = o.token_id "
                          "WHERE t.token_id IS NULL",
    "tokens without occurrences": "SELECT count(*) FROM token t WHERE NOT EXISTS "
                                  "(SELECT 1 FROM occurrence o WHERE o.token_id = t.token_id)",
    "stale counters": "SELECT count(*) FROM token t WHERE t.occurrences <> "
                      "(SELECT count(*) FROM occurrence o WHERE o.token_id = t.token_id)",
}


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of one query, read independently of the code under test."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def state(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Everything a scan writes, minus timestamps and scan ids."""
    return {name: query(url, sql) for name, sql in STATE.items()}


def scan_cmd(tree: Path, url: str) -> list[str]:
    """A real `tokenward scan --db` command line (its report goes beside the tree)."""
    report = tree.parent / f"{tree.name}.report.jsonl"
    return [sys.executable, "-m", "tokenward", "scan", str(tree), "--db", url, "-q", "-f", "jsonl", "-o", str(report)]


def env(home: Path) -> dict[str, str]:
    """The subprocess environment: an isolated home and a fixed fingerprint key."""
    return {**env_for(home), "TOKENWARD_KEY": KEY_HEX}


def second_url(url: str, tmp_path: Path, pg_url: Callable[[], str]) -> str:
    """Another empty database on the same backend."""
    return f"sqlite:///{tmp_path / 'reference.db'}" if url.startswith("sqlite") else pg_url()


def occurrences_now(url: str) -> int:
    """Committed occurrences (0 while the schema does not exist yet)."""
    try:
        return int(query(url, "SELECT count(*) FROM occurrence")[0][0])
    except sa.exc.DBAPIError:
        return 0


def kill_after_first_commit(cmd: list[str], environ: dict[str, str], url: str, total: int) -> int:
    """Start cmd, SIGKILL it as soon as some but not all occurrences are committed; returns how many were."""
    proc = subprocess.Popen(cmd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if occurrences_now(url) > 0:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"scan ended on its own ({proc.returncode}) before it could be killed"
    return occurrences_now(url)


@pytest.mark.slow
def test_killed_scan_leaves_a_consistent_db_and_the_next_run_completes_it(
        db_url: str, plant: Planter, tmp_path: Path, isolated_home: Path, request: pytest.FixtureRequest) -> None:
    total = len(plant(tmp_path / "tree", 120, 100, seed=41))  # 12,000 occurrences: three transactions
    environ = env(isolated_home)
    partial = kill_after_first_commit(scan_cmd(tmp_path / "tree", db_url), environ, db_url, total)
    assert 0 < partial < total, partial

    for problem, sql in CONSISTENT.items():
        assert query(db_url, sql) == [(0,)], problem
    if db_url.startswith("sqlite"):
        assert query(db_url, "PRAGMA integrity_check") == [("ok",)]
        assert query(db_url, "PRAGMA foreign_key_check") == []
    assert query(db_url, "SELECT status FROM scan") == [("running",)]

    resumed = subprocess.run(scan_cmd(tmp_path / "tree", db_url), env=environ, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 1, resumed.stderr
    reference = second_url(db_url, tmp_path, lambda: str(request.getfixturevalue("pg_cluster").create_database()))
    clean = subprocess.run(scan_cmd(tmp_path / "tree", reference), env=environ, capture_output=True, text=True,
                           timeout=600)
    assert clean.returncode == 1, clean.stderr

    assert state(db_url) == state(reference)
    assert len(state(db_url)["occurrence"]) == total
    scans = query(db_url, "SELECT status, new_occurrences FROM scan ORDER BY started_at")
    assert scans == [("interrupted", None), ("complete", total - partial)]


def _holding_writers_back(url: str) -> tuple[sa.Engine, sa.Connection]:
    """A connection that keeps every writer waiting: SQLite's write lock, or a SHARE lock on token."""
    engine = sa.create_engine(url)
    conn = engine.connect()
    if url.startswith("sqlite"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(sa.text("LOCK TABLE token IN SHARE MODE"))
    return engine, conn


def _waiting(url: str, procs: list[subprocess.Popen[str]]) -> int:
    """How many scans are blocked on the held lock (SQLite: how many have the database open)."""
    if url.startswith("sqlite"):
        db = os.path.realpath(url.split("///", 1)[1])
        return sum(any(db in _open_files(pid) for pid in _process_tree(p.pid)) for p in procs)
    sql = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'token' " \
          "AND NOT l.granted"
    return int(query(url, sql)[0][0])


def _process_tree(pid: int) -> list[int]:
    """pid and its descendants (a scan records through a process of its own)."""
    tree, i = [pid], 0
    while i < len(tree):
        for task in Path(f"/proc/{tree[i]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                tree += [int(c) for c in task.read_text().split()]
        i += 1
    return tree


def _open_files(pid: int) -> set[str]:
    """The files a process has open; descriptors that close while we look are skipped (they race us)."""
    names: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return names
    for fd in fds:
        try:
            names.add(os.path.realpath(os.readlink(f"/proc/{pid}/fd/{fd}")))
        except OSError:
            continue
    return names


@pytest.mark.slow
def test_four_concurrent_scans_lose_nothing(db_url: str, plant: Planter, tmp_path: Path,
                                            isolated_home: Path) -> None:
    from tests.tokens import TokenFactory

    factory = TokenFactory(50)
    shared = tuple(factory.github_classic() for _ in range(20))  # every writer finds these too
    trees = [tmp_path / f"repo{i}" for i in range(4)]
    planted = [plant(tree, 20, 50, seed=51 + i, shared=shared) for i, tree in enumerate(trees)]
    environ = env(isolated_home)
    warm = subprocess.run([*scan_cmd(trees[0], db_url), "--no-db"], env=environ, timeout=600,
                          capture_output=True)  # compiles the rules once, so the four start together
    assert warm.returncode == 1, warm.stderr
    upgraded = subprocess.run([sys.executable, "-m", "tokenward", "db", "upgrade", "--db", db_url], env=environ,
                              capture_output=True, text=True, timeout=600)
    assert upgraded.returncode == 0, upgraded.stderr
    engine, gate = _holding_writers_back(db_url)
    try:
        procs = [subprocess.Popen(scan_cmd(tree, db_url), env=environ, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for tree in trees]
        deadline = time.monotonic() + 300
        while _waiting(db_url, procs) < 4:  # all four are at the gate: open it, and they write at once
            assert all(p.poll() is None for p in procs) and time.monotonic() < deadline, "a scan never got going"
            time.sleep(0.05)
    finally:
        gate.rollback()
        gate.close()
        engine.dispose()
    for proc in procs:
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 1, stderr

    fp = Fingerprinter(bytes.fromhex(KEY_HEX))
    expected = {fp.token_id(s.encode()) for secrets in planted for s in secrets}
    counts = dict(query(db_url, "SELECT token_id, occurrences FROM token"))
    assert set(counts) == expected
    occurrences = dict(query(db_url, "SELECT token_id, count(*) FROM occurrence GROUP BY token_id"))
    assert occurrences == counts
    assert all(counts[fp.token_id(s.encode())] == 4 for s in shared)
    assert sum(counts.values()) == sum(len(p) for p in planted)
    assert query(db_url, "SELECT count(*), min(sources), max(sources) FROM token WHERE sources > 1") == [(20, 4, 4)]
    assert query(db_url, "SELECT status, count(*) FROM scan GROUP BY status") == [("complete", 4)]
    for problem, sql in CONSISTENT.items():
        assert query(db_url, sql) == [(0,)], problem


def test_first_use_by_several_writers_at_once_migrates_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tokenward.store import Inventory
    from tokenward.store import migrate as store_inventory

    if db_url.startswith("sqlite"):  # one writer replays the recorded schema; the others find it done
        def refuse(*_: object) -> None:
            raise AssertionError("a new SQLite inventory was migrated")

        monkeypatch.setattr(Inventory, "migrate", refuse)

    def open_and_check(_: int) -> str | None:
        with Inventory.open(db_url) as inv:
            inv.check_key("kcv-1")
            return inv.revision()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_check, range(4))) == [store_inventory.SCHEMA_HEAD] * 4
    assert query(db_url, "SELECT value FROM meta") == [("kcv-1",)]
