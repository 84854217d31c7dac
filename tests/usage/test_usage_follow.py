"""--follow through real log rotation: rename + new file, and copytruncate; nothing lost, nothing counted twice."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.usage.test_usage_detectors import ListSink
from tokenward.store import Inventory
from tokenward.store.usage import UsageState
from tokenward.usage.alerts import AlertManager
from tokenward.usage.identity import Joiner, MemoryDirectory
from tokenward.usage.monitor import Monitor, MonitorOptions

TID = "7f" * 32
TIMEOUT = 20.0


class Writer:
    """Appends numbered JSON lines, as an application would."""

    def __init__(self, path: Path, start: int = 0) -> None:
        self.path, self.n = path, start

    def write(self, count: int) -> None:
        with self.path.open("a") as fh:
            for _ in range(count):
                self.n += 1
                fh.write(json.dumps({"ts": 1741000000 + self.n, "token_id": TID, "action": f"a{self.n % 3}"}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def wait_for(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for the follower"
        time.sleep(0.02)


def make_monitor(db: Path) -> tuple[Monitor, Inventory]:
    inv = Inventory.open(f"sqlite:///{db}")
    options = MonitorOptions(poll_seconds=0.05, checkpoint_seconds=0.2)
    return Monitor(Joiner(MemoryDirectory()), AlertManager([ListSink()]), UsageState(inv.engine), options), inv


def test_follow_survives_rename_and_copytruncate_rotation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    w = Writer(log)
    w.write(10)
    monitor, inv = make_monitor(tmp_path / "inv.db")
    stop = threading.Event()
    thread = threading.Thread(target=monitor.follow, args=([str(log)], stop), daemon=True)
    thread.start()
    try:
        wait_for(lambda: monitor.events == 10)
        w.write(5)  # appended just before the rename: must be drained from the old file
        log.rename(tmp_path / "app.log.1")
        w.write(7)  # the new app.log
        wait_for(lambda: monitor.events == 22)
        w.write(3)
        wait_for(lambda: monitor.events == 25)
        shutil.copyfile(log, tmp_path / "app.log.2")  # copytruncate
        with log.open("r+") as fh:
            fh.truncate(0)
        w.write(4)
        wait_for(lambda: monitor.events == 29)
        with log.open("a") as fh:
            fh.write(json.dumps({"ts": 1741009999, "token_id": TID}))  # a partial line: not read until complete
        time.sleep(0.3)
        assert monitor.events == 29
        with log.open("a") as fh:
            fh.write("\n")
        wait_for(lambda: monitor.events == 30)
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    profile = UsageState(inv.engine).profiles([TID])[TID]
    assert profile["events"] == 30
    again, _ = make_monitor(tmp_path / "inv.db")  # a later run over every file reads nothing twice
    assert again.run([str(tmp_path)]).events == 0
    assert UsageState(inv.engine).profiles([TID])[TID]["events"] == 30
    inv.close()


def test_follow_picks_up_a_file_created_later_in_a_directory(tmp_path: Path) -> None:
    monitor, inv = make_monitor(tmp_path / "inv.db")
    logs = tmp_path / "logs"
    logs.mkdir()
    stop = threading.Event()
    thread = threading.Thread(target=monitor.follow, args=([str(logs)], stop), daemon=True)
    thread.start()
    try:
        (logs / "empty.log").touch()
        time.sleep(0.2)
        Writer(logs / "empty.log").write(2)
        Writer(logs / "new.log", 1000).write(3)  # identical content would be recognised as a copy
        wait_for(lambda: monitor.events == 5)
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    inv.close()


def test_cli_follow_in_a_subprocess_stops_cleanly_on_sigterm(tmp_path: Path, isolated_home: Path) -> None:
    import signal
    import subprocess
    import sys

    from tests.conftest import env_for

    log = tmp_path / "app.log"
    w = Writer(log)
    w.write(5)
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "tokenward", "monitor", str(log), "--follow", "--db", db, "-q"],
                            env=env_for(isolated_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        inv = Inventory.open(db)
        state = UsageState(inv.engine)
        wait_for(lambda: state.profiles([TID]).get(TID, {}).get("events") == 5)  # checkpointed while following
        log.rename(tmp_path / "app.log.1")
        w.write(4)
        wait_for(lambda: state.profiles([TID]).get(TID, {}).get("events") == 9)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert b"9 events" in err
    inv.close()
