"""Workers forked before the inventory is read (the CLI's parallel batch run) store and raise what one process
does: with or without workers reading ahead, over logs read before, and when the parent gives up first."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests import usage_samples as s
from tests.conftest import REPO
from tests.usage.test_usage_detectors import ListSink
from tests.usage.test_usage_parallel import _logs
from tokenward.store import Inventory
from tokenward.store.tables import usage_file
from tokenward.store.usage import UsageState
from tokenward.usage import parallel
from tokenward.usage.alerts import AlertManager
from tokenward.usage.geo import Geo
from tokenward.usage.identity import InventoryDirectory, Joiner
from tokenward.usage.monitor import Monitor, MonitorOptions


def _run(logs: Path, db: Path, workers: int, min_severity: str = "low") -> tuple[Any, ...]:
    """One run as the CLI makes it (workers first, then the inventory): the alerts in the order the sink got
    them, and the summary."""
    sink, options, geo = ListSink(), MonitorOptions(), Geo()
    crew: AbstractContextManager[Any] = parallel.early_crew([str(logs)], workers, options, geo) if workers > 1 \
        else nullcontext()
    with crew, Inventory.open(f"sqlite:///{db}") as inv:
        state = UsageState(inv.engine)
        m = Monitor(Joiner(InventoryDirectory(inv), state.idents(), state.token_flags()),
                    AlertManager([sink], state.recent_alerts(), min_severity), state, options, geo)
        summary = crew.run(m) if workers > 1 else m.run([str(logs)])
    files = [(f.path, f.fmt, f.events, f.malformed, f.unattributed, f.note, f.unreadable) for f in summary.files]
    return [(a.alert_id, a.detector, a.at, a.observed) for a in sink.alerts], summary.events, summary.malformed, \
        summary.unmapped, summary.alerts, files


def _stored(db: Path) -> tuple[Any, ...]:
    """What the inventory holds after the runs: baselines, read offsets, alerts, identifiers, tokens."""
    with Inventory.open(f"sqlite:///{db}") as inv:
        state = UsageState(inv.engine)
        with inv.engine.connect() as conn:
            files = sorted((r.path, r.head_hash, r.offset, r.lines) for r in conn.execute(select(usage_file)))
        alerts = sorted((a.alert_id, a.count) for a in state.alerts())
        return state.profiles(), files, alerts, state.idents(), state.token_flags(), state.violations()


def _grow(root: Path) -> None:
    """A day more: a new trail file, and lines appended to the GitHub audit and JSON lines logs."""
    rng = random.Random(7)
    keys = [s.aws_key_id(rng) for _ in range(3)]
    recs = [s.cloudtrail_record(keys[i % 3], s.T0 + timedelta(days=22, minutes=i), event_id=f"g{i}") for i in range(90)]
    s.cloudtrail_file(root / "a-trail/2025/03/09.json.gz", recs)
    with (root / "a-trail/2025/03/05-github.jsonl").open("a") as fh:
        for i in range(30):
            fh.write(json.dumps(s.github_audit_record(s.github_token(i % 4), s.T0 + timedelta(days=22, hours=i),
                                                      doc=1000 + i)) + "\n")
    with (root / "a-trail/2025/03/03-requests.jsonl").open("a") as fh:
        for i in range(200):
            fh.write(json.dumps({"ts": 1742000000 + i * 60, "token_id": f"{i % 7:064x}", "ip": "81.2.69.160"}) + "\n")


def _logs_with_github(root: Path) -> None:
    _logs(root)
    with (root / "a-trail/2025/03/05-github.jsonl").open("w") as fh:
        for i in range(60):
            fh.write(json.dumps(s.github_audit_record(s.github_token(i % 4), s.T0 + timedelta(hours=i), doc=i)) + "\n")


@pytest.mark.parametrize(("workers", "readers", "slow_parent"), [(2, 1, True), (2, 0, False), (2, 2, True),
                                                                 (3, 3, False), (3, 2, True)])
def test_runs_over_new_and_grown_logs_store_and_raise_what_one_process_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, readers: int, slow_parent: bool) -> None:
    logs = tmp_path / "logs"
    _logs_with_github(logs)
    one, many = tmp_path / "one.db", tmp_path / "many.db"
    first = _run(logs, one, 1)
    monkeypatch.setattr(parallel, "_readers", lambda n: readers)
    if slow_parent:  # the readers decode every log before the handoff: those read before are decoded again
        handoff = parallel._handoff
        monkeypatch.setattr(parallel, "_handoff", lambda *a: (time.sleep(0.3), handoff(*a))[1])
    assert _run(logs, many, workers) == first
    _grow(logs)
    assert _run(logs, many, workers) == _run(logs, one, 1)
    assert _stored(many) == _stored(one)
    assert first[0] and first[5][-1][2] == 0  # alerts raised; the damaged file kept nothing


def test_the_sinks_get_the_alerts_at_or_above_the_minimum_severity_as_from_one_process(tmp_path: Path) -> None:
    _logs(tmp_path / "logs")
    one = _run(tmp_path / "logs", tmp_path / "one.db", 1, "high")
    assert _run(tmp_path / "logs", tmp_path / "two.db", 2, "high") == one
    assert 0 < len(one[0]) < sum(one[4].values())  # the medium ones are counted, not sent


def test_workers_whose_parent_gives_up_before_the_handoff_exit_and_leave_no_spool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _logs(tmp_path / "logs")
    monkeypatch.setattr(parallel, "_readers", lambda n: n)
    with pytest.raises(RuntimeError, match="inventory"), \
            parallel.early_crew([str(tmp_path / "logs")], 2, MonitorOptions(), Geo()) as crew:
        raise RuntimeError("the inventory could not be opened")
    assert [p.exitcode for p in crew._procs] == [0, 0] and not os.path.exists(crew._tmp.name)


# Run in a child process: a deadlock would otherwise hang the test run (its group is killed on timeout).
MANY_SMALL_LOGS = """
import fcntl, sys, time
from pathlib import Path
from tests.usage.test_usage_early_workers import _run
from tokenward.usage import parallel

