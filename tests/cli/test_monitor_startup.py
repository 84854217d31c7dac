"""`tokenward monitor` starts without scanning's machinery: the command modules are imported on demand, the
shared plumbing (cli/console.py) imports no reporter, and what the user sees is what the whole tree gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from tests.conftest import env_for
from tokenward import safetext
from tokenward.cli import console, main
from tokenward.report import terminal

SCANNING = ("tokenward.report", "tokenward.cli.scan", "tokenward.cli.common", "tokenward.cli.inventory",
            "tokenward.cli.org", "tokenward.scanner", "tokenward.store.writer")
PROBE = ("import sys, runpy; sys.argv = ['tokenward', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('tokenward', run_name='__main__')\nexcept SystemExit as e:\n"
         f"    print('exit', e.code, sorted(m for m in {SCANNING!r} if m in sys.modules))")


def _monitor_probe(tmp_path: Path, probe: str) -> subprocess.CompletedProcess[str]:
    """`tokenward monitor --workers 2` over one JSON line, under a probe that prints what it saw."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.jsonl").write_text('{"ts": 1741000000, "token_id": "ab", "ip": "81.2.69.160"}\n')
    env = {**env_for(tmp_path), "TOKENWARD_KEY": "5e" * 32}
    return subprocess.run([sys.executable, "-c", probe, "monitor", str(tmp_path / "logs"), "-q", "--db",
                           f"sqlite:///{tmp_path / 'i.db'}", "--workers", "2"], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_monitor_run_imports_no_scanning_machinery(tmp_path: Path) -> None:
    done = _monitor_probe(tmp_path, PROBE)
    assert done.stdout.strip() == "exit 0 []", done.stdout + done.stderr
    assert "1 events" in done.stderr


FORK_PROBE = ("import os, sys, runpy\nforks = []\n"
              "os.register_at_fork(before=lambda: forks.append('sqlalchemy' in sys.modules))\n"
              "sys.argv = ['tokenward', *sys.argv[1:]]\n"
              "try:\n    runpy.run_module('tokenward', run_name='__main__')\nexcept SystemExit as e:\n"
              "    print('exit', e.code, forks)")


def test_a_parallel_run_forks_its_workers_before_it_imports_the_store(tmp_path: Path) -> None:
    done = _monitor_probe(tmp_path, FORK_PROBE)
    assert done.stdout.strip() == "exit 0 [False, False]", done.stdout + done.stderr  # SQLAlchemy: ~0.25 s


def test_the_console_and_the_reporters_escape_with_the_same_code() -> None:
    assert console.visible is terminal.visible is safetext.visible
    assert console.plain is terminal.plain is safetext.plain


def test_the_whole_tree_lists_every_command_in_its_order() -> None:
    group = typer.main.get_command(main.app)
    assert list(group.commands) == [n for n, _, g in main.COMMANDS if not g] + [n for n, _, g in main.COMMANDS if g]
    assert "Exit codes" in (group.help or "")
