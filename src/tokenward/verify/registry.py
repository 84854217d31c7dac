"""The explicit registries: rule id → verifier, rule id → revoker. Adding a provider is one entry in its
family module (github, slack, cloud, openbao, saas, revokers) — nothing is discovered implicitly."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tokenward.verify import cloud, github, openbao, revokers, saas, slack
from tokenward.verify.interface import Revoker, Verifier

T = TypeVar("T", Verifier, Revoker)


def _index(entries: Iterable[T]) -> dict[str, T]:
    """rule id → entry; a rule claimed twice is a programming error."""
    out: dict[str, T] = {}
    for entry in entries:
        for rule_id in entry.rule_ids:
            if rule_id in out:
                raise RuntimeError(f"{rule_id} is claimed by two entries of one registry")
            out[rule_id] = entry
    return out


VERIFIERS: dict[str, Verifier] = _index([
    *github.VERIFIERS, *slack.VERIFIERS, cloud.AwsVerifier(), *openbao.VERIFIERS, *saas.VERIFIERS])
REVOKERS: dict[str, Revoker] = _index([
    *github.REVOKERS, *slack.REVOKERS, cloud.AwsKeyRevoker(), *openbao.REVOKERS, *revokers.REVOKERS])


def verifier_for(rule_ids: Iterable[str]) -> Verifier | None:
    """The verifier of the first of a token's rules that has one."""
    return next((VERIFIERS[r] for r in rule_ids if r in VERIFIERS), None)


def revoker_for(rule_ids: Iterable[str]) -> Revoker | None:
    """The revoker of the first of a token's rules that has one."""
    return next((REVOKERS[r] for r in rule_ids if r in REVOKERS), None)


def providers(registry: dict[str, Verifier] | dict[str, Revoker]) -> list[str]:
    """The distinct providers of a registry, sorted."""
    return sorted({entry.provider for entry in registry.values()})
