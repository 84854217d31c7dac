"""Alembic environment: migrations run on the connection tokenward passes in (never from an ini file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run_migrations(connection: Connection) -> None:
    """Run pending migrations inside the caller's transaction (it holds the migration lock)."""
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("tokenward migrations run through `tokenward db upgrade`, not the alembic CLI")
run_migrations(_connection)
