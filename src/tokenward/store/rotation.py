"""Rotations in the inventory: the `rotation` row of each dual-phase rotation, and its audit events.

Every state change is a compare-and-set on the row (WHERE state = the expected one) written in the same
transaction as an append-only `event` row (action "rotation", the step in the note as JSON), so a crash
leaves either the old state or the new one with its event, never half of it. Only references are
stored (KV version numbers, lease ids, AWS access key ids): never a secret value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import Inventory

ACTION = "rotation"
ACTIVE = ("planned", "new-issued", "consumers-switched")
TERMINAL = ("old-revoked", "rolled-back", "failed")


@dataclass(frozen=True)
class RotationRow:
    """One rotation as stored."""

    rotation_id: str
    token_id: str
    backend: str
    target: str
    state: str
    old_ref: str | None
    new_ref: str | None
    overlap_seconds: int
    grace_seconds: int
    actor: str
    started_at: datetime
    updated_at: datetime
    switched_at: datetime | None = None
    revoked_at: datetime | None = None
    purged_at: datetime | None = None
    reason: str | None = None


def _event(conn: Connection, row: RotationRow, old: str | None, at: datetime, actor: str,
           status: tuple[str | None, str | None] = (None, None), **note: Any) -> None:
    body = {"rotation": row.rotation_id, "backend": row.backend, "target": row.target, "from": old,
            "to": row.state, "old_ref": row.old_ref, "new_ref": row.new_ref, **note}
    conn.execute(insert(t.event).values(
        token_id=row.token_id, at=at, actor=actor, action=ACTION, old_status=status[0], new_status=status[1],
        scan_id=None, note=json.dumps({k: v for k, v in body.items() if v is not None}, sort_keys=True)))


def register_token(inventory: Inventory, token_id: str, provider: str, kind: str, preview: str,
                   at: datetime, public_ids: Sequence[tuple[str, str]] = ()) -> bool:
    """Add a token known only from an import (a secrets manager, a manifest) to the token table with its public
    ids (so the review joins it to its records), giving its rotation an audit subject; True when added."""
    tk = t.token
    values = {"token_id": token_id, "provider": provider, "kind": kind, "preview": preview,
              "confidence": "declared", "severity": "low", "status": "open", "first_seen": at, "last_seen": at}
    with inventory.errors("registering the token"), inventory.engine.begin() as conn:
        if conn.execute(select(tk.c.token_id).where(tk.c.token_id == token_id)).first() is not None:
            return False
        conn.execute(insert(tk).values(**values))
        for name, value in dict.fromkeys(public_ids):
            conn.execute(insert(t.token_public_id).values(token_id=token_id, name=name, value=value))
    return True


def start(inventory: Inventory, token_id: str, backend: str, target: str, old_ref: str | None,
          times: tuple[int, int], actor: str, at: datetime) -> RotationRow:
    """A new rotation in state planned (with its event); StoreError when the token already has one running."""
    row = RotationRow(uuid.uuid4().hex, token_id, backend, target, "planned", old_ref, None, times[0], times[1],
                      actor, at, at)
    r = t.rotation.c
    with inventory.errors("starting the rotation"), inventory.engine.begin() as conn:
        # Lock the token row: two `rotate` runs starting at once serialise here, and the second sees the first.
        conn.execute(select(t.token.c.token_id).where(t.token.c.token_id == token_id).with_for_update())
        running = conn.execute(select(r.rotation_id).where(r.token_id == token_id, r.state.in_(ACTIVE))).first()
        if running is not None:
            raise StoreError(f"token {token_id[:12]} already has rotation {running[0][:12]} in progress")
        conn.execute(insert(t.rotation).values(**row.__dict__))
        _event(conn, row, None, at, actor)
    return row


def advance(inventory: Inventory, row: RotationRow, state: str, at: datetime, actor: str,
            **changes: Any) -> RotationRow:
    """Move row to state (setting changes) if it is still in row.state, with its event; old-revoked also marks
    the token rotated. StoreError when another process moved it first."""
    if state not in t.ROTATION_STATES:
        raise StoreError(f"unknown rotation state {state!r}")
    new = RotationRow(**{**row.__dict__, **changes, "state": state, "updated_at": at})
    r = t.rotation.c
    with inventory.errors("recording the rotation step"), inventory.engine.begin() as conn:
        done = conn.execute(update(t.rotation).where(r.rotation_id == row.rotation_id, r.state == row.state)
                            .values(**{k: v for k, v in new.__dict__.items() if k != "rotation_id"}))
        if done.rowcount != 1:
            raise StoreError(f"rotation {row.rotation_id[:12]} changed underneath (another rotate is running?)")
        _event(conn, new, row.state, at, actor, _token_status(conn, new, at),
               reason=changes.get("reason"))
    return new


def _token_status(conn: Connection, row: RotationRow, at: datetime) -> tuple[str | None, str | None]:
    if row.state != "old-revoked":
        return None, None
    tk = t.token.c
    old = conn.execute(select(tk.status).where(tk.token_id == row.token_id)).scalar()
    conn.execute(update(t.token).where(tk.token_id == row.token_id).values(status="rotated", status_changed_at=at))
    return old, "rotated"


def note_purged(inventory: Inventory, row: RotationRow, at: datetime, actor: str) -> RotationRow:
    """Record that the revoked-but-kept old credential was deleted after the grace period (with its event)."""
    new = RotationRow(**{**row.__dict__, "purged_at": at, "updated_at": at})
    r = t.rotation.c
    with inventory.errors("recording the purge"), inventory.engine.begin() as conn:
        done = conn.execute(update(t.rotation).where(r.rotation_id == row.rotation_id, r.purged_at.is_(None))
                            .values(purged_at=at, updated_at=at))
        if done.rowcount == 1:
            _event(conn, new, row.state, at, actor, step="purged")
    return new


def rotations(inventory: Inventory, token_id: str | None = None) -> list[RotationRow]:
    """Every rotation (of one token), oldest first."""
    r = t.rotation.c
    query = select(t.rotation).order_by(r.started_at, r.rotation_id)
    if token_id is not None:
        query = query.where(r.token_id == token_id)
    with inventory.errors("reading rotations"), inventory.engine.connect() as conn:
        return [RotationRow(**row._mapping) for row in conn.execute(query)]
