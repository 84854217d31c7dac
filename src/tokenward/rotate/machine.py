"""The state machine that drives one rotation, persisting every transition before taking the next step.

Each step first does its effect at the secrets manager, then records the new state (with its audit event) in
one transaction. A crash in between leaves the old state recorded; the next run repeats the step and the
backend recognises its own earlier effect (check-and-set versions, request tokens), so it happens once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tokenward.rotate.interface import (
    FAILED,
    ISSUED,
    PLANNED,
    REVOKED,
    ROLLED_BACK,
    SWITCHED,
    RotationError,
    Rotator,
    Target,
)
from tokenward.store import rotation as store
from tokenward.store.inventory import Inventory
from tokenward.store.rotation import RotationRow


def _now() -> datetime:
    return datetime.now(UTC)


def _nothing(_state: str) -> None:
    return None


@dataclass
class Runner:
    """Runs (or resumes) rotations of one target with one backend."""

    inventory: Inventory
    rotator: Rotator
    target: Target
    actor: str
    clock: Callable[[], datetime] = _now
    checkpoint: Callable[[str], None] = field(default=_nothing)  # after an effect, before it is recorded

    def start(self, token_id: str, overlap: int, grace: int,
              register: Callable[[], object] | None = None) -> RotationRow:
        """Record a planned rotation (the current credential's reference as old_ref); register, when given,
        first adds the token to the inventory, once the secret is known to be reachable."""
        old = self.rotator.current(self.target)
        if register is not None:
            register()
        return store.start(self.inventory, token_id, self.target.backend, self.target.location, old,
                           (overlap, grace), self.actor, self.clock())

    def run(self, row: RotationRow) -> RotationRow:
        """Step until done or waiting (for the overlap or the grace period)."""
        while True:
            after = self.step(row)
            if after is row:
                return row
            row = after

    def step(self, row: RotationRow) -> RotationRow:
        """One transition (row itself when there is nothing to do now)."""
        if row.state == PLANNED:
            return self._issue(row)
        if row.state == ISSUED:
            return self._switch(row)
        if row.state == SWITCHED:
            return self._revoke(row)
        if row.state == REVOKED:
            return self._purge(row)
        return row

    def _advance(self, row: RotationRow, state: str, **changes: object) -> RotationRow:
        return store.advance(self.inventory, row, state, self.clock(), self.actor, **changes)

    def _issue(self, row: RotationRow) -> RotationRow:
        new = self.rotator.issue(self.target, row)
        self.checkpoint(ISSUED)
        return self._advance(row, ISSUED, new_ref=new)

    def _switch(self, row: RotationRow) -> RotationRow:
        reason = self.rotator.verify(self.target, row)
        if reason is not None:
            return self._rollback(row, reason)
        self.rotator.switch(self.target, row)
        self.checkpoint(SWITCHED)
        return self._advance(row, SWITCHED, switched_at=self.clock())

    def _rollback(self, row: RotationRow, reason: str) -> RotationRow:
        try:
            self.rotator.rollback(self.target, row)
        except RotationError as exc:
            return self._advance(row, FAILED, reason=f"verification failed: {reason}; rollback failed: {exc}")
        self.checkpoint(ROLLED_BACK)
        return self._advance(row, ROLLED_BACK, reason=f"verification failed: {reason}")

    def _revoke(self, row: RotationRow) -> RotationRow:
        assert row.switched_at is not None
        if self.clock() < row.switched_at + timedelta(seconds=row.overlap_seconds):
            return row
        self.rotator.revoke_old(self.target, row)
        self.checkpoint(REVOKED)
        return self._advance(row, REVOKED, revoked_at=self.clock())

    def _purge(self, row: RotationRow) -> RotationRow:
        if not self.rotator.keeps_old or row.purged_at is not None or row.revoked_at is None:
            return row
        if self.clock() < row.revoked_at + timedelta(seconds=row.grace_seconds):
            return row
        self.rotator.purge_old(self.target, row)
        self.checkpoint("purged")
        return store.note_purged(self.inventory, row, self.clock(), self.actor)


def unfinished(inventory: Inventory, token_id: str, keeps_old: bool) -> RotationRow | None:
    """The token's rotation to resume: in progress, or (keeps_old) revoked with the old credential not purged."""
    rows = [r for r in store.rotations(inventory, token_id)
            if r.state in store.ACTIVE or (keeps_old and r.state == REVOKED and r.purged_at is None)]
    return rows[-1] if rows else None
