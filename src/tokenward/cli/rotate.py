"""`tokenward rotate` and `tokenward rotation plan`: options in, plans and states out (the work is in rotate/)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokenward.cli.common import EXIT_UNREADABLE, err, error, user_errors
from tokenward.errors import ConfigError
from tokenward.report.terminal import visible

if TYPE_CHECKING:
    from tokenward.policy.spec import Policy
    from tokenward.rotate.interface import RotationPlan
    from tokenward.rotate.registry import Connections
    from tokenward.rotate.service import Subject
    from tokenward.store import Inventory
    from tokenward.store.rotation import RotationRow

rotation_app = typer.Typer(help="Plan credential rotations through secrets managers.", no_args_is_help=True)
Db = Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB",
                                        help="Inventory URL (sqlite:///…, postgresql://…) or SQLite file.")]
Addr = Annotated[str | None, typer.Option("--addr", help="OpenBao/Vault address (default $BAO_ADDR, $VAULT_ADDR).")]
PolicyFile = Annotated[Path | None, typer.Option("--policy", help="Policy file (max ages; default: built-in).",
                                                 exists=True, dir_okay=False)]
_DURATION = re.compile(r"(\d+)([smhd]?)")
DONE = ("old-revoked", "rolled-back", "failed")


def duration(option: str, text: str) -> int:
    """Seconds in 90s, 30m, 24h, 7d (a bare number is seconds)."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise ConfigError(f"{option}: expected a duration like 0, 30m, 24h or 7d, got {text!r}")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@contextmanager
def _errors() -> Iterator[None]:
    """user_errors, plus a step that could not be carried out (network, secrets manager refusal) → 3."""
    from tokenward.rotate.interface import RotationError

    with user_errors():
        try:
            yield
        except RotationError as exc:
            error(f"{exc} (the rotation state is unchanged: run rotate again to resume)")
            raise typer.Exit(EXIT_UNREADABLE) from None


def _policy(path: Path | None) -> Policy:
    from tokenward.policy.checks import CHECKS
    from tokenward.policy.spec import load_policy

    return load_policy(path, frozenset(CHECKS))


def _show(plan: RotationPlan, out: list[str]) -> None:
    age = f"  age {plan.age_days}d / max {plan.max_age_days}d" if plan.age_days is not None else ""
    out.append(f"token     {plan.token_id[:12]}  {plan.label}{age}")
    out.append(f"backend   {plan.target.backend}  {plan.target.location}")
    grace = f"  grace {timedelta(seconds=plan.grace_seconds)}" if plan.grace_seconds else ""
    out.append(f"overlap   {timedelta(seconds=plan.overlap_seconds)}{grace}")
    out.extend(f"  → {s.state:<19} {s.action}" for s in plan.steps)


@rotation_app.command("plan")
def rotation_plan(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text|json")] = "text",
    overlap: Annotated[str, typer.Option("--overlap", help="How long both credentials work.")] = "1h",
    grace: Annotated[str, typer.Option("--grace", help="AWS: delete the Inactive old key after this.")] = "7d",
    policy: PolicyFile = None, db: Db = None,
) -> None:
    """List the tokens due for rotation (older than the policy's max age) with the steps for each backend."""
    from tokenward.rotate.registry import Connections
    from tokenward.rotate.service import due, plan
    from tokenward.store import Inventory

    with _errors():
        if fmt not in ("text", "json"):
            raise ConfigError(f"unknown --format {fmt!r} (choose from text, json)")
        times, pol = (duration("--overlap", overlap), duration("--grace", grace)), _policy(policy)
        with Inventory.open(db, create=False) as inventory:
            plans = [plan(s, Connections(), *times, pol) for s in due(inventory, pol, datetime.now(UTC))]
    if fmt == "json":
        print(json.dumps([_plan_dict(p) for p in plans], indent=2))
        return
    lines: list[str] = []
    for p in plans:
        _show(p, lines)
    if lines:
        print("\n".join(visible(line) for line in lines))
    err.print(f"{len(plans)} token(s) due for rotation")


def _plan_dict(p: RotationPlan) -> dict[str, object]:
    return {"token_id": p.token_id, "label": p.label, "backend": p.target.backend, "location": p.target.location,
            "age_days": p.age_days, "max_age_days": p.max_age_days, "overlap_seconds": p.overlap_seconds,
            "grace_seconds": p.grace_seconds, "steps": [{"state": s.state, "action": s.action} for s in p.steps]}


