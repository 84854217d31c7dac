"""Rotation through a real `bao server -dev`: KV v2 versions and database-engine leases on the tests' PostgreSQL.

Every test links the token the way a user would (`import openbao`, `import manifest`), rotates through the CLI
or the state machine, and checks the secrets manager, the inventory and that the new secret is nowhere else.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.openbao import BaoServer, openbao_dev_server
from tests.rotate_fixtures import (
    FORWARD,
    Crash,
    assert_secret_nowhere,
    cli,
    crash_at,
    imported,
    start_crashing,
    token_status,
    transitions,
    use_inventory,
)
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.policy.checks import CHECKS
from tokenward.policy.spec import load_policy
from tokenward.rotate.machine import Runner
from tokenward.rotate.registry import Connections, rotator
from tokenward.rotate.service import due, subject
from tokenward.store import Inventory
from tokenward.store.rotation import rotations

pytest_plugins = ["tests.conftest_pg"]

if TYPE_CHECKING:
    from tests.conftest_pg import PgCluster


@pytest.fixture(scope="module")
def bao() -> Iterator[BaoServer]:
    with openbao_dev_server() as server:
        yield server


@pytest.fixture
def linked(bao: BaoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, matcher: Matcher,
           request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """A KV secret holding a GitHub token, imported: (db, KV path, token id)."""
    use_inventory(monkeypatch, matcher)
    monkeypatch.setenv("BAO_ADDR", bao.addr)
    monkeypatch.setenv("BAO_TOKEN", bao.root_token)
    path = f"apps/{request.node.name.replace('[', '-').rstrip(']')}"
    token = TokenFactory(zlib.crc32(path.encode())).github_classic()
    bao.kv_put(path, {"token": token, "region": "eu-west-1"})
    db = str(tmp_path / "inv" / "inventory.db")
    imported("openbao", "--no-tokens", "--mount", "secret", "--db", db)
    with Inventory.open(db) as inv:
        sub = subject(inv, token_prefix(inv, path), datetime.now(UTC))
    return db, path, sub.token_id


def token_prefix(inv: Inventory, path: str) -> str:
    """The token id of the imported record for path (as a user would copy it from `review`)."""
    from tokenward.store.declared import load_declared

    return next(str(r.token_id) for r in load_declared(inv.engine) if r.location == f"openbao:secret/{path}#token")


def kv_meta(bao: BaoServer, path: str) -> dict[str, Any]:
    return dict(bao.api("GET", f"secret/metadata/{path}")["data"])


def kv_data(bao: BaoServer, path: str, version: int) -> dict[str, Any]:
    return dict(bao.api("GET", f"secret/data/{path}?version={version}")["data"]["data"] or {})


def assert_rotated_once(bao: BaoServer, path: str, db: str, token_id: str) -> str:
    """Version 2 holds a fresh token, version 1 is destroyed, one event per transition; the new value."""
    meta = kv_meta(bao, path)
    assert meta["current_version"] == 2 and meta["versions"]["1"]["destroyed"] is True
    new = kv_data(bao, path, 2)
    assert new["region"] == "eu-west-1" and len(new["token"]) == 43 and not new["token"].startswith("ghp_")
    assert transitions(db) == FORWARD
    assert token_status(db, token_id) == "rotated"
    return str(new["token"])


def test_kv_rotation_end_to_end(bao: BaoServer, linked: tuple[str, str, str]) -> None:
    db, path, token_id = linked
    result = cli("rotate", token_id[:12], "--overlap", "0", "--yes", "--db", db)
    assert result.exit_code == 0, result.output
    assert "openbao-kv" in result.output and "old-revoked" in result.output
    new = assert_rotated_once(bao, path, db, token_id)
    shown = cli("inventory", "show", token_id[:12], "--db", db)
    again = cli("rotate", token_id[:12], "--overlap", "0", "--yes", "--db", db)
    assert again.exit_code == 2 and "already rotated" in again.output
    assert_secret_nowhere(new, Path(db).parent, result.output, shown.output, again.output)


def test_kv_dry_run_changes_nothing(bao: BaoServer, linked: tuple[str, str, str]) -> None:
    db, path, token_id = linked
    before = _dump(db)
    result = cli("rotate", token_id[:12], "--dry-run", "--db", db)
    assert result.exit_code == 0, result.output
    assert "dry run: nothing changed" in result.output and "destroy the old version" in result.output
    assert kv_meta(bao, path)["current_version"] == 1
    with Inventory.open(db) as inv:
        assert rotations(inv) == [] and inv.counts()["token"] == 0  # not even registered
    assert transitions(db) == [] and _dump(db) == before


def _dump(db: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


@pytest.mark.parametrize("state", ["new-issued", "consumers-switched", "old-revoked"])
def test_kv_crash_then_resume_completes_once(bao: BaoServer, linked: tuple[str, str, str], state: str) -> None:
    db, path, token_id = linked
    with pytest.raises(Crash):
        start_crashing(db, token_id[:12], crash_at(state))
    result = cli("rotate", token_id[:12], "--overlap", "0", "--yes", "--db", db)
    assert result.exit_code == 0, result.output
    assert "resumes   rotation" in result.output
    assert_rotated_once(bao, path, db, token_id)


def test_kv_overlap_keeps_the_old_version_until_it_ends(bao: BaoServer, linked: tuple[str, str, str]) -> None:
    db, path, token_id = linked
    result = cli("rotate", token_id[:12], "--overlap", "1h", "--yes", "--db", db)
    assert result.exit_code == 0 and "consumers-switched" in result.output and "run rotate again" in result.output
    assert kv_data(bao, path, 1)["token"].startswith("ghp_")  # both work during the overlap
    with Inventory.open(db) as inv:
        sub = subject(inv, token_id, datetime.now(UTC))
        [row] = rotations(inv, token_id)
        later = Runner(inv, rotator("openbao-kv", Connections()), sub.target, "t",
                       clock=lambda: datetime.now(UTC) + timedelta(hours=2))
        assert later.run(row).state == "old-revoked"
    assert kv_meta(bao, path)["versions"]["1"]["destroyed"] is True


def test_rotation_plan_lists_due_tokens(bao: BaoServer, linked: tuple[str, str, str]) -> None:
    db, _, token_id = linked
    policy = load_policy(None, frozenset(CHECKS))
    with Inventory.open(db) as inv:
        assert token_id not in {s.token_id for s in due(inv, policy, datetime.now(UTC))}
        later = {s.token_id: s for s in due(inv, policy, datetime.now(UTC) + timedelta(days=400))}
    assert later[token_id].target.backend == "openbao-kv"  # (secrets of other tests in the shared server too)
    listed = cli("rotation", "plan", "--db", db)
    assert listed.exit_code == 0 and "0 token(s) due" in listed.output
    none_due = cli("rotate", "--due", "--dry-run", "--db", db)
    assert none_due.exit_code == 0 and "no token is due" in none_due.output


# -- database secrets engine ---------------------------------------------------------------------------------


@pytest.fixture
def leased(bao: BaoServer, pg_cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           matcher: Matcher, request: pytest.FixtureRequest) -> tuple[str, str, str, str]:
    """PostgreSQL credentials leased by the database engine, kept in KV as a URL and declared in tokens.yaml:
    (db, KV path, the consumer's first URL, token id)."""
    use_inventory(monkeypatch, matcher)
    monkeypatch.setenv("BAO_ADDR", bao.addr)
    monkeypatch.setenv("BAO_TOKEN", bao.root_token)
    host = pg_cluster.url.split("@", 1)[1].rsplit("/", 1)[0]
    _database_engine(bao, host)
    lease = bao.api("GET", "database/creds/app")
    url = f"postgresql://{lease['data']['username']}:{lease['data']['password']}@{host}/postgres"
    path = f"db/{request.node.name}"
    bao.kv_put(path, {"url": url, "lease_id": lease["lease_id"]})
    manifest = tmp_path / "tokens.yaml"
    manifest.write_text("version: 1\ntokens:\n  - name: app-db\n    provider: postgres\n"
                        "    storage: openbao-db:database/app\n"
                        f"    match: {{vault: 'secret/{path}#url'}}\n")
    db = str(tmp_path / "inv" / "inventory.db")
    imported("manifest", str(manifest), "--db", db)
    with Inventory.open(db) as inv:
        sub = subject(inv, "app-db", datetime.now(UTC))
    assert sub.target.location == f"database/app@secret/{path}#url"
    return db, path, url, sub.token_id


def _database_engine(bao: BaoServer, host: str) -> None:
    mounts = bao.api("GET", "sys/mounts")
    if "database/" not in (mounts.get("data") or mounts):
        bao.api("POST", "sys/mounts/database", {"type": "database"})
    bao.api("POST", "database/config/pg", {
        "plugin_name": "postgresql-database-plugin", "allowed_roles": "app", "verify_connection": True,
        "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}/postgres?sslmode=disable",
        "username": "tokenward", "password": "unused-with-trust-auth"})
    bao.api("POST", "database/roles/app", {
        "db_name": "pg", "default_ttl": "1h", "max_ttl": "2h",
        "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                "VALID UNTIL '{{expiration}}';"]})


def _login(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


@pytest.mark.parametrize("state", ["new-issued", "consumers-switched", "old-revoked"])
def test_db_rotation_crash_then_resume_completes_once(bao: BaoServer, leased: tuple[str, str, str, str],
                                                      state: str) -> None:
    db, path, old_url, token_id = leased
    assert _login(old_url)
    with pytest.raises(Crash):
        start_crashing(db, "app-db", crash_at(state))
    result = cli("rotate", "app-db", "--overlap", "0", "--yes", "--db", db)
    assert result.exit_code == 0, result.output
    meta = kv_meta(bao, path)
    assert meta["current_version"] == 2 and meta["versions"]["1"]["destroyed"] is True
    new_url = kv_data(bao, path, 2)["url"]
    assert new_url != old_url and _login(new_url) and not _login(old_url)  # old lease revoked: role dropped
    assert transitions(db) == FORWARD and token_status(db, token_id) == "rotated"
    password = new_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert_secret_nowhere(password, Path(db).parent, result.output)


def test_db_rollback_when_the_new_credential_fails(bao: BaoServer, leased: tuple[str, str, str, str]) -> None:
    db, path, old_url, token_id = leased

    def break_new_lease(state: str) -> None:  # the new credential stops working before it is checked
        if state == "new-issued":
            latest = bao.api("GET", f"secret/data/{path}")["data"]["data"]
            bao.api("PUT", "sys/leases/revoke", {"lease_id": latest["lease_id"]})

    row = start_crashing(db, "app-db", break_new_lease)
    with Inventory.open(db) as inv:
        [done] = rotations(inv, token_id)
    assert done.rotation_id == row.rotation_id and done.state == "rolled-back"
    assert "PostgreSQL refused" in str(done.reason)
    meta = kv_meta(bao, path)
    assert meta["current_version"] == 3 and meta["versions"]["2"]["destroyed"] is True
    assert kv_data(bao, path, 3)["url"] == old_url and _login(old_url)
    assert transitions(db) == ["planned", "new-issued", "rolled-back"] and token_status(db, token_id) == "open"


def test_openbao_errors_keep_the_state(bao: BaoServer, linked: tuple[str, str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db, path, token_id = linked
    monkeypatch.setenv("BAO_TOKEN", "not-a-token")
    result = cli("rotate", token_id[:12], "--overlap", "0", "--yes", "--db", db)
    assert result.exit_code == 3 and "HTTP 403" in result.output and "not-a-token" not in result.output
    assert kv_meta(bao, path)["current_version"] == 1 and transitions(db) == []
    assert httpx.get(f"{bao.addr}/v1/sys/health").status_code == 200
