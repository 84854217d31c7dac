"""An organisation scan run as stored state: its options, which targets it still has to do, ref snapshots.

The run is a row (store.orgruns): `--resume RUN_ID` redoes the targets that are not done or skipped,
with the options the run started with; a target whose refs did not move since it was last scanned
under the same rule set and key is skipped by the worker.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from tokenward.store.orgruns import FINISHED, OrgRunRow, OrgRuns
from tokenward.store.writer import actor


@dataclass(frozen=True)
class RunOptions:
    """What every task of a run needs besides its target (stored with the run, reused by --resume)."""

    ruleset: str  # cache key: rule-set digest and fingerprint key check; workers refuse another one
    rule_paths: tuple[str, ...] = ()
    min_confidence: str = "medium"
    max_file_size: int = 25 * 1024 * 1024
    full: bool = False  # rescan targets whose refs did not move, and every blob
    timeout: float = 900.0  # seconds for one git clone/fetch/ls-remote
    retries: int = 2

    def to_json(self) -> str:
        """The options as stored in org_run.options."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunOptions:
        """Options read back from org_run.options (unknown keys from other versions ignored)."""
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["rule_paths"] = tuple(known.get("rule_paths", ()))
        return cls(**known)


@dataclass(frozen=True)
class Planned:
    """A run to execute: its id, options and the targets still to do ((target_id, target), in order)."""

    run_id: str
    options: RunOptions
    todo: tuple[tuple[str, str], ...]
    total: int
    resumed: bool = False


def target_id(target: str) -> str:
    """The stable id of a target (a URL or an absolute path)."""
    return hashlib.sha256(f"org-target\0{target}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def refs_digest(refs: Sequence[tuple[str, str]]) -> str:
    """One digest for a ref snapshot (ref name → object), independent of listing order."""
    text = "\n".join(f"{oid} {name}" for name, oid in sorted(refs))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def refs_json(refs: Sequence[tuple[str, str]]) -> str:
    """A ref snapshot as stored in org_target.refs."""
    return json.dumps(dict(sorted(refs)), separators=(",", ":"))


def new_run(store: OrgRuns, targets: Sequence[str], options: RunOptions) -> Planned:
    """Record a new run with every target pending."""
    ids = [(target_id(tgt), tgt) for tgt in dict.fromkeys(targets)]  # a target named twice is one target
    run = OrgRunRow(uuid.uuid4().hex, datetime.now(UTC), "running", actor(), len(ids), options.ruleset,
                    options.to_json())
    store.create(run, ids)
    return Planned(run.run_id, options, tuple(ids), len(ids))


def resume_run(store: OrgRuns, run_id: str) -> Planned:
    """The targets of a stored run that are not done or skipped, with the options it started with."""
    run = store.run(run_id)
    rows = store.targets(run.run_id)
    store.reopen_run(run.run_id)
    todo = tuple((r.target_id, r.target) for r in rows if r.state not in FINISHED)
    return Planned(run.run_id, RunOptions.from_json(run.options), todo, len(rows), resumed=True)
