"""The rotation interface: the dual-phase state machine, the frozen plan, and the Rotator each backend implements.

States: planned → new-issued → consumers-switched → old-revoked, or rolled-back (the new credential failed
verification and was withdrawn) or failed (the rollback itself failed: a person must look). The new
credential is generated and written straight into the secrets manager; tokenward keeps only references
(KV version numbers, lease ids, access key ids), never a value, and never prints one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tokenward.errors import TokenwardError
from tokenward.store.rotation import RotationRow

PLANNED, ISSUED, SWITCHED, REVOKED = "planned", "new-issued", "consumers-switched", "old-revoked"
ROLLED_BACK, FAILED = "rolled-back", "failed"
FORWARD = {PLANNED: ISSUED, ISSUED: SWITCHED, SWITCHED: REVOKED}  # the happy path, one step each


class RotationError(TokenwardError):
    """A rotation step could not be carried out (the state is unchanged: `rotate` again resumes it)."""


class UnsupportedRotation(TokenwardError):
    """The token has no secrets-manager location tokenward can rotate."""


@dataclass(frozen=True)
class Target:
    """Where a token's value lives, as its backend understands it (references only)."""

    backend: str  # openbao-kv | openbao-db | aws-iam
    location: str  # openbao-kv: mount/path#field; openbao-db: dbmount/role@mount/path#field; aws-iam: secret id


@dataclass(frozen=True)
class RotationStep:
    """One transition: the state it reaches and what the backend does to get there."""

    state: str
    action: str


@dataclass(frozen=True)
class RotationPlan:
    """What rotating one token will do."""

    token_id: str
    label: str  # provider kind preview: the token as a person recognises it
    target: Target
    steps: tuple[RotationStep, ...]
    overlap_seconds: int
    grace_seconds: int
    age_days: int | None = None
    max_age_days: int | None = None


class Rotator(Protocol):
    """One backend. Every method is idempotent on resume: it may run again after a crash that came after its
    effect but before the state was persisted, and must then recognise (or redo) its own earlier work."""

    backend: str
    keeps_old: bool  # the revoked credential is kept (AWS: Inactive) and deleted after the grace period

    def steps(self, target: Target) -> tuple[RotationStep, ...]:
        """The transitions and what each does, for `rotation plan` and --dry-run."""
        ...

    def current(self, target: Target) -> str:
        """The reference of the credential consumers use now (becomes the rotation's old_ref)."""
        ...

    def issue(self, target: Target, row: RotationRow) -> str:
        """Create the new credential inside the secrets manager; its reference (the new_ref)."""
        ...

    def verify(self, target: Target, row: RotationRow) -> str | None:
        """None when the new credential works as consumers will see it; else why not."""
        ...

    def switch(self, target: Target, row: RotationRow) -> None:
        """Make sure consumers now get the new credential (RotationError when they would not)."""
        ...

    def revoke_old(self, target: Target, row: RotationRow) -> None:
        """Revoke (or deactivate) the old credential."""
        ...

    def purge_old(self, target: Target, row: RotationRow) -> None:
        """Delete a deactivated old credential (keeps_old backends, after the grace period)."""
        ...

    def rollback(self, target: Target, row: RotationRow) -> None:
        """Withdraw the new credential and give consumers the old one again."""
        ...
