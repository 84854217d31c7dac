"""benchmarks/launch.py reports a command's own peak RSS, not the benchmark script's (not a timing test)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from types import ModuleType

from tests.conftest import REPO


def _launch() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_launch", REPO / "benchmarks" / "launch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_small_command_started_from_a_large_process_reads_small() -> None:
    launch = _launch()
    ballast = bytearray(300 << 20)  # resident: every page written
    ballast[::4096] = b"x" * len(ballast[::4096])
    direct = subprocess.Popen(["true"])
    _, _, usage = os.wait4(direct.pid, 0)
    assert usage.ru_maxrss / 1024 >= 290  # the inheritance launch.py exists for
    small = launch.measured(["true"])
    assert small.code == 0 and small.rss_mib < 50
    del ballast


def test_a_command_s_own_memory_time_and_exit_code_are_reported() -> None:
    launch = _launch()
    big = launch.measured([sys.executable, "-c", "import time; x = bytearray(120 << 20); time.sleep(0.2)"])
    assert big.code == 0 and 115 <= big.rss_mib < 200 and big.wall >= 0.2
    assert launch.measured([sys.executable, "-c", "raise SystemExit(3)"]).code == 3
    missing = launch.measured(["tokenward-no-such-command"], stderr=subprocess.DEVNULL)
    assert missing.code == 127
