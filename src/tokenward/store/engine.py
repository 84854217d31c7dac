"""Database plumbing under the inventory: engines for SQLite and PostgreSQL (pragmas, private files,
write locks taken up front), error reasons, chunking, timestamps, and fast raw reads and writes."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.location import display

T = TypeVar("T")
CHUNK = 5000  # bound parameters per IN (...) list


# Kept connections: the dashboard's request threads otherwise opened and closed overflow connections (each
# with its PRAGMAs, or a PostgreSQL login) on almost every request under load.
POOL_SIZE = 10


WAL_TRIES = 60  # attempts to turn a new file to WAL while other connections hold it (≈ 10 s in all)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver must not open transactions itself; _sqlite_begin does
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    _wal(cursor)
    for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "cache_size=-131072", "temp_store=MEMORY"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so: later connections only read that it is). Switching needs an
    exclusive lock that SQLite does not wait for (no busy handler): writers opening a new inventory at the
    same moment got 'database is locked' (1 run in 30 of the concurrent first-use test); they retry."""
    for attempt in range(WAL_TRIES):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(min(0.01 * (attempt + 1), 0.25))


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front so two processes never deadlock upgrading a read lock.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")


def make_engine(url: URL, create: bool = True) -> Engine:
    """An engine for the inventory URL (a new SQLite file is created private, unless create is False)."""
    if url.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError("PostgreSQL needs psycopg: pip install 'tokenward[postgres]'") from None
        return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_SIZE)
    if not create and not (url.database and url.database != ":memory:" and Path(url.database).is_file()):
        raise StoreError(f"no inventory at {url.database or display(url)}: scan with --db to create it "
                         "(or `tokenward db upgrade --db …` for an empty one)")
    if url.database and url.database != ":memory:":
        path = Path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private from the start
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the inventory {path}: {exc.strerror}") from None
    in_memory = not url.database or url.database == ":memory:"  # one connection per thread: no pool to size
    engine = create_engine(url) if in_memory else create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE)
    sa_event.listen(engine, "connect", _sqlite_connect)
    sa_event.listen(engine, "begin", _sqlite_begin)
    return engine


def reason(exc: SQLAlchemyError) -> str:
    """The first line of a database error, for a one-line message."""
    orig = getattr(exc, "orig", None)
    lines = str(orig or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """values in slices of at most size (bound parameters per statement stay under every driver's limit)."""
    for i in range(0, len(values), size):
        yield values[i:i + size]


def utc(value: Any) -> datetime | None:
    """A driver's timestamp (SQLite: text in UTC; PostgreSQL: aware datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)  # type: ignore[no-any-return]


def run(stmt: Any, conn: Connection) -> None:
    """Execute one statement (a partial-friendly form of conn.execute)."""
    conn.execute(stmt)


def raw(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """The driver's own tuples for a query: no result processing per row and column (lists run to 10^5 rows)."""
    compiled = query.compile(dialect=conn.dialect)
    params = compiled.params
    args = tuple(params[n] for n in compiled.positiontup) if compiled.positional else params
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def plain(kind: Any) -> Any:
    """The driver-level type of a column type (UtcDateTime's DateTime)."""
    return kind.impl if isinstance(kind, t.UtcDateTime) else kind


def many(conn: Connection, stmt: Any, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """executemany of tuples (in cols order) with the statement compiled once: SQLAlchemy's per-row processing
    would cost more than the database itself. Values are driver-ready (see Inventory._ts)."""
    if not rows:
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(cols))
    if not compiled.positional:
        conn.exec_driver_sql(compiled.string, [dict(zip(cols, r, strict=True)) for r in rows])
        return
    order = [list(cols).index(n) for n in compiled.positiontup]
    if order != list(range(len(cols))):
        rows = [tuple(r[i] for i in order) for r in rows]
    conn.exec_driver_sql(compiled.string, rows)


