"""Changes the dashboard makes besides triage (which is Inventory.triage, as for the CLI): owner assignment.

Each change and its audit event are written in one transaction, with the acting user as the event's actor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import Inventory
from tokenward.store.records import EventRow

ASSIGN = "assign-owner"


def assign_owner(inventory: Inventory, token_id: str, owner: str | None, actor: str, at: datetime) -> EventRow | None:
    """Set a token's owner (None: clear it) and append the audit event; None (no event) when unchanged.

    A person's assignment stands: the owner resolution after later scans and imports leaves such
    tokens alone (see manually_owned).
    """
    tk = t.token
    owner = (owner or "").strip() or None
    try:
        with inventory.engine.begin() as conn:
            found = conn.execute(select(tk.c.token_id, tk.c.owner).where(tk.c.token_id == token_id)
                                 .with_for_update()).first()
            if found is None:
                raise StoreError(f"no token {token_id}")
            if found.owner == owner:
                return None
            conn.execute(update(tk).where(tk.c.token_id == token_id).values(owner=owner))
            note = f"owner {found.owner or '-'} -> {owner or '-'}"
            values: dict[str, Any] = {"token_id": token_id, "at": at, "actor": actor, "action": ASSIGN,
                                      "old_status": None, "new_status": None, "note": note, "scan_id": None}
            key = conn.execute(insert(t.event).values(**values)).inserted_primary_key
    except SQLAlchemyError as exc:
        raise StoreError(f"assigning the owner ({inventory}): {type(exc).__name__}") from None
    assert key is not None
    return EventRow(event_id=int(key[0]), **values)


def manually_owned(inventory: Inventory, token_ids: Sequence[str] | None = None) -> set[str]:
    """The tokens (of token_ids, or all) whose owner a person assigned: resolution must not overwrite it."""
    ev = t.event.c
    query = select(ev.token_id).where(ev.action == ASSIGN).distinct()
    if token_ids is not None:
        query = query.where(ev.token_id.in_(list(token_ids)))
    try:
        with inventory.engine.connect() as conn:
            return {row.token_id for row in conn.execute(query)}
    except SQLAlchemyError as exc:
        raise StoreError(f"reading owner assignments ({inventory}): {type(exc).__name__}") from None


def register_token(inventory: Inventory, row: dict[str, Any], public_ids: Sequence[tuple[str, str]],
                   event: tuple[str, str], actor: str, at: datetime, then: Callable[[], None]) -> None:
    """Insert a token known without a scan (a honeytoken), its public ids and an (action, note) audit
    event, then run `then` (e.g. planting it) inside the same transaction: if it fails, nothing stays."""
    try:
        with inventory.engine.begin() as conn:
            conn.execute(insert(t.token).values(**row))
            for name, value in public_ids:
                conn.execute(insert(t.token_public_id).values(token_id=row["token_id"], name=name, value=value))
            conn.execute(insert(t.event).values(token_id=row["token_id"], at=at, actor=actor, action=event[0],
                                                note=event[1]))
            then()
    except SQLAlchemyError as exc:
        raise StoreError(f"registering the token ({inventory}): {type(exc).__name__}") from None
