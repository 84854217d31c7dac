"""Run the policy's checks over every token → Violations, and assemble the Review."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from tokenward import __version__
from tokenward.errors import PolicyError
from tokenward.policy.checks import CHECKS, Context
from tokenward.policy.model import SEVERITIES, Review, ReviewSummary, TokenView, Violation, severity_rank
from tokenward.policy.spec import Policy

SKIPPED_STATUSES = frozenset({"false-positive"})
CLOSED_STATUSES = frozenset({"revoked", "rotated"})


def _applies(t: TokenView) -> bool:
    if t.status in SKIPPED_STATUSES or (t.active is False and not t.leaked):
        return False  # a false positive, or a token its provider reports dead that never leaked
    return not (t.status in CLOSED_STATUSES and t.active is not True)


def evaluate(tokens: Sequence[TokenView], policy: Policy, now: datetime) -> list[Violation]:
    """Every violation, most severe first."""
    ctx = Context(now)
    out: list[Violation] = []
    for cfg in policy.checks:
        check = CHECKS.get(cfg.id)
        if check is None:
            raise PolicyError(f"{policy.name}: no check named {cfg.id!r}")
        for t in tokens:
            if _applies(t):
                out.extend(check(t, cfg, ctx))
    return sorted(out, key=lambda v: (severity_rank(v.severity), v.check, v.token_label, v.token_key))


def summarise(tokens: Sequence[TokenView], violations: Sequence[Violation]) -> ReviewSummary:
    """The headline counts."""
    by_sev = Counter(v.severity for v in violations)
    overdue = {v.token_key for v in violations if v.check == "rotation-overdue"}
    return ReviewSummary(
        tokens=len(tokens), leaked=sum(1 for t in tokens if t.leaked),
        active_and_leaked=sum(1 for t in tokens if t.leaked and t.active),
        unmapped=sum(1 for t in tokens if t.owner is None and _applies(t)), overdue=len(overdue),
        violations=len(violations),
        by_severity={s: by_sev.get(s, 0) for s in SEVERITIES})


def build_review(tokens: Sequence[TokenView], policy: Policy, now: datetime, database: str,
                 imports: tuple[tuple[str, str, datetime, int], ...] = (), notes: tuple[str, ...] = ()) -> Review:
    """Evaluate and package a Review (tokens sorted: leaked and privileged first)."""
    violations = evaluate(tokens, policy, now)
    worst: dict[str, int] = {}
    for v in violations:
        worst[v.token_key] = min(worst.get(v.token_key, 9), severity_rank(v.severity))
    ordered = sorted(tokens, key=lambda t: (worst.get(t.key, 9), not t.leaked, t.provider, t.label))
    return Review(now, policy.name, database, tuple(ordered), tuple(violations), summarise(tokens, violations),
                  imports, notes, __version__)


def fails(review: Review, threshold: str) -> bool:
    """True when any violation is at least as severe as threshold ('none' never fails)."""
    if threshold == "none":
        return False
    limit = severity_rank(threshold)
    return any(severity_rank(v.severity) <= limit for v in review.violations)
