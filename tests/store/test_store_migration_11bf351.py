"""`db upgrade` of an inventory as tokenward 11bf351 left it: the migrated schema at revision 0001 plus the
usage and declared-token tables that `monitor` and the importers created themselves (`create_all`),
with usage times as epoch floats and ISO text. Every row survives; times become UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from tokenward.cli.main import app
from tokenward.store import Inventory
from tokenward.store import migrate as store_inventory
from tokenward.store.tables import UtcDateTime
from tokenward.store.usage import UsageState

pytest_plugins = ["tests.conftest_pg"]

WHEN = 1_760_000_000.25  # epoch seconds as 11bf351 stored them


def _old_tables() -> sa.MetaData:
    """The usage and declared tables exactly as 11bf351 declared them on their own MetaData."""
    usage = sa.MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s", "pk": "pk_%(table_name)s"})
    sa.Table("usage_profile", usage, sa.Column("token_id", sa.String(64), primary_key=True),
             sa.Column("data", sa.Text, nullable=False), sa.Column("updated_at", sa.Float, nullable=False))
    sa.Table("usage_alert", usage, sa.Column("alert_id", sa.String(16), primary_key=True),
             sa.Column("token_id", sa.String(64), nullable=False), sa.Column("detector", sa.String(32), nullable=False),
             sa.Column("severity", sa.String(16), nullable=False), sa.Column("key", sa.Text, nullable=False),
             sa.Column("at", sa.String(32), nullable=False), sa.Column("last_at", sa.Float, nullable=False),
             sa.Column("count", sa.Integer, nullable=False), sa.Column("data", sa.Text, nullable=False),
             sa.Index(None, "token_id"))
    sa.Table("usage_violation", usage, sa.Column("token_id", sa.String(64), primary_key=True),
             sa.Column("kind", sa.String(32), primary_key=True), sa.Column("preview", sa.Text, nullable=False),
             sa.Column("where", sa.Text, nullable=False), sa.Column("detail", sa.Text, nullable=False),
             sa.Column("first_at", sa.Float, nullable=False))
    sa.Table("import_run", usage, sa.Column("origin", sa.String(32), primary_key=True),
             sa.Column("source", sa.Text, primary_key=True), sa.Column("imported_at", UtcDateTime, nullable=False),
             sa.Column("records", sa.Integer, nullable=False), sa.Column("notes", sa.Text, nullable=False))
    return usage


def _rows() -> dict[str, list[dict[str, Any]]]:
    return {
        "usage_profile": [{"token_id": "t1", "data": '{"n": 3}', "updated_at": WHEN}],
        "usage_alert": [{"alert_id": "a1", "token_id": "t1", "detector": "new-country", "severity": "high",
                         "key": "DE", "at": "2025-10-09T08:53:20Z", "last_at": WHEN, "count": 2, "data": "{}"}],
        "usage_violation": [{"token_id": "t1", "kind": "url", "preview": "…abcd", "where": "nginx",
                             "detail": "query string", "first_at": WHEN}],
        "import_run": [{"origin": "manifest", "source": "tokens.yaml", "imported_at": datetime.now(UTC),
                        "records": 4, "notes": ""}],
    }


def _as_11bf351(url: str) -> None:
    engine = sa.create_engine(url)
    cfg = store_inventory.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        old = _old_tables()
        old.create_all(conn)
        for name, rows in _rows().items():
            conn.execute(old.tables[name].insert(), rows)
    engine.dispose()


def test_db_upgrade_keeps_every_row_and_converts_usage_times(db_url: str) -> None:
    _as_11bf351(db_url)
    result = CliRunner().invoke(app, ["db", "upgrade", "--db", db_url])
    assert result.exit_code == 0, result.output
    with Inventory.open(db_url, migrate=False) as inv:
        assert inv.revision() == store_inventory.SCHEMA_HEAD
        with inv.engine.connect() as conn:
            profile = conn.execute(sa.text("SELECT token_id, data, updated_at FROM usage_profile")).one()
            alert = conn.execute(sa.text("SELECT alert_id, count, at, last_at FROM usage_alert")).one()
            violation = conn.execute(sa.text("SELECT first_at FROM usage_violation")).one()
            runs = conn.execute(sa.text("SELECT records FROM import_run")).all()
    want = datetime.fromtimestamp(WHEN, UTC)
    for value in (profile.updated_at, alert.last_at, violation.first_at):
        got = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        assert got.replace(tzinfo=UTC) == want if got.tzinfo is None else got == want
    assert (profile.token_id, profile.data, alert.alert_id, alert.count) == ("t1", '{"n": 3}', "a1", 2)
    assert runs == [(4,)]
    with Inventory.open(db_url) as inv:  # the monitor reads the converted alerts back
        recent = UsageState(inv.engine).recent_alerts()
        assert recent[("t1", "new-country", "DE")].last_at == pytest.approx(WHEN)
