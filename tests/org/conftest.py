"""Fixtures of the scan-org tests: one fingerprint key, a real Dask cluster per module, a CLI runner."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import env_for
from tests.org.cluster import VENV_BIN, DaskCluster

KEY = secrets.token_hex(32)  # generated per test session; every worker and client uses it
TOKENWARD = str(VENV_BIN / "tokenward") if (VENV_BIN / "tokenward").exists() else "tokenward"


@pytest.fixture(autouse=True)
def shared_key(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    """The client side uses the workers' fingerprint key."""
    monkeypatch.setenv("TOKENWARD_KEY", KEY)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A scheduler and two workers on 127.0.0.1 (random ports), stopped after the module."""
    root = tmp_path_factory.mktemp("dask")
    env = {**env_for(root / "home"), "TOKENWARD_KEY": KEY}
    cluster = DaskCluster(root, env)
    try:
        yield cluster.start(2)
    finally:
        cluster.stop()


@dataclass(frozen=True)
class Outcome:
    """A finished scan-org invocation."""

    code: int
    summary: dict[str, Any]
    stderr: str


Run = Callable[..., Outcome]


@pytest.fixture
def scan_org(isolated_home: Path) -> Run:
    """scan_org(*args) runs `tokenward scan-org ARGS --json -q` in a subprocess with the test's home and key."""
    env = {**env_for(isolated_home), "TOKENWARD_KEY": KEY}

    def run(*args: str, timeout: float = 120) -> Outcome:
        proc = subprocess.run([TOKENWARD, "scan-org", *args, "--json", "-q"], capture_output=True, text=True,
                              env=env, timeout=timeout)
        summary = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
        return Outcome(proc.returncode, summary, proc.stderr)

    return run


def client_env(home: Path) -> dict[str, str]:
    """The environment of a scan-org client subprocess."""
    return {**env_for(home), "TOKENWARD_KEY": KEY, "PATH": os.environ.get("PATH", "")}


def occurrences(db: str) -> dict[str, int]:
    """Occurrence rows per token id in the inventory at db."""
    engine = sa.create_engine(db if "://" in db else f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT token_id, count(*) FROM occurrence GROUP BY token_id")).all()
    finally:
        engine.dispose()
    return {tid: n for tid, n in rows}


def target_states(db: str, run_id: str | None = None) -> list[tuple[str, str, str | None, str | None]]:
    """(target, state, reason, worker) of every org target (of one run when given)."""
    engine = sa.create_engine(db if "://" in db else f"sqlite:///{db}")
    query = "SELECT target, state, reason, worker FROM org_target" + (" WHERE run_id = :r" if run_id else "")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query), {"r": run_id})]  # type: ignore[misc]
    except sa.exc.OperationalError:  # the client has not created the tables yet
        return []
    except sa.exc.ProgrammingError:
        return []
    finally:
        engine.dispose()
