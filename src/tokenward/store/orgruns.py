"""Organisation scans in the inventory: one org_run row per `tokenward scan-org` run, one org_target row per
target with its state (pending, running, done, failed, skipped), counts and the ref snapshot it was scanned at.

Workers write their own target's row (running, then done or skipped), so a client that dies loses nothing
that finished; the client writes pending rows at the start and failed rows when retries are exhausted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.exc import SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import InventoryStore

FINISHED = ("done", "skipped")  # states a resumed run does not redo


@dataclass(frozen=True)
class OrgRunRow:
    """One organisation scan run."""

    run_id: str
    started_at: datetime
    status: str
    actor: str
    targets: int
    ruleset: str
    options: str  # JSON (org.state.RunOptions)
    finished_at: datetime | None = None


@dataclass(frozen=True)
class TargetCounts:
    """What scanning one target did."""

    blobs: int = 0
    bytes: int = 0
    findings: int = 0
    tokens: int = 0
    new_tokens: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class OrgTargetRow:
    """One target of a run, as stored."""

    run_id: str
    target_id: str
    target: str
    position: int
    state: str
    reason: str | None
    attempts: int
    worker: str | None
    counts: TargetCounts
    refs_digest: str | None


class OrgRuns(InventoryStore):
    """Reads and writes org_run and org_target of one inventory."""

    @contextmanager
    def _tx(self, doing: str) -> Iterator[Connection]:
        try:
            with self.inventory.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{doing} ({self.inventory}): {type(exc).__name__}") from None

    def create(self, run: OrgRunRow, targets: Sequence[tuple[str, str]]) -> None:
        """Store a new run and its targets ((target_id, target) in order), all pending."""
        rows = [{"run_id": run.run_id, "target_id": tid, "target": target, "position": i, "state": "pending",
                 "attempts": 0} for i, (tid, target) in enumerate(targets)]
        with self._tx("recording an org run") as conn:
            conn.execute(t.org_run.insert().values(**asdict(run)))
            if rows:
                conn.execute(t.org_target.insert(), rows)

    def run(self, run_id: str) -> OrgRunRow:
        """The run with this id (any unique prefix); StoreError when there is none."""
        query = select(t.org_run).where(t.org_run.c.run_id.startswith(run_id, autoescape=True))
        with self._tx("reading org runs") as conn:
            found = conn.execute(query.limit(2)).mappings().all()
        if len(found) != 1:
            raise StoreError(f"no org run {run_id!r} in {self.inventory}" if not found
                             else f"org run prefix {run_id!r} is ambiguous")
        return OrgRunRow(**{k: found[0][k] for k in OrgRunRow.__dataclass_fields__})

    def targets(self, run_id: str) -> list[OrgTargetRow]:
        """Every target of a run, in order."""
        query = select(t.org_target).where(t.org_target.c.run_id == run_id).order_by(t.org_target.c.position)
        with self._tx("reading org run targets") as conn:
            return [_target_row(m) for m in conn.execute(query).mappings()]

    def _set(self, run_id: str, target_id: str, values: dict[str, Any], doing: str) -> None:
        where = and_(t.org_target.c.run_id == run_id, t.org_target.c.target_id == target_id)
        with self._tx(doing) as conn:
            conn.execute(update(t.org_target).where(where).values(**values))

    def started(self, run_id: str, target_id: str, worker: str) -> None:
        """A worker took the target (one more attempt)."""
        values = {"state": "running", "worker": worker, "started_at": datetime.now(UTC), "reason": None,
                  "attempts": t.org_target.c.attempts + 1}
        self._set(run_id, target_id, values, "marking an org target running")

    def finished(self, run_id: str, target_id: str, state: str, counts: TargetCounts, *, refs: str | None,
                 refs_digest: str | None, reason: str | None = None, scan_id: str | None = None) -> None:
        """A target is done or skipped (with the ref snapshot it was scanned at), or failed (with why)."""
        values = {"state": state, "reason": reason, "finished_at": datetime.now(UTC), "scan_id": scan_id,
                  "refs": refs, "refs_digest": refs_digest, **asdict(counts)}
        self._set(run_id, target_id, values, f"marking an org target {state}")

    def last_refs(self, target_id: str, ruleset: str) -> str | None:
        """The ref digest the target was last scanned (or found unchanged) at under ruleset, in any run."""
        o, r = t.org_target, t.org_run
        query = (select(o.c.refs_digest).join(r, r.c.run_id == o.c.run_id)
                 .where(o.c.target_id == target_id, o.c.state.in_(FINISHED), o.c.refs_digest.is_not(None),
                        r.c.ruleset == ruleset)
                 .order_by(o.c.finished_at.desc()).limit(1))
        with self._tx("reading org target snapshots") as conn:
            return conn.execute(query).scalar()

    def finish_run(self, run_id: str, status: str) -> None:
        """Close a run: complete, or failed when a target failed."""
        with self._tx("finishing an org run") as conn:
            conn.execute(update(t.org_run).where(t.org_run.c.run_id == run_id)
                         .values(status=status, finished_at=datetime.now(UTC)))

    def reopen_run(self, run_id: str) -> None:
        """A resumed run is running again."""
        with self._tx("resuming an org run") as conn:
            conn.execute(update(t.org_run).where(t.org_run.c.run_id == run_id)
                         .values(status="running", finished_at=None))


def _target_row(m: Any) -> OrgTargetRow:
    counts = TargetCounts(m["blobs"] or 0, m["bytes"] or 0, m["findings"] or 0, m["tokens"] or 0,
                          m["new_tokens"] or 0, m["seconds"] or 0.0)
    return OrgTargetRow(m["run_id"], m["target_id"], m["target"], m["position"], m["state"], m["reason"],
                        m["attempts"], m["worker"], counts, m["refs_digest"])
