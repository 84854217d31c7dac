"""`tokenward scan` records through a process of its own (cli/recording.py): same inventory, same errors,
nothing left running, and the scan's own process where no fork is available."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.conftest import env_for
from tests.tokens import TokenFactory
from tokenward.cli import recording
from tokenward.cli.main import app
from tokenward.errors import StoreError
from tokenward.identity import Fingerprinter
from tokenward.store import writer

KEY_HEX = "33" * 32


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder of three .env files holding five GitHub tokens (built at test time)."""
    factory = TokenFactory(71)
    secrets = [factory.github_classic() for _ in range(5)]
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(3):
        (root / f"s{i}.env").write_text("".join(f"GITHUB_TOKEN_{j}={s}\n" for j, s in enumerate(secrets[i::3])))
    return root, secrets


def scan(db: Path, root: Path, *extra: str) -> Result:
    return CliRunner().invoke(app, ["scan", str(root), "--db", f"sqlite:///{db}", "-f", "json", "-o",
                                    str(db.parent / "report.json"), *extra])


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_scan_is_recorded_by_another_process_with_every_token(tree: tuple[Path, list[str]], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    root, secrets = tree
    result = scan(tmp_path / "inv.db", root)
    assert result.exit_code == 1, result.output
    assert "inventory: 5 tokens (5 new), 5 findings (5 new occurrences)" in result.output
    fp = Fingerprinter(bytes.fromhex(KEY_HEX))
    assert {r[0] for r in rows(tmp_path / "inv.db", "SELECT token_id FROM token")} == {
        fp.token_id(s.encode()) for s in secrets}
    [(status, pid)] = rows(tmp_path / "inv.db", "SELECT status, pid FROM scan")
    assert status == "complete" and pid != os.getpid()  # the recorder's, not this process's
    assert multiprocessing.active_children() == []  # the recorder was waited for


def test_without_fork_the_scan_records_itself_the_same(tree: tuple[Path, list[str]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    root, _ = tree
    assert scan(tmp_path / "forked.db", root).exit_code == 1
    monkeypatch.setattr(recording, "CAN_FORK", False)
    inline = scan(tmp_path / "inline.db", root)
    assert inline.exit_code == 1, inline.output
    assert "inventory: 5 tokens (5 new)" in inline.output
    same = "SELECT token_id, occurrences, severity, preview FROM token ORDER BY token_id"
    assert rows(tmp_path / "inline.db", same) == rows(tmp_path / "forked.db", same)
    assert rows(tmp_path / "inline.db", "SELECT pid FROM scan") == [(os.getpid(),)]


def test_an_inventory_that_cannot_be_opened_is_one_line_and_leaves_no_writer(
        tree: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    root, _ = tree
    assert scan(tmp_path / "inv.db", root).exit_code == 1
    monkeypatch.setenv("TOKENWARD_KEY", "44" * 32)
    refused = scan(tmp_path / "inv.db", root)
    assert refused.exit_code == 2
    assert "different fingerprint key" in refused.output and "Traceback" not in refused.output
    assert multiprocessing.active_children() == []
    not_a_db = tmp_path / "not-a-db"
    not_a_db.write_bytes(b"this is no SQLite file" * 100)
    broken = scan(not_a_db, root)
    assert broken.exit_code == 2 and "Traceback" not in broken.output, broken.output
    assert not_a_db.read_bytes() == b"this is no SQLite file" * 100


def test_a_scan_stopped_before_recording_writes_nothing_more(tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    recorder = recording.RecordingProcess(f"sqlite:///{db}")
    recorder.open(bytes.fromhex(KEY_HEX), [str(tmp_path)], "digest", 3)
    recorder.opened()
    recorder.close()  # the scan failed or was interrupted: no result comes
    assert multiprocessing.active_children() == []
    assert rows(db, "SELECT status FROM scan") == [("running",)]  # the next scan marks it interrupted
    assert rows(db, "SELECT count(*) FROM token") == [(0,)]


def test_a_writer_that_died_is_an_error_not_a_hang(tmp_path: Path) -> None:
    recorder = recording.RecordingProcess(f"sqlite:///{tmp_path / 'inv.db'}")
    recorder._process.kill()
    recorder._process.join()
    done = threading.Event()
    with pytest.raises(StoreError, match="ended early"):
        try:
            recorder.open(bytes.fromhex(KEY_HEX), [str(tmp_path)], "digest", 3)
            recorder.opened()
        finally:
            done.set()
            recorder.close()
    assert done.is_set()


def test_an_error_that_cannot_travel_becomes_a_store_error() -> None:
    class Odd(Exception):
        def __init__(self) -> None:
            super().__init__("odd")
            self.lock = threading.Lock()  # cannot be pickled

    sent = recording._sendable(Odd())
    assert isinstance(sent, StoreError) and "Odd: odd" in str(sent)
    plain = StoreError("disk full")
    assert recording._sendable(plain) is plain


def test_a_zombie_scan_process_is_not_alive() -> None:
    proc = subprocess.Popen(["true"])
    try:
        for _ in range(200):  # exited, not yet waited for: a zombie
            if Path(f"/proc/{proc.pid}/stat").read_bytes().split(b")")[-1][1:2] == b"Z":
                break
            threading.Event().wait(0.01)
        assert not writer._alive(proc.pid)
    finally:
        proc.wait()
    assert writer._alive(os.getpid())


FORK_PROBE = ("import os, sys, runpy\nforks = []\n"
              "os.register_at_fork(before=lambda: forks.append('tokenward.scanner' in sys.modules))\n"
              "sys.argv = ['tokenward', *sys.argv[1:]]\n"
              "try:\n    runpy.run_module('tokenward', run_name='__main__')\nexcept SystemExit as e:\n"
              "    print('exit', e.code, forks[:1])")


def _probe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env_for(tmp_path), "TOKENWARD_KEY": KEY_HEX}
    return subprocess.run([sys.executable, "-c", FORK_PROBE, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_command_line_starts_the_recorder_before_it_imports_the_scanner(
        tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, _ = tree
    db = tmp_path / "inv.db"
    done = _probe(tmp_path, "scan", str(root), "-q", "--db", f"sqlite:///{db}", "-f", "json", "-o",
                  str(tmp_path / "r.json"))
    assert done.stdout.strip() == "exit 1 [False]", done.stdout + done.stderr  # forked before the scanner loaded
    assert rows(db, "SELECT status FROM scan") == [("complete",)]
    assert len(rows(db, "SELECT token_id FROM token")) == 5


@pytest.mark.parametrize("args", [("--help",), ("--format", "nope"), ("--min-confidence", "huge")])
def test_a_recorder_no_scan_adopts_ends_with_the_command(tree: tuple[Path, list[str]], tmp_path: Path,
                                                         args: tuple[str, ...]) -> None:
    root, _ = tree
    db = tmp_path / "inv.db"
    done = _probe(tmp_path, "scan", str(root), "--db", f"sqlite:///{db}", *args)
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("exit 0" if args == ("--help",) else "exit 2"), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not db.exists() or rows(db, "SELECT count(*) FROM scan") == [(0,)]
    # A forked recorder has the command's command line: one left over would still name this test's database.
    stray = subprocess.run(["pgrep", "-f", str(db)], capture_output=True, text=True)
    assert stray.stdout == ""


def test_the_recorder_names_each_token_s_owner(tree: tuple[Path, list[str]], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    root, _ = tree
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text("* @acme/platform\n")
    assert scan(tmp_path / "inv.db", root).exit_code == 1
    assert rows(tmp_path / "inv.db", "SELECT DISTINCT owner FROM token") == [("@acme/platform",)]


def test_a_scan_that_records_nothing_forks_no_recorder(tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, _ = tree
    done = _probe(tmp_path, "scan", str(root), "-q", "--no-db", "-f", "json", "-o", str(tmp_path / "r.json"))
    # No fork before the scanner loaded (a recorder's would be): none at all, or the workers' after it.
    assert done.stdout.strip() in ("exit 1 []", "exit 1 [True]"), done.stdout + done.stderr
