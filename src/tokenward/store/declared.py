"""Reads and writes of what importers report (the declared_token and import_run tables) — never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.importers.interface import DeclaredToken, ImportResult
from tokenward.store.tables import declared_token, import_run

TUPLES = frozenset({"public_ids", "links", "scopes", "allowed_scopes", "details"})

def _row(r: DeclaredToken, source: str, at: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"source": source, "imported_at": at}
    for f in fields(r):
        value = getattr(r, f.name)
        row[f.name] = json.dumps(value) if f.name in TUPLES and value is not None else value
    return row


def replace_import(engine: Engine, result: ImportResult, at: datetime) -> int:
    """Replace what this origin last imported from this source with result's records; returns how many."""
    rows = {(r.origin, r.external_id): _row(r, result.source, at) for r in result.records}
    dt = declared_token.c
    try:
        with engine.begin() as conn:
            conn.execute(delete(declared_token).where(dt.origin == result.origin, dt.source == result.source))
            if rows:
                keys = list(rows)
                conn.execute(delete(declared_token).where(dt.origin == result.origin,
                                                          dt.external_id.in_([k[1] for k in keys])))
                conn.execute(insert(declared_token), list(rows.values()))
            conn.execute(delete(import_run).where(import_run.c.origin == result.origin,
                                                  import_run.c.source == result.source))
            conn.execute(insert(import_run), {"origin": result.origin, "source": result.source, "imported_at": at,
                                              "records": len(rows), "notes": json.dumps(list(result.notes))})
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record the {result.origin} import: {exc.__class__.__name__}") from None
    return len(rows)


def _record(row: Any) -> DeclaredToken:
    data = dict(row._mapping)
    values: dict[str, Any] = {}
    for f in fields(DeclaredToken):
        value = data[f.name]
        if f.name in TUPLES and value is not None:
            value = tuple(tuple(v) if isinstance(v, list) else v for v in json.loads(value))
        values[f.name] = value
    return DeclaredToken(**values)


def load_declared(engine: Engine) -> Iterator[DeclaredToken]:
    """Every imported record (none when nothing was ever imported)."""
    query = select(declared_token).order_by(declared_token.c.origin, declared_token.c.external_id)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read imported tokens: {exc.__class__.__name__}") from None
    yield from (_record(r) for r in rows)


def import_runs(engine: Engine) -> list[tuple[str, str, datetime, int]]:
    """(origin, source, imported_at, records) of every import, newest first."""
    ir = import_run.c
    with engine.connect() as conn:
        return [(o, s, at, n) for o, s, at, n in
                conn.execute(select(ir.origin, ir.source, ir.imported_at, ir.records).order_by(ir.imported_at.desc()))]
