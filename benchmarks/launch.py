"""Run one command and measure it alone: wall seconds, CPU seconds and peak RSS of its process tree.

Why a launcher: Linux records the high-water resident size of the address space a process leaves at exec
into that process's peak (ru_maxrss). A command started by fork or vfork from a benchmark script that holds
hundreds of MB (generated logs, a loaded corpus) is reported at least that large: 510 MB for `true` started
from a Python process holding 500 MB, 10 MB from a small one. So the command is started from a small
launcher process (Python without site, ~9 MB), which times it and reports its child's rusage.

    from launch import measured
    m = measured(["tokenward", "scan", "."], env=env, stdout=subprocess.DEVNULL)
    m.wall, m.cpu, m.rss_mib, m.code
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import IO, Any

# Runs in the launcher: fork the command from this small process, wait for it, write what wait4 says.
LAUNCHER = r"""
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as fh:
    fh.write(f"{wall} {ru.ru_utime + ru.ru_stime} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


@dataclass(frozen=True)
class Measured:
    """One command's run: wall and CPU seconds (user + sys of it and the children it waited for), the peak
    RSS of its largest process in MiB, and its exit code (127: it could not be started)."""

    wall: float
    cpu: float
    rss_mib: float
    code: int


def measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Any = None,
             stdout: int | IO[Any] | None = None, stderr: int | IO[Any] | None = None) -> Measured:
    """Run cmd through the launcher (stdin closed; stdout and stderr as subprocess takes them)."""
    fd, stats = tempfile.mkstemp(prefix="tw-launch-", suffix=".txt")
    os.close(fd)
    try:
        subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, stats, *cmd], env=env, cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, check=False)
        with open(stats) as fh:
            wall, cpu, rss_kib, code = fh.read().split()
    finally:
        os.unlink(stats)
    return Measured(float(wall), float(cpu), int(rss_kib) / 1024, int(code))
