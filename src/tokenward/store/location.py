"""Where the inventory lives: --db / $TOKENWARD_DB, else a SQLite file in the user's data dir."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tokenward.errors import StoreError

DB_ENV = "TOKENWARD_DB"
DB_FILE = "inventory.db"


def data_dir() -> Path:
    """The user's tokenward data directory ($XDG_DATA_HOME/tokenward)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tokenward"


def default_url() -> str:
    """$TOKENWARD_DB, else sqlite:///$XDG_DATA_HOME/tokenward/inventory.db."""
    return os.environ.get(DB_ENV) or f"sqlite:///{data_dir() / DB_FILE}"


def parse_url(value: str | None) -> URL:
    """A SQLAlchemy URL from a URL or a plain file path; postgresql:// means psycopg 3."""
    value = value or default_url()
    if "://" not in value:
        if _URL_LIKE.match(value):  # 'sqlite:', 'postgresql:/x': a mistyped URL, not a file to create
            raise StoreError(f"not a database URL: {value!r} (use sqlite:///PATH, postgresql://… or a file path)")
        return make_url(f"sqlite:///{Path(value).expanduser().absolute()}")
    try:
        url = make_url(value)
    except ArgumentError:
        raise StoreError(f"not a database URL: {value!r}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    backend, _, driver = url.drivername.partition("+")
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {backend!r} (use sqlite:/// or postgresql://)")
    if backend == "postgresql" and driver != "psycopg":
        raise StoreError(f"unsupported PostgreSQL driver {driver!r}: tokenward uses psycopg 3 "
                         "(write postgresql://… or postgresql+psycopg://…)")
    if backend == "sqlite" and driver not in ("", "pysqlite"):
        raise StoreError(f"unsupported SQLite driver {driver!r} (write sqlite:///PATH)")
    return url


_URL_LIKE = re.compile(r"(?i)(sqlite|postgres(ql)?)(\+\w+)?:")


def display(url: URL) -> str:
    """The URL as safe to print (password hidden)."""
    return url.render_as_string(hide_password=True)
