"""Shared pieces of the rotation tests: an inventory linked to secrets through real imports, and the checks
every rotation must pass (one event per transition, no new secret anywhere we write)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tokenward.cli import review as review_cli
from tokenward.cli.main import app
from tokenward.engine import Matcher
from tokenward.rotate.machine import Runner
from tokenward.rotate.registry import Connections, rotator
from tokenward.rotate.service import public_ids_of, subject
from tokenward.store import Inventory
from tokenward.store import tables as t
from tokenward.store.rotation import RotationRow, register_token

KEY_HEX = "22" * 32
FORWARD = ["planned", "new-issued", "consumers-switched", "old-revoked"]


class Crash(RuntimeError):
    """The injected crash."""


def use_inventory(monkeypatch: pytest.MonkeyPatch, matcher: Matcher) -> None:
    """The fingerprint key and the session's compiled rules for in-process CLI runs."""
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    monkeypatch.setenv("TOKENWARD_ACTOR", "rotation-test")
    monkeypatch.setattr(review_cli, "_matcher", lambda: matcher)


def cli(*args: str) -> Result:
    """tokenward ARGS in process."""
    return CliRunner().invoke(app, list(args))


def imported(*args: str) -> None:
    """tokenward import ARGS (must succeed)."""
    result = cli("import", *args)
    assert result.exit_code == 0, result.output


def crash_at(state: str) -> Callable[[str], None]:
    """A checkpoint that crashes right after the effect leading to state, before it is recorded."""
    def checkpoint(reached: str) -> None:
        if reached == state:
            raise Crash(state)
    return checkpoint


def start_crashing(db: str, name: str, checkpoint: Callable[[str], None], overlap: int = 0,
                   grace: int = 0, sts_attempts: int = 1) -> RotationRow:
    """Start rotating name in process with checkpoint; returns the started row (the run may raise Crash)."""
    with Inventory.open(db) as inv:
        sub = subject(inv, name, datetime.now(UTC))
        rot = rotator(sub.target.backend, Connections(sts_attempts=sts_attempts))
        register_token(inv, sub.token_id, sub.view.provider, sub.view.kind, sub.view.preview, datetime.now(UTC),
                       public_ids_of(sub.view))
        runner = Runner(inv, rot, sub.target, "crash-test", checkpoint=checkpoint)
        row = runner.start(sub.token_id, overlap, grace)
        runner.run(row)
        return row


def rotation_events(db: str) -> list[dict[str, object]]:
    """The notes of every rotation event, in order."""
    with Inventory.open(db) as inv, inv.engine.connect() as conn:
        notes = conn.execute(t.event.select().where(t.event.c.action == "rotation").order_by(t.event.c.event_id))
        return [json.loads(r.note) for r in notes]


def transitions(db: str) -> list[str]:
    """The states the rotation events record (purges as 'purged')."""
    return [str(e.get("step") or e["to"]) for e in rotation_events(db)]


def token_status(db: str, token_id: str) -> str:
    """The token's triage status."""
    with Inventory.open(db) as inv:
        return inv.token_detail(token_id).token.status


def assert_secret_nowhere(secret: str, db_dir: Path, *texts: str) -> None:
    """The new secret is in no output and no file of the inventory's directory (database, WAL…)."""
    assert len(secret) >= 16
    needle = secret.encode()
    for text in texts:
        assert needle not in text.encode(), "new secret in output"
    for path in db_dir.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), f"new secret in {path}"
