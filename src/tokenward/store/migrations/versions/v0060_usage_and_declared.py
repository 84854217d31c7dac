"""Usage-monitoring and declared-token tables join the migrated schema; usage times become timestamps.

Before this revision `tokenward monitor` and the importers created their tables themselves
(`create_all`) the first time they ran, with usage times as epoch floats and ISO strings. This
revision creates the tables that are missing and rebuilds the usage tables that exist, converting
every time to a UTC timestamp row by row (nothing is dropped before its rows are copied).

Revision ID: 0060
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0060"
down_revision = "0050"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)


def _usage_columns() -> dict[str, list[sa.Column[Any]]]:
    # Written out here, not imported from tables.py: a migration must not change when the code does.
    return {
        "usage_profile": [sa.Column("token_id", sa.String(64), primary_key=True),
                          sa.Column("data", sa.Text, nullable=False), sa.Column("updated_at", Ts, nullable=False)],
        "usage_file": [
            sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("head_hash", sa.String(64), nullable=False), sa.Column("head_len", sa.Integer, nullable=False),
            sa.Column("first_hash", sa.String(64), nullable=False), sa.Column("device", sa.BigInteger, nullable=False),
            sa.Column("inode", sa.BigInteger, nullable=False), sa.Column("path", sa.Text, nullable=False),
            sa.Column("offset", sa.BigInteger, nullable=False), sa.Column("lines", sa.BigInteger, nullable=False),
            sa.Column("complete", sa.Boolean, nullable=False), sa.Column("updated_at", Ts, nullable=False)],
        "usage_alert": [
            sa.Column("alert_id", sa.String(16), primary_key=True),
            sa.Column("token_id", sa.String(64), nullable=False),
            sa.Column("detector", sa.String(32), nullable=False), sa.Column("severity", sa.String(16), nullable=False),
            sa.Column("key", sa.Text, nullable=False), sa.Column("at", Ts, nullable=False),
            sa.Column("last_at", Ts, nullable=False), sa.Column("count", sa.Integer, nullable=False),
            sa.Column("data", sa.Text, nullable=False)],
        "usage_ident": [sa.Column("kind", sa.String(32), primary_key=True),
                        sa.Column("value", sa.String(255), primary_key=True),
                        sa.Column("token_id", sa.String(64), nullable=False)],
        "usage_token": [sa.Column("token_id", sa.String(64), primary_key=True),
                        sa.Column("declared", sa.Boolean, nullable=False),
                        sa.Column("honeytoken", sa.Boolean, nullable=False), sa.Column("granted", sa.Text),
                        sa.Column("note", sa.Text)],
        "usage_violation": [
            sa.Column("token_id", sa.String(64), primary_key=True), sa.Column("kind", sa.String(32), primary_key=True),
            sa.Column("preview", sa.Text, nullable=False), sa.Column("where", sa.Text, nullable=False),
            sa.Column("detail", sa.Text, nullable=False), sa.Column("first_at", Ts, nullable=False)],
    }


def _declared_columns() -> dict[str, list[sa.Column[Any]]]:
    text = ["name", "service", "function", "owner", "allowed_scopes", "storage", "last_used_detail", "location",
            "preview"]
    return {
        "declared_token": [
            sa.Column("origin", sa.String(32), primary_key=True),
            sa.Column("external_id", sa.String(512), primary_key=True),
            sa.Column("source", sa.Text, nullable=False), sa.Column("imported_at", Ts, nullable=False),
            sa.Column("provider", sa.String(64), nullable=False), sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("token_id", sa.String(64)), sa.Column("public_ids", sa.Text, nullable=False),
            sa.Column("links", sa.Text, nullable=False), *(sa.Column(c, sa.Text) for c in text),
            sa.Column("purpose", sa.String(16)), sa.Column("scopes", sa.Text, nullable=False),
            sa.Column("max_age_days", sa.Integer), sa.Column("environment", sa.String(32)),
            sa.Column("privilege", sa.String(16)), sa.Column("created_at", Ts), sa.Column("expires_at", Ts),
            sa.Column("last_used_at", Ts), sa.Column("active", sa.Boolean), sa.Column("line", sa.Integer),
            sa.Column("details", sa.Text, nullable=False)],
        "import_run": [sa.Column("origin", sa.String(32), primary_key=True),
                       sa.Column("source", sa.Text, primary_key=True),
                       sa.Column("imported_at", Ts, nullable=False), sa.Column("records", sa.Integer, nullable=False),
                       sa.Column("notes", sa.Text, nullable=False)],
    }


INDEXES = {"usage_file": [["first_hash"], ["device", "inode"]], "usage_alert": [["token_id"]],
           "declared_token": [["token_id"]]}
# Old usage columns holding epoch seconds or ISO text, converted on the way into the rebuilt table.
TIMES = {"usage_profile": ("updated_at",), "usage_file": ("updated_at",), "usage_alert": ("at", "last_at"),
         "usage_violation": ("first_at",)}


def _to_time(value: Any, sqlite: bool) -> Any:
    """Epoch seconds, ISO text or a timestamp → a UTC timestamp (naive UTC on SQLite, as the code stores)."""
    if value is None or isinstance(value, datetime):
        when = value
    elif isinstance(value, int | float) or str(value).replace(".", "", 1).isdigit():
        when = datetime.fromtimestamp(float(value), UTC)
    else:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(tzinfo=None) if sqlite and when is not None else when


def _create(name: str, columns: list[sa.Column[Any]], suffix: str = "") -> None:
    op.create_table(name + suffix, *columns, sa.PrimaryKeyConstraint(
        *[c.name for c in columns if c.primary_key], name=f"pk_{name}{suffix}"))


def _indexes(name: str) -> None:
    for cols in INDEXES.get(name, []):
        op.create_index(f"ix_{name}_{'_'.join(cols)}", name, cols)


def _rebuild(name: str, columns: list[sa.Column[Any]], convert: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Copy an existing table into the new definition row by row, then swap it in."""
    bind = op.get_bind()
    rows = [dict(r._mapping) for r in bind.execute(sa.text(f'SELECT * FROM "{name}"'))]
    _create(name, columns, "_v0060")
    if rows:
        target = sa.table(f"{name}_v0060", *[sa.column(c.name) for c in columns])
        keep = {c.name for c in columns}
        bind.execute(target.insert(), [{k: v for k, v in convert(r).items() if k in keep} for r in rows])
    op.drop_table(name)
    op.rename_table(f"{name}_v0060", name)
    if bind.dialect.name == "postgresql":  # constraint names are schema-wide there: take the old one back
        op.execute(f'ALTER TABLE "{name}" RENAME CONSTRAINT "pk_{name}_v0060" TO "pk_{name}"')


def _converter(times: tuple[str, ...], sqlite: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def convert(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, **{c: _to_time(row.get(c), sqlite) for c in times}}
    return convert


def upgrade() -> None:
    """Create the missing tables; rebuild existing usage tables with timestamp columns."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    existing = set(sa.inspect(bind).get_table_names())
    for name, columns in {**_usage_columns(), **_declared_columns()}.items():
        if name not in existing:
            _create(name, columns)
        elif name in TIMES:
            _rebuild(name, columns, _converter(TIMES[name], sqlite))
        else:
            for index in sa.inspect(bind).get_indexes(name):
                op.drop_index(str(index["name"]), table_name=name)
        if name not in existing or name in TIMES or name in INDEXES:
            _indexes(name)


def downgrade() -> None:
    """Not supported: the old layout kept times as epoch floats created outside migrations."""
    raise NotImplementedError("downgrading past 0060 is not supported")
