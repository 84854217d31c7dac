"""The rotation state machine and its store on both inventory backends (SQLite, PostgreSQL), with an in-memory
backend: failed rollbacks, one rotation at a time, compare-and-set transitions, waiting for the overlap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tokenward.errors import StoreError
from tokenward.rotate.interface import RotationError, RotationStep, Target
from tokenward.rotate.machine import Runner, unfinished
from tokenward.store import Inventory
from tokenward.store.rotation import RotationRow, advance, register_token, rotations, start

pytest_plugins = ["tests.conftest_pg"]
TOKEN = "ab" * 32
TARGET = Target("memory", "vault/app#key")


class MemoryRotator:
    """A backend keeping 'credentials' as counters; verification and rollback can be made to fail."""

    backend = "memory"
    keeps_old = False

    def __init__(self, verify_ok: bool = True, rollback_ok: bool = True) -> None:
        self.version = 1
        self.calls: list[str] = []
        self.verify_ok, self.rollback_ok = verify_ok, rollback_ok

    def steps(self, target: Target) -> tuple[RotationStep, ...]:
        return (RotationStep("new-issued", "count up"),)

    def current(self, target: Target) -> str:
        return str(self.version)

    def issue(self, target: Target, row: RotationRow) -> str:
        self.calls.append("issue")
        self.version += 1
        return str(self.version)

    def verify(self, target: Target, row: RotationRow) -> str | None:
        return None if self.verify_ok else "the new one does not work"

    def switch(self, target: Target, row: RotationRow) -> None:
        self.calls.append("switch")

    def revoke_old(self, target: Target, row: RotationRow) -> None:
        self.calls.append("revoke")

    def purge_old(self, target: Target, row: RotationRow) -> None:
        self.calls.append("purge")

    def rollback(self, target: Target, row: RotationRow) -> None:
        if not self.rollback_ok:
            raise RotationError("the secrets manager said no")
        self.calls.append("rollback")


@pytest.fixture
def inventory(db_url: str) -> Iterator[Inventory]:
    with Inventory.open(db_url) as inv:
        register_token(inv, TOKEN, "github", "pat-classic", "ghp_…abcd", datetime.now(UTC), (("id", "x1"),))
        yield inv


def test_overlap_then_revoke_with_one_event_each(inventory: Inventory) -> None:
    rot = MemoryRotator()
    runner = Runner(inventory, rot, TARGET, "t")
    row = runner.run(runner.start(TOKEN, 3600, 0))
    assert row.state == "consumers-switched" and rot.calls == ["issue", "switch"]
    assert unfinished(inventory, TOKEN, keeps_old=False) == row
    runner.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    assert runner.run(row).state == "old-revoked" and rot.calls == ["issue", "switch", "revoke"]
    events = [e for e in inventory.token_detail(TOKEN).events if e.action == "rotation"]
    assert len(events) == 4 and (events[-1].old_status, events[-1].new_status) == ("open", "rotated")
    assert unfinished(inventory, TOKEN, keeps_old=False) is None


def test_rollback_failure_is_failed_with_both_reasons(inventory: Inventory) -> None:
    runner = Runner(inventory, MemoryRotator(verify_ok=False, rollback_ok=False), TARGET, "t")
    row = runner.run(runner.start(TOKEN, 0, 0))
    assert row.state == "failed" and "does not work" in str(row.reason) and "said no" in str(row.reason)
    assert inventory.token_detail(TOKEN).token.status == "open"


def test_one_rotation_at_a_time_and_transitions_compare_and_set(inventory: Inventory) -> None:
    now = datetime.now(UTC)
    row = start(inventory, TOKEN, "memory", "x", "1", (0, 0), "t", now)
    with pytest.raises(StoreError, match="in progress"):
        start(inventory, TOKEN, "memory", "x", "1", (0, 0), "t", now)
    advance(inventory, row, "new-issued", now, "t", new_ref="2")
    with pytest.raises(StoreError, match="changed underneath"):
        advance(inventory, row, "new-issued", now, "t", new_ref="3")  # a second runner working from stale state
    [stored] = rotations(inventory, TOKEN)
    assert stored.state == "new-issued" and stored.new_ref == "2"
