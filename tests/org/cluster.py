"""A real Dask cluster for the scan-org tests: `dask scheduler` and `dask worker` processes on 127.0.0.1.

Workers run without a nanny (one process each, so SIGKILL kills the worker itself), one thread, their
own mirror cache, and the fingerprint key of the test (TOKENWARD_KEY) so that their token ids are the
client's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
DASK = str(VENV_BIN / "dask") if (VENV_BIN / "dask").exists() else "dask"
STARTED = re.compile(r"Start worker at:\s+(tcp://\S+)")


@dataclass
class DaskCluster:
    """A scheduler and its workers (address → process)."""

    root: Path
    env: dict[str, str]
    address: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, workers: int = 2) -> DaskCluster:
        """Start the scheduler on a free port, then `workers` workers."""
        info = self.root / "scheduler.json"
        self._spawn([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(info)], self.root / "scheduler.log")
        self.address = json.loads(_wait_for(info, lambda text: '"address"' in text))["address"]
        for _ in range(workers):
            self.add_worker()
        return self

    def _spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env or self.env,
                                    cwd=self.root, start_new_session=True)
        self.procs.append(proc)
        return proc

    def add_worker(self) -> str:
        """Start one worker (its own mirror cache) and return its address once it has registered."""
        n = len(self.procs)
        env = {**self.env, "TOKENWARD_CACHE_DIR": str(self.root / f"cache-{n}")}
        log = self.root / f"worker-{n}.log"
        proc = self._spawn([DASK, "worker", self.address, "--nworkers", "1", "--nthreads", "1", "--no-nanny",
                            "--no-dashboard", "--host", "127.0.0.1", "--local-directory",
                            str(self.root / f"dask-{n}")], log, env)
        match = STARTED.search(_wait_for(log, STARTED.search))
        assert match
        self.workers[match.group(1)] = proc
        _wait_for(log, lambda text: "Registered to" in text)
        return match.group(1)

    def kill(self, address: str) -> None:
        """SIGKILL one worker (no clean shutdown: the scheduler only sees its connection drop)."""
        proc = self.workers.pop(address)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        """Terminate every process started."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5  # a graceful Dask shutdown is not worth waiting for
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for(path: Path, ready: object, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if text and callable(ready) and ready(text):
            return text
        time.sleep(0.05)
    raise TimeoutError(f"{path} not ready after {timeout} s:\n{path.read_text(errors='replace')[-2000:]}")