make = parallel._pipes
def small(n):
    pipes = make(n)
    for _, w in pipes.values():
        fcntl.fcntl(w.fileno(), 1031, 4096)  # F_SETPIPE_SZ: one page holds ~400 notices, not ~6,000
    return pipes
handoff = parallel._handoff
def late(*args):
    time.sleep(1.0)  # worker 0 reads ahead as far as AHEAD_EVENTS lets it
    return handoff(*args)
parallel._pipes, parallel._handoff, parallel.AHEAD_EVENTS = small, late, int(sys.argv[3])
print(_run(Path(sys.argv[1]), Path(sys.argv[2]), 2)[1])
"""


def test_workers_that_each_decoded_hundreds_of_logs_do_not_wait_on_each_other(tmp_path: Path) -> None:
    """Worker 0 read the last 600 of 1,200 small logs ahead and, at the handoff, tells worker 1 of each; worker 1
    meanwhile decodes the first 600 and tells worker 0 of each. A notice pipe holds a few thousand notices (here,
    shrunk, a few hundred): were each worker to wait for room before reading its own notices, both would wait
    for ever (as a 10,450-file CloudTrail run did)."""
    keys = [s.aws_key_id(random.Random(i)) for i in range(4)]
    for i in range(1200):
        recs = [s.cloudtrail_record(keys[(i + j) % 4], s.T0 + timedelta(minutes=2 * i + j)) for j in range(2)]
        s.cloudtrail_file(tmp_path / f"logs/{i // 100:02d}/{i:04d}.json.gz", recs)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    child = subprocess.Popen([sys.executable, "-c", MANY_SMALL_LOGS, str(tmp_path / "logs"), str(tmp_path / "i.db"),
                              "1200"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    try:
        out, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail("the workers waited on each other")
    assert child.returncode == 0, err.decode()
    assert out.split() == [b"2400"]
