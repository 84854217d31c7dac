"""The dashboard's provider actions, verify, revoke and rotate, through the code behind `tokenward verify`,
`tokenward revoke` and `tokenward rotate` (verify/service.py, rotate/service.py, rotate/machine.py).

Each leaves an audit event naming the web user. Verify and revoke re-read the plaintext from a recorded
occurrence, in memory, exactly as the CLI does (no stdin here); nothing returned holds it. Provider base URLs
come from $TOKENWARD_VERIFY_ENDPOINTS and secrets managers from $BAO_ADDR/$BAO_TOKEN of the server, as for
the CLI.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tokenward.errors import TokenwardError
from tokenward.rotate.interface import RotationError, UnsupportedRotation
from tokenward.rotate.machine import Runner, unfinished
from tokenward.rotate.registry import Connections, rotator
from tokenward.rotate.service import Subject, public_ids_of, subject
from tokenward.store.inventory import Inventory
from tokenward.store.rotation import RotationRow, register_token
from tokenward.verify.client import Limits, ProviderClient, endpoints_from_env
from tokenward.verify.cloud import AwsKeyRevoker
from tokenward.verify.interface import Revoker
from tokenward.verify.locate import Finder, NotFoundError
from tokenward.verify.manual import manual_steps
from tokenward.verify.service import NetworkError, UnsupportedError, VerifyRun, plan_revoke, revoke, targets

TIMEOUT = 10.0  # seconds per provider request, the CLI's default


class ActionError(TokenwardError):
    """An action could not be carried out (nothing was recorded); status is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class VerifyResult:
    """A fresh verification verdict (recorded as a verify event)."""

    status: str
    reason: str
    identity: str | None
    scopes: tuple[str, ...]
    expires_at: str | None
    verifier: str | None
    checked_at: datetime


@dataclass(frozen=True)
class RevokeResult:
    """What a revocation did, or (dry run) would send: requests show the token redacted."""

    done: bool
    reason: str
    requests: tuple[str, ...]
    dry_run: bool


@dataclass(frozen=True)
class RotateResult:
    """Where a rotation stands after this step (run it again to finish an overlap or grace period)."""

    rotation_id: str
    state: str
    backend: str
    location: str
    reason: str | None
    waiting_until: datetime | None


@contextmanager
def _as_action_errors() -> Iterator[None]:
    """The verify/rotate errors as ActionErrors: unsupported → 409, plaintext gone → 409, network → 502."""
    try:
        yield
    except (UnsupportedError, NotFoundError, UnsupportedRotation) as exc:
        raise ActionError(str(exc), 409) from None
    except (NetworkError, RotationError) as exc:
        raise ActionError(str(exc), 502) from None


class Actions:
    """Verify, revoke and rotate over one open inventory (the rule engine is loaded once, on first use)."""

    def __init__(self, inventory: Inventory, connections: Connections | None = None) -> None:
        self.inventory = inventory
        self.connections = connections or Connections()
        self._finder: Finder | None = None
        self._lock = threading.Lock()

    def finder(self) -> Finder:
        """The compiled rules and fingerprint key that recognise a token again."""
        with self._lock:
            if self._finder is None:
                self._finder = Finder.load()
            return self._finder

    def client(self) -> ProviderClient:
        """A provider client for one action, configured as the CLI's default."""
        return ProviderClient(Limits(timeout=TIMEOUT), endpoints_from_env())

    def verify(self, token_id: str, actor: str) -> VerifyResult:
        """Ask the provider now (no cached verdict: a person asked) and record the verdict as actor."""
        with _as_action_errors(), self.client() as client:
            chosen = targets(self.inventory, [token_id])
            run = VerifyRun(self.inventory, client, self.finder(), actor, timedelta(0), None, strict=True)
            outcome = run.run(chosen)[0]
        v = outcome.verdict
        return VerifyResult(v.status, v.reason, v.identity, tuple(v.scopes), v.expires_at, outcome.verifier,
                            outcome.checked_at)

    def revoke(self, token_id: str, actor: str, dry_run: bool = False, delete: bool = False) -> RevokeResult:
        """Revoke through the provider and record it as actor (dry run: only the redacted requests)."""
        with _as_action_errors(), self.client() as client:
            target = targets(self.inventory, [token_id])[0]
            try:
                plan = plan_revoke(target, self.finder(), client, None, lambda r: _with_delete(delete, r))
            except UnsupportedError as exc:
                tk = target.token
                raise ActionError(f"{exc}; manual steps: {manual_steps(tk.provider, tk.kind)}", 409) from None
            if dry_run:
                return RevokeResult(False, "dry run: nothing sent", plan.requests, True)
            result = revoke(plan, client, self.inventory, actor)
        return RevokeResult(result.done, result.reason, plan.requests, False)

    def rotate(self, token_id: str, actor: str, overlap: int, grace: int) -> RotateResult:
        """Start or resume the token's rotation in its secrets manager, as `tokenward rotate --yes`."""
        self.inventory.token_detail(token_id)  # StoreError 'no token' before any gathering
        with _as_action_errors():
            sub = subject(self.inventory, token_id, datetime.now(UTC))
            rot = rotator(sub.target.backend, self.connections)
            row = unfinished(self.inventory, sub.token_id, rot.keeps_old)
            if row is None and sub.view.status == "rotated":
                raise UnsupportedRotation(f"{sub.token_id[:12]} was already rotated: import the secrets manager "
                                          "again to see its current value")
            runner = Runner(self.inventory, rot, sub.target, actor)
            if row is None:
                row = runner.start(sub.token_id, overlap, grace, register=lambda: _register(self.inventory, sub))
            row = runner.run(row)
        return _rotated(row)


def _with_delete(delete: bool, revoker: Revoker) -> Revoker:
    """AWS keys: delete also deletes the key once it is inactive (the CLI's --delete)."""
    return replace(revoker, delete=True) if delete and isinstance(revoker, AwsKeyRevoker) else revoker


def _register(inventory: Inventory, sub: Subject) -> None:
    """Add a token known only from imports to the inventory (a dashboard token is always there already)."""
    from tokenward.errors import StoreError

    try:
        inventory.token_detail(sub.token_id)
    except StoreError:
        v = sub.view
        register_token(inventory, sub.token_id, v.provider, v.kind, v.preview, datetime.now(UTC), public_ids_of(v))


def _rotated(row: RotationRow) -> RotateResult:
    waiting = None
    if row.state == "consumers-switched" and row.switched_at is not None:
        waiting = row.switched_at + timedelta(seconds=row.overlap_seconds)
    elif row.state == "old-revoked" and row.purged_at is None and row.revoked_at and row.backend == "aws-iam":
        waiting = row.revoked_at + timedelta(seconds=row.grace_seconds)
    return RotateResult(row.rotation_id, row.state, row.backend, row.target, row.reason, waiting)
