"""The inventory schema's migrations: where they live, the newest revision, and the Alembic config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x746F6B77  # pg_advisory_xact_lock key: every writer migrates one at a time
SCHEMA_HEAD = "0070"  # the newest revision in migrations/versions (a test keeps the two equal)


def alembic_config() -> Any:
    """An Alembic configuration pointing at the migrations (the caller adds the connection)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    """The newest schema revision this version of tokenward knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
