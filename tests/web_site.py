"""A real `tokenward serve` for the web tests: a generated project scanned by the real CLI into SQLite or
PostgreSQL, users made with `tokenward users add`, and the server on a free 127.0.0.1 port.

Tokens are built at run time (tests/tokens.py). File names, git authors and emails carry markup and
script payloads so every page can be checked for inert rendering.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.conftest import env_for
from tests.tokens import TokenFactory

KEY_HEX = "22" * 32
TOKENWARD = str(Path(sys.executable).with_name("tokenward"))
# git strips < and > from author names and emails, so those carry attribute-breaking payloads instead;
# the <script> and <img onerror> payloads travel in file and directory names (and notes, owners).
XSS_DIRS = ("<script>alert(1)<", "\"><img src=x onerror=alert(2)>", "javascript:alert(3)")
XSS_AUTHOR = ("x\" onmouseover=\"alert(4)\" x=\"javascript:alert(5)", "a'\"onfocus='alert(6)@example.org")
XSS_NOTE = "<script>alert(7)</script>\"><img src=x onerror=alert(8)>"


@dataclass
class Site:
    """A running server and what it serves."""

    url: str
    db: str
    env: dict[str, str]
    root: Path
    secrets: list[str]
    keys: dict[str, str] = field(default_factory=dict)  # user name -> API key
    log: Path | None = None

    def client(self, user: str | None = "admin") -> httpx.Client:
        """An HTTP client, authenticated with user's API key (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.keys[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def scan(self, *paths: Path) -> None:
        """A real `tokenward scan --db` into the served inventory."""
        proc = subprocess.run([TOKENWARD, "scan", *map(str, paths), "--db", self.db, "-q"], env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _git(repo: Path, env: dict[str, str], *args: str, author: tuple[str, str] | None = None) -> None:
    env = dict(env)
    if author:
        env.update({"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]})
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, timeout=60)


def build_project(root: Path, env: dict[str, str], seed: int = 41) -> list[str]:
    """A git repository with tokens in plain and hostile file names, committed by a hostile author."""
    factory = TokenFactory(seed)
    secrets: list[str] = []
    repo = root / "javascript:alert(9)"
    for i, where in enumerate(("app", *XSS_DIRS)):
        folder = repo / where
        folder.mkdir(parents=True, exist_ok=True)
        name = "script>.env" if where.startswith("<script>") else f"settings{i}.env"
        tokens = [factory.github_classic() for _ in range(3)]
        (folder / name).write_text("".join(f"GITHUB_TOKEN_{j}={tok}\n" for j, tok in enumerate(tokens)))
        secrets.extend(tokens)
    _git(repo, env, "init", "-q")
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", "<script>alert(10)</script> add settings", author=XSS_AUTHOR)
    return secrets


def site_env(home: Path) -> dict[str, str]:
    """The environment of every CLI call of one site: isolated home, fixed key, deterministic git."""
    env = env_for(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = Test\n\temail = t@example.org\n")
    env.update({"TOKENWARD_KEY": KEY_HEX, "GIT_CONFIG_GLOBAL": str(home / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.org"})
    return env


def add_user(db: str, env: dict[str, str], name: str, role: str) -> str:
    """`tokenward users add NAME --role ROLE`: the key it prints once."""
    proc = subprocess.run([TOKENWARD, "users", "add", name, "--role", role, "--db", db], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _more_users(db: str) -> dict[str, str]:
    """A triager and a reader, made in-process (one CLI call per site is enough: each costs a second)."""
    from tokenward.store import Inventory
    from tokenward.store.users import add_user as store_add_user

    with Inventory.open(db, create=False) as inventory:
        return {name: store_add_user(inventory, name, role, datetime.now(UTC))
                for name, role in (("tina", "triage"), ("rita", "read"))}


@contextmanager
def serving(db: str, env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """`tokenward serve --db DB --port P` until the block ends; yields the base URL."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([TOKENWARD, "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)],
                                env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url, proc, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"tokenward serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("tokenward serve did not come up within 30 s")


@contextmanager
def site(base: Path, db: str) -> Iterator[Site]:
    """A scanned project, an admin, a triager and a reader, and the server over them."""
    env = site_env(base / "home")
    secrets = build_project(base / "project", env)
    s = Site("", db, env, base / "project", secrets, log=base / "serve.log")
    s.scan(s.root / "javascript:alert(9)")
    s.keys = {"admin": add_user(db, env, "admin", "admin"), **_more_users(db)}
    with serving(db, env, s.log or base / "serve.log") as url:
        s.url = url
        yield s


def backend_url(kind: str, base: Path) -> str:
    """A fresh inventory URL: a SQLite file, or a database in the session's PostgreSQL cluster."""
    if kind == "sqlite":
        return f"sqlite:///{base / 'inventory.db'}"
    from tests.conftest_pg import cluster

    return cluster().create_database()



