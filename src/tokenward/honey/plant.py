"""Plant a honeytoken in a file and register it: a token row (fingerprint, public ids, preview), a
"honeytoken" audit event naming where it was planted, and the monitor's honeytoken flag."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tokenward.honey.make import Canary, HoneytokenError
from tokenward.identity import Fingerprinter, preview
from tokenward.store.actions import register_token
from tokenward.store.inventory import Inventory
from tokenward.store.usage import UsageState

ACTION = "honeytoken"


@dataclass(frozen=True)
class Planted:
    """What was registered (no secret)."""

    token_id: str
    provider: str
    kind: str
    preview: str
    place: str
    public_ids: tuple[tuple[str, str], ...]


def plant(place: Path, canary: Canary) -> None:
    """Append the canary's lines to place (created private when missing)."""
    try:
        fd = os.open(place, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write("\n".join(canary.lines) + "\n")
    except OSError as exc:
        raise HoneytokenError(f"cannot plant in {place}: {exc.strerror}") from None


def register(inventory: Inventory, fp: Fingerprinter, canary: Canary, place: Path, actor: str,
             at: datetime) -> Planted:
    """Record the canary as a honeytoken and plant it, in one transaction: a file that cannot be written leaves
    nothing registered."""
    where = str(place.resolve())
    done = Planted(fp.token_id(canary.secret.encode()), canary.provider, canary.token_kind,
                   preview(canary.secret.encode()), where, canary.public_ids)
    row = {"token_id": done.token_id, "provider": done.provider, "kind": done.kind, "preview": done.preview,
           "public_id": dict(done.public_ids).get("id"), "confidence": "honeytoken", "severity": "critical",
           "status": "open", "first_seen": at, "last_seen": at}
    note = {"honeytoken": canary.kind, "planted": where, "public_ids": dict(done.public_ids)}
    register_token(inventory, row, done.public_ids, (ACTION, json.dumps(note, sort_keys=True)), actor, at,
                   then=lambda: plant(place, canary))
    UsageState(inventory.engine).set_token(done.token_id, honeytoken=True)
    return done
