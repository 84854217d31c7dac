"""Fixtures for the store tests: a throwaway PostgreSQL cluster (scripts/pg.sh) and a URL per backend.

Load with `pytest_plugins = ["tests.conftest_pg"]`. One cluster serves the whole session (127.0.0.1,
a free port, a temporary directory); every test gets a fresh database in it. Outside CI the
PostgreSQL cases skip, with the reason, when the server binaries are missing; under CI=true they
are installed with apt-get, and a server that cannot be started fails the run loudly.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci import in_ci

REPO = Path(__file__).resolve().parents[1]
PG_SH = REPO / "scripts" / "pg.sh"
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class PgCluster:
    """A running throwaway cluster."""

    url: str  # postgresql://tokenward@127.0.0.1:PORT/postgres
    directory: Path

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"


_state: dict[str, PgCluster | str] = {}


def _in_ci() -> bool:
    return in_ci()


def _run(*args: str) -> str:
    proc = subprocess.run(["bash", str(PG_SH), *args], capture_output=True, text=True, timeout=600)
    if proc.returncode:
        raise RuntimeError(f"scripts/pg.sh {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return proc.stdout.strip()


def _start() -> PgCluster:
    if subprocess.run(["bash", str(PG_SH), "bindir"], capture_output=True).returncode:
        if not _in_ci():
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                                    "run `scripts/pg.sh ensure` to install them")
        _run("ensure")
    directory = Path(tempfile.mkdtemp(prefix="tokenward-pg-"))
    atexit.register(shutil.rmtree, directory, True)
    url = _run("start", str(directory))
    atexit.register(_run, "stop", str(directory))
    return PgCluster(url, directory)


def cluster() -> PgCluster:
    """The session's cluster, started on first use; skip (outside CI) or fail (in CI) when impossible."""
    if "cluster" not in _state:
        try:
            _state["cluster"] = _start()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _state["cluster"] = str(exc)
    found = _state["cluster"]
    if isinstance(found, PgCluster):
        return found
    if _in_ci():
        pytest.fail(f"CI=true but no PostgreSQL server could be started: {found}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {found}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The throwaway PostgreSQL cluster, stopped and removed at the end of the session (atexit as a fallback)."""
    found = cluster()
    yield found
    _run("stop", str(found.directory))
    shutil.rmtree(found.directory, ignore_errors=True)
    _state.pop("cluster", None)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty PostgreSQL database."""
    return pg_cluster.create_database()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty inventory URL on each backend: a SQLite file and a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inventory.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


Planter = Callable[..., list[str]]


@pytest.fixture
def plant() -> Planter:
    """plant(root, files, per_file, seed, shared=()) — see plant_tokens."""
    return plant_tokens


def plant_tokens(root: Path, files: int, per_file: int, seed: int, shared: tuple[str, ...] = ()) -> list[str]:
    """Write `files` files of `per_file` fresh GitHub tokens each (plus every shared token in the first
    file) under root, in sub-folders of 100 files; return every planted secret (shared ones last)."""
    from tests.tokens import TokenFactory

    factory = TokenFactory(seed)
    secrets: list[str] = []
    for i in range(files):
        folder = root / f"d{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        tokens = [factory.github_classic() for _ in range(per_file)]
        extra = shared if i == 0 else ()
        body = "".join(f"# service {i}.{j}\nGITHUB_TOKEN_{j}={tok}\n" for j, tok in enumerate((*tokens, *extra)))
        (folder / f"settings{i:05d}.env").write_text(body)
        secrets.extend(tokens)
    return secrets + list(shared)