def rotate(
    token_id: Annotated[str | None, typer.Argument(help="Token id prefix, public id or declared name.")] = None,
    due_: Annotated[bool, typer.Option("--due", help="Every token due by the policy's max age.")] = False,
    overlap: Annotated[str, typer.Option("--overlap", help="How long both credentials work (0 = no overlap).")]
    = "1h",
    grace: Annotated[str, typer.Option("--grace", help="AWS: delete the Inactive old key after this.")] = "7d",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing anywhere.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts, CI).")] = False,
    policy: PolicyFile = None, addr: Addr = None, db: Db = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who (default $TOKENWARD_ACTOR or user@host).")]
    = None,
) -> None:
    """Rotate (or resume rotating) a secret held in OpenBao/Vault or AWS Secrets Manager, dual-phase."""
    from tokenward.rotate.registry import Connections
    from tokenward.store import Inventory
    from tokenward.store.writer import actor as default_actor

    with _errors():
        if bool(token_id) == due_:
            raise ConfigError("name a token, or give --due (one of them)")
        times = (duration("--overlap", overlap), duration("--grace", grace))
        with Inventory.open(db, create=False) as inventory:
            subjects = _subjects(inventory, token_id, policy)
            conns = Connections(bao_addr=addr)
            rows = [_one(inventory, s, conns, times, dry_run, yes, actor or default_actor(), policy)
                    for s in subjects]
    if any(r is not None and r.state in ("rolled-back", "failed") for r in rows):
        raise typer.Exit(EXIT_UNREADABLE)


def _subjects(inventory: Inventory, token_id: str | None, policy: Path | None) -> list[Subject]:
    from tokenward.rotate.service import due, subject

    now = datetime.now(UTC)
    if token_id:
        return [subject(inventory, token_id, now)]
    found = due(inventory, _policy(policy), now)
    if not found:
        err.print("no token is due for rotation")
    return found


def _one(inventory: Inventory, sub: Subject, conns: Connections, times: tuple[int, int], dry_run: bool, yes: bool,
         actor: str, policy: Path | None) -> RotationRow | None:
    from tokenward.rotate.interface import UnsupportedRotation
    from tokenward.rotate.machine import Runner, unfinished
    from tokenward.rotate.registry import rotator
    from tokenward.rotate.service import plan

    rot = rotator(sub.target.backend, conns)
    lines: list[str] = []
    _show(plan(sub, conns, *times, _policy(policy)), lines)
    row = unfinished(inventory, sub.token_id, rot.keeps_old) if _known(inventory, sub.token_id) else None
    if row is None and sub.view.status == "rotated":
        raise UnsupportedRotation(f"{sub.token_id[:12]} was already rotated: import the secrets manager again "
                                  "to see its current value")
    lines.append(f"resumes   rotation {row.rotation_id[:12]} at {row.state}" if row else "starts    a new rotation")
    print("\n".join(visible(line) for line in lines))
    if dry_run:
        print("dry run: nothing changed")
        return None
    _confirm(sub, yes)
    runner = Runner(inventory, rot, sub.target, actor)
    if row is None:
        row = runner.start(sub.token_id, *times, register=lambda: _register(inventory, sub))
    row = runner.run(row)
    _report(row)
    return row


def _known(inventory: Inventory, token_id: str) -> bool:
    from tokenward.errors import StoreError

    try:
        inventory.token_detail(token_id)
    except StoreError:
        return False
    return True


def _register(inventory: Inventory, sub: Subject) -> None:
    from tokenward.rotate.service import public_ids_of
    from tokenward.store.rotation import register_token

    v = sub.view
    register_token(inventory, sub.token_id, v.provider, v.kind, v.preview, datetime.now(UTC), public_ids_of(v))


def _confirm(sub: Subject, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError("refusing to rotate without confirmation: no terminal to ask (use --yes)")
    owner = sub.view.owner.name if sub.view.owner else "an unknown owner"
    if not typer.confirm(visible(f"Rotate {sub.label} owned by {owner} in {sub.target.location}?"), default=False):
        err.print("not rotated")
        raise typer.Exit(1)


def _report(row: RotationRow) -> None:
    line = f"{row.token_id[:12]}  rotation {row.rotation_id[:12]}: {row.state}"
    if row.state == "consumers-switched" and row.switched_at is not None:
        after = row.switched_at + timedelta(seconds=row.overlap_seconds)
        line += f"; the old credential is revoked after {after:%Y-%m-%d %H:%M} UTC (run rotate again then)"
    elif row.state == "old-revoked" and row.purged_at is None and row.backend == "aws-iam":
        line += "; the Inactive old key is deleted after the grace period (run rotate again then)"
    if row.state in ("rolled-back", "failed"):
        error(visible(f"{line}: {row.reason}"))
        return
    print(visible(line))
