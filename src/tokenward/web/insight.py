"""The policy's view of tokens for the dashboard, through the same gather/evaluate code as `tokenward review`:
one token's violations with remediation and its granted vs used scopes, and the violations of one owner's
tokens. Only the tokens asked about are gathered, so a page costs the same in a 10^5-token inventory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from tokenward.policy.checks import CHECKS
from tokenward.policy.evaluate import evaluate
from tokenward.policy.gather import GatherOptions, build_view, components
from tokenward.policy.load import discovered_tokens
from tokenward.policy.model import TokenView, Violation
from tokenward.policy.spec import Policy, load_policy
from tokenward.store.dashboard import UsageTrace, owner_token_ids
from tokenward.store.declared import load_declared
from tokenward.store.inventory import Inventory
from tokenward.store.usage import UsageState
from tokenward.store.verification import latest_verdicts
from tokenward.usage.review import StoredUsage
from tokenward.usage.scopes import advise_stored

OWNER_LIMIT = 500  # tokens of one owner evaluated per page view


@dataclass(frozen=True)
class Scopes:
    """Granted scopes (verification, imports, the provider's logs) against the ones observed use needed."""

    granted: tuple[str, ...]
    used: tuple[str, ...] | None  # None: usage monitoring cannot tell
    unused: tuple[str, ...]
    actions: tuple[str, ...]  # observed actions no rule maps to a scope are listed for a person to judge


@dataclass(frozen=True)
class TokenReview:
    """What the policy says about one token."""

    view: TokenView | None
    violations: tuple[Violation, ...]
    scopes: Scopes


@dataclass(frozen=True)
class OwnerReview:
    """The violations of one owner's open tokens (at most OWNER_LIMIT tokens evaluated)."""

    owner: str | None
    tokens: int
    violations: tuple[Violation, ...]
    truncated: bool


class Reviewer:
    """Evaluates the built-in policy over chosen inventory tokens."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    @cached_property
    def policy(self) -> Policy:
        """The built-in policy (the CLI's default; the dashboard takes no policy file)."""
        return load_policy(None, frozenset(CHECKS))

    def views(self, token_ids: Sequence[str], now: datetime) -> list[TokenView]:
        """One TokenView per token of token_ids, joined with imports, verifications and usage like the review."""
        if not token_ids:
            return []
        state = UsageState(self.inventory.engine)
        aliases = {value: tid for (_, value), tid in state.idents().items()}
        usage = StoredUsage(state.profiles(token_ids), aliases)
        opts = GatherOptions(now, usage=usage, verdicts=latest_verdicts(self.inventory, list(token_ids)))
        groups = components(discovered_tokens(self.inventory, token_ids), load_declared(self.inventory.engine))
        return [build_view(found, records, joined, opts) for found, records, joined in groups if found]

    def token(self, token_id: str, trace: UsageTrace, now: datetime) -> TokenReview:
        """The token's violations (most severe first) and scopes."""
        views = self.views([token_id], now)
        view = views[0] if views else None
        violations = tuple(evaluate(views, self.policy, now))
        return TokenReview(view, violations, scopes(token_id, view, trace))

    def owner(self, owner: str | None, now: datetime) -> OwnerReview:
        """The violations of owner's open tokens (None: the unmapped ones), most severe first."""
        ids = owner_token_ids(self.inventory, owner, OWNER_LIMIT + 1)
        views = self.views(ids[:OWNER_LIMIT], now)
        return OwnerReview(owner, min(len(ids), OWNER_LIMIT), tuple(evaluate(views, self.policy, now)),
                           len(ids) > OWNER_LIMIT)


def scopes(token_id: str, view: TokenView | None, trace: UsageTrace) -> Scopes:
    """Granted vs used: granted from the view (verified, imported) or the monitor; used from the baseline."""
    granted = list(view.scopes) if view else []
    for text in (trace.granted, trace.observed_scopes):
        granted += [s.strip() for s in (text or "").split(",") if s.strip() and s.strip() not in granted]
    if not trace.profile:
        return Scopes(tuple(granted), None, (), ())
    advice = advise_stored(token_id, view.provider if view else "", dict(trace.profile), granted)
    return Scopes(tuple(granted), advice.suggested, advice.unused, advice.unmapped)
