"""Verify and revoke inventory tokens: pick the tokens, find each plaintext again, ask the provider, record
the result as an audit event. The CLI only parses options and prints what these functions return."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tokenward.errors import TokenwardError
from tokenward.store.inventory import Inventory
from tokenward.store.records import OccurrenceRow, TokenRow
from tokenward.store.verification import latest_verdicts, record_revocation, record_verdicts
from tokenward.verify.client import ProviderClient
from tokenward.verify.interface import Credential, Revocation, Revoker, Verdict, Verifier
from tokenward.verify.locate import Finder, NotFoundError
from tokenward.verify.registry import revoker_for, verifier_for


class UnsupportedError(TokenwardError):
    """The token's provider has no verification (or revocation) API here."""


class NetworkError(TokenwardError):
    """Every request failed before any provider answered: nothing was recorded."""


@dataclass(frozen=True)
class Target:
    """One inventory token to act on, with what is needed to find it again (never its plaintext)."""

    token: TokenRow
    rule_ids: tuple[str, ...]
    public_ids: tuple[tuple[str, str], ...]
    occurrences: tuple[OccurrenceRow, ...]


@dataclass(frozen=True)
class Outcome:
    """A token's verification result, fresh or from the cache."""

    target: Target
    verdict: Verdict
    checked_at: datetime
    cached: bool = False
    verifier: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON row of `verify --format json`."""
        tk = self.target.token
        return {"token_id": tk.token_id, "provider": tk.provider, "kind": tk.kind, "preview": tk.preview,
                "verifier": self.verifier, "cached": self.cached, "checked_at": self.checked_at.isoformat(),
                **self.verdict.as_dict()}


def targets(inventory: Inventory, ids: Sequence[str] = (), *, every: bool = False, leaked: bool = False,
            limit: int = 500) -> list[Target]:
    """The tokens named by id prefix (StoreError for an unknown one), or every / every open leaked token."""
    wanted = [inventory.resolve(i) for i in ids] if ids else None
    found = []
    for token, public, occurrences in inventory.discovered(wanted):
        if wanted is None and leaked and (token.status != "open" or token.occurrences == 0):
            continue
        rules = inventory.token_detail(token.token_id).rule_ids
        found.append(Target(token, rules, public, tuple(occurrences)))
        if wanted is None and len(found) >= limit:
            break
    return found


def _merge(cred: Credential, target: Target) -> Credential:
    """The credential with the public ids the inventory recorded (an AWS key id found next to it)."""
    known = dict(target.public_ids)
    known.update(dict(cred.public_ids))
    return replace(cred, public_ids=tuple(sorted(known.items())))


def credential(target: Target, finder: Finder, stdin: bytes | None) -> Credential:
    """The plaintext, from stdin when given, else from a recorded occurrence; NotFoundError otherwise."""
    tid = target.token.token_id
    if stdin is not None:
        cred = finder.in_text(stdin, tid, target.rule_ids)
        if cred is None:
            raise NotFoundError(f"the text on stdin does not hold token {tid[:12]}")
        return _merge(cred, target)
    return _merge(finder.in_occurrences(tid, target.occurrences), target)


def require_verifier(target: Target) -> Verifier:
    """The verifier for a token; UnsupportedError naming the provider when there is none."""
    verifier = verifier_for(target.rule_ids)
    if verifier is None:
        tk = target.token
        raise UnsupportedError(f"no verifier for {tk.provider} {tk.kind} (token {tk.token_id[:12]}); "
                               "see `tokenward verify --list`")
    return verifier


def verify_one(verifier: Verifier, cred: Credential, client: ProviderClient) -> Verdict:
    """Ask the provider; an unusable base URL (no Vault address set) is unknown, never a request."""
    base = client.base_for(verifier.provider, verifier.base(cred))
    if not base.startswith(("http://", "https://")):
        return Verdict("unknown", f"no address for {verifier.provider}: set BAO_ADDR/VAULT_ADDR or --addr")
    return verifier.verify(cred, client.bind(verifier.provider, base))


@dataclass
class VerifyRun:
    """One `tokenward verify`: shared client, finder, cache policy and audit identity."""

    inventory: Inventory
    client: ProviderClient
    finder: Finder
    actor: str
    max_age: timedelta = timedelta(hours=24)
    stdin: bytes | None = None
    strict: bool = False  # named tokens: a missing verifier or plaintext is an error, not a row

    def run(self, chosen: Sequence[Target]) -> list[Outcome]:
        """Verify every target (cached results reused), record the fresh ones, keep the input order."""
        now = datetime.now(UTC)
        cached = self._cached(chosen, now)
        todo = [t for t in chosen if t.token.token_id not in cached]
        plans = [(t, self._prepare(t)) for t in todo]  # every error before any request
        with ThreadPoolExecutor(max_workers=max(1, self.client.limits.concurrency)) as pool:
            fresh = list(pool.map(lambda p: self._check(p[0], p[1], now), plans))
        if self.client.requests and self.client.failures == self.client.requests:
            raise NetworkError("no provider could be reached (network down?); nothing was recorded")
        record_verdicts(self.inventory, [(o.target.token.token_id, {**o.verdict.as_dict(), "verifier": o.verifier})
                                         for o in fresh], self.actor, now)
        by_id = {o.target.token.token_id: o for o in fresh} | cached
        return [by_id[t.token.token_id] for t in chosen]

    def _cached(self, chosen: Sequence[Target], now: datetime) -> dict[str, Outcome]:
        if self.max_age <= timedelta(0) or self.stdin is not None:
            return {}
        found = latest_verdicts(self.inventory, [t.token.token_id for t in chosen])
        out = {}
        for t in chosen:
            at, note = found.get(t.token.token_id, (None, {}))
            if at is not None and now - at <= self.max_age and note.get("status") in ("live", "invalid"):
                verdict = Verdict(note["status"], note.get("reason", ""), note.get("identity"),
                                  tuple(note.get("scopes") or ()), note.get("expires_at"), note.get("evidence", ""))
                out[t.token.token_id] = Outcome(t, verdict, at, True, note.get("verifier"))
        return out

    def _prepare(self, target: Target) -> tuple[Verifier, Credential] | Verdict:
        """The verifier and plaintext, or the unknown verdict saying which is missing (strict: raise)."""
        try:
            verifier = require_verifier(target)
            return verifier, credential(target, self.finder, self.stdin)
        except (UnsupportedError, NotFoundError) as exc:
            if self.strict:
                raise
            return Verdict("unknown", str(exc))

    def _check(self, target: Target, plan: tuple[Verifier, Credential] | Verdict, now: datetime) -> Outcome:
        if isinstance(plan, Verdict):
            return Outcome(target, plan, now)
        verifier, cred = plan
        return Outcome(target, verify_one(verifier, cred, self.client), now, verifier=verifier.provider)


@dataclass(frozen=True)
class RevokePlan:
    """Everything `revoke` shows before acting: the token, its owner and places, the redacted requests."""

    target: Target
    revoker: Revoker
    cred: Credential
    requests: tuple[str, ...]


def plan_revoke(target: Target, finder: Finder, client: ProviderClient, stdin: bytes | None,
                configure: Callable[[Revoker], Revoker] = lambda r: r) -> RevokePlan:
    """The revoker, the plaintext and the exact requests (token redacted); UnsupportedError / NotFoundError."""
    revoker = revoker_for(target.rule_ids)
    if revoker is None:
        tk = target.token
        raise UnsupportedError(f"no revocation API for {tk.provider} {tk.kind}")
    revoker = configure(revoker)
    cred = credential(target, finder, stdin)
    base = client.base_for(revoker.provider, revoker.base(cred))
    shown = tuple(c.redacted(cred.secret, f"<{target.token.preview}>").describe(base) for c in revoker.calls(cred))
    return RevokePlan(target, revoker, cred, shown)


def revoke(plan: RevokePlan, client: ProviderClient, inventory: Inventory, actor: str) -> Revocation:
    """Revoke through the provider and record the audit event (status revoked only when confirmed)."""
    base = client.base_for(plan.revoker.provider, plan.revoker.base(plan.cred))
    if not base.startswith(("http://", "https://")):
        return Revocation(False, f"no address for {plan.revoker.provider}: set BAO_ADDR/VAULT_ADDR or --addr")
    result = plan.revoker.revoke(plan.cred, client.bind(plan.revoker.provider, base))
    if client.requests and client.failures == client.requests:
        raise NetworkError(f"{plan.revoker.provider} could not be reached ({result.reason}); nothing was recorded")
    note = {"provider": plan.revoker.provider, "reason": result.reason, "evidence": result.evidence,
            "requests": list(plan.requests), "docs": plan.revoker.docs}
    record_revocation(inventory, plan.target.token.token_id, result.done, note, actor, datetime.now(UTC))
    return result
