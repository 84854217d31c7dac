"""`tokenward scan-org` on a real Dask cluster (scheduler + 2 worker processes) and a real PostgreSQL:
every planted token recorded once, a worker SIGKILLed mid-run, a killed client resumed, incremental
reruns, an unreachable repository, and the default embedded LocalCluster on SQLite."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.org.cluster import DaskCluster
from tests.org.conftest import KEY, TOKENWARD, Run, client_env, occurrences, target_states
from tests.org.repos import add_commit, make_repos

pytest_plugins = ["tests.conftest_pg"]


def token_ids(tokens: list[str]) -> set[str]:
    """The inventory ids of planted tokens under the test key."""
    key = bytes.fromhex(KEY)
    return {hmac.new(key, t.encode(), hashlib.sha256).hexdigest() for t in tokens}


def assert_each_once(db: str, planted: dict[Path, list[str]]) -> None:
    """Every planted token is in the inventory with exactly one occurrence, and nothing else is."""
    found = occurrences(db)
    expected = token_ids([t for tokens in planted.values() for t in tokens])
    assert set(found) == expected
    assert set(found.values()) == {1}


def wait_until(check: object, timeout: float = 60, step: float = 0.05) -> None:
    """Poll check() until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(step)
    raise TimeoutError("condition not reached")


def test_cluster_run_survives_a_killed_worker_then_reruns_incrementally(
        dask_cluster: DaskCluster, pg_url: str, scan_org: Run, tmp_path: Path, isolated_home: Path) -> None:
    planted = make_repos(tmp_path / "repos", 16, seed=3, commits=4, tokens=3)
    args = [str(tmp_path / "repos"), "--cluster", dask_cluster.address, "--db", pg_url]
    client = subprocess.Popen([TOKENWARD, "scan-org", *args, "--json", "-q"], env=client_env(isolated_home),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running: list[str] = []

    def a_task_runs() -> bool:
        states = target_states(pg_url)
        running[:] = [w for _, s, _, w in states if s == "running" and w in dask_cluster.workers]
        return bool(running) and sum(s == "done" for _, s, _, _ in states) >= 2

    wait_until(a_task_runs)
    dask_cluster.kill(running[0])
    _, err = client.communicate(timeout=120)
    dask_cluster.add_worker()  # back to two workers for the other tests
    assert client.returncode == 1, err
    states = target_states(pg_url)
    assert {s for _, s, _, _ in states} == {"done"} and len(states) == 16
    assert_each_once(pg_url, planted)

    again = scan_org(*args)
    assert again.code == 0, again.stderr
    assert again.summary["states"] == {"skipped": 16} and again.summary["blobs"] == 0

    moved = sorted(planted)[5]
    new_token = add_commit(moved, seed=99)
    third = scan_org(*args)
    assert third.summary["states"] == {"done": 1, "skipped": 15}, third.stderr
    assert third.summary["blobs"] == 1 and third.summary["new_tokens"] == 1
    assert [t for t, s, _, _ in target_states(pg_url, third.summary["run_id"]) if s == "done"] == [str(moved)]
    assert_each_once(pg_url, {**planted, moved: planted[moved] + [new_token]})


def test_a_killed_client_is_resumed_and_only_the_rest_is_scanned(
        dask_cluster: DaskCluster, pg_url: str, scan_org: Run, tmp_path: Path, isolated_home: Path) -> None:
    planted = make_repos(tmp_path / "repos", 20, seed=5, commits=4, tokens=2)
    args = [str(tmp_path / "repos"), "--cluster", dask_cluster.address, "--db", pg_url]
    client = subprocess.Popen([TOKENWARD, "scan-org", *args, "--json", "-q"], env=client_env(isolated_home),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: sum(s == "done" for _, s, _, _ in target_states(pg_url)) >= 3)
    os.kill(client.pid, signal.SIGKILL)
    client.wait(10)
    # Tasks already executing finish on their workers (and record themselves); wait for them to settle.
    wait_until(lambda: not any(s == "running" for _, s, _, _ in target_states(pg_url)), timeout=30)
    before = target_states(pg_url)
    finished = sum(s == "done" for _, s, _, _ in before)
    assert 3 <= finished < 20
    run_id = {r for r in _run_ids(pg_url)}.pop()

    resumed = scan_org("--resume", run_id[:10], "--cluster", dask_cluster.address, "--db", pg_url)
    assert resumed.code == 1, resumed.stderr
    assert resumed.summary["run_id"] == run_id
    # A task the scheduler had already handed to a worker may still finish after the snapshot (the
    # scheduler forgets a dead client's tasks only after its heartbeat times out): never more than the
    # unfinished ones are submitted again, and none of the finished ones.
    assert 1 <= resumed.summary["submitted"] <= 20 - finished
    assert resumed.summary["states"] == {"done": 20}
    assert_each_once(pg_url, planted)


def _run_ids(db: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(db)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT run_id FROM org_run"))]
    engine.dispose()
    return ids


def test_an_unreachable_repository_fails_with_its_reason(
        dask_cluster: DaskCluster, pg_url: str, scan_org: Run, tmp_path: Path) -> None:
    planted = make_repos(tmp_path / "repos", 2, seed=7)
    listing = tmp_path / "targets.txt"
    missing = tmp_path / "gone.git"
    listing.write_text("# two good, one gone\n" + "".join(f"{p}\n" for p in planted) + f"{missing}\n")
    out = scan_org(str(listing), "--cluster", dask_cluster.address, "--db", pg_url, "--retries", "1")
    assert out.code == 3, out.stderr
    assert out.summary["states"] == {"done": 2, "failed": 1}
    [failure] = out.summary["failures"]
    assert failure["target"] == str(missing) and "does not appear to be a git repository" in failure["reason"]
    assert_each_once(pg_url, planted)


def test_default_local_cluster_on_sqlite(scan_org: Run, tmp_path: Path) -> None:
    planted = make_repos(tmp_path / "repos", 6, seed=11)
    db = str(tmp_path / "inventory.db")
    out = scan_org(str(tmp_path / "repos"), "--workers", "2", "--db", db)
    assert out.code == 1, out.stderr
    assert out.summary["states"] == {"done": 6} and out.summary["tokens"] == 12
    assert_each_once(db, planted)
