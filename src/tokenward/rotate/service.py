"""What `rotate` and `rotation plan` work on: a token, where its value lives, and whether it is due.

A token is linked to its secrets-manager location through what the inventory already holds from imports:
- `import openbao` records: location openbao:mount/path#field (a KV v2 field) → openbao-kv;
- manifest entries (tokens.yaml): `match.vault: mount/path#field` (recorded as the location) or
  `storage: openbao:…`/`vault:…` → openbao-kv; plus `storage: openbao-db:dbmount/role` → openbao-db (the
  role leases the credentials the KV field holds); `storage: aws-sm:SECRET_ID` → aws-iam (the secret holds
  AccessKeyId/SecretAccessKey JSON).
Records join the inventory's token by token id or public id, as in the review.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tokenward.errors import StoreError
from tokenward.importers.interface import DeclaredToken
from tokenward.policy.gather import GatherOptions, gather
from tokenward.policy.load import review_inputs
from tokenward.policy.model import TokenView
from tokenward.policy.spec import Policy
from tokenward.rotate.interface import RotationPlan, Target, UnsupportedRotation
from tokenward.rotate.registry import Connections, rotator
from tokenward.store.inventory import Inventory

KV_SCHEMES = ("openbao:", "vault:")
DB_SCHEME, AWS_SCHEME = "openbao-db:", "aws-sm:"
OVERDUE_CHECK = "rotation-overdue"


@dataclass(frozen=True)
class Subject:
    """A token to rotate: its inventory id, how people recognise it, where it lives, and its review view."""

    token_id: str
    label: str
    target: Target
    view: TokenView


def _kv_locations(records: Iterable[DeclaredToken]) -> list[str]:
    found = [s.split(":", 1)[1] for r in records for s in (r.location, r.storage)
             if s and s.startswith(KV_SCHEMES) and "#" in s]
    return list(dict.fromkeys(found))


def _storage(records: Iterable[DeclaredToken], scheme: str) -> list[str]:
    return list(dict.fromkeys(r.storage[len(scheme):] for r in records if r.storage and r.storage.startswith(scheme)))


def target_of(records: Sequence[DeclaredToken]) -> Target | None:
    """The rotation target the records describe (database role over plain KV; AWS by its secret)."""
    kv, roles, secrets = _kv_locations(records), _storage(records, DB_SCHEME), _storage(records, AWS_SCHEME)
    if roles and kv:
        return Target("openbao-db", f"{roles[0]}@{kv[0]}")
    if kv:
        return Target("openbao-kv", kv[0])
    if secrets:
        return Target("aws-iam", secrets[0])
    return None


def token_id_of(view: TokenView) -> str:
    """The inventory id: the fingerprint, or for a token known only by a declaration without one, a digest of
    that declaration (distinct from every HMAC fingerprint)."""
    if view.token_id:
        return view.token_id
    ids = sorted(r.token_id for r in view.records if r.token_id)
    if ids:
        return ids[0]
    first = min(view.records, key=lambda r: (r.origin, r.external_id))
    return hashlib.sha256(f"declared:{first.origin}:{first.external_id}".encode()).hexdigest()


def public_ids_of(view: TokenView) -> tuple[tuple[str, str], ...]:
    """The public ids the view's records know (an AWS access key id…), to register with the token."""
    return tuple(dict.fromkeys(p for r in view.records for p in r.public_ids))


def views(inventory: Inventory, now: datetime) -> list[TokenView]:
    """Every token as the review sees it."""
    discovered, records, _ = review_inputs(inventory)
    return gather(discovered, records, GatherOptions(now))


def _matches(view: TokenView, text: str) -> bool:
    t = text.strip()
    low = t.lower()
    ids = [view.token_id or "", *(r.token_id or "" for r in view.records)]
    if len(low) >= 4 and any(i.startswith(low) for i in ids if i):
        return True
    publics = {v for r in view.records for _, v in r.public_ids}
    return t in publics or any(r.external_id == t or r.name == t for r in view.records)


def subject(inventory: Inventory, text: str, now: datetime) -> Subject:
    """The rotatable token text names (a token id prefix, a public id, a declared name)."""
    try:
        wanted: str | None = inventory.find(text)
    except StoreError:
        wanted = None
    found = [v for v in views(inventory, now)
             if (wanted in (v.token_id, *(r.token_id for r in v.records)) if wanted else _matches(v, text))]
    if not found:
        raise StoreError(f"no token matches {text!r} in the inventory or its imports")
    if len(found) > 1:
        raise StoreError(f"{text!r} names {len(found)} tokens: give more of the token id")
    view = found[0]
    target = target_of(view.records)
    if target is None:
        raise UnsupportedRotation(f"{view.label}: no secrets-manager location known (import openbao, or declare "
                                  "storage openbao-db:…/aws-sm:… or match.vault in tokens.yaml)")
    return Subject(token_id_of(view), view.label, target, view)


def max_age(view: TokenView, policy: Policy) -> int | None:
    """The token's maximum age in days under the policy (a manifest max_age_days wins), None without the check."""
    cfg = next((c for c in policy.checks if c.id == OVERDUE_CHECK), None)
    declared = view.declared.max_age_days if view.declared else None
    if cfg is None:
        return declared
    ages = cfg.params["max_age_days"]
    return declared or int(ages.get(view.privilege or "unknown", ages.get("unknown", 90)))


def plan(sub: Subject, connections: Connections, overlap: int, grace: int, policy: Policy | None) -> RotationPlan:
    """The steps rotating sub would take."""
    rot = rotator(sub.target.backend, connections)
    v = sub.view
    return RotationPlan(sub.token_id, f"{v.provider} {v.kind} {sub.label}", sub.target, rot.steps(sub.target),
                        overlap, grace if rot.keeps_old else 0, v.age_days, max_age(v, policy) if policy else None)


def due(inventory: Inventory, policy: Policy, now: datetime) -> list[Subject]:
    """Rotatable tokens older than their max age, oldest first (revoked, rotated and dead ones left out)."""
    out: list[Subject] = []
    for view in views(inventory, now):
        target = target_of(view.records)
        limit = max_age(view, policy)
        if target is None or view.status in ("revoked", "rotated", "false-positive") or view.active is False:
            continue
        if view.age_days is not None and limit is not None and view.age_days > limit:
            out.append(Subject(token_id_of(view), view.label, target, view))
    return sorted(out, key=lambda s: (-(s.view.age_days or 0), s.label))
