"""Live-source cursors in the inventory: where each stream was read up to, so a rerun reads only what is new.

A cursor is saved only after the scan that read up to it has been recorded: a scan that dies half way
leaves the previous cursors, and the next run reads that part again (never a gap).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Executable, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import InventoryStore

Cursors = Mapping[tuple[str, str], str]  # (source, stream) → cursor


class CursorStore(InventoryStore):
    """Reads and writes the source_cursor table of one inventory."""

    def load(self, source: str | None = None) -> dict[tuple[str, str], str]:
        """Every stored cursor (of one source when given)."""
        query = select(t.source_cursor.c.source, t.source_cursor.c.stream, t.source_cursor.c.cursor)
        if source is not None:
            query = query.where(t.source_cursor.c.source == source)
        try:
            with self.inventory.engine.connect() as conn:
                return {(s, k): c for s, k, c in conn.execute(query)}
        except SQLAlchemyError as exc:
            raise StoreError(f"reading live-source cursors ({self.inventory}): {type(exc).__name__}") from None

    def save(self, cursors: Cursors, scan_id: str | None = None) -> int:
        """Store cursors (insert or replace), all in one transaction; returns how many."""
        if not cursors:
            return 0
        now = datetime.now(UTC)
        rows = [{"source": s, "stream": k, "cursor": c, "scan_id": scan_id, "updated_at": now}
                for (s, k), c in sorted(cursors.items())]
        try:
            with self.inventory.engine.begin() as conn:
                conn.execute(self._upsert(), rows)
        except SQLAlchemyError as exc:
            raise StoreError(f"writing live-source cursors ({self.inventory}): {type(exc).__name__}") from None
        return len(rows)

    def forget(self, source: str) -> None:
        """Drop every cursor of a source (the next scan reads it all)."""
        with self.inventory.engine.begin() as conn:
            conn.execute(delete(t.source_cursor).where(t.source_cursor.c.source == source))

    def _upsert(self) -> Executable:
        table = t.source_cursor
        ins = postgresql.insert(table) if self.inventory.dialect == "postgresql" else sqlite.insert(table)
        return ins.on_conflict_do_update(
            index_elements=[table.c.source, table.c.stream],
            set_={"cursor": ins.excluded.cursor, "scan_id": ins.excluded.scan_id,
                  "updated_at": ins.excluded.updated_at})
