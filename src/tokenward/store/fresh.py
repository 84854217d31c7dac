"""A new SQLite inventory in one step: the statements the migrations leave in `sqlite_master`, replayed.

Every first scan into a new SQLite file (a fresh CI runner, a benchmark, a first-time user) used to import
Alembic and run every migration: about 0.15 s, a tenth of a small tree's scan. The migrations stay the one
source of truth. `sqlite_schema.json` is their result, recorded by `record()` (see its docstring), and a
test migrates a new file with Alembic and requires the same `sqlite_master`, statement for statement.
PostgreSQL inventories are created once per team and keep the migrations.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

RECORDED = Path(__file__).with_name("sqlite_schema.json")
# What sqlite_master holds, in creation order; SQLite's own objects (automatic indexes: no SQL) excluded.
MASTER = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"


def schema_of(conn: Connection) -> dict[str, Any]:
    """The schema a SQLite database holds: its revision and the statements that create it."""
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    return {"revision": revision, "statements": list(conn.exec_driver_sql(MASTER).scalars())}


@cache
def recorded() -> dict[str, Any]:
    """The recorded schema (sqlite_schema.json); empty when it cannot be read (then every file is migrated)."""
    try:
        schema = json.loads(RECORDED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return schema if isinstance(schema, dict) else {}


def create(conn: Connection, head: str) -> bool:
    """Build the recorded schema in conn's empty database (inside the caller's write transaction) and return
    True; False, touching nothing, when the database is not empty or the record is not at head (the caller
    then migrates)."""
    schema = recorded()
    if schema.get("revision") != head or conn.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1").first():
        return False
    for statement in schema["statements"]:
        conn.exec_driver_sql(statement)
    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
    return True


def record() -> None:
    """Record the schema the migrations build now. Run after adding a migration:
    python -c 'from tokenward.store.fresh import record; record()'"""
    from alembic import command
    from sqlalchemy import create_engine

    from tokenward.store.migrate import alembic_config

    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        schema = schema_of(conn)
    engine.dispose()
    RECORDED.write_text(json.dumps(schema, indent=1) + "\n", encoding="utf-8")
    print(f"recorded {len(schema['statements'])} statements at {schema['revision']} in {RECORDED}", file=sys.stderr)
