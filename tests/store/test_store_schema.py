"""The inventory schema: migrations build exactly tables.py on both backends; URLs; `db upgrade`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from tokenward.cli import inventory as cli_inventory
from tokenward.cli.main import app
from tokenward.errors import StoreError
from tokenward.store import Inventory, tables
from tokenward.store import migrate as store_inventory
from tokenward.store.location import default_url, parse_url

pytest_plugins = ["tests.conftest_pg"]


@pytest.mark.parametrize("replay", [True, False], ids=["new-sqlite-replayed", "migrated"])
def test_migrations_build_the_declared_schema(db_url: str, replay: bool) -> None:
    with Inventory.open(db_url, migrate=False) as inv:
        assert inv.upgrade(replay=replay) == store_inventory.SCHEMA_HEAD
        with inv.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diff == []


def test_schema_head_constant_matches_the_migrations() -> None:
    assert store_inventory.head_revision() == store_inventory.SCHEMA_HEAD


def test_cli_vocabularies_match_the_schema() -> None:
    assert cli_inventory.STATUSES == tables.STATUSES
    assert cli_inventory.SOURCE_KINDS == tables.SOURCE_KINDS


def test_db_upgrade_command(db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert first.exit_code == 0, first.output
    assert f"empty -> {store_inventory.SCHEMA_HEAD}" in first.output
    again = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert again.exit_code == 0 and f"{store_inventory.SCHEMA_HEAD} is current" in again.output


def test_a_newer_schema_is_refused_clearly(db_url: str) -> None:
    Inventory.open(db_url).close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer tokenward"):
        Inventory.open(db_url)


def test_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_url("postgresql://u:secretpw@db.example/inv").drivername == "postgresql+psycopg"
    assert parse_url("postgres://u@db.example/inv").drivername == "postgresql+psycopg"
    assert parse_url("postgresql+psycopg://u@h/inv").drivername == "postgresql+psycopg"
    assert parse_url("inv.db").database == str(Path.cwd() / "inv.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'tokenward' / 'inventory.db'}"
    monkeypatch.setenv("TOKENWARD_DB", "postgresql://team@db.example/inv")
    assert parse_url(None).render_as_string() == "postgresql+psycopg://team@db.example/inv"
    with pytest.raises(StoreError, match="unsupported database"):
        parse_url("mysql://u@h/inv")


def test_password_is_never_shown(tmp_path: Path) -> None:
    url = "postgresql://u:hunter2hunter2@127.0.0.1:1/inv"  # nothing listens on port 1
    with pytest.raises(StoreError) as caught:
        Inventory.open(url)
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "inv.db"
    Inventory.open(str(path)).close()
    assert path.stat().st_mode & 0o077 == 0
