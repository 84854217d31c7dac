"""A new SQLite inventory is the recorded schema replayed, and that record is what the migrations build."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tokenward.errors import StoreError
from tokenward.store import Inventory, fresh
from tokenward.store.migrate import SCHEMA_HEAD

RERECORD = "the migrations changed: python -c 'from tokenward.store.fresh import record; record()'"


def _master(url: str) -> list[tuple[str, str, str, str | None]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _new(path: Path, replay: bool) -> str:
    url = f"sqlite:///{path}"
    with Inventory.open(url, migrate=False) as inv:
        assert inv.upgrade(replay=replay) == SCHEMA_HEAD
    return url


def test_the_record_is_what_the_migrations_build(tmp_path: Path) -> None:
    migrated = _new(tmp_path / "migrated.db", replay=False)
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert fresh.schema_of(conn) == fresh.recorded(), RERECORD
    engine.dispose()
    assert fresh.recorded()["revision"] == SCHEMA_HEAD, RERECORD


def test_a_new_file_gets_the_same_database_as_migrating_it(tmp_path: Path) -> None:
    migrated = _master(_new(tmp_path / "migrated.db", replay=False))
    replayed = _master(_new(tmp_path / "replayed.db", replay=True))
    assert replayed == migrated  # tables, indexes (automatic ones too), triggers: name and statement
    assert {kind for kind, *_ in replayed} == {"table", "index", "trigger"}


def test_opening_a_new_file_runs_no_migration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("migrations ran for a new SQLite inventory")

    monkeypatch.setattr(Inventory, "migrate", refuse)
    with Inventory.open(str(tmp_path / "inv.db")) as inv:
        assert inv.revision() == SCHEMA_HEAD
        refused = pytest.raises(StoreError, match="event is append-only")  # the triggers are there
        with refused, inv.errors("changing the audit trail"), inv.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO token (token_id, provider, kind, preview, confidence, severity,"
                                 " status, first_seen, last_seen, occurrences) VALUES ('t', 'p', 'k', '…',"
                                 " 'high', 'high', 'open', '2026-01-01', '2026-01-01', 1)")
            conn.exec_driver_sql("INSERT INTO event (token_id, at, actor, action) VALUES"
                                 " ('t', '2026-01-01', 'me', 'note')")
            conn.exec_driver_sql("DELETE FROM event")


def test_a_database_with_tables_is_migrated_not_replayed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE theirs (x INTEGER)")
        assert fresh.create(conn, SCHEMA_HEAD) is False
        assert fresh.create(conn, "9999") is False  # a record behind this code's head is never replayed
    engine.dispose()
    with Inventory.open(url) as inv:  # what migrating did before: their table stays, ours are added
        assert inv.revision() == SCHEMA_HEAD
    assert ("table", "theirs", "theirs", "CREATE TABLE theirs (x INTEGER)") in _master(url)


def test_without_a_readable_record_a_new_file_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "sqlite_schema.json"
    broken.write_text("{not json")
    monkeypatch.setattr(fresh, "RECORDED", broken)
    fresh.recorded.cache_clear()
    try:
        with Inventory.open(str(tmp_path / "inv.db")) as inv:
            assert inv.revision() == SCHEMA_HEAD
    finally:
        fresh.recorded.cache_clear()
    migrated = _master(_new(tmp_path / "migrated.db", replay=False))
    assert _master(f"sqlite:///{tmp_path / 'inv.db'}") == migrated
