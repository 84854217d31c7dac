"""Verification and revocation results in the inventory: append-only `event` rows (no new table).

A verification is an event with action "verify" whose note is the verdict as JSON (status, reason,
identity, scopes, expiry, evidence — never the secret); the latest one per token is the result cache.
A revocation is an event "revoke" that also sets the token's status to revoked (one transaction), so a
later scan finding the token again raises "seen after revocation"; a failed attempt is "revoke-failed".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import Inventory
from tokenward.store.records import EventRow

VERIFY, REVOKE, REVOKE_FAILED = "verify", "revoke", "revoke-failed"


def record_verdicts(inventory: Inventory, verdicts: Sequence[tuple[str, dict[str, Any]]], actor: str,
                    at: datetime) -> int:
    """Append one "verify" event per (token_id, verdict dict); returns how many."""
    rows = [{"token_id": tid, "at": at, "actor": actor, "action": VERIFY, "old_status": None, "new_status": None,
             "note": json.dumps(verdict, sort_keys=True, separators=(",", ":")), "scan_id": None}
            for tid, verdict in verdicts]
    if rows:
        with inventory.errors("recording verification results"), inventory.engine.begin() as conn:
            conn.execute(insert(t.event), rows)
    return len(rows)


def latest_verdicts(inventory: Inventory, token_ids: Sequence[str]) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """The newest verification of each token (by event id): (when, verdict dict)."""
    ev = t.event.c
    newest = (select(func.max(ev.event_id)).where(ev.action == VERIFY, ev.token_id.in_(list(token_ids)))
              .group_by(ev.token_id))
    query = select(ev.token_id, ev.at, ev.note).where(ev.event_id.in_(newest))
    out: dict[str, tuple[datetime, dict[str, Any]]] = {}
    with inventory.errors("reading verification results"), inventory.engine.connect() as conn:
        for token_id, at, note in conn.execute(query):
            try:
                out[token_id] = (at, json.loads(note or "{}"))
            except ValueError:
                continue  # a hand-edited note: no cached verdict
    return out


def record_revocation(inventory: Inventory, token_id: str, done: bool, note: dict[str, Any], actor: str,
                      at: datetime) -> EventRow:
    """Append the revocation event; on success also set the token's status to revoked (one transaction)."""
    tk = t.token
    with inventory.errors("recording the revocation"), inventory.engine.begin() as conn:
        old = conn.execute(select(tk.c.status).where(tk.c.token_id == token_id).with_for_update()).scalar()
        if old is None:
            raise StoreError(f"no token {token_id}")
        new = "revoked" if done else old
        if done and old != new:
            conn.execute(update(tk).where(tk.c.token_id == token_id).values(status=new, status_changed_at=at))
        values = {"token_id": token_id, "at": at, "actor": actor, "action": REVOKE if done else REVOKE_FAILED,
                  "old_status": old, "new_status": new, "scan_id": None,
                  "note": json.dumps(note, sort_keys=True, separators=(",", ":"))}
        key = conn.execute(insert(t.event).values(**values)).inserted_primary_key
    assert key is not None
    return EventRow(event_id=int(key[0]), **values)
